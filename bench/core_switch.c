/*
 * core_switch.c — the raw cost of a context switch: coop's assembly switch
 * (src/core) against boost.context's fcontext (jump_fcontext), in the same
 * run, plus the memory a parked task's stack costs.
 *
 * Rows (tab-separated, see bench/README or docs/perf/core.md):
 *   BENCH  switch               coop           <ns>   ns/switch
 *   BENCH  switch               boost.context  <ns>   ns/switch
 *   BENCH  parked stack memory  coop           <B>    bytes/task
 * One switch is one direction (a ping-pong round trip is two).
 *
 * boost.context is loaded with dlopen (libboost-context-dev provides
 * libboost_context.so): its C-linkage jump_fcontext/make_fcontext need no
 * C++ and no link-time dependency; without it the row says "skipped".
 *
 * With COOP_BENCH_INSTR=1 (run under callgrind) each switch runs a small
 * fixed number of times (SWITCHES_INSTR) in coop_ping_pong and
 * boost_ping_pong, so the instructions per switch are the self cost of
 * coop__fiber_switch / jump_fcontext divided by their call count.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "core/fiber.h"
#include "core/stack.h"

#define SWITCHES 20000000L  /* timed run: ~0.1 s per implementation */
#define SWITCHES_INSTR 2000L /* under callgrind */
#define STACK_BYTES (64 * 1024)

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void *map_stack(size_t n) {
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    return p;
}

/* ---- coop -------------------------------------------------------------------- */

static coop__fiber coop_main, coop_peer;

static void coop_peer_entry(void *arg) {
    (void)arg;
    for (;;) coop__fiber_switch(&coop_peer, &coop_main);
}

/* Returns ns per switch; n switches (n/2 round trips). */
__attribute__((noinline)) static double coop_ping_pong(long n) {
    double t0 = now_ns();
    for (long i = 0; i < n / 2; i++) coop__fiber_switch(&coop_main, &coop_peer);
    return (now_ns() - t0) / (double)n;
}

/* ---- boost.context --------------------------------------------------------------- */

typedef void *fcontext_t;
typedef struct {
    fcontext_t fctx;
    void *data;
} transfer_t;
static transfer_t (*jump_fcontext)(fcontext_t const to, void *vp);
static fcontext_t (*make_fcontext)(void *sp, size_t size, void (*fn)(transfer_t));
static fcontext_t boost_peer;

static void boost_peer_entry(transfer_t t) {
    for (;;) t = jump_fcontext(t.fctx, NULL);
}

__attribute__((noinline)) static double boost_ping_pong(long n) {
    double t0 = now_ns();
    for (long i = 0; i < n / 2; i++) boost_peer = jump_fcontext(boost_peer, NULL).fctx;
    return (now_ns() - t0) / (double)n;
}

static const char *load_boost(void) {
    static const char *names[] = {"libboost_context.so", "libboost_context.so.1.83.0",
                                  "libboost_context.so.1.74.0"};
    void *lib = NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names && !lib; i++)
        lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!lib) return "libboost_context.so not found (libboost-context-dev)";
    *(void **)&jump_fcontext = dlsym(lib, "jump_fcontext");
    *(void **)&make_fcontext = dlsym(lib, "make_fcontext");
    if (!jump_fcontext || !make_fcontext) return "no jump_fcontext in libboost_context";
    return NULL;
}

/* ---- memory of a parked task ----------------------------------------------------- */

static long status_kib(const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t k = strlen(key);
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, k) == 0 && line[k] == ':') v = atol(line + k + 1);
    fclose(f);
    return v;
}

/* Stacks from the pool with their top 1 KiB written (a task record and the
 * frames of a parked task): resident memory plus page tables per stack. */
static double parked_bytes_per_task(int n) {
    coop__stack_pool *pool;
    coop__stack *s = malloc((size_t)n * sizeof *s);
    if (!s || coop__stack_pool_new(&pool) != 0) return -1;
    long rss0 = status_kib("VmRSS"), pte0 = status_kib("VmPTE");
    for (int i = 0; i < n; i++) {
        if (coop__stack_get(pool, STACK_BYTES, &s[i]) != 0) return -1;
        memset((char *)s[i].hi - 1024, 1, 1024);
    }
    long rss1 = status_kib("VmRSS"), pte1 = status_kib("VmPTE");
    for (int i = 0; i < n; i++) coop__stack_put(pool, &s[i]);
    coop__stack_pool_free(pool);
    free(s);
    return (double)((rss1 - rss0) + (pte1 - pte0)) * 1024.0 / n;
}

int main(void) {
    int instr = getenv("COOP_BENCH_INSTR") && atoi(getenv("COOP_BENCH_INSTR")) == 1;
    long n = instr ? SWITCHES_INSTR : SWITCHES;
    int rounds = instr ? 1 : 3;

    char *stack = map_stack(STACK_BYTES);
    coop__fiber_make_thread(&coop_main);
    coop__fiber_make(&coop_peer, stack, stack + STACK_BYTES, coop_peer_entry, NULL);
    double best = 1e30;
    for (int r = 0; r < rounds; r++) {
        double ns = coop_ping_pong(n);
        if (ns < best) best = ns;
    }
    printf("BENCH\tswitch\tcoop\t%.2f\tns/switch\n", best);

    const char *why = load_boost();
    if (why) {
        printf("BENCH\tswitch\tboost.context\tskipped\t%s\n", why);
    } else {
        char *bstack = map_stack(STACK_BYTES);
        boost_peer = make_fcontext(bstack + STACK_BYTES, STACK_BYTES, boost_peer_entry);
        boost_peer = jump_fcontext(boost_peer, NULL).fctx; /* start it: it jumps right back */
        best = 1e30;
        for (int r = 0; r < rounds; r++) {
            double ns = boost_ping_pong(n);
            if (ns < best) best = ns;
        }
        printf("BENCH\tswitch\tboost.context\t%.2f\tns/switch\n", best);
    }

    double bytes = parked_bytes_per_task(instr ? 100 : 20000);
    if (bytes < 0)
        printf("BENCH\tparked stack memory\tcoop\tskipped\tstack pool failed\n");
    else
        printf("BENCH\tparked stack memory\tcoop\t%.0f\tbytes/task\n", bytes);
    return 0;
}

/* bench-link: boost_context */
/*
 * core_switch.c — the raw cost of a context switch: coop's assembly switch
 * (src/core) against boost.context's fcontext (jump_fcontext), in the same
 * run, plus the memory a parked task's stack costs.
 *
 * Rows (bench/bench.h):
 *   BENCH  context switch       coop           <ns>   ns/switch
 *   BENCH  context switch       boost.context  <ns>   ns/switch
 *   BENCH  parked stack memory  coop           <KiB>  KiB/task
 * One switch is one direction (a ping-pong round trip is two). Under
 * COOP_BENCH_INSTR=1 (bench/run.sh --instr) the callgrind windows give
 * instructions per switch, loop included.
 *
 * boost.context's jump_fcontext/make_fcontext have C linkage: declared by
 * hand below and linked with -lboost_context (the bench-link line); without
 * the library the rows say "skipped".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bench.h"
#include "core/fiber.h"
#include "core/stack.h"

#define STACK_BYTES (64 * 1024)

static void *map_stack(size_t n) {
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (p == MAP_FAILED) bench_fail("mmap: %s", strerror(errno));
    return p;
}

/* ---- coop -------------------------------------------------------------------- */

static coop__fiber coop_main, coop_peer;

static void coop_peer_entry(void *arg) {
    (void)arg;
    for (;;) coop__fiber_switch(&coop_peer, &coop_main);
}

/* ns per switch over n switches (n/2 round trips). */
__attribute__((noinline)) static double coop_ping_pong(long n) {
    bench_instr_begin();
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n / 2; i++) coop__fiber_switch(&coop_main, &coop_peer);
    int64_t t1 = bench_now_ns();
    bench_instr_end("context switch", "coop", n / 2 * 2);
    return (double)(t1 - t0) / (double)n;
}

/* ---- boost.context --------------------------------------------------------------- */

#ifndef COOP_BENCH_NO_BOOST_CONTEXT
typedef void *fcontext_t;
typedef struct {
    fcontext_t fctx;
    void *data;
} transfer_t;
transfer_t jump_fcontext(fcontext_t const to, void *vp);
fcontext_t make_fcontext(void *sp, size_t size, void (*fn)(transfer_t));
static fcontext_t boost_peer;

static void boost_peer_entry(transfer_t t) {
    for (;;) t = jump_fcontext(t.fctx, NULL);
}

__attribute__((noinline)) static double boost_ping_pong(long n) {
    bench_instr_begin();
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n / 2; i++) boost_peer = jump_fcontext(boost_peer, NULL).fctx;
    int64_t t1 = bench_now_ns();
    bench_instr_end("context switch", "boost.context", n / 2 * 2);
    return (double)(t1 - t0) / (double)n;
}
#endif

/* ---- memory of a parked task ----------------------------------------------------- */

/* Stacks from the pool with their top 1 KiB written (a task record and the
 * frames of a parked task): resident memory plus page tables per stack. */
static double parked_kib_per_task(int n) {
    coop__stack_pool *pool;
    coop__stack *s = malloc((size_t)n * sizeof *s);
    if (!s || coop__stack_pool_new(&pool) != 0) bench_fail("stack pool: out of memory");
    long rss0 = bench_proc_status_kib("VmRSS"), pte0 = bench_proc_status_kib("VmPTE");
    for (int i = 0; i < n; i++) {
        int rc = coop__stack_get(pool, STACK_BYTES, &s[i]);
        if (rc != 0) bench_fail("coop__stack_get: %s", strerror(-rc));
        memset((char *)s[i].hi - 1024, 1, 1024);
    }
    long rss1 = bench_proc_status_kib("VmRSS"), pte1 = bench_proc_status_kib("VmPTE");
    for (int i = 0; i < n; i++) coop__stack_put(pool, &s[i]);
    coop__stack_pool_free(pool);
    free(s);
    return (double)((rss1 - rss0) + (pte1 - pte0)) / n;
}

int main(void) {
    long n = bench_iters(20000000, 2000);

    if (bench_selected("context switch")) {
        char *stack = map_stack(STACK_BYTES);
        coop__fiber_make_thread(&coop_main);
        coop__fiber_make(&coop_peer, stack, stack + STACK_BYTES, coop_peer_entry, NULL);
        coop__fiber_switch(&coop_main, &coop_peer); /* warm */
        bench_sampler coop = {0};
        for (int r = 0; r < bench_runs(); r++) bench_sample(&coop, coop_ping_pong(n));
        bench_row("context switch", "coop", bench_sampler_median(&coop), "ns/switch");
#ifdef COOP_BENCH_NO_BOOST_CONTEXT
        bench_skip("context switch", "boost.context", "libboost_context not found (libboost-context-dev)");
#else
        char *bstack = map_stack(STACK_BYTES);
        boost_peer = make_fcontext(bstack + STACK_BYTES, STACK_BYTES, boost_peer_entry);
        boost_peer = jump_fcontext(boost_peer, NULL).fctx; /* start it: it jumps right back */
        bench_sampler boost = {0};
        for (int r = 0; r < bench_runs(); r++) bench_sample(&boost, boost_ping_pong(n));
        bench_row("context switch", "boost.context", bench_sampler_median(&boost), "ns/switch");
#endif
    }
    if (bench_selected("parked stack memory") && !bench_instr_mode())
        bench_row("parked stack memory", "coop", parked_kib_per_task(bench_iters(20000, 100)),
                  "KiB/task");
    return 0;
}

/*
 * gen_switch.c — what a generator round trip and a greenlet switch cost,
 * next to the raw fiber switch they are built on (measured in the same
 * run, same stacks, same machine):
 *   "gen next round trip"  coop: one coop_gen_next that resumes a body
 *                          which yields right back (two switches plus the
 *                          bookkeeping); "raw fiber x2": two bare
 *                          coop__fiber_switch calls, the floor.
 *   "greenlet switch"      coop: one coop_greenlet_switch between two
 *                          greenlets ping-ponging; "raw fiber": one bare
 *                          coop__fiber_switch.
 * Both run inside a task (as real code does), so the context lookup is the
 * task's. Under COOP_BENCH_INSTR the windows give instructions per op.
 */
#include "bench.h"
#include "coop.h"
#include "core/fiber.h"
#include <stdint.h>

/* ---- raw fibers --------------------------------------------------------- */

static coop__fiber raw_main, raw_peer;
static long raw_left;

static void raw_peer_entry(void *arg) {
    (void)arg;
    for (;;)
        coop__fiber_switch(&raw_peer, &raw_main);
}

/* ns per single switch, over n round trips (2n switches). */
static double raw_once(long n, const char *measure, long instr_ops_per_trip) {
    raw_left = n;
    coop__fiber_switch(&raw_main, &raw_peer); /* warm */
    bench_instr_begin();
    int64_t t0 = bench_now_ns();
    while (raw_left-- > 0)
        coop__fiber_switch(&raw_main, &raw_peer);
    int64_t t1 = bench_now_ns();
    bench_instr_end(measure, instr_ops_per_trip == 2 ? "raw fiber x2" : "raw fiber",
                    n * (2 / instr_ops_per_trip));
    return (double)(t1 - t0) / (double)(2 * n);
}

/* ---- generators --------------------------------------------------------- */

static int bouncing(coop_gen *g, void *arg, void **ret) {
    (void)arg, (void)ret;
    while (coop_gen_yield(g, NULL, NULL) == 0) {
    }
    return 0;
}

static double gen_once(long n) {
    coop_gen *g;
    int rc = coop_gen_new(&g, bouncing, NULL, 0);
    if (rc < 0) bench_fail("coop_gen_new: %s", coop_strerror(rc));
    coop_gen_next(g, NULL); /* warm */
    bench_instr_begin();
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++)
        coop_gen_next(g, NULL);
    int64_t t1 = bench_now_ns();
    bench_instr_end("gen next round trip", "coop", n);
    coop_gen_free(g);
    return (double)(t1 - t0) / (double)n;
}

/* ---- greenlets ---------------------------------------------------------- */

static coop_greenlet *ping, *pong;
static long gl_left;

static int pong_fn(void *first, void **ret) {
    (void)first, (void)ret;
    for (;;)
        if (coop_greenlet_switch(ping, NULL, NULL) < 0) return 0;
}

static int ping_fn(void *first, void **ret) {
    (void)first, (void)ret;
    coop_greenlet_switch(pong, NULL, NULL); /* warm: pong has started */
    bench_instr_begin();
    int64_t t0 = bench_now_ns();
    for (long i = gl_left; i > 0; i--)
        coop_greenlet_switch(pong, NULL, NULL);
    int64_t t1 = bench_now_ns();
    bench_instr_end("greenlet switch", "coop", 2 * gl_left);
    *ret = (void *)(intptr_t)(t1 - t0);
    return 0;
}

static double greenlet_once(long n) {
    int rc = coop_greenlet_new(&ping, ping_fn, NULL, 0);
    if (rc == 0) rc = coop_greenlet_new(&pong, pong_fn, NULL, 0);
    if (rc < 0) bench_fail("coop_greenlet_new: %s", coop_strerror(rc));
    gl_left = n;
    void *ns = NULL;
    rc = coop_greenlet_switch(ping, NULL, &ns); /* ping finishes into the root */
    if (rc < 0) bench_fail("coop_greenlet_switch: %s", coop_strerror(rc));
    coop_greenlet_free(ping);
    coop_greenlet_free(pong);
    return (double)(intptr_t)ns / (double)(2 * n);
}

/* ---- driver ------------------------------------------------------------- */

static int bench_main(void *arg) {
    (void)arg;
    long n = bench_iters(5000000, 20000);
    static char stack[64 * 1024] __attribute__((aligned(64)));
    coop__fiber_make(&raw_peer, stack, stack + sizeof stack, raw_peer_entry, NULL);
    if (bench_selected("gen next round trip")) {
        bench_sampler s = {0}, r = {0};
        for (int k = 0; k < bench_runs(); k++) {
            bench_sample(&s, gen_once(n));
            bench_sample(&r, 2 * raw_once(n, "gen next round trip", 2));
        }
        bench_row("gen next round trip", "coop", bench_sampler_median(&s), "ns/next");
        bench_row("gen next round trip", "raw fiber x2", bench_sampler_median(&r), "ns/next");
    }
    if (bench_selected("greenlet switch")) {
        bench_sampler s = {0}, r = {0};
        for (int k = 0; k < bench_runs(); k++) {
            bench_sample(&s, greenlet_once(n));
            bench_sample(&r, raw_once(n, "greenlet switch", 1));
        }
        bench_row("greenlet switch", "coop", bench_sampler_median(&s), "ns/switch");
        bench_row("greenlet switch", "raw fiber", bench_sampler_median(&r), "ns/switch");
    }
    return 0;
}

int main(void) {
    int rc = coop_run(bench_main, NULL);
    if (rc < 0) bench_fail("coop_run: %s", coop_strerror(rc));
    return 0;
}

/*
 * offload_watchdog.c — what the watchdog costs when no task is slow:
 * coop_yield between 2 tasks with the watchdog off and on (threshold 100 ms,
 * the default), runs interleaved so that machine noise hits both alike.
 *   measure "yield, 2 tasks, watchdog on"   impl "coop" = watchdog on,
 *                                           impl "coop, watchdog off" = off
 * The loop thread does the same work either way (the scheduler always
 * stores its switch counter and running task); the difference is the
 * monitor thread waking every 25 ms and the lag probe posted every 100 ms.
 * Target: under 2 %.
 */
#include "bench.h"
#include "coop.h"

typedef struct yield_run {
    long target;  /* yields to count */
    long done;    /* counted so far */
    int64_t t0;   /* window start (first task back from warm-up) */
    int64_t t1;   /* window end */
} yield_run;

static int yielder(void *arg) {
    yield_run *r = arg;
    coop_yield();
    if (!r->t0) r->t0 = bench_now_ns();
    while (r->done < r->target) {
        coop_yield();
        r->done++;
    }
    if (!r->t1) r->t1 = bench_now_ns();
    return 0;
}

static double yield_once(long n) {
    yield_run r = {.target = n};
    coop_task_id a, b;
    if (coop_spawn(&a, "y1", yielder, &r) < 0 || coop_spawn(&b, "y2", yielder, &r) < 0)
        bench_fail("coop_spawn");
    coop_join(a, NULL);
    coop_join(b, NULL);
    return (double)(r.t1 - r.t0) / (double)n;
}

static int bench_main(void *arg) {
    (void)arg;
    const char *m = "yield, 2 tasks, watchdog on";
    if (!bench_selected(m) || bench_instr_mode()) return 0;
    long n = bench_iters(4000000, 20000);
    bench_sampler on = {0}, off = {0};
    yield_once(n / 10); /* warm up */
    for (int run = 0; run < bench_runs() + 2; run++) {
        bench_sample(&off, yield_once(n));
        int rc = coop_watchdog_start(COOP_MS(100));
        if (rc < 0) bench_fail("coop_watchdog_start: %s", coop_strerror(rc));
        bench_sample(&on, yield_once(n));
        coop_watchdog_stop();
    }
    double von = bench_sampler_median(&on), voff = bench_sampler_median(&off);
    bench_row(m, "coop", von, "ns/yield");
    bench_row(m, "coop, watchdog off", voff, "ns/yield");
    return 0;
}

int main(void) {
    int rc = coop_run(bench_main, NULL);
    if (rc < 0) bench_fail("coop_run: %s", coop_strerror(rc));
    return 0;
}

/*
 * sched_sleep.c — many tasks sleeping at once: N tasks are spawned, each
 * sleeps 1 ms with coop_sleep, and the main task joins them all. The figure
 * is the wall time from the first spawn to the last join, so it holds the
 * spawns, the timer inserts, the loop's wait for the clock and the firing
 * of N timers (1 ms of it is the sleep itself).
 *   100k x sleep 1 ms   N = 100,000 (vs Go GOMAXPROCS=1, libuv timers,
 *                       asyncio); under callgrind N = 10,000 and the row is
 *                       instructions per sleeping task
 *   1000 x sleep 1 ms   N = 1000 (vs 1000 pthreads)
 */
#include "bench.h"
#include "coop.h"

static int sleeper(void *arg) {
    (void)arg;
    return coop_sleep(COOP_MS(1));
}

/* One run with n sleepers; returns its wall time in ms. */
static double sleep_once(const char *measure, long n, coop_task_id *ids) {
    bench_instr_begin();
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        int rc = coop_spawn(&ids[i], "sleeper", sleeper, NULL);
        if (rc < 0) bench_fail("coop_spawn (task %ld): %s", i, coop_strerror(rc));
    }
    for (long i = 0; i < n; i++) {
        int result = 0;
        int rc = coop_join(ids[i], &result);
        if (rc < 0 || result < 0)
            bench_fail("coop_join: %s, sleep: %s", coop_strerror(rc), coop_strerror(result));
    }
    int64_t t1 = bench_now_ns();
    bench_instr_end(measure, "coop", n);
    return (double)(t1 - t0) / 1e6;
}

static void bench_sleepers(const char *measure, long tasks, long instr_tasks) {
    if (!bench_selected(measure)) return;
    long n = bench_iters(tasks, instr_tasks);
    coop_task_id *ids = calloc((size_t)n, sizeof *ids);
    if (ids == NULL) bench_fail("out of memory");
    bench_sampler s = {0};
    while (bench_more(&s)) bench_sample(&s, sleep_once(measure, n, ids));
    bench_row(measure, "coop", bench_sampler_median(&s), "ms");
    free(ids);
}

static int bench_main(void *arg) {
    (void)arg;
    bench_sleepers("100k x sleep 1 ms", 100000, 10000);
    /* Under callgrind the 100k row already gives the cost per sleeper. */
    if (!bench_instr_mode()) bench_sleepers("1000 x sleep 1 ms", 1000, 0);
    return 0;
}

int main(void) {
    int rc = coop_run(bench_main, NULL);
    if (rc < 0) bench_fail("coop_run: %s", coop_strerror(rc));
    return 0;
}

/*
 * sched_spawn.c — the cost of a task's whole life: coop_spawn of a task
 * that returns at once, the switch into it, its exit, and coop_join of its
 * result, one task at a time (ns and, under callgrind, instructions per
 * task). The stack comes from the loop's pool after the first few tasks,
 * which is the steady state of a program that keeps spawning.
 * Compared with: pthread_create+join, Go's `go f()` + WaitGroup,
 * asyncio's create_task + await.
 */
#include "bench.h"
#include "coop.h"

static const char *const MEASURE = "spawn+run+join";

static int trivial(void *arg) { return (int)(intptr_t)arg; }

/* Spawn and join n trivial tasks one after the other. */
static void spawn_join(long n) {
    for (long i = 0; i < n; i++) {
        coop_task_id id;
        int result = -1;
        int rc = coop_spawn(&id, NULL, trivial, NULL);
        if (rc < 0) bench_fail("coop_spawn: %s", coop_strerror(rc));
        rc = coop_join(id, &result);
        if (rc < 0 || result != 0) bench_fail("coop_join: %s, result %d", coop_strerror(rc), result);
    }
}

static int bench_main(void *arg) {
    (void)arg;
    if (!bench_selected(MEASURE)) return 0;
    long n = bench_iters(200000, 2000);
    spawn_join(16); /* warm-up: the stack pool has a stack to give */
    bench_sampler s = {0};
    while (bench_more(&s)) {
        bench_instr_begin();
        int64_t t0 = bench_now_ns();
        spawn_join(n);
        int64_t t1 = bench_now_ns();
        bench_instr_end(MEASURE, "coop", n);
        bench_sample(&s, (double)(t1 - t0) / (double)n);
    }
    bench_row(MEASURE, "coop", bench_sampler_median(&s), "ns/task");
    return 0;
}

int main(void) {
    int rc = coop_run(bench_main, NULL);
    if (rc < 0) bench_fail("coop_run: %s", coop_strerror(rc));
    return 0;
}

/*
 * sched_parked.c — what a parked task costs in memory: 1,000,000 tasks
 * (100,000 in quick mode), each parked in coop_sleep an hour into the
 * future, with the default stack size and the machine's default sysctls
 * (vm.max_map_count 65530). The figure is the growth of VmRSS + VmPTE
 * (resident pages and the page tables that map them) from before the first
 * spawn to when every task has parked, divided by the number of tasks: the
 * touched top page of each stack with the task record on it, the timer,
 * and the stack mapping's page-table share. The task id array is allocated
 * and touched before the first reading, so it is not counted.
 * Also reported: the time to spawn a task and run it until it parks.
 * Then every task is cancelled and joined. Not run under callgrind.
 * Compared with: 1000 parked pthreads, 100,000 parked goroutines.
 */
#include "bench.h"
#include "coop.h"

/* Shared by the parked tasks and the main task. */
typedef struct parking {
    long parked; /* tasks that have reached their sleep */
} parking;

static int park_for_an_hour(void *arg) {
    parking *p = arg;
    p->parked++;
    int rc = coop_sleep(COOP_SEC(3600));
    return rc == -ECANCELED ? 0 : rc < 0 ? rc : -EINTR; /* only cancellation ends it */
}

static int bench_main(void *arg) {
    (void)arg;
    long n = bench_iters(1000000, 0);
    coop_task_id *ids = calloc((size_t)n, sizeof *ids);
    if (ids == NULL) bench_fail("out of memory");
    memset(ids, 0xff, (size_t)n * sizeof *ids); /* touch it before measuring */
    parking p = {0};

    long before = bench_resident_kib();
    int64_t t0 = bench_now_ns();
    long spawned = 0;
    int err = 0;
    for (; spawned < n; spawned++) {
        err = coop_spawn(&ids[spawned], "parked", park_for_an_hour, &p);
        if (err < 0) break;
    }
    while (p.parked < spawned) { /* the tasks run in the next loop turns */
        int rc = coop_yield();
        if (rc < 0) bench_fail("coop_yield: %s", coop_strerror(rc));
    }
    int64_t t1 = bench_now_ns();
    long after = bench_resident_kib();

    for (long i = 0; i < spawned; i++) {
        int rc = coop_cancel(ids[i]);
        if (rc < 0) bench_fail("coop_cancel: %s", coop_strerror(rc));
    }
    for (long i = 0; i < spawned; i++) {
        int result = 0;
        int rc = coop_join(ids[i], &result);
        if (rc < 0 || result < 0)
            bench_fail("coop_join: %s, task: %s", coop_strerror(rc), coop_strerror(result));
    }
    free(ids);

    if (err < 0) {
        char why[128];
        snprintf(why, sizeof why, "coop_spawn failed after %ld tasks: %s", spawned, coop_strerror(err));
        bench_skip("parked task memory", "coop", why);
        bench_skip("spawn+park, 1M tasks", "coop", why);
        return err;
    }
    if (before < 0 || after < 0) {
        bench_skip("parked task memory", "coop", "no /proc/self/status");
    } else {
        bench_row("parked task memory", "coop", (double)(after - before) / (double)n, "KiB/task");
    }
    bench_row("spawn+park, 1M tasks", "coop", (double)(t1 - t0) / (double)n, "ns/task");
    return 0;
}

int main(void) {
    if (bench_instr_mode() || !bench_selected("parked task memory")) return 0;
    int rc = coop_run(bench_main, NULL);
    if (rc < 0) bench_fail("coop_run: %s", coop_strerror(rc));
    return 0;
}

/*
 * sched_parked.c — what a parked task costs in memory: 1,000,000 tasks
 * (100,000 in quick mode; COOP_BENCH_PARKED=n to choose), each parked in
 * coop_sleep an hour into the future, with the default stack size and the
 * machine's default sysctls (vm.max_map_count 65530). The figure is the
 * growth of VmRSS + VmPTE (resident pages and the page tables that map
 * them) from before the first spawn to when every task has parked, divided
 * by the number of tasks: the touched top page of each stack with the task
 * record on it, the timer, and the stack mapping's page-table share. The
 * task id array is allocated and touched before the first reading.
 * Also reported: the time to spawn a task and run it until it parks, and
 * the time to cancel and join a parked task.
 * Time budgets keep `make bench` bounded on a slow machine: spawning stops
 * after 20 s (the rows then say how many tasks were measured; no limit when
 * COOP_BENCH_PARKED is given), and the
 * teardown after 5 s, when the remaining tasks are left to process exit
 * (_exit: an orderly coop_run return would have to finish them all).
 * Not run under callgrind. Compared with: 1000 parked pthreads, 100,000
 * parked goroutines.
 */
#include <unistd.h>
#include "bench.h"
#include "coop.h"

#define SPAWN_BUDGET_NS COOP_SEC(20)
#define TEARDOWN_BUDGET_NS COOP_SEC(5)

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

/* Spawn up to n parked tasks into ids within the budget; returns how many,
 * or -errno if coop_spawn failed. */
static long spawn_parked(coop_task_id *ids, long n, int64_t budget_ns, parking *p, int64_t *elapsed) {
    int64_t t0 = bench_now_ns();
    long spawned = 0;
    while (spawned < n) {
        int err = coop_spawn(&ids[spawned], "parked", park_for_an_hour, p);
        if (err < 0) {
            fprintf(stderr, "bench: coop_spawn failed after %ld tasks: %s\n", spawned, coop_strerror(err));
            return err;
        }
        spawned++;
        if (spawned % 4096 == 0 && bench_now_ns() - t0 > budget_ns) break;
    }
    while (p->parked < spawned) { /* the tasks run in the next loop turns */
        int rc = coop_yield();
        if (rc < 0) bench_fail("coop_yield: %s", coop_strerror(rc));
    }
    *elapsed = bench_now_ns() - t0;
    return spawned;
}

/* Cancel and join ids[0..n) within the budget; returns how many. */
static long teardown(coop_task_id *ids, long n, int64_t *elapsed) {
    int64_t t0 = bench_now_ns();
    long done = 0;
    while (done < n) {
        int result = 0;
        int rc = coop_cancel(ids[done]);
        if (rc == 0) rc = coop_join(ids[done], &result);
        if (rc < 0 || result < 0)
            bench_fail("cancel+join: %s, task: %s", coop_strerror(rc), coop_strerror(result));
        done++;
        if (done % 1024 == 0 && bench_now_ns() - t0 > TEARDOWN_BUDGET_NS) break;
    }
    *elapsed = bench_now_ns() - t0;
    return done;
}

static int bench_main(void *arg) {
    (void)arg;
    const char *env = getenv("COOP_BENCH_PARKED");
    long n = env ? atol(env) : bench_iters(1000000, 0);
    if (n <= 0) bench_fail("COOP_BENCH_PARKED=%s: not a task count", env);
    coop_task_id *ids = calloc((size_t)n, sizeof *ids);
    if (ids == NULL) bench_fail("out of memory");
    memset(ids, 0xff, (size_t)n * sizeof *ids); /* touch it before measuring */
    parking p = {0};

    long before = bench_resident_kib();
    int64_t spawn_ns = 0;
    long spawned = spawn_parked(ids, n, env ? COOP_NEVER : SPAWN_BUDGET_NS, &p, &spawn_ns);
    if (spawned < 0) {
        char why[128];
        snprintf(why, sizeof why, "coop_spawn failed: %s", coop_strerror((int)spawned));
        bench_skip("parked task memory", "coop", why);
        fflush(stdout);
        _exit(1);
    }
    long after = bench_resident_kib();
    if (spawned < n) fprintf(stderr, "bench: spawning stopped at %ld tasks (time budget)\n", spawned);
    if (before < 0 || after < 0)
        bench_skip("parked task memory", "coop", "no /proc/self/status");
    else
        bench_row("parked task memory", "coop", (double)(after - before) / (double)spawned, "KiB/task");
    bench_row("parked tasks measured", "coop", (double)spawned, "tasks");
    bench_row("spawn until parked", "coop", (double)spawn_ns / (double)spawned, "ns/task");

    int64_t teardown_ns = 0;
    long done = teardown(ids, spawned, &teardown_ns);
    bench_row("cancel+join a parked task", "coop", (double)teardown_ns / (double)done, "ns/task");
    if (done < spawned) {
        fprintf(stderr, "bench: teardown stopped after %ld of %ld tasks (time budget); exiting\n", done,
                spawned);
        fflush(stdout);
        _exit(0);
    }
    free(ids);
    return 0;
}

int main(void) {
    if (bench_instr_mode() || !bench_selected("parked")) return 0;
    int rc = coop_run(bench_main, NULL);
    if (rc < 0) bench_fail("coop_run: %s", coop_strerror(rc));
    return 0;
}

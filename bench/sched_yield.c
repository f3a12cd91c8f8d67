/*
 * sched_yield.c — the cost of coop_yield through the scheduler, with 2
 * tasks (every switch goes to the other task) and with 1000 (every switch
 * goes to a task whose stack and record are cold in the L1 cache): ns and,
 * under callgrind, instructions per yield.
 *
 * One operation is one resume of a task from coop_yield, i.e. one switch,
 * with its share of the loop iteration around it (ready queue, timer and
 * poll checks). The main task is parked in coop_join meanwhile, so exactly
 * the measured tasks are ready. The window opens in the first task to come
 * back from a warm-up yield (so every task has started) and closes in the
 * task whose resume is the target-th; the count is exact, not estimated.
 * Compared with: Go's runtime.Gosched, asyncio.sleep(0), the pthread
 * hand-offs (2 tasks) and boost.context's resume loop (1000 tasks).
 */
#include "bench.h"
#include "coop.h"

/* One measured run: `tasks` tasks yielding until `target` resumes. */
typedef struct yield_run {
    const char *measure; /* row name */
    long target;         /* resumes to count */
    long resumes;        /* resumes counted so far (window open) */
    int opened;          /* the window has been opened */
    int closed;          /* the window has been closed */
    int64_t t0, t1;      /* window start and end */
} yield_run;

static int yielder(void *arg) {
    yield_run *r = arg;
    coop_yield(); /* warm-up: by its return, every task has started */
    if (!r->opened) {
        r->opened = 1;
        bench_instr_begin();
        r->t0 = bench_now_ns();
    }
    while (r->resumes < r->target) {
        coop_yield();
        r->resumes++;
    }
    if (!r->closed) {
        r->closed = 1;
        r->t1 = bench_now_ns();
        bench_instr_end(r->measure, "coop", r->target);
    }
    return 0;
}

/* Spawn `tasks` yielders, join them, return ns per yield. */
static double yield_once(const char *measure, int tasks, long target, coop_task_id *ids) {
    yield_run r = {.measure = measure, .target = target};
    for (int i = 0; i < tasks; i++) {
        int rc = coop_spawn(&ids[i], "yielder", yielder, &r);
        if (rc < 0) bench_fail("coop_spawn: %s", coop_strerror(rc));
    }
    for (int i = 0; i < tasks; i++) {
        int rc = coop_join(ids[i], NULL);
        if (rc < 0) bench_fail("coop_join: %s", coop_strerror(rc));
    }
    if (!r.closed) bench_fail("%s: the window never closed", measure);
    return (double)(r.t1 - r.t0) / (double)target;
}

static void bench_yield(const char *measure, int tasks, long target, long instr_target) {
    if (!bench_selected(measure)) return;
    coop_task_id *ids = calloc((size_t)tasks, sizeof *ids);
    if (ids == NULL) bench_fail("out of memory");
    long n = bench_iters(target, instr_target);
    bench_sampler s = {0};
    while (bench_more(&s)) bench_sample(&s, yield_once(measure, tasks, n, ids));
    bench_row(measure, "coop", bench_sampler_median(&s), "ns/yield");
    free(ids);
}

static int bench_main(void *arg) {
    (void)arg;
    bench_yield("yield, 2 tasks", 2, 2000000, 20000);
    bench_yield("yield, 1000 tasks", 1000, 2000000, 20000);
    return 0;
}

int main(void) {
    int rc = coop_run(bench_main, NULL);
    if (rc < 0) bench_fail("coop_run: %s", coop_strerror(rc));
    return 0;
}

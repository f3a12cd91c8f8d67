/*
 * sync_lock.c — the cost of coop_lock: an uncontended acquire+release pair
 * (the fast path: no suspension, a load, a compare and a store each way),
 * and a contended hand-off between two tasks (release makes the oldest
 * waiter the owner and unparks it; it costs one task switch).
 *
 * Contended pattern: two tasks loop { acquire; yield; release }. The yield
 * while holding makes the other task queue on the lock, so every release
 * is a hand-off; one operation = one hand-off (it includes the yield's
 * switch and the hand-off's switch, so a hand-off is about two switches of
 * work: compare with "yield, 2 tasks"). Instructions per operation under
 * callgrind; ns per operation otherwise.
 */
#include "bench.h"
#include "coop.h"

static coop_lock lock;

static void uncontended(void) {
    const char *measure = "lock acquire+release, uncontended";
    if (!bench_selected(measure)) return;
    long n = bench_iters(20000000, 100000);
    bench_sampler s = {0};
    for (int r = 0; r < bench_runs(); r++) {
        bench_instr_begin();
        int64_t t0 = bench_now_ns();
        for (long i = 0; i < n; i++) {
            if (coop_lock_acquire(&lock) != 0) bench_fail("acquire failed");
            coop_lock_release(&lock);
        }
        int64_t t1 = bench_now_ns();
        bench_instr_end(measure, "coop", n);
        bench_sample(&s, (double)(t1 - t0) / (double)n);
    }
    bench_row(measure, "coop", bench_sampler_median(&s), "ns/pair");
}

typedef struct handoff_run {
    long target;    /* hand-offs to measure */
    long handoffs;  /* counted so far */
    int64_t t0, t1; /* window */
    int closed;     /* window closed */
} handoff_run;

static int contender(void *arg) {
    handoff_run *r = arg;
    while (r->handoffs < r->target) {
        if (coop_lock_acquire(&lock) != 0) bench_fail("acquire failed");
        r->handoffs++;
        coop_yield(); /* hold across a switch: the other task queues up */
        coop_lock_release(&lock);
    }
    if (!r->closed) {
        r->closed = 1;
        r->t1 = bench_now_ns();
        bench_instr_end("lock hand-off, 2 tasks", "coop", r->target);
    }
    return 0;
}

static void contended(void) {
    const char *measure = "lock hand-off, 2 tasks";
    if (!bench_selected(measure)) return;
    long n = bench_iters(2000000, 20000);
    bench_sampler s = {0};
    for (int r = 0; r < bench_runs(); r++) {
        handoff_run run = {.target = n};
        coop_task_id a, b;
        coop_spawn(&a, "a", contender, &run);
        coop_spawn(&b, "b", contender, &run);
        bench_instr_begin();
        run.t0 = bench_now_ns();
        coop_join(a, NULL);
        coop_join(b, NULL);
        bench_sample(&s, (double)(run.t1 - run.t0) / (double)n);
    }
    bench_row(measure, "coop", bench_sampler_median(&s), "ns/hand-off");
}

static int bench_main(void *arg) {
    (void)arg;
    coop_lock_init(&lock);
    uncontended();
    contended();
    coop_lock_destroy(&lock);
    return 0;
}

int main(void) {
    int rc = coop_run(bench_main, NULL);
    if (rc < 0) bench_fail("coop_run: %s", coop_strerror(rc));
    return 0;
}

/* bench-link: uv */
/*
 * libuv.c — libuv as the baseline of coop's timers and thread offload:
 *   100k x sleep 1 ms    100,000 one-shot 1 ms timers started at once, wall
 *                        time until the last one fired (the callback style
 *                        of what coop does with 100,000 sleeping tasks);
 *                        under callgrind, 10,000 timers: instructions each
 *   to_thread round trip uv_queue_work of an empty job, one at a time: the
 *                        next job is queued from the previous one's
 *                        after_work callback (ns per job, thread pool of 4)
 * Handles are closed after each run, outside the timed part.
 */
#include "bench.h"

#if !defined(COOP_BENCH_NO_UV) && !__has_include(<uv.h>)
#define COOP_BENCH_NO_UV 1
#endif

#ifdef COOP_BENCH_NO_UV
int main(void) {
    bench_skip("100k x sleep 1 ms", "libuv", "libuv1-dev not installed");
    bench_skip("to_thread round trip", "libuv", "libuv1-dev not installed");
    return 0;
}
#else
#include <uv.h>

static void check(int rc, const char *what) {
    if (rc != 0) bench_fail("%s: %s", what, uv_strerror(rc));
}

/* ---- timers ----------------------------------------------------------- */

enum { TIMERS = 100000 };

static long timers_fired; /* callbacks run in this run */

static void on_timer(uv_timer_t *t) {
    (void)t;
    timers_fired++;
}

static void bench_timers(uv_loop_t *loop) {
    long n = bench_iters(TIMERS, TIMERS / 10);
    uv_timer_t *timers = calloc((size_t)n, sizeof *timers);
    if (timers == NULL) bench_fail("out of memory");
    bench_sampler s = {0};
    while (bench_more(&s)) {
        timers_fired = 0;
        uv_update_time(loop);
        bench_instr_begin();
        int64_t t0 = bench_now_ns();
        for (long i = 0; i < n; i++) {
            check(uv_timer_init(loop, &timers[i]), "uv_timer_init");
            check(uv_timer_start(&timers[i], on_timer, 1, 0), "uv_timer_start");
        }
        check(uv_run(loop, UV_RUN_DEFAULT), "uv_run");
        int64_t t1 = bench_now_ns();
        bench_instr_end("100k x sleep 1 ms", "libuv", n);
        if (timers_fired != n) bench_fail("%ld of %ld timers fired", timers_fired, n);
        for (long i = 0; i < n; i++) uv_close((uv_handle_t *)&timers[i], NULL);
        check(uv_run(loop, UV_RUN_DEFAULT), "uv_run (close)");
        bench_sample(&s, (double)(t1 - t0) / 1e6);
    }
    free(timers);
    bench_row("100k x sleep 1 ms", "libuv", bench_sampler_median(&s), "ms");
}

/* ---- uv_queue_work round trips ---------------------------------------- */

typedef struct work_chain {
    uv_work_t req;  /* reused for each job: queued again from after_work */
    long remaining; /* jobs still to queue */
} work_chain;

static void empty_job(uv_work_t *req) { (void)req; }

static void job_done(uv_work_t *req, int status) {
    work_chain *c = req->data;
    check(status, "after_work");
    if (--c->remaining > 0) check(uv_queue_work(req->loop, req, empty_job, job_done), "uv_queue_work");
}

static void bench_queue_work(uv_loop_t *loop) {
    long n = bench_iters(5000, 0);
    work_chain c;
    c.req.data = &c;
    /* Start the pool's threads outside the timed part. */
    c.remaining = 1;
    check(uv_queue_work(loop, &c.req, empty_job, job_done), "uv_queue_work");
    check(uv_run(loop, UV_RUN_DEFAULT), "uv_run");
    bench_sampler s = {0};
    while (bench_more(&s)) {
        c.remaining = n;
        int64_t t0 = bench_now_ns();
        check(uv_queue_work(loop, &c.req, empty_job, job_done), "uv_queue_work");
        check(uv_run(loop, UV_RUN_DEFAULT), "uv_run");
        bench_sample(&s, (double)(bench_now_ns() - t0) / (double)n);
    }
    bench_row("to_thread round trip", "libuv", bench_sampler_median(&s), "ns/job");
}

int main(void) {
    uv_loop_t loop;
    check(uv_loop_init(&loop), "uv_loop_init");
    if (bench_selected("100k x sleep 1 ms")) bench_timers(&loop);
    /* Thread hand-offs are kernel work that callgrind does not see. */
    if (bench_selected("to_thread round trip") && !bench_instr_mode()) bench_queue_work(&loop);
    check(uv_loop_close(&loop), "uv_loop_close");
    return 0;
}
#endif

/*
 * offload_pool.c — the round trip of offloading a trivial function:
 *   to_thread round trip     coop_to_thread(empty) one at a time: submit,
 *                            a worker runs it, the completion wakes the loop
 *                            through its eventfd, the task resumes (ns/job);
 *   process pool round trip  coop_procpool_call(empty) one at a time on a
 *                            pool of 2 started before (ns/job).
 * Baselines (rows of the same measures): libuv's uv_queue_work and Python's
 * asyncio.to_thread / run_in_executor(ProcessPoolExecutor) (bench/baselines).
 * Both measures mostly wait in the kernel (futex, eventfd, socket), so no
 * callgrind window is opened: instruction counts would not mean much.
 */
#include "bench.h"
#include "coop.h"

static intptr_t empty_job(void *arg) { return (intptr_t)arg; }

static ssize_t empty_proc_job(const void *in, size_t n, void *out, size_t cap) {
    (void)in;
    (void)out;
    (void)cap;
    return (ssize_t)(n & 0);
}

static void bench_to_thread(void) {
    const char *m = "to_thread round trip";
    if (!bench_selected(m) || bench_instr_mode()) return;
    long n = bench_iters(50000, 1000);
    intptr_t r;
    for (int i = 0; i < 100; i++) /* start the worker, warm caches */
        if (coop_to_thread(empty_job, NULL, &r) < 0) bench_fail("coop_to_thread");
    bench_sampler s = {0};
    for (int run = 0; run < bench_runs(); run++) {
        int64_t t0 = bench_now_ns();
        for (long i = 0; i < n; i++) {
            int rc = coop_to_thread(empty_job, (void *)i, &r);
            if (rc < 0 || r != i) bench_fail("coop_to_thread: %s", coop_strerror(rc));
        }
        bench_sample(&s, (double)(bench_now_ns() - t0) / (double)n);
    }
    bench_row(m, "coop", bench_sampler_median(&s), "ns/job");
}

static void bench_procpool(void) {
    const char *m = "process pool round trip";
    if (!bench_selected(m) || bench_instr_mode()) return;
    long n = bench_iters(20000, 1000);
    coop_procpool *pp;
    int rc = coop_procpool_new(&pp, 2, 0);
    if (rc < 0) bench_fail("coop_procpool_new: %s", coop_strerror(rc));
    char in[8] = "x", out[8];
    for (int i = 0; i < 100; i++)
        if (coop_procpool_call(pp, empty_proc_job, in, 1, out, sizeof out) < 0)
            bench_fail("coop_procpool_call");
    bench_sampler s = {0};
    for (int run = 0; run < bench_runs(); run++) {
        int64_t t0 = bench_now_ns();
        for (long i = 0; i < n; i++) {
            ssize_t k = coop_procpool_call(pp, empty_proc_job, in, 1, out, sizeof out);
            if (k < 0) bench_fail("coop_procpool_call: %s", coop_strerror((int)k));
        }
        bench_sample(&s, (double)(bench_now_ns() - t0) / (double)n);
    }
    bench_row(m, "coop", bench_sampler_median(&s), "ns/job");
    coop_procpool_free(pp);
}

static int bench_main(void *arg) {
    (void)arg;
    bench_to_thread();
    bench_procpool();
    coop_pools_shutdown();
    return 0;
}

int main(void) {
    int rc = coop_run(bench_main, NULL);
    if (rc < 0) bench_fail("coop_run: %s", coop_strerror(rc));
    return 0;
}

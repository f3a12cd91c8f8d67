/*
 * starvation.c — the tour's part 40-49: the seed's starvation problem. A
 * task that computes without a checkpoint freezes every other task of its
 * loop; the watchdog names it while it runs; then the same computation is
 * fixed three ways — chunks with coop_yield, coop_to_thread, and the
 * process pool — and a heartbeat task stays on time each time.
 *
 * The computation is the seed's cpu_hog: sum(i * i for i in range(N)),
 * with N calibrated at start so that it takes about 300 ms here.
 */
#include <errno.h>
#include <execinfo.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "tour.h"

#define HOG_MS 300
#define BEAT_MS 10

static int64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The work: sum of i*i for i in [from, to), wrapping. */
__attribute__((noinline)) static uint64_t sum_squares(uint64_t from, uint64_t to) {
    volatile uint64_t s = 0; /* volatile: the compiler must not fold the loop */
    for (uint64_t i = from; i < to; i++) s += i * i;
    return s;
}

static uint64_t hog_n; /* N such that sum_squares(0, N) takes ~HOG_MS */

static void calibrate(void) {
    if (hog_n) return;
    /* Double the count until one run takes 20 ms, then scale. */
    uint64_t n = 1 << 16;
    int64_t dt;
    for (;;) {
        int64_t t0 = mono_ns();
        sum_squares(0, n);
        dt = mono_ns() - t0;
        if (dt >= COOP_MS(20)) break;
        n *= 2;
    }
    hog_n = (uint64_t)((double)n * (double)COOP_MS(HOG_MS) / (double)dt);
}

/* ---- the heartbeat ---------------------------------------------------- */

typedef struct beat {
    atomic_int stop;   /* set when the work is done */
    int beats;         /* heartbeats so far */
    double max_gap_ms; /* longest gap between two beats */
} beat;

static int heartbeat(void *arg) {
    beat *b = arg;
    int64_t last = mono_ns();
    while (!atomic_load(&b->stop)) {
        coop_sleep(COOP_MS(BEAT_MS));
        int64_t now = mono_ns();
        double gap = (double)(now - last) / 1e6;
        if (gap > b->max_gap_ms) b->max_gap_ms = gap;
        last = now;
        b->beats++;
    }
    return 0;
}

/* Run work(arg) as a task named name next to a heartbeat; returns the
 * heartbeat's longest gap in ms. */
static double with_heartbeat(const char *name, coop_fn work, void *arg, double *elapsed_ms) {
    static beat b;
    memset(&b, 0, sizeof b);
    coop_task_id hb, w;
    coop_spawn(&hb, "heartbeat", heartbeat, &b);
    coop_sleep(COOP_MS(3 * BEAT_MS)); /* the heartbeat is beating */
    b.max_gap_ms = 0;
    int64_t t0 = mono_ns();
    coop_spawn(&w, name, work, arg);
    coop_join(w, NULL);
    *elapsed_ms = (double)(mono_ns() - t0) / 1e6;
    atomic_store(&b.stop, 1);
    coop_join(hb, NULL);
    return b.max_gap_ms;
}

/* The sum in closed form, n(n-1)(2n-1)/6, wrapped to 64 bits like the
 * loop (exact in 128 bits for the n used here). */
static uint64_t expected_sum(void) {
    unsigned __int128 n = hog_n;
    return (uint64_t)(n * (n - 1) * (2 * n - 1) / 6);
}

/* ---- 40: the hog, and the watchdog naming it -------------------------- */

static atomic_int report_seen;

static void tour_reporter(const coop_slow_report *r, void *arg) {
    (void)arg;
    if (r->released) {
        tour_show("watchdog: task \"%s\" released the loop after %.0f ms", r->task,
                  (double)r->held_ns / 1e6);
        return;
    }
    atomic_store(&report_seen, 1);
    tour_show("watchdog (from its monitor thread, while the task runs): task \"%s\" has held "
              "the loop for %.0f ms without a checkpoint; it is at:",
              r->task, (double)r->held_ns / 1e6);
    char **syms = backtrace_symbols(r->frames, r->nframes);
    for (int i = 0; syms && i < r->nframes && i < 4; i++) tour_show("    #%d %s", i, syms[i]);
    free(syms);
}

typedef struct hog_arg {
    uint64_t sum;          /* the result */
    int report_during;     /* the watchdog reported before the hog finished */
} hog_arg;

static int cpu_hog(void *arg) {
    hog_arg *h = arg;
    h->sum = sum_squares(0, hog_n); /* no checkpoint: the loop is ours */
    h->report_during = atomic_load(&report_seen);
    return 0;
}

static int hog_main(void *arg) {
    (void)arg;
    calibrate();
    hog_arg h = {0};
    coop_watchdog_set_reporter(tour_reporter, NULL);
    coop_watchdog_start(COOP_MS(100));
    tour_say("A heartbeat task sleeps %d ms and measures the gap between its beats.", BEAT_MS);
    tour_say("Then cpu_hog computes sum(i*i for i in range(%llu)) without a checkpoint:",
             (unsigned long long)hog_n);
    double took, gap = with_heartbeat("cpu_hog", cpu_hog, &h, &took);
    coop_sleep(COOP_MS(40)); /* the watchdog's "released" line */
    coop_watchdog_stop();
    coop_watchdog_set_reporter(NULL, NULL);
    tour_show("cpu_hog took %.0f ms; the heartbeat's longest gap: %.0f ms (it should be %d)", took,
              gap, BEAT_MS);
    tour_check(gap >= HOG_MS * 0.8, "the hog froze the heartbeat for its whole run");
    tour_check(h.report_during, "the watchdog named cpu_hog while it was still running");
    tour_check(h.sum == expected_sum(), "the hog computed the right sum");
    return 0;
}

TOUR_SECTION(section_hog, 40, "hog", "The starvation problem: a CPU hog freezes every task") {
    return coop_run(hog_main, NULL);
}

/* ---- 41: fixed with chunks and coop_yield ----------------------------- */

static int chunked(void *arg) {
    uint64_t *sum = arg, chunk = hog_n / 300 + 1, s = 0;
    for (uint64_t i = 0; i < hog_n; i += chunk) {
        uint64_t end = i + chunk < hog_n ? i + chunk : hog_n;
        s += sum_squares(i, end);
        coop_yield(); /* a checkpoint every ~1 ms: asyncio.sleep(0) */
    }
    *sum = s;
    return 0;
}

static int chunks_main(void *arg) {
    (void)arg;
    calibrate();
    uint64_t sum = 0;
    tour_say("The same sum in 300 chunks, with coop_yield() between chunks:");
    double took, gap = with_heartbeat("chunked", chunked, &sum, &took);
    tour_show("took %.0f ms; the heartbeat's longest gap: %.1f ms", took, gap);
    tour_check(gap < HOG_MS / 2.0, "the heartbeat kept beating");
    tour_check(sum == expected_sum(), "same sum");
    return 0;
}

TOUR_SECTION(section_chunks, 41, "chunks", "Remedy 1: cut the work into chunks with coop_yield") {
    return coop_run(chunks_main, NULL);
}

/* ---- 42: fixed with coop_to_thread ------------------------------------ */

static intptr_t sum_job(void *arg) {
    *(uint64_t *)arg = sum_squares(0, hog_n); /* runs on a worker thread */
    return 0;
}

static int offloaded(void *arg) {
    return coop_to_thread(sum_job, arg, NULL); /* this task waits; the loop runs on */
}

static int thread_main(void *arg) {
    (void)arg;
    calibrate();
    uint64_t sum = 0;
    tour_say("The same sum on the \"cpu\" thread pool: coop_to_thread(sum_job, &sum, NULL):");
    double took, gap = with_heartbeat("offloaded", offloaded, &sum, &took);
    tour_show("took %.0f ms; the heartbeat's longest gap: %.1f ms", took, gap);
    tour_check(gap < HOG_MS / 2.0, "the heartbeat kept beating");
    tour_check(sum == expected_sum(), "same sum");
    coop_pools_shutdown();
    return 0;
}

TOUR_SECTION(section_to_thread, 42, "to_thread", "Remedy 2: offload to a thread (asyncio.to_thread)") {
    return coop_run(thread_main, NULL);
}

/* ---- 43: fixed with the process pool --------------------------------- */

static ssize_t sum_proc_job(const void *in, size_t n, void *out, size_t cap) {
    uint64_t count, s;
    if (n != sizeof count || cap < sizeof s) return -EINVAL;
    memcpy(&count, in, sizeof count);
    s = sum_squares(0, count); /* runs in a worker process */
    memcpy(out, &s, sizeof s);
    return (ssize_t)sizeof s;
}

typedef struct proc_arg {
    coop_procpool *pool;
    uint64_t sum;
} proc_arg;

static int in_process(void *arg) {
    proc_arg *p = arg;
    ssize_t r = coop_procpool_call(p->pool, sum_proc_job, &hog_n, sizeof hog_n, &p->sum, sizeof p->sum);
    return r == sizeof p->sum ? 0 : (int)r;
}

static int proc_main(void *arg) {
    (void)arg;
    calibrate();
    proc_arg p = {0};
    if (coop_procpool_new(&p.pool, 2, 0) < 0) return tour_check(0, "process pool created") ? 0 : 1;
    tour_say("The same sum in a worker process: coop_procpool_call(pool, sum_proc_job, &n, ...):");
    double took, gap = with_heartbeat("in_process", in_process, &p, &took);
    tour_show("took %.0f ms; the heartbeat's longest gap: %.1f ms", took, gap);
    tour_check(gap < HOG_MS / 2.0, "the heartbeat kept beating");
    tour_check(p.sum == expected_sum(), "same sum");
    coop_procpool_free(p.pool);
    tour_say("Chunks suit work you can cut; threads suit work that blocks or releases the CPU");
    tour_say("to the kernel; processes isolate crashes and sidestep shared state (docs/guide/starvation.md).");
    return 0;
}

TOUR_SECTION(section_procpool, 43, "procpool", "Remedy 3: a process pool for heavy computation") {
    return coop_run(proc_main, NULL);
}

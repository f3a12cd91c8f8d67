/*
 * bench.h — what every benchmark program (bench/NAME.c, bench/baselines/NAME.c)
 * shares: the monotonic clock, iteration counts, repeated runs reduced to
 * a median, the result rows that bench/run.sh collects, and the callgrind
 * window that makes instruction counts cover exactly the measured loop.
 *
 * Output contract (stdout, one row a line, tab-separated):
 *   BENCH  measure  impl  value  unit     a result (value "skipped" and the
 *                                         reason as unit for a missing baseline)
 *   INSTR  measure  impl  ops             (instruction mode only) a callgrind
 *                                         window closed over ops operations
 * Rows of different programs with the same measure name are compared with
 * each other (run.sh prints the ratio to impl "coop").
 *
 * Environment:
 *   COOP_BENCH_INSTR=1  running under callgrind (bench/run.sh --instr): small
 *                       fixed iteration counts, one run, no BENCH rows;
 *   COOP_BENCH_QUICK=1  a tenth of the iterations, 3 runs (smoke test);
 *   COOP_BENCH_ONLY=s   only measures whose name contains s;
 *   COOP_BENCH_BUDGET_MS  time budget of one measure's repeated runs
 *                       (bench_more; default 3000).
 * Everything here is header-only (static) because each .c file is a whole
 * program. Nothing here allocates.
 */
#ifndef COOP_BENCH_H
#define COOP_BENCH_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define BENCH_HAVE_CALLGRIND 1
#endif
#endif
#ifndef BENCH_HAVE_CALLGRIND
#define CALLGRIND_START_INSTRUMENTATION ((void)0)
#define CALLGRIND_STOP_INSTRUMENTATION ((void)0)
#define CALLGRIND_ZERO_STATS ((void)0)
#define CALLGRIND_DUMP_STATS_AT(s) ((void)(s))
#endif

#define BENCH_UNUSED __attribute__((unused))

/* ---- modes ------------------------------------------------------------ */

static BENCH_UNUSED int bench_env_flag(const char *name) {
    const char *v = getenv(name);
    return v != NULL && *v != '\0' && strcmp(v, "0") != 0;
}

/* 1 when running under callgrind for instruction counts (read once: the
 * answer is asked inside timed code). */
static BENCH_UNUSED int bench_instr_mode(void) {
    static int mode = -1;
    if (mode < 0) mode = bench_env_flag("COOP_BENCH_INSTR");
    return mode;
}

/* 1 for the quick smoke-test mode (a tenth of the work). */
static BENCH_UNUSED int bench_quick_mode(void) {
    static int mode = -1;
    if (mode < 0) mode = bench_env_flag("COOP_BENCH_QUICK");
    return mode;
}

/* Whether measure is selected by COOP_BENCH_ONLY (a substring of the
 * measure's name; unset or empty selects everything). */
static BENCH_UNUSED int bench_selected(const char *measure) {
    const char *only = getenv("COOP_BENCH_ONLY");
    return only == NULL || *only == '\0' || strstr(measure, only) != NULL;
}

/* The iteration count of a measured loop: `normal` in a timing run, a tenth
 * of it (at least 1) in quick mode, `instr` under callgrind (small and
 * fixed, so that counts are comparable from run to run). */
static BENCH_UNUSED long bench_iters(long normal, long instr) {
    if (bench_instr_mode()) return instr;
    if (bench_quick_mode()) return normal / 10 > 0 ? normal / 10 : 1;
    return normal;
}

/* How many times a timed measure is repeated at most (its median is
 * reported): 5 normally, 3 in quick mode, 1 under callgrind. See
 * bench_more for the time budget that can make it fewer. */
static BENCH_UNUSED int bench_runs(void) {
    if (bench_instr_mode()) return 1;
    return bench_quick_mode() ? 3 : 5;
}

/* ---- time ------------------------------------------------------------- */

/* CLOCK_MONOTONIC in nanoseconds. */
static BENCH_UNUSED int64_t bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (sorts v in place). n >= 1. */
static BENCH_UNUSED double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Smallest of v[0..n). n >= 1. */
static BENCH_UNUSED double bench_min(const double *v, int n) {
    double m = v[0];
    for (int i = 1; i < n; i++)
        if (v[i] < m) m = v[i];
    return m;
}

/* The most runs a bench_sampler keeps. */
#define BENCH_MAX_RUNS 16

/* Collects one figure per run of a measure and decides how many runs to
 * make: bench_runs() of them, but no new run once the runs so far took
 * longer than the time budget (COOP_BENCH_BUDGET_MS, default 3000 ms per
 * measure), and always at least one. Usage:
 *     bench_sampler s = {0};
 *     while (bench_more(&s)) {
 *         int64_t t0 = bench_now_ns();  ...n ops...
 *         bench_sample(&s, (double)(bench_now_ns() - t0) / n);
 *     }
 *     bench_row("yield, 2 tasks", "coop", bench_sampler_median(&s), "ns/yield");
 */
typedef struct bench_sampler {
    double v[BENCH_MAX_RUNS]; /* the figures of the runs so far */
    int n;                    /* how many of v are set */
    int64_t started;          /* bench_now_ns() at the first bench_more */
} bench_sampler;

static BENCH_UNUSED void bench_sample(bench_sampler *s, double value) {
    if (s->n < BENCH_MAX_RUNS) s->v[s->n++] = value;
}

/* Whether to make another run (see bench_sampler). */
static BENCH_UNUSED int bench_more(bench_sampler *s) {
    int64_t now = bench_now_ns();
    if (s->n == 0) {
        if (s->started == 0) s->started = now;
        return 1;
    }
    const char *env = getenv("COOP_BENCH_BUDGET_MS");
    int64_t budget_ms = env && *env ? atol(env) : 3000;
    return s->n < bench_runs() && s->n < BENCH_MAX_RUNS && now - s->started < budget_ms * 1000000;
}

static BENCH_UNUSED double bench_sampler_median(bench_sampler *s) {
    return s->n > 0 ? bench_median(s->v, s->n) : 0.0;
}

/* ---- rows ------------------------------------------------------------- */

/* Print a result row. Nothing is printed under callgrind, where time means
 * nothing (the INSTR rows are that mode's results). */
static BENCH_UNUSED void bench_row(const char *measure, const char *impl, double value,
                                   const char *unit) {
    if (bench_instr_mode()) return;
    printf("BENCH\t%s\t%s\t%.*f\t%s\n", measure, impl,
           value >= 100 ? 0 : value >= 10 ? 1 : value >= 1 ? 2 : 3, value, unit);
    fflush(stdout);
}

/* Print the row of a baseline (or measure) that cannot run here, with the
 * reason, e.g. bench_skip("yield, 1000 tasks", "boost.context",
 * "libboost-context-dev not installed"). Printed in every mode. */
static BENCH_UNUSED void bench_skip(const char *measure, const char *impl, const char *reason) {
    printf("BENCH\t%s\t%s\tskipped\t%s\n", measure, impl, reason);
    fflush(stdout);
}

/* Report that a bench program itself failed (an API call returned an
 * error): prints the reason on stderr and exits 1, so run.sh flags it. */
static BENCH_UNUSED __attribute__((noreturn, format(printf, 1, 2))) void
bench_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("bench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

/* ---- instruction counts ------------------------------------------------
 * Under `bench/run.sh --instr` a program runs in callgrind with
 * instrumentation off (--instr-atstart=no). bench_instr_begin switches it
 * on and zeroes the counters; bench_instr_end switches it off and dumps the
 * counters with the description "coop-bench<TAB>measure<TAB>impl<TAB>ops",
 * which run.sh divides by ops. So one program can report several measures
 * in one run, each counting only its own window: put the setup outside,
 * exactly `ops` operations inside, and close the window in whichever task
 * or thread finishes last. Instrumentation is global to the process, so a
 * window covers every thread (but never the kernel: counts of code that
 * mostly waits in syscalls are not meaningful, and are not reported).
 * Outside instruction mode both calls do nothing.
 */
static BENCH_UNUSED void bench_instr_begin(void) {
    if (!bench_instr_mode()) return;
    CALLGRIND_START_INSTRUMENTATION;
    CALLGRIND_ZERO_STATS;
}

static BENCH_UNUSED void bench_instr_end(const char *measure, const char *impl, long ops) {
    if (!bench_instr_mode()) return;
    CALLGRIND_STOP_INSTRUMENTATION;
    char desc[256];
    snprintf(desc, sizeof desc, "coop-bench\t%s\t%s\t%ld", measure, impl, ops);
    CALLGRIND_DUMP_STATS_AT(desc);
    printf("INSTR\t%s\t%s\t%ld\n", measure, impl, ops);
    fflush(stdout);
}

/* ---- memory ----------------------------------------------------------- */

/* A "Vm...:   N kB" field of /proc/self/status in KiB, or -1. */
static BENCH_UNUSED long bench_proc_status_kib(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL) return -1;
    char line[256];
    size_t len = strlen(field);
    long kib = -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, field, len) == 0 && line[len] == ':') {
            kib = strtol(line + len + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kib;
}

/* Resident memory plus page tables, in KiB: what a set of parked tasks
 * costs the machine (VmRSS + VmPTE). */
static BENCH_UNUSED long bench_resident_kib(void) {
    long rss = bench_proc_status_kib("VmRSS"), pte = bench_proc_status_kib("VmPTE");
    return rss < 0 ? -1 : rss + (pte > 0 ? pte : 0);
}

#endif

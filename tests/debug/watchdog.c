/*
 * The watchdog: it names a task that holds the loop, while the task still
 * runs, with a backtrace into the task's code; it is quiet when every task
 * checkpoints; its default report goes to stderr. Plus loop statistics
 * (switches, lag, longest slice) and the task dump. Real clock: these tests
 * are about real time, with generous margins.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "test.h"
#include "debug/debug.h"
#include "util/alloc.h"
#ifdef COOP_VALGRIND
#include <valgrind/valgrind.h>
#define UNDER_VALGRIND (RUNNING_ON_VALGRIND != 0)
#else
#define UNDER_VALGRIND 0
#endif
#include <sys/stat.h>

static int64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- a reporter that records ------------------------------------------ */

static struct {
    pthread_mutex_t mu;
    atomic_int held;       /* "still running" reports */
    atomic_int released;   /* "released" reports */
    char task[32];         /* name in the first report */
    int64_t held_ns;       /* its time */
    int nframes;           /* its depth */
    int in_spin;           /* a frame lies inside spin_until() */
    atomic_int seen;       /* a held report arrived (read by the hog) */
} rec = {.mu = PTHREAD_MUTEX_INITIALIZER};

__attribute__((noinline)) static int spin_until(int64_t deadline, atomic_int *stop_early) {
    volatile uint64_t x = 0;
    while (mono_ns() < deadline && !(stop_early && atomic_load(stop_early))) x++;
    return (int)(x & 1);
}

static void recorder(const coop_slow_report *r, void *arg) {
    (void)arg;
    pthread_mutex_lock(&rec.mu);
    if (r->released) {
        rec.released++;
    } else {
        if (rec.held++ == 0) {
            snprintf(rec.task, sizeof rec.task, "%s", r->task);
            rec.held_ns = r->held_ns;
            rec.nframes = r->nframes;
            for (int i = 0; i < r->nframes; i++) {
                uintptr_t a = (uintptr_t)r->frames[i], f = (uintptr_t)spin_until;
                if (a >= f && a < f + 512) rec.in_spin = 1;
            }
        }
        atomic_store(&rec.seen, 1);
    }
    pthread_mutex_unlock(&rec.mu);
}

/* ---- slow task reported while it runs --------------------------------- */

static int hog(void *arg) {
    int *reported_while_running = arg;
    /* Hold the loop until the watchdog has reported us (or 3 s). */
    spin_until(mono_ns() + COOP_SEC(3), &rec.seen);
    *reported_while_running = atomic_load(&rec.seen);
    spin_until(mono_ns() + COOP_MS(20), NULL);
    return 0;
}

static int body_reports(void *arg) {
    (void)arg;
    static int while_running;
    coop_watchdog_set_reporter(recorder, NULL);
    CHECK_ERR(coop_watchdog_start(COOP_MS(50)), 0);
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "hog", hog, &while_running));
    CHECK_ERR(coop_join(t, NULL), 0);
    CHECK_EQ(while_running, 1); /* the report came while the hog held the loop */
    /* The release line comes at the monitor's next sample. */
    for (int i = 0; i < 100 && rec.released == 0; i++) coop_sleep(COOP_MS(5));
    coop_watchdog_stop();
    coop_watchdog_set_reporter(NULL, NULL);
    pthread_mutex_lock(&rec.mu);
    CHECK_EQ(rec.held, 1); /* once per run, not once per sample */
    CHECK_EQ(rec.released, 1);
    CHECK_STR(rec.task, "hog");
    CHECK(rec.held_ns >= COOP_MS(50));
    CHECK(rec.nframes > 0);
    CHECK_EQ(rec.in_spin, 1); /* the backtrace shows where the hog was */
    pthread_mutex_unlock(&rec.mu);
    return 0;
}
TEST(watchdog_names_a_slow_task_while_it_runs) {
    if (test_under_valgrind()) test_skip("valgrind holds signals to a spinning thread until it yields");
    CHECK_ERR(test_run_real(body_reports, NULL), 0);
}

/* ---- quiet when everybody checkpoints --------------------------------- */

static int polite(void *arg) {
    (void)arg;
    int64_t end = mono_ns() + COOP_MS(300);
    while (mono_ns() < end) {
        spin_until(mono_ns() + COOP_USEC(200), NULL); /* short bursts of work */
        coop_yield();
    }
    return 0;
}

static int body_quiet(void *arg) {
    (void)arg;
    coop_watchdog_set_reporter(recorder, NULL);
    CHECK_ERR(coop_watchdog_start(COOP_MS(50)), 0);
    coop_task_id ids[8];
    for (int i = 0; i < 8; i++) CHECK_OK(coop_spawn(&ids[i], "polite", polite, NULL));
    for (int i = 0; i < 8; i++) CHECK_ERR(coop_join(ids[i], NULL), 0);
    coop_loop_stats st;
    CHECK_ERR(coop_loop_stats_get(&st), 0);
    coop_watchdog_stop();
    coop_watchdog_set_reporter(NULL, NULL);
    CHECK_EQ(rec.held, 0);
    CHECK_EQ(rec.released, 0);
    CHECK(st.switches > 100);
    if (!UNDER_VALGRIND) CHECK(st.max_slice_ns < COOP_MS(50));
    CHECK(st.watched_ns >= COOP_MS(250));
    return 0;
}
TEST(watchdog_is_quiet_when_tasks_checkpoint) { CHECK_ERR(test_run_real(body_quiet, NULL), 0); }

/* ---- default report on stderr ----------------------------------------- */

static int short_hog(void *arg) {
    (void)arg;
    spin_until(mono_ns() + COOP_MS(150), NULL);
    return 0;
}

/* Hold the loop until something was written to stderr (the report), or
 * 3 s: the report must come while we run, however slow the machine. */
static int stderr_hog(void *arg) {
    (void)arg;
    int64_t end = mono_ns() + COOP_SEC(3);
    struct stat st;
    while (mono_ns() < end && fstat(2, &st) == 0 && st.st_size == 0) spin_until(mono_ns() + COOP_MS(1), NULL);
    spin_until(mono_ns() + COOP_MS(20), NULL);
    return 0;
}

static int body_stderr(void *arg) {
    (void)arg;
    CHECK_ERR(coop_watchdog_start(COOP_MS(30)), 0);
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "cruncher", stderr_hog, NULL));
    CHECK_ERR(coop_join(t, NULL), 0);
    coop_sleep(COOP_MS(60)); /* let the release line come */
    coop_watchdog_stop();
    return 0;
}

TEST(watchdog_prints_to_stderr_by_default) {
    if (test_under_valgrind()) test_skip("valgrind holds signals to a spinning thread until it yields");
    int mfd = memfd_create("stderr", 0);
    CHECK(mfd >= 0);
    int saved = dup(2);
    dup2(mfd, 2);
    int rc = test_run_real(body_stderr, NULL);
    dup2(saved, 2);
    close(saved);
    CHECK_ERR(rc, 0);
    char buf[8192] = {0};
    ssize_t n = pread(mfd, buf, sizeof buf - 1, 0);
    close(mfd);
    CHECK(n > 0);
    CHECK(strstr(buf, "task \"cruncher\" has held the loop for") != NULL);
    CHECK(strstr(buf, "still running, at:") != NULL);
    CHECK(strstr(buf, "task \"cruncher\" released the loop after") != NULL);
}

/* ---- configuration ---------------------------------------------------- */

static int body_config(void *arg) {
    (void)arg;
    CHECK_ERR(coop_watchdog_start(COOP_USEC(500)), -EINVAL);
    setenv("COOP_SLOW_MS", "0", 1);
    CHECK_ERR(coop_watchdog_start(COOP_WATCHDOG_DEFAULT), 0); /* 0: disabled */
    coop_loop_stats st;
    CHECK_ERR(coop_loop_stats_get(&st), 0);
    CHECK_EQ(st.watched_ns, 0);
    setenv("COOP_SLOW_MS", "40", 1);
    CHECK_ERR(coop_watchdog_start(COOP_WATCHDOG_DEFAULT), 0);
    CHECK_ERR(coop_watchdog_start(COOP_MS(80)), 0); /* again: new threshold */
    coop_sleep(COOP_MS(5));
    CHECK_ERR(coop_loop_stats_get(&st), 0);
    CHECK(st.watched_ns > 0);
    coop_watchdog_stop();
    coop_watchdog_stop(); /* idempotent */
    coop__alloc_fail_at(1);
    CHECK_ERR(coop_watchdog_start(COOP_MS(50)), -ENOMEM); /* its record */
    coop__alloc_fail_at(0);
    CHECK_ERR(coop_loop_stats_get(&st), 0);
    CHECK_EQ(st.watched_ns, 0); /* not watched after the failure */
    return 0;
}
TEST(watchdog_threshold_from_api_and_environment) {
    CHECK_ERR(coop_watchdog_start(COOP_MS(100)), -EPERM);
    CHECK_ERR(test_run_real(body_config, NULL), 0);
    coop_loop_stats st;
    CHECK_ERR(coop_loop_stats_get(&st), -EPERM);
    CHECK_ERR(coop_task_dump(2), -EPERM);
}

/* ---- loop lag and slices ---------------------------------------------- */

static int body_lag(void *arg) {
    (void)arg;
    coop_watchdog_set_reporter(recorder, NULL); /* keep stderr clean */
    CHECK_ERR(coop_watchdog_start(COOP_MS(20)), 0);
    coop_sleep(COOP_MS(30));
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "hog", short_hog, NULL)); /* holds the loop 150 ms */
    CHECK_ERR(coop_join(t, NULL), 0);
    coop_sleep(COOP_MS(50));
    coop_loop_stats st;
    CHECK_ERR(coop_loop_stats_get(&st), 0);
    coop_watchdog_stop();
    coop_watchdog_set_reporter(NULL, NULL);
    CHECK(st.lag_samples >= 1);
    /* Valgrind runs one thread at a time with coarse switches: the monitor
     * samples too rarely there for these figures to mean anything. */
    if (!UNDER_VALGRIND) {
        CHECK(st.max_slice_ns >= COOP_MS(100));
        CHECK(st.lag_max_ns >= COOP_MS(50)); /* a probe waited behind the hog */
    }
    CHECK(st.lag_avg_ns <= st.lag_max_ns);
    CHECK(st.iterations > 0);
    return 0;
}
TEST(loop_stats_measure_lag_behind_a_slow_task) {
    if (test_under_valgrind()) test_skip("valgrind's serialised threads stretch the monitor's sampling");
    CHECK_ERR(test_run_real(body_lag, NULL), 0);
}

/* ---- task dump -------------------------------------------------------- */

static int sleeper(void *arg) {
    (void)arg;
    return coop_sleep(COOP_SEC(10)) == -ECANCELED ? 0 : -1;
}

static int body_dump(void *arg) {
    (void)arg;
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "sleeper", sleeper, NULL));
    coop_yield();
    int mfd = memfd_create("dump", 0);
    CHECK_EQ(coop_task_dump(mfd), 2);
    char buf[2048] = {0};
    CHECK(pread(mfd, buf, sizeof buf - 1, 0) > 0);
    close(mfd);
    CHECK(strstr(buf, "task \"main\": running") != NULL);
    CHECK(strstr(buf, "task \"sleeper\": parked, waiting in ") != NULL);
    coop_cancel(t);
    CHECK_ERR(coop_join(t, NULL), 0);
    coop_loop_stats st;
    CHECK_ERR(coop_loop_stats_get(&st), 0);
    CHECK_EQ(st.tasks, 1);
    CHECK(st.switches >= 3);
    return 0;
}
TEST(task_dump_lists_tasks_and_what_they_wait_for) { CHECK_ERR(test_run(body_dump, NULL), 0); }

/* ---- the scheduler's lifecycle hook ----------------------------------- */

static int body_hook(void *arg) {
    (void)arg;
    coop_loop_stats st;
    coop__loop *l = (coop__loop *)coop_loop_current();
    unsetenv("COOP_SLOW_MS");
    coop__watchdog_loop_begin(l); /* no COOP_SLOW_MS: not watched */
    CHECK_ERR(coop_loop_stats_get(&st), 0);
    CHECK_EQ(st.watched_ns, 0);
    setenv("COOP_SLOW_MS", "50", 1);
    coop__watchdog_loop_begin(l);
    coop_sleep(COOP_MS(2));
    CHECK_ERR(coop_loop_stats_get(&st), 0);
    CHECK(st.watched_ns > 0);
    coop__watchdog_loop_end(l); /* what the loop's teardown would call */
    CHECK_ERR(coop_loop_stats_get(&st), 0);
    CHECK_EQ(st.watched_ns, 0);
    return 0;
}
TEST(watchdog_hook_watches_loops_when_the_environment_asks) {
    CHECK_ERR(test_run_real(body_hook, NULL), 0);
}

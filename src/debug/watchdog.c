/*
 * watchdog.c — the slow-task watchdog and the loop-lag probe.
 *
 * The loop thread pays nothing here: the scheduler stores, at every task
 * switch-in, a switch counter and the running task pointer in relaxed
 * atomics (sched/park.c set_running; it does so with or without a
 * watchdog). One monitor thread per process samples every watched loop
 * every threshold/4. A loop whose counter has not moved while a task is
 * running has been held by that task since the sample that first saw the
 * counter's value; past the threshold the monitor sends
 * COOP_WATCHDOG_SIGNAL to the loop's thread. The handler is
 * async-signal-safe: it copies the running task's name and calls
 * backtrace() into static storage (backtrace was called once at start, so
 * libgcc's unwinder is already loaded and it allocates nothing), then sets
 * a flag. The monitor waits for the flag, checks that the same task still
 * runs, and reports. One capture is in flight at a time (the monitor
 * serialises them), hence the static capture buffer.
 *
 * Lag: the monitor also posts a probe to each loop (coop__loop_post) once
 * per threshold; the delay until the loop runs it is how late the loop
 * serves a wake-up that is due, i.e. how late a timer would fire.
 *
 * Lifetime: a watch record belongs to the registry; coop_watchdog_stop
 * unlinks it under the registry lock, after which the monitor never sees
 * it. A probe still queued on the loop then owns the record and frees it
 * when it runs (both happen on the loop thread). This file reads the
 * scheduler's per-loop counters from sched/loop.h (see the report to the
 * lead: an accessor in park.h would let debug/ stop including loop.h).
 */
#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "debug/debug.h"
#include "sched/loop.h"
#include "util/alloc.h"
#include "util/list.h"
#include "util/misuse.h"

/* Frames of the handler itself and of the signal trampoline, dropped from
 * a captured backtrace so that frame 0 is where the task was. */
#define HANDLER_FRAMES 2

static int64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the registry ----------------------------------------------------- */

static struct {
    pthread_mutex_t mu;        /* guards everything here and every watch */
    pthread_cond_t cv;         /* wakes the monitor early (stop, new threshold);
                                  on CLOCK_MONOTONIC (set up once in warm_up) */
    coop__list watches;        /* watch records */
    int initialised;           /* watches has been initialised */
    int nwatches;              /* length of watches */
    int monitor_alive;         /* the monitor thread exists (joinable) */
    int monitor_stop;          /* the monitor must exit */
    pthread_t monitor;         /* its id */
    coop_slow_fn reporter;     /* NULL: print to stderr */
    void *reporter_arg;        /* its argument */
} reg = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* The one capture in flight (the monitor serialises captures). */
static struct {
    _Atomic(coop__watch *) target;   /* whose thread must answer */
    atomic_int done;                 /* the handler has filled the fields below */
    coop__task *task;                /* task running when the signal landed */
    uint64_t switches;               /* switch count at that moment */
    int nframes;                     /* captured frames, handler frames included */
    void *frames[COOP_WATCHDOG_FRAMES + HANDLER_FRAMES];
    char name[32];                   /* the task's name */
} cap;

static void on_capture_signal(int sig) {
    (void)sig;
    int saved = errno;
    coop__watch *w = atomic_load_explicit(&cap.target, memory_order_acquire);
    if (w && pthread_equal(pthread_self(), w->thread) &&
        !atomic_load_explicit(&cap.done, memory_order_relaxed)) {
        coop__task *t = atomic_load_explicit(&w->loop->running, memory_order_relaxed);
        cap.task = t;
        cap.switches = atomic_load_explicit(&w->loop->switches, memory_order_relaxed);
        cap.name[0] = 0;
        if (t) {
            const char *n = coop__task_name(t);
            size_t i = 0;
            for (; i < sizeof cap.name - 1 && n[i]; i++) cap.name[i] = n[i];
            cap.name[i] = 0;
        }
        cap.nframes = backtrace(cap.frames, COOP_WATCHDOG_FRAMES + HANDLER_FRAMES);
        atomic_store_explicit(&cap.done, 1, memory_order_release);
    }
    errno = saved;
}

/* Ask w's thread for its backtrace; 1 if it answered within 100 ms. Under
 * reg.mu (the record cannot go away, so neither can its thread's loop). */
static int capture(coop__watch *w) {
    atomic_store_explicit(&cap.done, 0, memory_order_relaxed);
    atomic_store_explicit(&cap.target, w, memory_order_release);
    int ok = 0;
    if (pthread_kill(w->thread, COOP_WATCHDOG_SIGNAL) == 0) {
        for (int i = 0; i < 500 && !ok; i++) {
            ok = atomic_load_explicit(&cap.done, memory_order_acquire);
            if (!ok) nanosleep(&(struct timespec){0, 200000}, NULL);
        }
    }
    atomic_store_explicit(&cap.target, NULL, memory_order_release);
    if (!ok) {
        /* The handler may still run late: wait until it cannot touch cap
         * (it checks target first; a late run sees NULL and does nothing,
         * but one already past that check must finish). */
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    return ok;
}

/* ---- reporting -------------------------------------------------------- */

void coop_watchdog_print(const coop_slow_report *r, int fd) {
    if (!r) return;
    double ms = (double)r->held_ns / 1e6;
    if (r->released) {
        dprintf(fd, "coop: watchdog: task \"%s\" released the loop after %.0f ms without a checkpoint\n",
                r->task, ms);
        return;
    }
    dprintf(fd,
            "coop: watchdog: task \"%s\" has held the loop for %.0f ms without a checkpoint "
            "and is still running, at:\n",
            r->task, ms);
    if (r->nframes > 0)
        backtrace_symbols_fd(r->frames, r->nframes, fd);
    else
        dprintf(fd, "  (no backtrace: the loop thread did not answer %s)\n", "the signal");
}

void coop_watchdog_set_reporter(coop_slow_fn fn, void *arg) {
    pthread_mutex_lock(&reg.mu);
    reg.reporter = fn;
    reg.reporter_arg = arg;
    pthread_mutex_unlock(&reg.mu);
}

static void report(const coop_slow_report *r) {
    if (reg.reporter)
        reg.reporter(r, reg.reporter_arg);
    else
        coop_watchdog_print(r, 2);
}

/* ---- the monitor ------------------------------------------------------ */

static void probe_ran(coop__post *p);

/* One sample of w at time now. Under reg.mu. */
static void sample(coop__watch *w, int64_t now) {
    uint64_t sw = atomic_load_explicit(&w->loop->switches, memory_order_relaxed);
    coop__task *t = atomic_load_explicit(&w->loop->running, memory_order_relaxed);
    if (sw != w->last_switches || t == NULL || t != w->last_task) {
        if (w->reported) {
            coop_slow_report r = {.loop = w->loop, .task = w->held_name,
                                  .held_ns = now - w->since, .released = 1};
            report(&r);
        }
        w->last_switches = sw;
        w->last_task = t;
        w->since = now;
        w->reported = 0;
        return;
    }
    int64_t held = now - w->since;
    if (held > w->max_slice) w->max_slice = held;
    if (w->reported || held < w->threshold) return;
    w->reported = 1; /* once per episode, whatever the capture gives */
    int ok = capture(w);
    if (ok && (cap.switches != sw || cap.task != t)) return; /* it moved on meanwhile */
    memcpy(w->held_name, ok ? cap.name : "?", ok ? sizeof cap.name : 2);
    coop_slow_report r = {.loop = w->loop, .task = w->held_name, .held_ns = mono_ns() - w->since,
                          .released = 0};
    if (ok && cap.nframes > HANDLER_FRAMES) {
        r.nframes = cap.nframes - HANDLER_FRAMES;
        r.frames = cap.frames + HANDLER_FRAMES;
    }
    report(&r);
}

static void *monitor_main(void *arg) {
    (void)arg;
    pthread_mutex_lock(&reg.mu);
    while (!reg.monitor_stop) {
        int64_t period = COOP_SEC(1);
        coop__list *p;
        coop__list_each(p, &reg.watches) {
            coop__watch *w = COOP_CONTAINER_OF(p, coop__watch, link);
            if (w->threshold / 4 < period) period = w->threshold / 4;
        }
        if (period < COOP_USEC(250)) period = COOP_USEC(250);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        int64_t ns = until.tv_nsec + period;
        until.tv_sec += ns / 1000000000;
        until.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&reg.cv, &reg.mu, &until);
        if (reg.monitor_stop) break;
        int64_t now = mono_ns();
        coop__list_each(p, &reg.watches) {
            coop__watch *w = COOP_CONTAINER_OF(p, coop__watch, link);
            sample(w, now);
            if (!w->probe_inflight && now - w->probe_sent >= w->threshold) {
                w->probe_inflight = 1;
                w->probe_sent = now;
                if (coop__loop_post(w->loop, &w->probe) < 0) w->probe_inflight = 0;
            }
        }
    }
    pthread_mutex_unlock(&reg.mu);
    return NULL;
}

/* The lag probe, run on the loop. */
static void probe_ran(coop__post *p) {
    coop__watch *w = COOP_CONTAINER_OF(p, coop__watch, probe);
    int64_t now = mono_ns();
    pthread_mutex_lock(&reg.mu);
    int64_t lag = now - w->probe_sent;
    w->probe_inflight = 0;
    w->lag_samples++;
    w->lag_sum += lag;
    if (lag > w->lag_max) w->lag_max = lag;
    int orphan = w->orphan;
    pthread_mutex_unlock(&reg.mu);
    if (orphan) coop__free(w); /* stopped while this probe was queued */
}

/* ---- start and stop --------------------------------------------------- */

static coop__watch *find(coop__loop *l) {
    coop__list *p;
    coop__list_each(p, &reg.watches) {
        coop__watch *w = COOP_CONTAINER_OF(p, coop__watch, link);
        if (w->loop == l) return w;
    }
    return NULL;
}

static int64_t env_threshold(void) {
    const char *s = getenv("COOP_SLOW_MS");
    if (!s || !*s) return COOP_MS(100);
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 0) return COOP_MS(100);
    return COOP_MS(v);
}

static void warm_up(void) {
    /* The monitor's timed wait counts in CLOCK_MONOTONIC (a condition
     * variable's default clock is CLOCK_REALTIME, which jumps). */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&reg.cv, &ca);
    pthread_condattr_destroy(&ca);
    /* The first backtrace() loads libgcc's unwinder (dlopen, malloc):
     * do it here, never in the signal handler. */
    void *frames[2];
    backtrace(frames, 2);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_capture_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(COOP_WATCHDOG_SIGNAL, &sa, NULL);
}

static void install_handler(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, warm_up);
}

int coop_watchdog_start(int64_t threshold_ns) {
    coop__loop *l = coop__loop_get();
    if (!l) return -EPERM;
    if (threshold_ns == COOP_WATCHDOG_DEFAULT) threshold_ns = env_threshold();
    if (threshold_ns == 0) return 0;
    if (threshold_ns < COOP_MS(1)) return -EINVAL;
    install_handler();
    pthread_mutex_lock(&reg.mu);
    if (!reg.initialised) {
        coop__list_init(&reg.watches);
        reg.initialised = 1;
    }
    coop__watch *w = find(l);
    if (w) {
        w->threshold = threshold_ns;
        pthread_cond_signal(&reg.cv);
        pthread_mutex_unlock(&reg.mu);
        return 0;
    }
    w = coop__calloc(1, sizeof *w);
    if (!w) {
        pthread_mutex_unlock(&reg.mu);
        return -ENOMEM;
    }
    w->loop = l;
    w->thread = pthread_self();
    w->threshold = threshold_ns;
    w->probe.fn = probe_ran;
    w->started = w->since = w->probe_sent = mono_ns();
    if (!reg.monitor_alive) {
        /* The monitor blocks every signal: the capture signal must reach
         * loop threads only. */
        sigset_t all, old;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &old);
        reg.monitor_stop = 0;
        int rc = pthread_create(&reg.monitor, NULL, monitor_main, NULL);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc != 0) {
            pthread_mutex_unlock(&reg.mu);
            coop__free(w);
            return -EAGAIN;
        }
        reg.monitor_alive = 1;
    }
    coop__list_push(&reg.watches, &w->link);
    reg.nwatches++;
    pthread_cond_signal(&reg.cv);
    pthread_mutex_unlock(&reg.mu);
    return 0;
}

static void unwatch(coop__loop *l) {
    pthread_mutex_lock(&reg.mu);
    coop__watch *w = reg.initialised ? find(l) : NULL;
    if (!w) {
        pthread_mutex_unlock(&reg.mu);
        return;
    }
    coop__list_remove(&w->link);
    reg.nwatches--;
    int free_now = !w->probe_inflight;
    if (!free_now) w->orphan = 1; /* the queued probe frees it on this loop */
    int join = reg.nwatches == 0 && reg.monitor_alive;
    if (join) {
        reg.monitor_stop = 1;
        reg.monitor_alive = 0;
        pthread_cond_signal(&reg.cv);
    }
    pthread_t monitor = reg.monitor;
    pthread_mutex_unlock(&reg.mu);
    if (free_now) coop__free(w);
    if (join) pthread_join(monitor, NULL);
}

void coop_watchdog_stop(void) {
    coop__loop *l = coop__loop_get();
    if (l) unwatch(l);
}

/* ---- the scheduler's optional lifecycle hook ------------------------- */

void coop__watchdog_loop_begin(coop__loop *l) {
    (void)l; /* l is the calling thread's loop */
    const char *s = getenv("COOP_SLOW_MS");
    if (s && *s && env_threshold() > 0) coop_watchdog_start(COOP_WATCHDOG_DEFAULT);
}

void coop__watchdog_loop_end(coop__loop *l) {
    unwatch(l);
}

int coop__watch_stats(coop__loop *l, coop_loop_stats *st) {
    pthread_mutex_lock(&reg.mu);
    coop__watch *w = reg.initialised ? find(l) : NULL;
    if (w) {
        st->max_slice_ns = w->max_slice;
        st->lag_samples = w->lag_samples;
        st->lag_max_ns = w->lag_max;
        st->lag_avg_ns = w->lag_samples ? w->lag_sum / (int64_t)w->lag_samples : 0;
        st->watched_ns = mono_ns() - w->started;
    }
    pthread_mutex_unlock(&reg.mu);
    return w != NULL;
}

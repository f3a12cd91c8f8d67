/*
 * coop/debug.h — seeing the starvation problem: the watchdog (asyncio's
 * debug-mode "slow callback" warning, cheap enough to leave on), loop
 * statistics and loop lag, and a dump of every task and what it waits for.
 * Included by <coop.h>.
 *
 * The watchdog. The scheduler already counts task switch-ins and publishes
 * the running task in relaxed atomics (two plain stores per switch, paid
 * whether or not anything watches). A process-wide monitor thread samples
 * them every threshold/4: when the same task has been running with no
 * checkpoint for the threshold or longer, it reports — while the task is
 * still running — the task's name, how long it has held the loop, and a
 * backtrace of where it is, captured by a signal (COOP_WATCHDOG_SIGNAL,
 * SIGURG) sent to the loop's thread whose handler only calls backtrace()
 * into a preallocated buffer. The monitor thread formats and prints. When
 * the task finally yields, a second line says how long it held the loop.
 * Callbacks (coop_call_soon & co.) run with no task current and are not
 * watched.
 */
#ifndef COOP_DEBUG_H
#define COOP_DEBUG_H

#include <signal.h>
#include <stdint.h>
#include "sched.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The signal the watchdog sends to a loop thread to capture its backtrace.
 * Its handler is installed by the first coop_watchdog_start (SA_RESTART,
 * so interrupted system calls resume). Go's runtime uses the same signal
 * for the same purpose; it has no other default use here. */
#define COOP_WATCHDOG_SIGNAL SIGURG

/* Default threshold: COOP_SLOW_MS from the environment, else 100 ms. */
#define COOP_WATCHDOG_DEFAULT ((int64_t)-1)

/* Most frames kept in a report. */
#define COOP_WATCHDOG_FRAMES 48

/* What the watchdog saw. Valid only during the reporter call. */
typedef struct coop_slow_report {
    coop_loop *loop;        /* the loop being held */
    const char *task;       /* name of the task holding it */
    int64_t held_ns;        /* how long it has run without a checkpoint (at
                               least; sampling granularity threshold/4) */
    int released;           /* 0: still running now (frames are where it is);
                               1: it has just reached a checkpoint (no frames) */
    int nframes;            /* backtrace depth (0 if it could not be taken) */
    void *const *frames;    /* return addresses, innermost first */
} coop_slow_report;

/* Receives reports on the monitor thread: may call only [any thread] API
 * and must return quickly (other loops wait for the monitor). */
typedef void (*coop_slow_fn)(const coop_slow_report *r, void *arg);

/* Watch the calling thread's loop: report any task that runs threshold_ns
 * or longer without a checkpoint. threshold_ns: COOP_WATCHDOG_DEFAULT (the
 * COOP_SLOW_MS environment variable in milliseconds, else 100 ms), 0 = do
 * not watch (then returns 0 and does nothing), or a duration (at least
 * 1 ms). Calling it again changes the threshold. The loop must be unwatched
 * with coop_watchdog_stop before it ends (the loop's memory goes away).
 * Errors: -EPERM (no loop on this thread), -EINVAL (threshold < 1 ms and
 * not 0 or the default), -ENOMEM, -EAGAIN (monitor thread could not
 * start). [loop] */
COOP_API int coop_watchdog_start(int64_t threshold_ns);

/* Stop watching the calling thread's loop (no-op if not watched). The
 * monitor thread is joined when no loop is watched any more. [loop] */
COOP_API void coop_watchdog_stop(void);

/* Send reports to fn(report, arg) instead of printing them to stderr
 * (fn NULL: back to stderr). Process-wide. [any thread] */
COOP_API void coop_watchdog_set_reporter(coop_slow_fn fn, void *arg);

/* The default reporter's text, written to fd: one line naming the task and
 * the time, then one line per frame (backtrace_symbols_fd). Useful inside a
 * custom reporter. [any thread] */
COOP_API void coop_watchdog_print(const coop_slow_report *r, int fd);

/* ------------------------------------------------------------------------
 * Loop statistics
 * --------------------------------------------------------------------- */

typedef struct coop_loop_stats {
    uint64_t iterations;    /* loop iterations since the loop started */
    uint64_t switches;      /* task switch-ins (tasks run) since it started */
    size_t tasks;           /* unfinished tasks now */
    /* The rest is measured only while the watchdog watches the loop (else 0): */
    int64_t max_slice_ns;   /* longest run of one task without a checkpoint
                               (sampled: resolution threshold/4) */
    uint64_t lag_samples;   /* lag probes that came back */
    int64_t lag_max_ns;     /* worst lag: how late the loop ran a wake-up
                               that was due (how late a timer would fire) */
    int64_t lag_avg_ns;     /* mean lag */
    int64_t watched_ns;     /* how long the watchdog has watched this loop */
} coop_loop_stats;

/* Fill *st for the calling thread's loop. Errors: -EPERM (no loop),
 * -EINVAL (st NULL). [loop] */
COOP_API int coop_loop_stats_get(coop_loop_stats *st);

/* Write one line per unfinished task of the calling thread's loop to fd:
 * id-less name, state (running/ready/parked/done) and, for a parked task,
 * what it waits for (e.g. "coop_pool_call", "coop_sleep"). Returns the
 * number of tasks listed, or -EPERM (no loop). [loop] */
COOP_API int coop_task_dump(int fd);

#ifdef __cplusplus
}
#endif
#endif

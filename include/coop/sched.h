/*
 * coop/sched.h — errors, the loop, tasks, yield, callbacks and thread-safe
 * posting. Included by <coop.h>; do not include directly.
 *
 * Tags used in every comment of the public API:
 *   [checkpoint]  may suspend the calling task, and is a place where
 *                 cancellation is delivered (returns -ECANCELED/-ETIMEDOUT);
 *   [task]        must be called from a task of a running loop; called from
 *                 elsewhere it returns -EPERM (or aborts where it cannot
 *                 return an error, as said);
 *   [loop]        must be called on the thread that runs the loop (from a
 *                 task or a callback);
 *   [any thread]  safe from any thread, including threads with no loop.
 * Errors are returned as negative errno values; nothing sets errno for you
 * across a suspension.
 */
#ifndef COOP_SCHED_H
#define COOP_SCHED_H

#include <errno.h> /* results are -ECANCELED, -ETIMEDOUT, ...: compare against these */
#include <stddef.h>
#include <stdint.h>

#if defined(COOP_BUILDING) && defined(__GNUC__)
#define COOP_API __attribute__((visibility("default")))
#else
#define COOP_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Errors
 * --------------------------------------------------------------------- */

/* Text for a coop result: accepts a negative errno (or a positive one) and
 * returns a static string ("ECANCELED: operation cancelled by its scope").
 * Never NULL. [any thread] */
COOP_API const char *coop_strerror(int err);

/* ------------------------------------------------------------------------
 * Time: int64_t nanoseconds of the monotonic clock (or of the loop's virtual
 * clock, see coop_options.virtual_clock).
 * --------------------------------------------------------------------- */

#define COOP_NSEC(n) ((int64_t)(n))
#define COOP_USEC(n) ((int64_t)(n) * 1000)
#define COOP_MS(n) ((int64_t)(n) * 1000000)
#define COOP_SEC(n) ((int64_t)(n) * 1000000000)
/* A deadline that never comes. */
#define COOP_NEVER INT64_MAX

/* The loop's current time. Inside a loop the clock is read at most once per
 * loop iteration (cached), or is the virtual clock when enabled; outside a
 * loop it reads CLOCK_MONOTONIC. [any thread] */
COOP_API int64_t coop_now(void);

/* coop_now() + delay_ns, saturating at COOP_NEVER. [any thread] */
COOP_API int64_t coop_after(int64_t delay_ns);

/* ------------------------------------------------------------------------
 * Running a loop
 * --------------------------------------------------------------------- */

/* The body of a task. Its return value is the task's result: by convention
 * >= 0 for success and -errno for failure (a nursery treats a negative
 * result as the child failing). */
typedef int (*coop_fn)(void *arg);

/* A plain callback run by the loop with no stack of its own: it must not
 * suspend (suspending calls return -EPERM inside it). */
typedef void (*coop_cb)(void *arg);

enum coop_backend {
    COOP_BACKEND_AUTO = 0, /* epoll where available, else poll; COOP_BACKEND env overrides */
    COOP_BACKEND_EPOLL = 1,
    COOP_BACKEND_POLL = 2,
};

/* Options for coop_run_opts. Initialise with coop_options_init and change
 * only the fields you need; new fields get safe defaults there. */
typedef struct coop_options {
    size_t stack_size;  /* default task stack size in bytes; 0 = COOP_STACK_DEFAULT */
    int backend;        /* enum coop_backend */
    int virtual_clock;  /* nonzero: time starts at 0 and jumps to the next
                           timer whenever every task is blocked (tests) */
} coop_options;

/* Default stack size of a task: 64 KiB, lazily committed (a task that uses
 * little stack costs one page). */
#define COOP_STACK_DEFAULT ((size_t)64 * 1024)
/* Smallest stack size accepted (smaller requests are rounded up). */
#define COOP_STACK_MIN ((size_t)16 * 1024)

/* Fill *o with defaults. [any thread] */
COOP_API void coop_options_init(coop_options *o);

/* Create a loop on the calling thread, run fn(arg) as its first task (named
 * "main"), and return when every task of the loop has finished. Returns the
 * main task's result, or -ENOMEM / -EMFILE if the loop could not be set up,
 * or -EBUSY if the calling thread already runs a loop. Not a suspension:
 * this is the thread's entry into cooperative scheduling. */
COOP_API int coop_run(coop_fn fn, void *arg);
COOP_API int coop_run_opts(const coop_options *opts, coop_fn fn, void *arg);

/* ------------------------------------------------------------------------
 * Tasks
 *
 * A task is named by a coop_task_id: a generation-checked handle, so a
 * stale id (a task already joined or detached) is -ESRCH, never a dangling
 * pointer. Id 0 is never a task.
 * --------------------------------------------------------------------- */

typedef uint64_t coop_task_id;

/* Task states, as reported by coop_task_state. */
enum coop_task_state {
    COOP_TASK_READY = 1,   /* runnable, waiting for its turn */
    COOP_TASK_RUNNING = 2, /* the task that is executing now */
    COOP_TASK_PARKED = 3,  /* suspended, waiting for a wakeup */
    COOP_TASK_DONE = 4,    /* finished, result not yet joined */
};

typedef struct coop_spawn_opts {
    const char *name;  /* copied (up to 31 bytes); NULL = "task" */
    size_t stack_size; /* 0 = the loop's default */
} coop_spawn_opts;

/* Start fn(arg) as a new task of the current loop. It first runs in a later
 * turn of the loop (spawning never switches). If id is non-NULL the task is
 * joinable and *id receives its handle, which must be passed to coop_join
 * or coop_detach exactly once; with id NULL the task is detached.
 * Errors: -ENOMEM (no memory or stack), -EPERM (no loop on this thread),
 * -EINVAL (fn NULL). Does not suspend. [loop] */
COOP_API int coop_spawn(coop_task_id *id, const char *name, coop_fn fn, void *arg);
COOP_API int coop_spawn_with(coop_task_id *id, const coop_spawn_opts *opts, coop_fn fn,
                             void *arg);

/* Wait until task t finishes and store its result in *result (may be NULL);
 * releases the handle. Errors: -ESRCH (t is not a joinable task of this
 * loop: never existed, already joined or detached), -EDEADLK (t is the
 * caller), -EBUSY (another task is already joining t), -ECANCELED /
 * -ETIMEDOUT (the wait was cancelled: t keeps running and stays joinable),
 * -EPERM (not in a task). [checkpoint] [task] */
COOP_API int coop_join(coop_task_id t, int *result);

/* Release the handle of t: it will be freed when it finishes. Errors:
 * -ESRCH (not a joinable task), -EBUSY (a task is joining it). [loop] */
COOP_API int coop_detach(coop_task_id t);

/* Cancel t's root cancel scope: t's current and future checkpoints fail with
 * -ECANCELED until it finishes (except inside shielded scopes). Cancelling
 * a finished task is a no-op. Errors: -ESRCH. Does not suspend. [loop] */
COOP_API int coop_cancel(coop_task_id t);

/* The id of the calling task, or 0 outside a task. [loop] */
COOP_API coop_task_id coop_self(void);

/* Name of task t while it runs (the string lives on the task's stack: copy
 * it to keep it), or NULL once t has finished or if t is not a task of this
 * loop. [loop] */
COOP_API const char *coop_task_name(coop_task_id t);

/* enum coop_task_state of t, or -ESRCH. [loop] */
COOP_API int coop_task_state(coop_task_id t);

/* Number of unfinished tasks of the current loop (0 outside a loop). [loop] */
COOP_API size_t coop_task_count(void);

/* Let every other ready task run, then continue: asyncio.sleep(0). Fails
 * only with -ECANCELED/-ETIMEDOUT (when the task is inside a cancelled
 * scope: the yield still happened) or -EPERM. [checkpoint] [task] */
COOP_API int coop_yield(void);

/* Suspend for at least delay_ns (<= 0: just yield) / until the loop clock
 * reaches deadline. Returns 0, or -ECANCELED/-ETIMEDOUT if cancelled (the
 * sleep is cut short), or -EPERM. [checkpoint] [task] */
COOP_API int coop_sleep(int64_t delay_ns);
COOP_API int coop_sleep_until(int64_t deadline);

/* A cancellation point that never suspends: returns -ECANCELED/-ETIMEDOUT if
 * the calling task is inside a cancelled scope, else 0. [task] */
COOP_API int coop_cancelled(void);

/* Atomic sections: mark code that must not contain a checkpoint (the
 * seed's transfer(): its lines are atomic only because nothing in between
 * can suspend). Inside a section any call that would suspend aborts at once
 * with a message naming the task, the section and the offending call,
 * turning a silent race into an explained failure. Sections nest; checked
 * in every build (it costs one compare per suspension). begin/end outside a
 * task, or end without begin, abort naming the misuse. [task] */
COOP_API void coop_atomic_begin(const char *what);
COOP_API void coop_atomic_end(void);

/* ------------------------------------------------------------------------
 * Callbacks without a stack: call_soon / call_later / call_at.
 *
 * The handle is caller-owned storage (no allocation): it must stay valid and
 * unmoved while pending. A callback runs once, on the loop, with no task
 * current; it may spawn tasks, wake things and schedule callbacks, but not
 * suspend.
 * --------------------------------------------------------------------- */

typedef struct coop_timer {
    _Alignas(8) unsigned char opaque_[80];
} coop_timer;

/* Prepare a handle (idempotent while not pending). [any thread] */
COOP_API void coop_timer_init(coop_timer *h);

/* Run cb(arg) in the next loop iteration (after the ready tasks),
 * after delay_ns, or when the loop clock reaches when_ns. Rescheduling a
 * pending handle moves it. Errors: -EPERM (no loop on this thread),
 * -EINVAL (cb NULL). [loop] */
COOP_API int coop_call_soon(coop_timer *h, coop_cb cb, void *arg);
COOP_API int coop_call_later(coop_timer *h, int64_t delay_ns, coop_cb cb, void *arg);
COOP_API int coop_call_at(coop_timer *h, int64_t when_ns, coop_cb cb, void *arg);

/* Cancel a pending callback; returns 1 if it was pending, 0 if not (already
 * run or never scheduled). [loop] */
COOP_API int coop_timer_cancel(coop_timer *h);

/* 1 if h is scheduled and has not run yet. [loop] */
COOP_API int coop_timer_pending(const coop_timer *h);

/* ------------------------------------------------------------------------
 * Loops and threads
 * --------------------------------------------------------------------- */

typedef struct coop_loop coop_loop;

/* The loop running on the calling thread, or NULL. [any thread] */
COOP_API coop_loop *coop_loop_current(void);

/* Run cb(arg) on loop l soon, from any thread: the call_soon_threadsafe of
 * coop. The loop wakes through an eventfd (or a pipe); callbacks posted by
 * one thread run in the order they were posted. Errors: -ENOMEM, -ESHUTDOWN
 * (the loop has finished or is finishing: cb will not run). A posted
 * callback keeps the loop alive until it ran. [any thread] */
COOP_API int coop_call_soon_threadsafe(coop_loop *l, coop_cb cb, void *arg);

#ifdef __cplusplus
}
#endif
#endif

/*
 * coop/bridge.h — bridges between threads and loops: asyncio's
 * run_coroutine_threadsafe (run a function as a task of another loop and
 * wait for its result), a loop running on its own thread, and a mailbox: a
 * bounded queue any task of any loop, or any plain thread, can send to and
 * receive from. All built on coop_call_soon_threadsafe's posting.
 *
 * Waiting here means: a task parks (other tasks of its loop run on); a
 * thread that runs no loop blocks. A loop's thread outside a task (in a
 * callback) must not block: those calls return -EPERM there.
 */
#ifndef COOP_BRIDGE_H
#define COOP_BRIDGE_H

#include "sched.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Run fn(arg) as a new task of loop l (named "run_in_loop") and wait until
 * it has finished; *result (may be NULL) receives its return value. l must
 * stay alive for the call (e.g. a coop_loop_thread not yet stopped); l may
 * be the caller's own loop. Returns 0, or -ENOMEM, -ESHUTDOWN (l has
 * finished: fn did not run), -EPERM (called on a loop's thread outside a
 * task), -EINVAL (l or fn NULL).
 * From a task: if the wait is cancelled, the task running fn is cancelled
 * (its checkpoints fail with -ECANCELED) and the caller still waits, shielded,
 * until fn has returned — arg is never used after this call returns — then
 * returns the cause (-ECANCELED/-ETIMEDOUT) with *result set to fn's value.
 * [checkpoint] in a task; blocks a plain thread. [any thread] */
COOP_API int coop_run_in_loop(coop_loop *l, coop_fn fn, void *arg, int *result);

/* ---- a loop on its own thread ----------------------------------------- */

typedef struct coop_loop_thread coop_loop_thread;

/* Start a thread running a loop that stays alive (idle, blocked in the
 * kernel) until coop_loop_thread_stop, ready to run what coop_run_in_loop
 * and coop_call_soon_threadsafe send it. opts may be NULL (defaults). The
 * thread starts with asynchronous signals blocked (they go to the program's
 * other threads); faults, SIGABRT and SIGURG stay deliverable.
 * Errors: -ENOMEM, -EAGAIN (no thread), and coop_run's errors. [any thread] */
COOP_API int coop_loop_thread_start(coop_loop_thread **out, const coop_options *opts);

/* The loop of t (valid until coop_loop_thread_stop). [any thread] */
COOP_API coop_loop *coop_loop_thread_loop(const coop_loop_thread *t);

/* Let t's loop end — it finishes once the tasks still running on it have
 * finished, as coop_run does — join its thread and free t. Blocks the
 * calling thread, which must not be t's own. Returns 0. [any thread] */
COOP_API int coop_loop_thread_stop(coop_loop_thread *t);

/* ---- mailbox: a bounded MPMC queue across loops and threads ------------ */

typedef struct coop_mailbox coop_mailbox;

/* A mailbox of capacity messages of msg_size bytes each (both > 0). Errors:
 * -EINVAL, -ENOMEM. [any thread] */
COOP_API int coop_mailbox_new(coop_mailbox **out, size_t msg_size, size_t capacity);

/* Free m. Nobody may be inside a call on m (a task still queued on it is
 * reported as misuse and aborts). NULL is ignored. [any thread] */
COOP_API void coop_mailbox_free(coop_mailbox *m);

/* Copy msg (msg_size bytes) into m, waiting while m is full. Messages are
 * received in the order they were sent. Returns 0, or -EPIPE (m is closed),
 * -ECANCELED/-ETIMEDOUT (nothing was sent), -EPERM (on a loop's thread
 * outside a task). [checkpoint] in a task; blocks a plain thread.
 * [any thread] */
COOP_API int coop_mailbox_send(coop_mailbox *m, const void *msg);

/* Take the oldest message into msg, waiting while m is empty. Returns 0, or
 * -EPIPE (m is closed and empty), -ECANCELED/-ETIMEDOUT (nothing was
 * taken), -EPERM. [checkpoint] in a task; blocks a plain thread.
 * [any thread] */
COOP_API int coop_mailbox_recv(coop_mailbox *m, void *msg);

/* Non-waiting versions: -EAGAIN instead of waiting. [any thread] */
COOP_API int coop_mailbox_try_send(coop_mailbox *m, const void *msg);
COOP_API int coop_mailbox_try_recv(coop_mailbox *m, void *msg);

/* Close m: later sends fail with -EPIPE, receivers take what is left and
 * then get -EPIPE; every waiter wakes. Idempotent. [any thread] */
COOP_API void coop_mailbox_close(coop_mailbox *m);

/* Messages in m now (a snapshot). [any thread] */
COOP_API size_t coop_mailbox_count(coop_mailbox *m);

#ifdef __cplusplus
}
#endif
#endif

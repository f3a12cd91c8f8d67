/*
 * park.h — the single suspension primitive, and the internal scheduler API
 * that every waiting subsystem (time, io, scope, sync, chan, gen, offload,
 * net, fs, proc) is built on.
 *
 * A task parks on a waiter record that lives on its own stack; whoever
 * completes the wait unparks the record with a result. The record belongs
 * to the waiting primitive's queue only while parked: by the time
 * coop__park returns it is unlinked on every path (result, cancellation,
 * error), so the caller can let it go out of scope.
 *
 * The race rule: once a waiter is unparked, its result stands. A
 * cancellation that arrives between the unpark and the task running again
 * is not delivered at this park (it will be at the next checkpoint). This
 * is what makes "a cancelled operation has no half-done effect" and "no
 * lost wake-ups" hold together: the operation either happened and reports
 * success, or did not happen and reports the cancellation.
 */
#ifndef COOP_SCHED_PARK_H
#define COOP_SCHED_PARK_H

#include <stdint.h>
#include "coop.h"

typedef struct coop__task coop__task;
typedef struct coop_loop coop__loop;
typedef struct coop__waiter coop__waiter;

struct coop__waiter {
    coop__task *task;  /* the parked task (set by coop__park) */
    int result;        /* set by coop__unpark, returned by coop__park */
    /* Called on the loop when the parked task is cancelled (its scope or a
     * deadline), before the task is woken with the cancellation cause. It
     * must unlink w from whatever queue holds it and undo any partial
     * effect. NULL means the park cannot be cancelled: it ignores
     * cancellation entirely, also at entry (used for waits that must
     * finish, such as a nursery waiting for its children). */
    void (*on_cancel)(coop__waiter *w);
    const char *what;  /* what is awaited, e.g. "coop_lock_acquire" (dumps,
                          deadlock and atomic-section reports) */
};

/* The calling thread's loop, or NULL. */
coop__loop *coop__loop_get(void);

/* The running task, or NULL (outside a loop, or in a loop callback). */
coop__task *coop__task_current(void);

/* Park the calling task until coop__unpark(w, r); returns r. Before parking
 * it checks cancellation: if the task is inside a cancelled scope it returns
 * the cause (-ECANCELED/-ETIMEDOUT) at once without parking, so a caller
 * that linked w into a queue before calling must unlink it on that path.
 * While parked, cancellation calls w->on_cancel (if non-NULL) and returns
 * the cause. Returns -EPERM outside a task. Aborts if called inside an atomic
 * section (coop_atomic_begin), naming the task and w->what.
 * Fields set by the caller before the call: on_cancel, what. */
int coop__park(coop__waiter *w);

/* Wake the task parked on w with result r: it becomes ready and will run in
 * a later turn. Must be called exactly once per park, on the loop's thread
 * (from a task or a callback). */
void coop__unpark(coop__waiter *w, int result);

/* A checkpoint that does not wait: delivers cancellation (returns the cause)
 * and yields only when the task has run many consecutive checkpoints without
 * suspending (the cooperative budget), so a busy loop over always-ready I/O
 * cannot starve the others. Returns 0, -ECANCELED/-ETIMEDOUT, -EPERM. */
int coop__checkpoint(void);

/* The cancellation cause that applies to the running task now (0 if none). */
int coop__cancel_cause(void);

/* The task's name (for messages). */
const char *coop__task_name(const coop__task *t);

/* ---- fibers running on behalf of a task (generators, greenlets) ---------
 * A generator body runs on its own fiber but is part of its consumer's
 * task: when it parks, the task parks, and when the task is resumed the
 * generator's fiber must be the one switched to. The consumer sets the
 * task's resume fiber before switching into the generator and restores it
 * after switching back. */
struct coop__fiber;
struct coop__stack_pool;
/* Set the fiber the scheduler resumes for t; returns the previous one. */
struct coop__fiber *coop__task_swap_fiber(coop__task *t, struct coop__fiber *f);
/* The slots behind it, for src/gen's switch path (no call per switch): the
 * fiber the scheduler resumes for t, and the generator/greenlet owning it
 * (NULL while t runs its own code; src/gen keeps the two in step). */
struct coop__fiber **coop__task_fiber_slot(coop__task *t);
void **coop__task_coro_slot(coop__task *t);
/* The loop's stack pool and default stack size (for extra fibers). */
struct coop__stack_pool *coop__loop_stack_pool(coop__loop *l);
size_t coop__loop_stack_size(coop__loop *l);
/* Call fn(t, what, arg) for every unfinished task of l: what is the
 * waiter's label when parked, else NULL (task dumps). */
void coop__loop_each_task(coop__loop *l, void (*fn)(coop__task *t, const char *what, void *arg),
                          void *arg);
int coop__task_state(const coop__task *t);

/* ---- thread-safe wakeups ------------------------------------------------
 * A node posted from any thread; it runs fn(node) on the loop's thread in
 * phase 4 of an iteration. The node is caller-owned (embedded in a job) and
 * must stay valid until fn has been called. */
typedef struct coop__post {
    struct coop__post *next; /* intrusive link, owned by the loop while queued */
    void (*fn)(struct coop__post *p);
} coop__post;

/* Queue p on loop l and wake the loop. [any thread]. Returns 0, or
 * -ESHUTDOWN if l has finished (fn will not run). */
int coop__loop_post(coop__loop *l, coop__post *p);

/* Tell the loop that an external wakeup is pending (a job on a worker
 * thread, a message expected from another loop): while holds are out, a
 * loop whose tasks are all parked blocks waiting for posts instead of
 * reporting a deadlock, and the virtual clock does not jump. [loop] */
void coop__loop_hold(coop__loop *l);
void coop__loop_release(coop__loop *l);

/* ---- loop observers -------------------------------------------------------
 * The watchdog (src/debug) watches every loop when COOP_SLOW_MS is set, so
 * the loop tells it when it starts and before it is freed. This is the one
 * call against the layer order; it is declared here so that sched depends
 * on a declaration, not on debug's headers. [loop] */
void coop__watchdog_loop_begin(coop__loop *l);
void coop__watchdog_loop_end(coop__loop *l);

#endif

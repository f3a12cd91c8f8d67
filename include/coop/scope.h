/*
 * coop/scope.h — cancel scopes, deadlines, shields and nurseries: trio's
 * structured concurrency in C. Included by <coop.h>.
 *
 * A cancel scope is entered and exited by one task, strictly nested (LIFO).
 * When a scope is cancelled — explicitly, or because its deadline passed —
 * every checkpoint executed inside it fails, again and again until the scope
 * is exited: with -ETIMEDOUT if the cause was this scope's deadline, else
 * -ECANCELED. A shielded scope stops cancellation of the scopes around it
 * from reaching inside. A task's own root scope is cancelled by coop_cancel.
 *
 * A nursery is a scope that owns tasks: children cannot outlive it. The
 * first child that fails (returns < 0, other than by this nursery's own
 * cancellation) cancels the nursery, hence its siblings and the body; closing
 * the nursery waits for every child and returns that first error.
 */
#ifndef COOP_SCOPE_H
#define COOP_SCOPE_H

#include "sched.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Caller-owned storage; must not move while entered. */
typedef struct coop_scope {
    _Alignas(16) unsigned char opaque_[128];
} coop_scope;

/* Enter scope s in the calling task with an absolute deadline (COOP_NEVER:
 * none). Entering a scope whose deadline already passed is allowed: the next
 * checkpoint fails with -ETIMEDOUT. Aborts with a message if called outside
 * a task (misuse). Does not suspend. [task] */
COOP_API void coop_scope_enter(coop_scope *s, int64_t deadline);

/* Exit s, which must be the calling task's innermost scope (else abort,
 * naming the misuse). Returns 0 if s was not cancelled, -ETIMEDOUT if its
 * own deadline cancelled it, -ECANCELED if it was cancelled by
 * coop_scope_cancel. Outer cancellation is not reported here: the next
 * checkpoint outside reports it. Does not suspend. [task] */
COOP_API int coop_scope_exit(coop_scope *s);

/* Cancel s and everything inside it (including tasks of nurseries opened
 * inside it). Idempotent; the first cause is kept. May be called from any
 * task or callback of the loop, also before the deadline. [loop] */
COOP_API void coop_scope_cancel(coop_scope *s);

/* Move s's deadline (earlier or later). If the new deadline has already
 * passed, s is cancelled with -ETIMEDOUT. No effect on a cancelled scope.
 * [loop] */
COOP_API void coop_scope_set_deadline(coop_scope *s, int64_t deadline);

/* The current deadline of s (COOP_NEVER if none). [loop] */
COOP_API int64_t coop_scope_deadline(const coop_scope *s);

/* Shield (on != 0) or unshield s: while shielded, cancellation of enclosing
 * scopes does not reach checkpoints inside s (its own cancellation and
 * deadline still do). Typical use: cleanup that must finish. [loop] */
COOP_API void coop_scope_shield(coop_scope *s, int on);

/* 0 if s is not cancelled, else its cause (-ECANCELED or -ETIMEDOUT). [loop] */
COOP_API int coop_scope_cancelled(const coop_scope *s);

/* ---------------------------------------------------------------------- */

typedef struct coop_nursery {
    _Alignas(16) unsigned char opaque_[192];
} coop_nursery;

/* Open nursery n in the calling task (it is also a cancel scope, with the
 * given deadline). Aborts outside a task. Does not suspend. [task] */
COOP_API void coop_nursery_open(coop_nursery *n, int64_t deadline);

/* Start fn(arg) as a child of n. The child's root scope is nested in n, so
 * cancelling n (or any scope around it) cancels the child. id may be NULL;
 * a non-NULL id may be used with coop_task_name/state/cancel but is
 * released by the nursery (do not join it). Children may spawn siblings
 * while the owner waits in coop_nursery_close. Errors: -ENOMEM, -EINVAL (n
 * is closed or was never opened, fn NULL), -EPERM (wrong loop). Does not suspend.
 * [loop] */
COOP_API int coop_nursery_spawn(coop_nursery *n, coop_task_id *id, const char *name,
                                coop_fn fn, void *arg);
COOP_API int coop_nursery_spawn_with(coop_nursery *n, coop_task_id *id,
                                     const coop_spawn_opts *opts, coop_fn fn, void *arg);

/* Cancel every child and the nursery body: coop_scope_cancel on n. [loop] */
COOP_API void coop_nursery_cancel(coop_nursery *n);

/* Wait until all children have finished, then exit the nursery's scope.
 * Must be called by the task that opened n, with n innermost (else abort).
 * If the wait is cancelled from outside, the children are cancelled and the
 * wait goes on (children never outlive the nursery). Returns, in order of
 * precedence: the first child failure; the nursery's own cause if it was
 * cancelled by its deadline (-ETIMEDOUT) — explicit coop_nursery_cancel is a
 * clean exit (0); -ECANCELED/-ETIMEDOUT if an enclosing scope is cancelled;
 * else 0. [checkpoint] [task] */
COOP_API int coop_nursery_close(coop_nursery *n);

/* Number of children still running. [loop] */
COOP_API size_t coop_nursery_live(const coop_nursery *n);

#ifdef __cplusplus
}
#endif
#endif

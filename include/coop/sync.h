/*
 * coop/sync.h — synchronisation between the tasks of one loop: event, lock,
 * condition, semaphore (plain and bounded), barrier and waitgroup; asyncio's
 * and trio's primitives plus Go's WaitGroup. Included by <coop.h>.
 *
 * Common rules (they hold for every call below):
 *  - The objects are embeddable: caller-owned storage, _init/_destroy, no
 *    allocation ever. An object must not be moved while a task waits on it;
 *    destroying one that tasks wait on (or a held lock) is misuse and aborts
 *    with a message naming the call.
 *  - They synchronise tasks of ONE loop: calls are [loop] (never from
 *    another thread; use coop_call_soon_threadsafe to get onto the loop).
 *  - Waiting calls are [checkpoint]s: they deliver cancellation of the
 *    caller's cancel scopes (-ECANCELED, or -ETIMEDOUT for a deadline)
 *    before doing anything, and while waiting. A deadline on a wait is a
 *    cancel scope around it (coop_scope_enter(&s, coop_after(COOP_MS(50)))).
 *  - A cancelled call has no effect: it did not take the lock, the permit,
 *    the barrier slot. And nothing is lost: whatever a waker hands to a
 *    waiter (a lock, a permit, a notification) is the waiter's as soon as it
 *    is woken, even if its scope is cancelled before it runs again (it
 *    returns success; the cancellation comes at its next checkpoint).
 *  - Waiters are served in FIFO order (fair; no barging).
 *  - Outside a task, waiting calls return -EPERM.
 */
#ifndef COOP_SYNC_H
#define COOP_SYNC_H

#include "sched.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Event: asyncio.Event / trio.Event (a flag tasks can wait for)
 * --------------------------------------------------------------------- */

typedef struct coop_event {
    _Alignas(16) unsigned char opaque_[32];
} coop_event;

/* Initialise e, not set. [loop] */
COOP_API void coop_event_init(coop_event *e);
/* Finish with e. Aborts (misuse) if tasks wait on it. [loop] */
COOP_API void coop_event_destroy(coop_event *e);
/* Set the flag and wake every waiter. Idempotent. Does not suspend; may be
 * called from callbacks. [loop] */
COOP_API void coop_event_set(coop_event *e);
/* Clear the flag (waiters that were already woken stay woken). [loop] */
COOP_API void coop_event_clear(coop_event *e);
/* 1 if set, else 0. [loop] */
COOP_API int coop_event_is_set(const coop_event *e);
/* Wait until e is set. Returns 0, -ECANCELED/-ETIMEDOUT, -EPERM.
 * [checkpoint] [task] */
COOP_API int coop_event_wait(coop_event *e);

/* ------------------------------------------------------------------------
 * Lock: asyncio.Lock / trio.Lock (a mutex between tasks; not recursive)
 *
 * Fair: release hands the lock directly to the oldest waiter (it becomes
 * the owner before it even runs), so a releasing task cannot take it back
 * in front of waiters, and a contended hand-off costs one task switch.
 * --------------------------------------------------------------------- */

typedef struct coop_lock {
    _Alignas(16) unsigned char opaque_[32];
} coop_lock;

/* Initialise l, unlocked. [loop] */
COOP_API void coop_lock_init(coop_lock *l);
/* Finish with l. Aborts (misuse) if l is held or tasks wait on it. [loop] */
COOP_API void coop_lock_destroy(coop_lock *l);
/* Acquire l for the calling task. A free lock is taken at once, without
 * suspending and without a cancellation check (like asyncio.Lock: a few
 * instructions). A held lock makes the caller wait in FIFO order; the wait
 * is a checkpoint. Returns 0 (the caller owns l), -ECANCELED/-ETIMEDOUT
 * (not acquired), -EDEADLK (the caller already owns l), -EPERM (not in a
 * task). [checkpoint when it waits] [task] */
COOP_API int coop_lock_acquire(coop_lock *l);
/* Acquire l only if that needs no wait: 0, or -EAGAIN (held), -EPERM (not
 * in a task). Does not suspend. [task] */
COOP_API int coop_lock_try_acquire(coop_lock *l);
/* Release l, which the calling task must own: the oldest waiter (if any)
 * becomes the owner. Returns 0, or -EPERM if the caller does not own l
 * (also outside a task). Does not suspend. [loop] */
COOP_API int coop_lock_release(coop_lock *l);
/* 1 if some task owns l, else 0. [loop] */
COOP_API int coop_lock_locked(const coop_lock *l);

/* ------------------------------------------------------------------------
 * Condition: asyncio.Condition / trio.Condition, bound to a lock
 * --------------------------------------------------------------------- */

typedef struct coop_cond {
    _Alignas(16) unsigned char opaque_[32];
} coop_cond;

/* Initialise c on lock (caller-owned, must outlive c). [loop] */
COOP_API void coop_cond_init(coop_cond *c, coop_lock *lock);
/* Finish with c. Aborts (misuse) if tasks wait on it. [loop] */
COOP_API void coop_cond_destroy(coop_cond *c);
/* Atomically release the lock and wait for a notification, then acquire
 * the lock again. The lock is held again when this returns, on EVERY path,
 * also when the wait was cancelled (the re-acquire is shielded, as asyncio
 * and trio do): the caller always releases it. Returns 0 (notified),
 * -ECANCELED/-ETIMEDOUT (cancelled; not consuming a notification: a
 * notification given to this waiter before the cancellation is kept and
 * reported as 0), -EPERM (caller does not hold the lock; nothing done).
 * Spurious wake-ups do not happen, but re-check your predicate anyway: the
 * state may change between the notify and the re-acquire.
 * [checkpoint] [task] */
COOP_API int coop_cond_wait(coop_cond *c);
/* Wake up to n waiters (oldest first) / all waiters. The caller must hold
 * the lock. Returns the number woken, or -EPERM (lock not held by the
 * caller). Does not suspend. [task] */
COOP_API int coop_cond_notify(coop_cond *c, int n);
COOP_API int coop_cond_notify_all(coop_cond *c);

/* ------------------------------------------------------------------------
 * Semaphore: asyncio.Semaphore / BoundedSemaphore, trio.Semaphore(max_value)
 * --------------------------------------------------------------------- */

typedef struct coop_sem {
    _Alignas(16) unsigned char opaque_[32];
} coop_sem;

/* Initialise s with value permits (value >= 0). A bounded semaphore
 * refuses a release that would raise the value above the initial value
 * (the classic sign of a double release). Returns 0 or -EINVAL. [loop] */
COOP_API int coop_sem_init(coop_sem *s, long value);
COOP_API int coop_sem_init_bounded(coop_sem *s, long value);
/* Finish with s. Aborts (misuse) if tasks wait on it. [loop] */
COOP_API void coop_sem_destroy(coop_sem *s);
/* Take a permit, waiting (FIFO) while there is none. Returns 0 (the caller
 * holds one permit), -ECANCELED/-ETIMEDOUT (no permit taken; a permit that
 * a release handed to this waiter before it was cancelled is kept and
 * reported as 0, never lost), -EPERM. [checkpoint] [task] */
COOP_API int coop_sem_acquire(coop_sem *s);
/* Take a permit if one is free: 0, or -EAGAIN. Does not suspend. [loop] */
COOP_API int coop_sem_try_acquire(coop_sem *s);
/* Give a permit back: to the oldest waiter if any, else to the count.
 * Returns 0, or -EOVERFLOW (bounded, and the value is already at its
 * bound: nothing changed). Does not suspend. [loop] */
COOP_API int coop_sem_release(coop_sem *s);
/* Permits available now. [loop] */
COOP_API long coop_sem_value(const coop_sem *s);

/* ------------------------------------------------------------------------
 * Barrier: asyncio.Barrier / threading.Barrier without abort
 * --------------------------------------------------------------------- */

typedef struct coop_barrier {
    _Alignas(16) unsigned char opaque_[32];
} coop_barrier;

/* Initialise b for parties tasks (>= 1). Returns 0 or -EINVAL. [loop] */
COOP_API int coop_barrier_init(coop_barrier *b, unsigned parties);
/* Finish with b. Aborts (misuse) if tasks wait on it. [loop] */
COOP_API void coop_barrier_destroy(coop_barrier *b);
/* Wait until parties tasks have called wait; then all are released
 * together and the barrier resets for the next round. Returns the caller's
 * arrival index in the round, 0 .. parties-1 (parties-1 is the task whose
 * arrival released the round: the one to do "once per round" work), or
 * -ECANCELED/-ETIMEDOUT: a cancelled waiter leaves the round as if it had
 * never arrived (the others keep waiting for a full count), -EPERM.
 * [checkpoint] [task] */
COOP_API int coop_barrier_wait(coop_barrier *b);
/* Tasks waiting in the current round. [loop] */
COOP_API unsigned coop_barrier_waiting(const coop_barrier *b);

/* ------------------------------------------------------------------------
 * WaitGroup: Go's sync.WaitGroup (wait until a counter drops to zero)
 * --------------------------------------------------------------------- */

typedef struct coop_waitgroup {
    _Alignas(16) unsigned char opaque_[32];
} coop_waitgroup;

/* Initialise wg with counter 0. [loop] */
COOP_API void coop_waitgroup_init(coop_waitgroup *wg);
/* Finish with wg. Aborts (misuse) if tasks wait on it. [loop] */
COOP_API void coop_waitgroup_destroy(coop_waitgroup *wg);
/* Add delta (may be negative) to the counter; reaching 0 wakes every
 * waiter. Returns 0, or -EINVAL if the counter would become negative (Go
 * panics there; here nothing changes) or overflow. Does not suspend.
 * [loop] */
COOP_API int coop_waitgroup_add(coop_waitgroup *wg, long delta);
/* coop_waitgroup_add(wg, -1). */
COOP_API int coop_waitgroup_done(coop_waitgroup *wg);
/* Wait until the counter is 0 (returns at once if it is). Returns 0,
 * -ECANCELED/-ETIMEDOUT, -EPERM. [checkpoint] [task] */
COOP_API int coop_waitgroup_wait(coop_waitgroup *wg);
/* The counter. [loop] */
COOP_API long coop_waitgroup_count(const coop_waitgroup *wg);

#ifdef __cplusplus
}
#endif
#endif

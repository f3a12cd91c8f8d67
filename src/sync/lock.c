/*
 * lock.c — coop_lock: a fair, non-recursive mutex between the tasks of one
 * loop (asyncio.Lock, trio.Lock).
 *
 * Invariant: owner == NULL implies no waiters. Release never frees a lock
 * that has waiters; it hands it over: the oldest waiter becomes the owner
 * at the moment it is unparked, before it runs. That gives FIFO fairness
 * (the releaser cannot barge back in), one task switch per contended
 * hand-off, and no lost hand-off when a waiter is cancelled just after it
 * was woken (the unpark stands, the waiter returns 0 and owns the lock).
 * The uncontended acquire/release are a load, a compare and a store.
 */
#include <errno.h>
#include "sync/lock.h"
#include "sync/waitq.h"
#include "util/misuse.h"

struct lock {
    coop__task *owner;   /* the owning task, NULL when free */
    coop__waitq waiters; /* tasks waiting to own it, oldest first */
};

_Static_assert(sizeof(struct lock) <= sizeof(coop_lock), "coop_lock storage too small");
_Static_assert(_Alignof(struct lock) <= _Alignof(coop_lock), "coop_lock alignment");

#define LK(l) ((struct lock *)(void *)(l)->opaque_)

void coop_lock_init(coop_lock *l) {
    struct lock *k = LK(l);
    k->owner = NULL;
    k->waiters.first = k->waiters.last = NULL;
}

void coop_lock_destroy(coop_lock *l) {
    struct lock *k = LK(l);
    if (!coop__waitq_empty(&k->waiters))
        coop__misuse("coop_lock_destroy: %zu task(s) still wait on the lock",
                     coop__waitq_count(&k->waiters));
    if (k->owner)
        coop__misuse("coop_lock_destroy: the lock is still held by task '%s'",
                     coop__task_name(k->owner));
}

__attribute__((noinline)) static int acquire_slow(struct lock *k, coop__task *self) {
    if (!self) return -EPERM;
    if (k->owner == self) return -EDEADLK;
    coop__wait n;
    n.data = NULL;
    /* coop__park delivers a pending cancellation before parking. */
    int r = coop__wait_park(&k->waiters, &n, "coop_lock_acquire");
    COOP_ASSERT(r < 0 || k->owner == self);
    return r;
}

int coop_lock_acquire(coop_lock *l) {
    struct lock *k = LK(l);
    coop__task *self = coop__self();
    if (COOP_LIKELY(k->owner == NULL && self != NULL)) {
        k->owner = self;
        return 0;
    }
    return acquire_slow(k, self);
}

int coop_lock_try_acquire(coop_lock *l) {
    struct lock *k = LK(l);
    coop__task *self = coop__self();
    if (!self) return -EPERM;
    if (k->owner) return -EAGAIN;
    k->owner = self;
    return 0;
}

/* Release with waiters (hand-off) or by a non-owner. */
__attribute__((noinline)) static int release_slow(struct lock *k) {
    if (k->owner == NULL || k->owner != coop__self()) return -EPERM;
    coop__wait *n = coop__wait_pop(&k->waiters);
    if (!n) {
        k->owner = NULL;
        return 0;
    }
    k->owner = n->w.task;
    coop__unpark(&n->w, 0);
    return 0;
}

int coop_lock_release(coop_lock *l) {
    struct lock *k = LK(l);
    coop__loop *lp = coop__tls_loop;
    /* Owner is the running task (so not NULL) and nobody waits. */
    if (COOP_LIKELY(lp && lp->current && k->owner == lp->current && k->waiters.first == NULL)) {
        k->owner = NULL;
        return 0;
    }
    return release_slow(k);
}

int coop_lock_locked(const coop_lock *l) {
    return ((const struct lock *)(const void *)l->opaque_)->owner != NULL;
}

coop__task *coop__lock_owner(const coop_lock *l) {
    return ((const struct lock *)(const void *)l->opaque_)->owner;
}

int coop__lock_acquire_shielded(coop_lock *l) {
    if (coop_lock_try_acquire(l) == 0) return 0;
    /* A shielded scope: the caller's cancellation cannot reach this wait. */
    coop_scope shield;
    coop_scope_enter(&shield, COOP_NEVER);
    coop_scope_shield(&shield, 1);
    int r = coop_lock_acquire(l);
    coop_scope_exit(&shield);
    COOP_ASSERT(r == 0);
    return r;
}

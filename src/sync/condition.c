/*
 * condition.c — coop_cond: a condition variable bound to a coop_lock
 * (asyncio.Condition, trio.Condition).
 *
 * wait = queue up, release the lock (handing it to its next waiter), park,
 * then take the lock again. Queueing before releasing leaves no window for
 * a lost notification (nothing runs in between anyway: no checkpoint). The
 * re-acquire runs in a shielded scope so that the lock is held again on
 * every return path, cancellation included; the cancellation is reported
 * after it. A notification is the waiter's once it is unparked: a waiter
 * notified and then cancelled before it ran reports 0, so notify(c, 1)
 * never vanishes into a cancelled task. What condition.c does not do: wait
 * with a predicate loop (write the loop: while (!ready) coop_cond_wait(c)).
 */
#include <errno.h>
#include "sync/lock.h"
#include "sync/waitq.h"
#include "util/misuse.h"

struct cond {
    coop_lock *lock;     /* the lock the waiters release and re-acquire */
    coop__waitq waiters; /* tasks in coop_cond_wait, oldest first */
};

_Static_assert(sizeof(struct cond) <= sizeof(coop_cond), "coop_cond storage too small");
_Static_assert(_Alignof(struct cond) <= _Alignof(coop_cond), "coop_cond alignment");

#define CV(c) ((struct cond *)(void *)(c)->opaque_)

void coop_cond_init(coop_cond *c, coop_lock *lock) {
    struct cond *cv = CV(c);
    cv->lock = lock;
    cv->waiters.first = cv->waiters.last = NULL;
}

void coop_cond_destroy(coop_cond *c) {
    struct cond *cv = CV(c);
    if (!coop__waitq_empty(&cv->waiters))
        coop__misuse("coop_cond_destroy: %zu task(s) still wait on the condition",
                     coop__waitq_count(&cv->waiters));
}

int coop_cond_wait(coop_cond *c) {
    struct cond *cv = CV(c);
    coop__task *self = coop__task_current();
    if (!self || coop__lock_owner(cv->lock) != self) return -EPERM;
    int r = coop__checkpoint(); /* cancelled on entry: return holding the lock */
    if (r < 0) return r;
    coop__wait n;
    n.data = NULL;
    n.w.on_cancel = coop__wait_on_cancel;
    n.w.what = "coop_cond_wait";
    coop__waitq_push(&cv->waiters, &n);
    coop_lock_release(cv->lock);
    r = coop__park(&n.w);
    coop__waitq_remove(&n); /* refused at once (cancelled): still linked */
    coop__lock_acquire_shielded(cv->lock);
    return r;
}

static int notify(struct cond *cv, long n) {
    if (coop__lock_owner(cv->lock) != coop__task_current() || !coop__task_current())
        return -EPERM;
    int woken = 0;
    coop__wait *w;
    while (woken < n && (w = coop__wait_pop(&cv->waiters)) != NULL) {
        coop__unpark(&w->w, 0);
        woken++;
    }
    return woken;
}

int coop_cond_notify(coop_cond *c, int n) { return notify(CV(c), n); }

int coop_cond_notify_all(coop_cond *c) { return notify(CV(c), (long)1 << 40); }

/*
 * semaphore.c — coop_sem: counting semaphore, optionally bounded
 * (asyncio.Semaphore / BoundedSemaphore, trio.Semaphore).
 *
 * Invariant: value > 0 implies no waiters. A release with waiters hands the
 * permit to the oldest waiter directly (value unchanged) and unparks it;
 * the permit is then the waiter's whatever happens next (park rule). This
 * is the fix for the lost-wakeup bug asyncio once had: there, release set
 * value += 1 and woke a waiter, and a waiter cancelled at that moment left
 * the permit counted but every other waiter still asleep. Here a cancelled
 * waiter is either still queued (on_cancel unlinks it; it never had a
 * permit) or already unparked (it has the permit and returns 0).
 */
#include <errno.h>
#include <limits.h>
#include "sync/waitq.h"
#include "util/misuse.h"

struct sem {
    long value;          /* free permits (>= 0) */
    long bound;          /* highest value allowed; LONG_MAX if unbounded */
    coop__waitq waiters; /* tasks waiting for a permit, oldest first */
};

_Static_assert(sizeof(struct sem) <= sizeof(coop_sem), "coop_sem storage too small");
_Static_assert(_Alignof(struct sem) <= _Alignof(coop_sem), "coop_sem alignment");

#define SM(s) ((struct sem *)(void *)(s)->opaque_)

static int init(coop_sem *s, long value, long bound) {
    if (value < 0) return -EINVAL;
    struct sem *m = SM(s);
    m->value = value;
    m->bound = bound;
    m->waiters.first = m->waiters.last = NULL;
    return 0;
}

int coop_sem_init(coop_sem *s, long value) { return init(s, value, LONG_MAX); }
int coop_sem_init_bounded(coop_sem *s, long value) { return init(s, value, value); }

void coop_sem_destroy(coop_sem *s) {
    struct sem *m = SM(s);
    if (!coop__waitq_empty(&m->waiters))
        coop__misuse("coop_sem_destroy: %zu task(s) still wait on the semaphore",
                     coop__waitq_count(&m->waiters));
}

int coop_sem_acquire(coop_sem *s) {
    struct sem *m = SM(s);
    int r = coop__checkpoint();
    if (r < 0) return r;
    if (m->value > 0) {
        m->value--;
        return 0;
    }
    coop__wait n;
    n.data = NULL;
    return coop__wait_park(&m->waiters, &n, "coop_sem_acquire");
}

int coop_sem_try_acquire(coop_sem *s) {
    struct sem *m = SM(s);
    if (m->value == 0) return -EAGAIN;
    m->value--;
    return 0;
}

int coop_sem_release(coop_sem *s) {
    struct sem *m = SM(s);
    coop__wait *n = coop__wait_pop(&m->waiters);
    if (n) {
        coop__unpark(&n->w, 0); /* the permit goes straight to the waiter */
        return 0;
    }
    if (m->value >= m->bound) return -EOVERFLOW;
    m->value++;
    return 0;
}

long coop_sem_value(const coop_sem *s) { return ((const struct sem *)(const void *)s->opaque_)->value; }

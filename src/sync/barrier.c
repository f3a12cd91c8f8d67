/*
 * barrier.c — coop_barrier: n tasks wait for each other, then all go on
 * together, round after round (asyncio.Barrier, threading.Barrier; no
 * abort/broken state: a cancelled waiter simply leaves).
 *
 * Invariant: the waiters queue holds exactly the arrivals of the current
 * round that are still waiting, and its length is < parties between calls.
 * The arrival that completes the round pops every waiter (oldest first)
 * and unparks each with its arrival index, so the round is decided at that
 * moment: a waiter cancelled afterwards (before it ran) still counts as
 * released and returns its index. A waiter cancelled before that is
 * unlinked by on_cancel and the round keeps waiting for a full count: the
 * barrier stays consistent.
 */
#include <errno.h>
#include "sync/waitq.h"
#include "util/misuse.h"

struct barrier {
    unsigned parties;    /* tasks per round */
    unsigned waiting;    /* tasks waiting in this round (queue length) */
    coop__waitq waiters; /* this round's waiters, in arrival order */
};

_Static_assert(sizeof(struct barrier) <= sizeof(coop_barrier), "coop_barrier storage too small");
_Static_assert(_Alignof(struct barrier) <= _Alignof(coop_barrier), "coop_barrier alignment");

#define BR(b) ((struct barrier *)(void *)(b)->opaque_)

int coop_barrier_init(coop_barrier *b, unsigned parties) {
    if (parties == 0) return -EINVAL;
    struct barrier *br = BR(b);
    br->parties = parties;
    br->waiting = 0;
    br->waiters.first = br->waiters.last = NULL;
    return 0;
}

void coop_barrier_destroy(coop_barrier *b) {
    struct barrier *br = BR(b);
    if (br->waiting)
        coop__misuse("coop_barrier_destroy: %u task(s) still wait on the barrier", br->waiting);
}

/* on_cancel: leave the round before it completed. */
static void barrier_on_cancel(coop__waiter *w) {
    coop__wait *n = COOP__WAIT_OF(w);
    struct barrier *br = n->data;
    coop__waitq_remove(n);
    br->waiting--;
}

int coop_barrier_wait(coop_barrier *b) {
    struct barrier *br = BR(b);
    int r = coop__checkpoint();
    if (r < 0) return r;
    if (br->waiting + 1 == br->parties) {
        int index = 0;
        coop__wait *n;
        while ((n = coop__wait_pop(&br->waiters)) != NULL) coop__unpark(&n->w, index++);
        br->waiting = 0;
        return index; /* == parties - 1 */
    }
    if (!coop__task_current()) return -EPERM;
    coop__wait n;
    n.data = br;
    n.w.on_cancel = barrier_on_cancel;
    n.w.what = "coop_barrier_wait";
    coop__waitq_push(&br->waiters, &n);
    br->waiting++;
    r = coop__park(&n.w);
    if (coop__wait_linked(&n)) { /* refused at once (cancelled): still counted */
        coop__waitq_remove(&n);
        br->waiting--;
    }
    return r;
}

unsigned coop_barrier_waiting(const coop_barrier *b) {
    return ((const struct barrier *)(const void *)b->opaque_)->waiting;
}

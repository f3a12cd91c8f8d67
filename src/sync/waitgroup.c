/*
 * waitgroup.c — coop_waitgroup: Go's sync.WaitGroup. add() counts work in,
 * done() counts it out, wait() returns once the counter is zero.
 *
 * When the counter reaches zero every waiter is unparked with 0 at that
 * moment: a later add() (the next batch) does not put them back to sleep,
 * and a waiter cancelled after the wake-up still reports 0. Unlike Go, a
 * negative counter is an error return (-EINVAL, nothing changed) rather
 * than a panic, and reusing the group for a new batch while old waiters
 * are still being woken is allowed.
 */
#include <errno.h>
#include <limits.h>
#include "sync/waitq.h"
#include "util/misuse.h"

struct waitgroup {
    long count;          /* outstanding work (>= 0) */
    coop__waitq waiters; /* tasks in coop_waitgroup_wait, oldest first */
};

_Static_assert(sizeof(struct waitgroup) <= sizeof(coop_waitgroup), "coop_waitgroup storage too small");
_Static_assert(_Alignof(struct waitgroup) <= _Alignof(coop_waitgroup), "coop_waitgroup alignment");

#define WG(w) ((struct waitgroup *)(void *)(w)->opaque_)

void coop_waitgroup_init(coop_waitgroup *wg) {
    struct waitgroup *g = WG(wg);
    g->count = 0;
    g->waiters.first = g->waiters.last = NULL;
}

void coop_waitgroup_destroy(coop_waitgroup *wg) {
    struct waitgroup *g = WG(wg);
    if (!coop__waitq_empty(&g->waiters))
        coop__misuse("coop_waitgroup_destroy: %zu task(s) still wait on the waitgroup",
                     coop__waitq_count(&g->waiters));
}

int coop_waitgroup_add(coop_waitgroup *wg, long delta) {
    struct waitgroup *g = WG(wg);
    if (delta < 0 ? g->count < -delta : g->count > LONG_MAX - delta) return -EINVAL;
    g->count += delta;
    if (g->count == 0) coop__waitq_wake_all(&g->waiters, 0);
    return 0;
}

int coop_waitgroup_done(coop_waitgroup *wg) { return coop_waitgroup_add(wg, -1); }

int coop_waitgroup_wait(coop_waitgroup *wg) {
    struct waitgroup *g = WG(wg);
    int r = coop__checkpoint();
    if (r < 0) return r;
    if (g->count == 0) return 0;
    coop__wait n;
    n.data = NULL;
    return coop__wait_park(&g->waiters, &n, "coop_waitgroup_wait");
}

long coop_waitgroup_count(const coop_waitgroup *wg) {
    return ((const struct waitgroup *)(const void *)wg->opaque_)->count;
}

/*
 * event.c — coop_event: a flag that tasks wait for (asyncio.Event,
 * trio.Event). set wakes every waiter at once; clear only affects later
 * waits. A waiter woken by set returns 0 even if the flag was cleared again
 * before it ran (it was set when the waiter was woken: "once unparked, the
 * result stands").
 */
#include <errno.h>
#include "sync/waitq.h"
#include "util/misuse.h"

struct event {
    coop__waitq waiters; /* tasks in coop_event_wait, oldest first */
    int set;             /* the flag */
};

_Static_assert(sizeof(struct event) <= sizeof(coop_event), "coop_event storage too small");
_Static_assert(_Alignof(struct event) <= _Alignof(coop_event), "coop_event alignment");

#define EV(e) ((struct event *)(void *)(e)->opaque_)
#define CEV(e) ((const struct event *)(const void *)(e)->opaque_)

void coop_event_init(coop_event *e) {
    struct event *ev = EV(e);
    ev->waiters.first = ev->waiters.last = NULL;
    ev->set = 0;
}

void coop_event_destroy(coop_event *e) {
    struct event *ev = EV(e);
    if (!coop__waitq_empty(&ev->waiters))
        coop__misuse("coop_event_destroy: %zu task(s) still wait on the event",
                     coop__waitq_count(&ev->waiters));
}

void coop_event_set(coop_event *e) {
    struct event *ev = EV(e);
    ev->set = 1;
    coop__waitq_wake_all(&ev->waiters, 0);
}

void coop_event_clear(coop_event *e) { EV(e)->set = 0; }

int coop_event_is_set(const coop_event *e) { return CEV(e)->set; }

int coop_event_wait(coop_event *e) {
    struct event *ev = EV(e);
    int r = coop__checkpoint();
    if (r < 0) return r;
    if (ev->set) return 0;
    coop__wait n;
    n.data = NULL;
    return coop__wait_park(&ev->waiters, &n, "coop_event_wait");
}

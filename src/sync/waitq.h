/*
 * waitq.h — the FIFO wait queue shared by the sync primitives and the
 * queues: an intrusive, NULL-terminated doubly linked list of wait records
 * that live on the waiting tasks' stacks, and the one helper that parks on
 * it (coop__wait_park) with the unlinking done on every path.
 *
 * Invariants: a record is in at most one queue; its link.list is non-NULL
 * exactly while it is linked; whoever pops a record (coop__wait_pop) and
 * unparks it decides the outcome ("once unparked, the result stands", see
 * sched/park.h), so a cancellation that comes later cannot undo it. The
 * list is NULL-terminated rather than circular so that an idle primitive
 * (no waiters) can be moved or copied like plain data.
 *
 * Header-only: these are a few instructions each and sit on fast paths.
 * src/chan includes it too (same layer, one list implementation).
 */
#ifndef COOP_SYNC_WAITQ_H
#define COOP_SYNC_WAITQ_H

#include <stddef.h>
#include <stdint.h>
#include "sched/loop.h"
#include "sched/park.h"

/* ---- the list: intrusive, NULL-terminated, FIFO ---------------------------
 * Also used by src/chan for its blocked operations. */

typedef struct coop__wlist coop__wlist;

/* A node, embedded in the waiting record. */
typedef struct coop__wlink {
    struct coop__wlink *prev; /* towards first */
    struct coop__wlink *next; /* towards last */
    coop__wlist *list;        /* the list that links it; NULL once unlinked */
} coop__wlink;

struct coop__wlist {
    coop__wlink *first; /* oldest, NULL when empty */
    coop__wlink *last;  /* newest, NULL when empty */
};

static inline void coop__wlist_push(coop__wlist *q, coop__wlink *n) {
    n->next = NULL;
    n->prev = q->last;
    if (q->last)
        q->last->next = n;
    else
        q->first = n;
    q->last = n;
    n->list = q;
}

/* Unlink n from the list that holds it (no-op if it is not linked). */
static inline void coop__wlink_remove(coop__wlink *n) {
    coop__wlist *q = n->list;
    if (!q) return;
    if (n->prev)
        n->prev->next = n->next;
    else
        q->first = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        q->last = n->prev;
    n->prev = n->next = NULL;
    n->list = NULL;
}

static inline size_t coop__wlist_count(const coop__wlist *q) {
    size_t k = 0;
    for (const coop__wlink *n = q->first; n; n = n->next) k++;
    return k;
}

/* ---- the wait queue of the sync primitives and queues ----------------------- */

/* The queue: first is the longest waiter (woken first, FIFO fairness). */
typedef coop__wlist coop__waitq;

/* One waiting task, on its own stack for the duration of the wait. */
typedef struct coop__wait {
    coop__waiter w;   /* the park record (task, result, on_cancel, what) */
    coop__wlink link; /* in the primitive's queue */
    void *data;       /* per-primitive payload (a value to hand over,
                         a buffer to fill); unused by the queue itself */
} coop__wait;

#define COOP__WAIT_OF(waiter) ((coop__wait *)((char *)(waiter) - offsetof(coop__wait, w)))
#define COOP__WAIT_OF_LINK(l) ((coop__wait *)((char *)(l) - offsetof(coop__wait, link)))

/* The running task (NULL outside a task): coop__task_current inlined, for
 * the lock's fast paths (a call there would double their cost). */
static inline coop__task *coop__self(void) {
    coop__loop *l = coop__tls_loop;
    return l ? l->current : NULL;
}

static inline int coop__waitq_empty(const coop__waitq *q) { return q->first == NULL; }

static inline void coop__waitq_push(coop__waitq *q, coop__wait *n) { coop__wlist_push(q, &n->link); }

/* Unlink n from the queue that holds it (no-op if it is not linked). */
static inline void coop__waitq_remove(coop__wait *n) { coop__wlink_remove(&n->link); }

/* 1 while n is in a queue. */
static inline int coop__wait_linked(const coop__wait *n) { return n->link.list != NULL; }

/* Unlink and return the oldest waiter, or NULL. */
static inline coop__wait *coop__wait_pop(coop__waitq *q) {
    coop__wlink *l = q->first;
    if (!l) return NULL;
    coop__wlink_remove(l);
    return COOP__WAIT_OF_LINK(l);
}

static inline size_t coop__waitq_count(const coop__waitq *q) { return coop__wlist_count(q); }

/* on_cancel of a plain wait: leave the queue; nothing was handed over yet
 * (a waiter that was handed something has been popped and unparked, and
 * is no longer cancellable). */
static inline void coop__wait_on_cancel(coop__waiter *w) { coop__waitq_remove(COOP__WAIT_OF(w)); }

/* Queue n at the back of q and park until a waker pops and unparks it.
 * Returns the waker's result, or the cancellation cause (-ECANCELED /
 * -ETIMEDOUT) with n unlinked and nothing handed over, or -EPERM. n->data
 * must be set by the caller before the call. */
static inline int coop__wait_park(coop__waitq *q, coop__wait *n, const char *what) {
    n->w.on_cancel = coop__wait_on_cancel;
    n->w.what = what;
    coop__waitq_push(q, n);
    int r = coop__park(&n->w);
    /* coop__park refuses at once (without parking) when the task is
     * already cancelled: the record is then still linked. */
    coop__waitq_remove(n);
    return r;
}

/* Wake every waiter of q with result r, oldest first. Returns how many. */
static inline size_t coop__waitq_wake_all(coop__waitq *q, int r) {
    size_t k = 0;
    coop__wait *n;
    while ((n = coop__wait_pop(q)) != NULL) {
        coop__unpark(&n->w, r);
        k++;
    }
    return k;
}

#endif

/*
 * chan.h — the inside of a channel, shared by chan.c (the channel and its
 * plain operations), end.c (send/receive ends) and select.c.
 *
 * Every blocked operation is a coop__chan_op linked into the channel's
 * senders or receivers queue; the ops of one blocked task form a group
 * (one op for a plain send/recv, one per case for a select) that shares a
 * single park record. Completing any op of a group "fires" the group:
 * all its ops are unlinked and the task is unparked with the op's index,
 * the op's outcome in group->result. The value moves (memcpy) in the same
 * step as the unpark, which is what keeps conservation exact: an op that
 * was fired happened (park rule), an op that was not fired has no effect.
 *
 * Invariants: receivers wait only while the buffer is empty; senders wait
 * only while the buffer is full (capacity 0: always full) and the channel
 * is open and receivable.
 */
#ifndef COOP_CHAN_CHAN_H
#define COOP_CHAN_CHAN_H

#include <stddef.h>
#include "sched/park.h"
#include "sync/waitq.h"

typedef struct coop__chan_op coop__chan_op;
typedef struct coop__chan_group coop__chan_group;

/* A queue of blocked ops: the list of sync/waitq.h. */
typedef coop__wlist coop__chan_opq;

struct coop__chan_op {
    coop__wlink link;           /* in the channel's senders or receivers */
    coop__chan_group *group;    /* the blocked task's group */
    coop_chan *chan;            /* the channel operated on */
    void *buf;                  /* SEND: the value (read only); RECV: the output */
    const void *end;            /* the end it goes through, or NULL */
    int kind;                   /* COOP_CHAN_SEND or COOP_CHAN_RECV */
    int index;                  /* position in the group (select case index) */
};

/* The op of a link (NULL-safe). */
static inline coop__chan_op *coop__chan_op_of(coop__wlink *l) {
    return l ? (coop__chan_op *)(void *)((char *)l - offsetof(coop__chan_op, link)) : NULL;
}

struct coop__chan_group {
    coop__waiter w;      /* the one park record of the blocked task */
    coop__chan_op *ops;  /* its ops, an array of n */
    size_t n;            /* number of ops */
    int result;          /* outcome of the op that fired: 0, -EPIPE, -EBADF */
};

struct coop_chan {
    size_t elem_size;          /* bytes per value */
    size_t cap;                /* buffer capacity in values (0: unbuffered) */
    size_t head;               /* index of the oldest buffered value */
    size_t count;              /* values buffered */
    unsigned char *ring;       /* cap * elem_size bytes, NULL if cap == 0 */
    coop__chan_opq senders;    /* blocked sends, oldest first */
    coop__chan_opq receivers;  /* blocked receives, oldest first */
    unsigned tx_open;          /* open send ends */
    unsigned rx_open;          /* open receive ends */
    unsigned char closed;      /* closed for sending: no new values */
    unsigned char unreceivable;/* every receive end was closed */
};

/* coop__chan_try's "would wait" result (distinct from 0 and -errno). */
#define COOP__CHAN_WOULD_WAIT 1

/* Do op kind on c now if it can happen without waiting: 0 (done), -EPIPE
 * (fails at once: closed / unreceivable / closed and drained), or
 * COOP__CHAN_WOULD_WAIT. buf is the value (SEND) or the output (RECV). */
int coop__chan_try(coop_chan *c, int kind, void *buf);

/* Link the group's ops into their channels' queues and park. Returns the
 * index of the op that fired (>= 0; its outcome in g->result) or the
 * cancellation cause / -EPERM with every op unlinked and no effect. */
int coop__chan_group_park(coop__chan_group *g, const char *what);

/* A plain blocking send/recv: checkpoint, try, else park one op. */
int coop__chan_op_wait(coop_chan *c, int kind, void *buf, const void *end, const char *what);

/* Fire every op in q that goes through end, with result (-EBADF). */
void coop__chan_wake_end(coop__chan_opq *q, const void *end, int result);

/* Fire every op in q with result (close: -EPIPE). */
void coop__chan_wake_all(coop__chan_opq *q, int result);

/* 1 if end (a select case's end, may be NULL) is a closed end (end.c). */
int coop__chan_end_closed(const void *end);

#endif

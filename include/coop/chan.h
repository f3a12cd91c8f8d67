/*
 * coop/chan.h — passing values between the tasks of one loop: queues
 * (asyncio.Queue, LifoQueue, PriorityQueue), channels (Go channels, trio
 * memory channels) and select over several channel operations. Included by
 * <coop.h>.
 *
 * Values are copied: each queue and channel has a fixed element size, fixed
 * at creation; a send copies elem_size bytes from the caller's value, a
 * receive copies them into the caller's buffer. The caller's buffers belong
 * to the caller again as soon as the call returns, whatever the result.
 *
 * Common rules (as in coop/sync.h): every call is [loop] (one loop's tasks;
 * from another thread use coop_call_soon_threadsafe); waiting calls are
 * [checkpoint]s that deliver cancellation before doing anything and while
 * waiting; a cancelled call has no effect (a cancelled receive consumed
 * nothing, a cancelled send delivered nothing); a value or a wake-up handed
 * to a waiter is the waiter's even if it is cancelled before it runs again
 * (it returns success; the cancellation comes at its next checkpoint);
 * waiters are served FIFO; freeing an object that tasks wait on is misuse
 * and aborts with a message.
 */
#ifndef COOP_CHAN_H
#define COOP_CHAN_H

#include "sched.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Queue: asyncio.Queue / LifoQueue / PriorityQueue
 * --------------------------------------------------------------------- */

typedef struct coop_queue coop_queue;

enum coop_queue_kind {
    COOP_QUEUE_FIFO = 0,     /* first in, first out (asyncio.Queue) */
    COOP_QUEUE_LIFO = 1,     /* last in, first out (asyncio.LifoQueue) */
    COOP_QUEUE_PRIORITY = 2, /* smallest first by cmp (asyncio.PriorityQueue);
                                equal elements come out in FIFO order */
};

/* Order of a priority queue: < 0 if a comes out before b, 0 if equal. */
typedef int (*coop_queue_cmp)(const void *a, const void *b);

/* Create a queue of elements of elem_size bytes holding at most maxsize of
 * them (0: unbounded, memory permitting). kind is enum coop_queue_kind; cmp
 * is required for COOP_QUEUE_PRIORITY and ignored otherwise. Storage grows
 * on demand. Returns 0 and *q, or -EINVAL (elem_size 0 or above
 * SIZE_MAX / 4, bad kind, cmp missing), -ENOMEM. [loop] */
COOP_API int coop_queue_new(coop_queue **q, size_t elem_size, size_t maxsize, int kind,
                            coop_queue_cmp cmp);
/* Free q and the elements still in it. Aborts (misuse) if tasks wait in
 * put, get or join. NULL is a no-op. [loop] */
COOP_API void coop_queue_free(coop_queue *q);

/* Put a copy of *value, waiting while the queue is full. A task waiting in
 * get receives it directly. Returns 0, -ECANCELED/-ETIMEDOUT (nothing put),
 * -ENOMEM (storage, grown on demand up to maxsize, could not grow;
 * nothing put), -EPERM.
 * [checkpoint] [task] */
COOP_API int coop_queue_put(coop_queue *q, const void *value);
/* Take the next element into *out, waiting while the queue is empty.
 * Returns 0, -ECANCELED/-ETIMEDOUT (nothing taken, *out untouched), -EPERM.
 * [checkpoint] [task] */
COOP_API int coop_queue_get(coop_queue *q, void *out);
/* Non-waiting versions: -EAGAIN instead of waiting (and -ENOMEM for put).
 * Do not suspend; usable from callbacks. [loop] */
COOP_API int coop_queue_try_put(coop_queue *q, const void *value);
COOP_API int coop_queue_try_get(coop_queue *q, void *out);

/* Mark one element taken by get as processed (asyncio task_done). Returns
 * 0, or -EINVAL if called more times than elements were put. When every
 * element ever put has been marked done, join's waiters wake. [loop] */
COOP_API int coop_queue_task_done(coop_queue *q);
/* Wait until every element put so far has been marked done. Returns 0,
 * -ECANCELED/-ETIMEDOUT, -EPERM. [checkpoint] [task] */
COOP_API int coop_queue_join(coop_queue *q);

/* Elements in q now / its maxsize (0: unbounded). [loop] */
COOP_API size_t coop_queue_size(const coop_queue *q);
COOP_API size_t coop_queue_maxsize(const coop_queue *q);

/* ------------------------------------------------------------------------
 * Channels: Go channels and trio memory channels
 *
 * A channel of capacity 0 is unbuffered (a rendezvous: a send completes
 * when a receiver takes the value, the value moving at the moment the
 * partner is woken); capacity > 0 buffers that many values. Closing the
 * channel (Go's close) ends sending: pending and later sends get -EPIPE,
 * receivers first drain what was sent, then get -EPIPE.
 *
 * The channel can be used directly (Go style: share the coop_chan *), or
 * through send and receive ends (trio style): embeddable handles that are
 * opened on the channel, cloned, and closed independently. When the last
 * open send end closes, the channel closes (receivers drain, then -EPIPE).
 * When the last open receive end closes, nobody can receive any more:
 * sends fail with -EPIPE (values still buffered stay in the channel, see
 * coop_chan_len). Operating on a closed end returns -EBADF, and closing an
 * end wakes the tasks blocked through it with -EBADF.
 * --------------------------------------------------------------------- */

typedef struct coop_chan coop_chan;

/* Create a channel of elem_size-byte elements with the given capacity (0:
 * unbuffered). Returns 0 and *c, or -EINVAL (elem_size 0), -ENOMEM. The
 * buffer is allocated here: send never allocates. [loop] */
COOP_API int coop_chan_new(coop_chan **c, size_t elem_size, size_t capacity);
/* Free c and the values still buffered. Aborts (misuse) if tasks wait on
 * it or if ends are still open on it. NULL is a no-op. [loop] */
COOP_API void coop_chan_free(coop_chan *c);

/* Send a copy of *value, waiting while no receiver takes it (unbuffered) or
 * the buffer is full. Returns 0 (delivered to a receiver or the buffer),
 * -EPIPE (channel closed, or all receive ends closed: nothing delivered),
 * -ECANCELED/-ETIMEDOUT (nothing delivered), -EPERM.
 * [checkpoint] [task] */
COOP_API int coop_chan_send(coop_chan *c, const void *value);
/* Receive the next value into *out, waiting while there is none. Returns 0,
 * -EPIPE (closed and drained: *out untouched), -ECANCELED/-ETIMEDOUT
 * (nothing consumed), -EPERM. [checkpoint] [task] */
COOP_API int coop_chan_recv(coop_chan *c, void *out);
/* Non-waiting versions: -EAGAIN when the operation would wait. Do not
 * suspend; usable from callbacks. [loop] */
COOP_API int coop_chan_try_send(coop_chan *c, const void *value);
COOP_API int coop_chan_try_recv(coop_chan *c, void *out);

/* Close c for sending (Go's close). Idempotent. Waiting senders wake with
 * -EPIPE; waiting receivers wake with -EPIPE (the buffer is empty whenever
 * receivers wait). Does not suspend. [loop] */
COOP_API void coop_chan_close(coop_chan *c);
/* 1 if c is closed for sending (by coop_chan_close or its last send end). */
COOP_API int coop_chan_closed(const coop_chan *c);
/* Values buffered now / the capacity. [loop] */
COOP_API size_t coop_chan_len(const coop_chan *c);
COOP_API size_t coop_chan_cap(const coop_chan *c);

/* Send and receive ends: caller-owned storage, valid from open/clone until
 * the storage goes away; a closed end stays safe to use (-EBADF). */
typedef struct coop_chan_tx {
    _Alignas(16) unsigned char opaque_[16];
} coop_chan_tx;
typedef struct coop_chan_rx {
    _Alignas(16) unsigned char opaque_[16];
} coop_chan_rx;

/* Open a new send / receive end on c (counts as one more open end).
 * [loop] */
COOP_API void coop_chan_tx_open(coop_chan_tx *tx, coop_chan *c);
COOP_API void coop_chan_rx_open(coop_chan_rx *rx, coop_chan *c);
/* Open dst on the same channel as src (trio's clone). Returns 0, or -EBADF
 * if src is closed. [loop] */
COOP_API int coop_chan_tx_clone(coop_chan_tx *dst, const coop_chan_tx *src);
COOP_API int coop_chan_rx_clone(coop_chan_rx *dst, const coop_chan_rx *src);
/* Close this end (idempotent): tasks blocked in a send/receive through it
 * wake with -EBADF; the last send end closing closes the channel; the last
 * receive end closing makes every send fail with -EPIPE. [loop] */
COOP_API void coop_chan_tx_close(coop_chan_tx *tx);
COOP_API void coop_chan_rx_close(coop_chan_rx *rx);
/* coop_chan_send / recv / try_send / try_recv through an end; a closed end
 * gives -EBADF. */
COOP_API int coop_chan_tx_send(coop_chan_tx *tx, const void *value);
COOP_API int coop_chan_rx_recv(coop_chan_rx *rx, void *out);
COOP_API int coop_chan_tx_try_send(coop_chan_tx *tx, const void *value);
COOP_API int coop_chan_rx_try_recv(coop_chan_rx *rx, void *out);

/* ------------------------------------------------------------------------
 * Select: wait for the first of several sends and receives (Go's select)
 *
 * Fill an array of cases with the helpers below. Cases are tried in array
 * order (the first ready case wins: put the case that must not starve
 * first). A case with a NULL channel never fires (Go's nil channel), which
 * is how to switch a case off in a loop. Exactly one case happens: the
 * others have no effect at all.
 * --------------------------------------------------------------------- */

enum { COOP_CHAN_SEND = 1, COOP_CHAN_RECV = 2 };

typedef struct coop_chan_case {
    coop_chan *chan;   /* the channel; NULL: the case is off */
    const void *end;   /* internal: the end the case goes through, or NULL */
    const void *value; /* SEND: the value to copy in */
    void *out;         /* RECV: where to copy the value */
    int op;            /* COOP_CHAN_SEND or COOP_CHAN_RECV */
    int result;        /* out: the outcome of the case that happened: 0,
                          -EPIPE (closed: nothing sent / nothing left to
                          receive), -EBADF (its end is closed) */
} coop_chan_case;

COOP_API coop_chan_case coop_chan_case_send(coop_chan *c, const void *value);
COOP_API coop_chan_case coop_chan_case_recv(coop_chan *c, void *out);
COOP_API coop_chan_case coop_chan_case_tx(coop_chan_tx *tx, const void *value);
COOP_API coop_chan_case coop_chan_case_rx(coop_chan_rx *rx, void *out);

/* Perform exactly one of the n cases, waiting until one can happen or the
 * absolute deadline passes (COOP_NEVER: no deadline; the caller's cancel
 * scopes apply too). A case that fails at once (-EPIPE, -EBADF) counts as
 * having happened. Returns the index of the case that happened (its
 * .result says how), or -ETIMEDOUT (deadline passed, no case happened),
 * -ECANCELED/-ETIMEDOUT (cancelled by a scope, no case happened), -EINVAL
 * (a case with a bad op, or n > 64), -EPERM. Allocates nothing.
 * [checkpoint] [task] */
COOP_API int coop_chan_select(coop_chan_case *cases, size_t n, int64_t deadline);
/* Select with a default: perform a case that can happen now, else return
 * -EAGAIN. Does not suspend. [loop] */
COOP_API int coop_chan_try_select(coop_chan_case *cases, size_t n);

#ifdef __cplusplus
}
#endif
#endif

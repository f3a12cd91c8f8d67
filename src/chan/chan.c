/*
 * chan.c — channels: creation, the ring buffer, the matching of a send
 * with a blocked receive (and the reverse), blocking and non-blocking send
 * and receive, close, and the firing of blocked operations. Ends are in
 * end.c, select in select.c; the shared layout and invariants in chan.h.
 *
 * Matching rules, the same for plain operations and select cases:
 *   send: closed or unreceivable -> -EPIPE; a blocked receiver -> copy the
 *         value into its buffer and fire it; room in the buffer -> append;
 *         else wait.
 *   recv: a buffered value -> take it, then move the oldest blocked
 *         sender's value into the freed slot and fire that sender; no
 *         buffer but a blocked sender (unbuffered) -> copy from it and fire
 *         it; closed -> -EPIPE; else wait.
 * So a buffered channel delivers in send order, and an unbuffered send
 * completes exactly when a receiver takes the value.
 */
#include <errno.h>
#include <string.h>
#include "chan/chan.h"
#include "util/alloc.h"
#include "util/misuse.h"

/* ---- op queues ---------------------------------------------------------- */

static void opq_push(coop__chan_opq *q, coop__chan_op *o) { coop__wlist_push(q, &o->link); }
static void opq_remove(coop__chan_op *o) { coop__wlink_remove(&o->link); }

static void group_unlink(coop__chan_group *g) {
    for (size_t i = 0; i < g->n; i++) opq_remove(&g->ops[i]);
}

/* Complete o's group: o happened with result, its siblings did not. */
static void fire(coop__chan_op *o, int result) {
    coop__chan_group *g = o->group;
    if (COOP_LIKELY(g->n == 1))
        opq_remove(o); /* a plain send/recv: no siblings */
    else
        group_unlink(g);
    g->result = result;
    coop__unpark(&g->w, o->index);
}

static void group_on_cancel(coop__waiter *w) {
    group_unlink((coop__chan_group *)(void *)((char *)w - offsetof(coop__chan_group, w)));
}

int coop__chan_group_park(coop__chan_group *g, const char *what) {
    g->w.on_cancel = group_on_cancel;
    g->w.what = what;
    for (size_t i = 0; i < g->n; i++) {
        coop__chan_op *o = &g->ops[i];
        o->group = g;
        o->link.list = NULL;
        if (!o->chan) continue; /* a switched-off select case */
        opq_push(o->kind == COOP_CHAN_SEND ? &o->chan->senders : &o->chan->receivers, o);
    }
    int r = coop__park(&g->w);
    if (r < 0) group_unlink(g); /* refused at once: still linked */
    return r;
}

void coop__chan_wake_all(coop__chan_opq *q, int result) {
    while (q->first) fire(coop__chan_op_of(q->first), result);
}

void coop__chan_wake_end(coop__chan_opq *q, const void *end, int result) {
    /* Restart after each fire: firing a group may unlink later ops too. */
    coop__chan_op *o = coop__chan_op_of(q->first);
    while (o) {
        if (o->end == end) {
            fire(o, result);
            o = coop__chan_op_of(q->first);
        } else {
            o = coop__chan_op_of(o->link.next);
        }
    }
}

/* ---- the buffer ---------------------------------------------------------- */

/* Copy one element. Fixed sizes become a single move (memcpy with a
 * constant size is inlined); the rest calls memcpy. */
static inline void copy_elem(void *dst, const void *src, size_t size) {
    switch (size) {
    case 1: memcpy(dst, src, 1); break;
    case 2: memcpy(dst, src, 2); break;
    case 4: memcpy(dst, src, 4); break;
    case 8: memcpy(dst, src, 8); break;
    case 16: memcpy(dst, src, 16); break;
    default: memcpy(dst, src, size); break;
    }
}

static void ring_push(coop_chan *c, const void *value) {
    size_t slot = c->head + c->count;
    if (slot >= c->cap) slot -= c->cap;
    copy_elem(c->ring + slot * c->elem_size, value, c->elem_size);
    c->count++;
}

static void ring_pop(coop_chan *c, void *out) {
    copy_elem(out, c->ring + c->head * c->elem_size, c->elem_size);
    if (++c->head == c->cap) c->head = 0;
    c->count--;
}

/* ---- matching ------------------------------------------------------------ */

static int try_send(coop_chan *c, const void *value) {
    if (COOP_UNLIKELY(c->closed || c->unreceivable)) return -EPIPE;
    coop__chan_op *r = coop__chan_op_of(c->receivers.first);
    if (r) {
        copy_elem(r->buf, value, c->elem_size);
        fire(r, 0);
        return 0;
    }
    if (c->count < c->cap) {
        ring_push(c, value);
        return 0;
    }
    return COOP__CHAN_WOULD_WAIT;
}

static int try_recv(coop_chan *c, void *out) {
    coop__chan_op *s = coop__chan_op_of(c->senders.first);
    if (c->count) {
        ring_pop(c, out);
        if (s) {
            ring_push(c, s->buf);
            fire(s, 0);
        }
        return 0;
    }
    if (s) {
        copy_elem(out, s->buf, c->elem_size);
        fire(s, 0);
        return 0;
    }
    return c->closed ? -EPIPE : COOP__CHAN_WOULD_WAIT;
}

int coop__chan_try(coop_chan *c, int kind, void *buf) {
    return kind == COOP_CHAN_SEND ? try_send(c, buf) : try_recv(c, buf);
}

/* Can op kind on c happen without waiting (including failing at once)? */
static inline int ready(const coop_chan *c, int kind) {
    if (kind == COOP_CHAN_SEND)
        return c->closed || c->unreceivable || c->receivers.first || c->count < c->cap;
    return c->count || c->senders.first || c->closed;
}

int coop__chan_op_wait(coop_chan *c, int kind, void *buf, const void *end, const char *what) {
    int r;
    /* The checkpoint (cancellation first, then the budget yield) is only
     * needed when the op would complete now: a wait is delivered
     * cancellation by coop__park and is itself a yield. After a budget
     * yield the channel may have changed, so try again. */
    if (ready(c, kind)) {
        r = coop__checkpoint();
        if (r < 0) return r;
        r = coop__chan_try(c, kind, buf);
        if (r != COOP__CHAN_WOULD_WAIT) return r;
    }
    coop__chan_group g;
    coop__chan_op o;
    o.group = &g;
    o.chan = c;
    o.buf = buf;
    o.end = end;
    o.kind = kind;
    o.index = 0;
    g.ops = &o;
    g.n = 1;
    g.result = 0;
    g.w.on_cancel = group_on_cancel;
    g.w.what = what;
    opq_push(kind == COOP_CHAN_SEND ? &c->senders : &c->receivers, &o);
    r = coop__park(&g.w);
    if (r < 0) {
        opq_remove(&o); /* refused at once: still linked (else a no-op) */
        return r;
    }
    return g.result;
}

/* ---- public API ---------------------------------------------------------- */

int coop_chan_new(coop_chan **out, size_t elem_size, size_t capacity) {
    size_t bytes;
    if (elem_size == 0) return -EINVAL;
    if (__builtin_mul_overflow(elem_size, capacity, &bytes)) return -ENOMEM;
    coop_chan *c = coop__calloc(1, sizeof *c);
    if (!c) return -ENOMEM;
    if (capacity) {
        c->ring = coop__malloc(bytes);
        if (!c->ring) {
            coop__free(c);
            return -ENOMEM;
        }
    }
    c->elem_size = elem_size;
    c->cap = capacity;
    *out = c;
    return 0;
}

void coop_chan_free(coop_chan *c) {
    if (!c) return;
    size_t waiting = coop__wlist_count(&c->senders) + coop__wlist_count(&c->receivers);
    if (waiting) coop__misuse("coop_chan_free: %zu task(s) still wait on the channel", waiting);
    if (c->tx_open || c->rx_open)
        coop__misuse("coop_chan_free: %u send end(s) and %u receive end(s) still open", c->tx_open,
                     c->rx_open);
    coop__free(c->ring);
    coop__free(c);
}

int coop_chan_send(coop_chan *c, const void *value) {
    return coop__chan_op_wait(c, COOP_CHAN_SEND, (void *)(uintptr_t)value, NULL, "coop_chan_send");
}

int coop_chan_recv(coop_chan *c, void *out) {
    return coop__chan_op_wait(c, COOP_CHAN_RECV, out, NULL, "coop_chan_recv");
}

static int would_wait_to_eagain(int r) { return r == COOP__CHAN_WOULD_WAIT ? -EAGAIN : r; }

int coop_chan_try_send(coop_chan *c, const void *value) {
    return would_wait_to_eagain(try_send(c, value));
}

int coop_chan_try_recv(coop_chan *c, void *out) { return would_wait_to_eagain(try_recv(c, out)); }

void coop_chan_close(coop_chan *c) {
    if (c->closed) return;
    c->closed = 1;
    coop__chan_wake_all(&c->senders, -EPIPE);
    coop__chan_wake_all(&c->receivers, -EPIPE);
}

int coop_chan_closed(const coop_chan *c) { return c->closed; }
size_t coop_chan_len(const coop_chan *c) { return c->count; }
size_t coop_chan_cap(const coop_chan *c) { return c->cap; }

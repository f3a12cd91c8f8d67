/*
 * queue.c — coop_queue: asyncio.Queue, LifoQueue and PriorityQueue for the
 * tasks of one loop, with values copied in and out (fixed element size).
 *
 * Storage is one growable array of slots: a ring for FIFO, a stack for
 * LIFO, a binary min-heap for PRIORITY (each slot then carries a sequence
 * number after the element, so equal priorities come out FIFO: stable,
 * unlike heapq). It grows by doubling up to maxsize; a growth failure makes
 * that put fail with -ENOMEM and nothing else changes.
 *
 * Hand-offs follow the park rule: a put that finds a getter waiting (the
 * queue is then empty) copies the value straight into the getter's buffer
 * and unparks it; a get that frees a slot of a full queue moves the oldest
 * waiting putter's value in and unparks it. Either way the transfer and
 * the wake-up are one step, so a waiter cancelled at that moment keeps its
 * result and nothing is lost or duplicated. unfinished counts every value
 * that entered the queue (or went straight to a getter) minus task_done.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "sync/waitq.h"
#include "util/alloc.h"
#include "util/misuse.h"

struct coop_queue {
    size_t elem_size;     /* bytes per element */
    size_t stride;        /* bytes per slot (element, then seq for PRIORITY) */
    size_t maxsize;       /* 0: unbounded */
    size_t head;          /* FIFO: slot of the oldest element */
    size_t count;         /* elements stored */
    size_t alloc;         /* slots allocated */
    unsigned char *slots; /* alloc * stride bytes */
    uint64_t seq;         /* PRIORITY: next sequence number (FIFO tie-break) */
    int kind;             /* enum coop_queue_kind */
    coop_queue_cmp cmp;   /* PRIORITY: element order */
    size_t unfinished;    /* elements put and not yet marked task_done */
    coop__waitq getters;  /* tasks in get; data = output buffer */
    coop__waitq putters;  /* tasks in put; data = the value */
    coop__waitq joiners;  /* tasks in join */
};

static unsigned char *slot(const coop_queue *q, size_t i) { return q->slots + i * q->stride; }

static uint64_t slot_seq(const coop_queue *q, size_t i) {
    uint64_t s;
    memcpy(&s, slot(q, i) + q->stride - sizeof s, sizeof s);
    return s;
}

/* PRIORITY order of slots i and j: cmp, then sequence (older first). */
static int before(const coop_queue *q, size_t i, size_t j) {
    int c = q->cmp(slot(q, i), slot(q, j));
    return c < 0 || (c == 0 && slot_seq(q, i) < slot_seq(q, j));
}

static void swap_slots(coop_queue *q, size_t i, size_t j) {
    unsigned char tmp[64];
    for (size_t off = 0; off < q->stride; off += sizeof tmp) {
        size_t k = q->stride - off < sizeof tmp ? q->stride - off : sizeof tmp;
        memcpy(tmp, slot(q, i) + off, k);
        memcpy(slot(q, i) + off, slot(q, j) + off, k);
        memcpy(slot(q, j) + off, tmp, k);
    }
}

static void sift_up(coop_queue *q, size_t i) {
    while (i > 0 && before(q, i, (i - 1) / 2)) {
        swap_slots(q, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void sift_down(coop_queue *q, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < q->count && before(q, l, m)) m = l;
        if (r < q->count && before(q, r, m)) m = r;
        if (m == i) return;
        swap_slots(q, i, m);
        i = m;
    }
}

/* Make room for one more element. 0 or -ENOMEM. */
static int reserve(coop_queue *q) {
    if (q->count < q->alloc) return 0;
    size_t n = q->alloc ? q->alloc * 2 : 8;
    if (q->maxsize && n > q->maxsize) n = q->maxsize;
    size_t bytes;
    if (n <= q->alloc || __builtin_mul_overflow(n, q->stride, &bytes)) return -ENOMEM;
    unsigned char *p = coop__realloc(q->slots, bytes);
    if (!p) return -ENOMEM;
    q->slots = p;
    /* A full FIFO ring with head > 0 wraps: move its upper part [head,
     * alloc) to the end of the larger array, so the ring stays contiguous
     * modulo the new size (works for any n > alloc). */
    if (q->kind == COOP_QUEUE_FIFO && q->head > 0) {
        size_t upper = q->alloc - q->head;
        memmove(slot(q, n - upper), slot(q, q->head), upper * q->stride);
        q->head = n - upper;
    }
    q->alloc = n;
    return 0;
}

/* Store a copy of value (room must have been reserved). */
static void store(coop_queue *q, const void *value) {
    if (q->kind == COOP_QUEUE_FIFO) {
        size_t i = q->head + q->count;
        if (i >= q->alloc) i -= q->alloc;
        memcpy(slot(q, i), value, q->elem_size);
        q->count++;
    } else if (q->kind == COOP_QUEUE_LIFO) {
        memcpy(slot(q, q->count++), value, q->elem_size);
    } else {
        uint64_t s = q->seq++;
        memcpy(slot(q, q->count), value, q->elem_size);
        memcpy(slot(q, q->count) + q->stride - sizeof s, &s, sizeof s);
        sift_up(q, q->count++);
    }
}

/* Take the next element into out (count > 0). */
static void take(coop_queue *q, void *out) {
    if (q->kind == COOP_QUEUE_FIFO) {
        memcpy(out, slot(q, q->head), q->elem_size);
        if (++q->head == q->alloc) q->head = 0;
        q->count--;
    } else if (q->kind == COOP_QUEUE_LIFO) {
        memcpy(out, slot(q, --q->count), q->elem_size);
    } else {
        memcpy(out, slot(q, 0), q->elem_size);
        if (--q->count) {
            memcpy(slot(q, 0), slot(q, q->count), q->stride);
            sift_down(q, 0);
        }
    }
}

int coop_queue_new(coop_queue **out, size_t elem_size, size_t maxsize, int kind,
                   coop_queue_cmp cmp) {
    if (elem_size == 0 || (kind != COOP_QUEUE_FIFO && kind != COOP_QUEUE_LIFO &&
                           kind != COOP_QUEUE_PRIORITY) ||
        (kind == COOP_QUEUE_PRIORITY && !cmp) || elem_size > SIZE_MAX / 4)
        return -EINVAL;
    coop_queue *q = coop__calloc(1, sizeof *q);
    if (!q) return -ENOMEM;
    q->elem_size = elem_size;
    q->stride = elem_size;
    if (kind == COOP_QUEUE_PRIORITY) /* element 16-aligned in its slot, then seq */
        q->stride = ((elem_size + 7) / 8 * 8 + sizeof(uint64_t) + 15) / 16 * 16;
    q->maxsize = maxsize;
    q->kind = kind;
    q->cmp = cmp;
    *out = q;
    return 0;
}

void coop_queue_free(coop_queue *q) {
    if (!q) return;
    size_t waiting = coop__waitq_count(&q->getters) + coop__waitq_count(&q->putters) +
                     coop__waitq_count(&q->joiners);
    if (waiting) coop__misuse("coop_queue_free: %zu task(s) still wait on the queue", waiting);
    coop__free(q->slots);
    coop__free(q);
}

static int full(const coop_queue *q) { return q->maxsize && q->count >= q->maxsize; }

/* put without waiting: 0, -EAGAIN (full), -ENOMEM. */
static int put_now(coop_queue *q, const void *value) {
    coop__wait *g = coop__wait_pop(&q->getters);
    if (g) { /* the queue is empty: hand the value over directly */
        memcpy(g->data, value, q->elem_size);
        q->unfinished++;
        coop__unpark(&g->w, 0);
        return 0;
    }
    if (full(q)) return -EAGAIN;
    if (reserve(q) < 0) return -ENOMEM;
    store(q, value);
    q->unfinished++;
    return 0;
}

/* get without waiting: 0 or -EAGAIN (empty). */
static int get_now(coop_queue *q, void *out) {
    if (q->count == 0) return -EAGAIN;
    take(q, out);
    coop__wait *p = coop__wait_pop(&q->putters);
    if (p) { /* a slot just freed: the oldest blocked put completes */
        store(q, p->data);
        q->unfinished++;
        coop__unpark(&p->w, 0);
    }
    return 0;
}

int coop_queue_try_put(coop_queue *q, const void *value) { return put_now(q, value); }
int coop_queue_try_get(coop_queue *q, void *out) { return get_now(q, out); }

int coop_queue_put(coop_queue *q, const void *value) {
    int r = coop__checkpoint();
    if (r < 0) return r;
    r = put_now(q, value);
    if (r != -EAGAIN) return r;
    coop__wait n;
    n.data = (void *)(uintptr_t)value;
    return coop__wait_park(&q->putters, &n, "coop_queue_put");
}

int coop_queue_get(coop_queue *q, void *out) {
    int r = coop__checkpoint();
    if (r < 0) return r;
    r = get_now(q, out);
    if (r != -EAGAIN) return r;
    coop__wait n;
    n.data = out;
    return coop__wait_park(&q->getters, &n, "coop_queue_get");
}

int coop_queue_task_done(coop_queue *q) {
    if (q->unfinished == 0) return -EINVAL;
    if (--q->unfinished == 0) coop__waitq_wake_all(&q->joiners, 0);
    return 0;
}

int coop_queue_join(coop_queue *q) {
    int r = coop__checkpoint();
    if (r < 0) return r;
    if (q->unfinished == 0) return 0;
    coop__wait n;
    n.data = NULL;
    return coop__wait_park(&q->joiners, &n, "coop_queue_join");
}

size_t coop_queue_size(const coop_queue *q) { return q->count; }
size_t coop_queue_maxsize(const coop_queue *q) { return q->maxsize; }

/*
 * timer.c — timer queue operations, sleeping, and the public stackless
 * callbacks (coop_call_soon / coop_call_later / coop_call_at).
 *
 * A sleeping task parks on a waiter and a timer that both live in the
 * sleep call's frame; the timer's expiry unparks it, a cancellation stops
 * the timer. Nothing is allocated.
 */
#include <errno.h>
#include "sched/loop.h"
#include "util/misuse.h"

static int timer_less(const coop__heap_node *a, const coop__heap_node *b) {
    const coop__timer *x = COOP_CONTAINER_OF(a, coop__timer, node);
    const coop__timer *y = COOP_CONTAINER_OF(b, coop__timer, node);
    return x->when < y->when || (x->when == y->when && x->seq < y->seq);
}

void coop__timers_init(coop__timers *ts, int virtual_clock) {
    coop__heap_init(&ts->heap);
    ts->seq = 0;
    ts->now = 0;
    ts->now_valid = virtual_clock;
    ts->virtual_clock = virtual_clock;
}

void coop__timer_start(coop__loop *l, coop__timer *t, int64_t when) {
    if (t->pending) coop__heap_remove(&l->timers.heap, &t->node, timer_less);
    t->when = when;
    t->seq = l->timers.seq++;
    t->pending = 1;
    coop__heap_insert(&l->timers.heap, &t->node, timer_less);
}

int coop__timer_stop_pending(coop__loop *l, coop__timer *t) {
    coop__heap_remove(&l->timers.heap, &t->node, timer_less);
    t->pending = 0;
    return 1;
}

int64_t coop__timer_next(coop__loop *l) {
    coop__heap_node *n = coop__heap_min(&l->timers.heap);
    return n ? COOP_CONTAINER_OF(n, coop__timer, node)->when : COOP_NEVER;
}

size_t coop__timers_count(coop__loop *l) { return l->timers.heap.count; }

size_t coop__timers_run(coop__loop *l) {
    coop__heap *h = &l->timers.heap;
    if (!h->root) return 0;
    uint64_t limit = l->timers.seq;
    int64_t now = coop__loop_now(l);
    size_t fired = 0;
    for (coop__heap_node *n; (n = coop__heap_min(h)) != NULL;) {
        coop__timer *t = COOP_CONTAINER_OF(n, coop__timer, node);
        if (t->when > now || t->seq >= limit) break;
        coop__heap_remove(h, n, timer_less);
        t->pending = 0;
        t->fn(t);
        fired++;
    }
    return fired;
}

/* ---- sleeping ---------------------------------------------------------- */

typedef struct sleeper {
    coop__waiter w;  /* parked on */
    coop__timer t;   /* expiry unparks w */
} sleeper;

static void sleeper_expired(coop__timer *t) {
    sleeper *s = COOP_CONTAINER_OF(t, sleeper, t);
    coop__unpark(&s->w, 0);
}

static void sleeper_cancelled(coop__waiter *w) {
    sleeper *s = COOP_CONTAINER_OF(w, sleeper, w);
    coop__timer_stop(s->w.task->loop, &s->t);
}

int coop_sleep_until(int64_t deadline) {
    coop__loop *l = coop__tls_loop;
    if (!l || !l->current) return -EPERM;
    if (deadline <= coop__loop_now(l)) return coop_yield();
    sleeper s;
    coop__timer_init(&s.t, sleeper_expired);
    s.w.on_cancel = sleeper_cancelled;
    s.w.what = "coop_sleep";
    int cause = coop__cancel_cause();
    if (cause) return cause;
    coop__timer_start(l, &s.t, deadline);
    return coop__park(&s.w);
}

int coop_sleep(int64_t delay_ns) {
    if (delay_ns <= 0) return coop_yield();
    return coop_sleep_until(coop_after(delay_ns));
}

/* ---- public callbacks ---------------------------------------------------- */

typedef struct user_timer {
    coop__timer t;  /* the queued timer */
    coop_cb cb;     /* user callback */
    void *arg;      /* its argument */
    uint32_t magic; /* USER_TIMER_MAGIC once initialised */
} user_timer;

#define USER_TIMER_MAGIC 0x74696d72u
_Static_assert(sizeof(user_timer) <= sizeof(coop_timer), "coop_timer storage too small");
_Static_assert(_Alignof(user_timer) <= _Alignof(coop_timer), "coop_timer alignment");

static void user_timer_fire(coop__timer *t) {
    user_timer *u = COOP_CONTAINER_OF(t, user_timer, t);
    coop__loop *l = coop__tls_loop;
    coop__task *saved = l->current;
    l->current = NULL; /* callbacks run with no task: suspending calls get -EPERM */
    u->cb(u->arg);
    l->current = saved;
}

void coop_timer_init(coop_timer *h) {
    user_timer *u = (user_timer *)(void *)h;
    coop__timer_init(&u->t, user_timer_fire);
    u->cb = NULL;
    u->arg = NULL;
    u->magic = USER_TIMER_MAGIC;
}

int coop_call_at(coop_timer *h, int64_t when_ns, coop_cb cb, void *arg) {
    coop__loop *l = coop__tls_loop;
    user_timer *u = (user_timer *)(void *)h;
    if (!l) return -EPERM;
    if (!cb || !h) return -EINVAL;
    if (u->magic != USER_TIMER_MAGIC) coop__misuse("coop_call_*: timer handle was not initialised with coop_timer_init");
    u->cb = cb;
    u->arg = arg;
    coop__timer_start(l, &u->t, when_ns);
    return 0;
}

int coop_call_soon(coop_timer *h, coop_cb cb, void *arg) { return coop_call_at(h, COOP__SOON, cb, arg); }

int coop_call_later(coop_timer *h, int64_t delay_ns, coop_cb cb, void *arg) {
    if (!coop__tls_loop) return -EPERM;
    return coop_call_at(h, coop_after(delay_ns), cb, arg);
}

int coop_timer_cancel(coop_timer *h) {
    coop__loop *l = coop__tls_loop;
    user_timer *u = (user_timer *)(void *)h;
    if (!l || !u->t.pending) return 0;
    return coop__timer_stop(l, &u->t);
}

int coop_timer_pending(const coop_timer *h) {
    const user_timer *u = (const user_timer *)(const void *)h;
    return u->magic == USER_TIMER_MAGIC && u->t.pending;
}

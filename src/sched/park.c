/*
 * park.c — the ready queue, dispatch, and the one suspension primitive
 * (park/unpark) with yield, checkpoints and atomic sections built on it.
 *
 * Dispatch follows the iteration of docs/design.md: the tasks that were
 * ready when an iteration began form its batch and run FIFO; a task that
 * suspends switches directly to the next task of the batch (one switch per
 * yield, no trip through a scheduler context). When the batch is used up,
 * the next iteration begins: if nothing but ready tasks exists (no fd
 * waits, no timers, no posted work) the suspending task starts it on the
 * spot; otherwise it switches to the loop's thread fiber, which polls,
 * fires timers and runs posted work (loop.c). Blocking and user callbacks
 * therefore only ever run on the thread's own stack.
 */
#include <errno.h>
#include "sched/loop.h"
#include "util/misuse.h"

_Thread_local coop__loop *coop__tls_loop __attribute__((tls_model("initial-exec")));

/* Checkpoints a task may pass without suspending before it is made to
 * yield (the cooperative budget: always-ready I/O cannot starve others). */
#define COOP_BUDGET 64

coop__loop *coop__loop_get(void) { return coop__tls_loop; }

coop__task *coop__task_current(void) {
    coop__loop *l = coop__tls_loop;
    return l ? l->current : NULL;
}

const char *coop__task_name(const coop__task *t) { return t->name; }
int coop__task_state(const coop__task *t) { return t->state; }

void coop__ready_push(coop__loop *l, coop__task *t) {
    t->state = COOP_TASK_READY;
    t->next_ready = NULL;
    if (l->ready_tail)
        l->ready_tail->next_ready = t;
    else
        l->ready_head = t;
    l->ready_tail = t;
    l->nready++;
}

static inline coop__task *ready_pop(coop__loop *l) {
    coop__task *t = l->ready_head;
    l->ready_head = t->next_ready;
    if (!l->ready_head) l->ready_tail = NULL;
    l->nready--;
    l->batch_left--;
    return t;
}

/* Mark t running; the caller switches to t->resume right after. */
static inline void set_running(coop__loop *l, coop__task *t) {
    t->state = COOP_TASK_RUNNING;
    t->budget = COOP_BUDGET;
    l->current = t;
    /* Single writer: a relaxed load+store is a plain increment, no lock. */
    uint64_t n = atomic_load_explicit(&l->switches, memory_order_relaxed);
    atomic_store_explicit(&l->switches, n + 1, memory_order_relaxed);
    atomic_store_explicit(&l->running, t, memory_order_relaxed);
}

/* Run in every fiber right after it regains control: release the stack of
 * a task that finished and switched away for the last time. */
void coop__sched_after_switch(coop__loop *l) {
    coop__task *d = l->dying;
    if (COOP_LIKELY(!d)) return;
    l->dying = NULL;
    coop__stack st = d->stack; /* d lives on that stack: copy first */
    coop__fiber_release(&d->fiber);
    coop__stack_put(l->stacks, &st);
}

/* Can the next iteration begin without polling, timers or posted work? */
static inline int trivial_iteration(coop__loop *l) {
    return l->nready > 0 && l->fd_waiters == 0 && l->timers.heap.count == 0 &&
           atomic_load_explicit(&l->posts, memory_order_relaxed) == NULL;
}

/* The running task self has queued itself or parked: run something else
 * until self is resumed. */
static inline __attribute__((always_inline)) void suspend(coop__loop *l, coop__task *self) {
    for (;;) {
        if (l->batch_left > 0) {
            coop__task *t = ready_pop(l);
            set_running(l, t);
            if (t == self) return;
            coop__fiber_switch(self->resume, t->resume);
            coop__sched_after_switch(l);
            return;
        }
        if (!trivial_iteration(l)) break;
        l->iterations++;
        l->batch_left = l->nready;
    }
    l->current = NULL;
    atomic_store_explicit(&l->running, NULL, memory_order_relaxed);
    coop__fiber_switch(self->resume, &l->thread_fiber);
    coop__sched_after_switch(l);
}

void coop__sched_run_batch(coop__loop *l) {
    while (l->batch_left > 0) {
        coop__task *t = ready_pop(l);
        set_running(l, t);
        coop__fiber_switch(&l->thread_fiber, t->resume);
        coop__sched_after_switch(l);
        l->current = NULL;
        atomic_store_explicit(&l->running, NULL, memory_order_relaxed);
    }
}

void coop__sched_exit(coop__loop *l, coop__task *self) {
    l->dying = self;
    coop__fiber *to = &l->thread_fiber;
    l->current = NULL;
    atomic_store_explicit(&l->running, NULL, memory_order_relaxed);
    if (l->batch_left == 0 && trivial_iteration(l)) {
        l->iterations++;
        l->batch_left = l->nready;
    }
    if (l->batch_left > 0) {
        coop__task *t = ready_pop(l);
        set_running(l, t);
        to = t->resume;
    }
    coop__fiber_switch_last(&self->fiber, to);
    coop__fatal("a finished task was resumed");
}

__attribute__((noreturn, cold)) static void atomic_violation(coop__task *t, const char *what) {
    coop__misuse("checkpoint %s inside atomic section '%s' of task '%s': a call that can suspend "
                 "would let other tasks run in the middle of the section",
                 what ? what : "(unnamed)", t->atomic_what ? t->atomic_what : "(unnamed)", t->name);
}

int coop__park(coop__waiter *w) {
    coop__loop *l = coop__tls_loop;
    coop__task *t = l ? l->current : NULL;
    if (COOP_UNLIKELY(!t)) return -EPERM;
    if (COOP_UNLIKELY(t->atomic_depth)) atomic_violation(t, w->what);
    if (w->on_cancel) {
        int cause = coop__task_cause(l, t);
        if (COOP_UNLIKELY(cause)) return cause;
    }
    w->task = t;
    w->result = 0;
    t->parked = w;
    t->state = COOP_TASK_PARKED;
    suspend(l, t);
    return w->result;
}

void coop__unpark(coop__waiter *w, int result) {
    coop__task *t = w->task;
    if (COOP_UNLIKELY(t->parked != w))
        coop__misuse("coop__unpark: task '%s' is not parked on this waiter (woken twice?)", t->name);
    t->parked = NULL;
    w->result = result;
    coop__ready_push(t->loop, t);
}

void coop__sched_cancel_parked(coop__task *t, int cause) {
    coop__waiter *w = t->parked;
    if (!w || !w->on_cancel) return;
    w->on_cancel(w);
    coop__unpark(w, cause);
}

int coop_yield(void) {
    coop__loop *l = coop__tls_loop;
    coop__task *t = l ? l->current : NULL;
    if (COOP_UNLIKELY(!t)) return -EPERM;
    if (COOP_UNLIKELY(t->atomic_depth)) atomic_violation(t, "coop_yield");
    coop__ready_push(l, t);
    suspend(l, t);
    return coop__task_cause(l, t);
}

int coop__checkpoint(void) {
    coop__loop *l = coop__tls_loop;
    coop__task *t = l ? l->current : NULL;
    if (COOP_UNLIKELY(!t)) return -EPERM;
    if (COOP_UNLIKELY(t->atomic_depth)) atomic_violation(t, "checkpoint");
    int cause = coop__task_cause(l, t);
    if (cause) return cause;
    if (--t->budget <= 0) return coop_yield();
    return 0;
}

int coop__cancel_cause(void) {
    coop__loop *l = coop__tls_loop;
    coop__task *t = l ? l->current : NULL;
    return t ? coop__task_cause(l, t) : 0;
}

int coop_cancelled(void) {
    coop__loop *l = coop__tls_loop;
    coop__task *t = l ? l->current : NULL;
    return t ? coop__task_cause(l, t) : -EPERM;
}

void coop_atomic_begin(const char *what) {
    coop__task *t = coop__task_current();
    if (!t) coop__misuse("coop_atomic_begin('%s') outside a task", what ? what : "");
    if (t->atomic_depth++ == 0) t->atomic_what = what;
}

void coop_atomic_end(void) {
    coop__task *t = coop__task_current();
    if (!t) coop__misuse("coop_atomic_end outside a task");
    if (t->atomic_depth == 0) coop__misuse("coop_atomic_end without coop_atomic_begin in task '%s'", t->name);
    if (--t->atomic_depth == 0) t->atomic_what = NULL;
}

coop__fiber *coop__task_swap_fiber(coop__task *t, coop__fiber *f) {
    coop__fiber *old = t->resume;
    t->resume = f;
    return old;
}

coop__fiber **coop__task_fiber_slot(coop__task *t) { return &t->resume; }
void **coop__task_coro_slot(coop__task *t) { return &t->coro; }

coop__stack_pool *coop__loop_stack_pool(coop__loop *l) { return l->stacks; }
size_t coop__loop_stack_size(coop__loop *l) { return l->stack_size; }

void coop__loop_each_task(coop__loop *l, void (*fn)(coop__task *t, const char *what, void *arg),
                          void *arg) {
    coop__list *p;
    coop__list_each(p, &l->tasks) {
        coop__task *t = COOP_CONTAINER_OF(p, coop__task, all);
        fn(t, t->parked ? t->parked->what : NULL, arg);
    }
}

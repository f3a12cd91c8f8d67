/*
 * scope.c — cancel scopes: nesting, deadlines, shields, and delivering a
 * cancellation to every task it reaches.
 *
 * Cancellation is level-triggered: a checkpoint computes the effective
 * cause by walking from the task's innermost scope outwards (stopping after
 * a shielded scope), so it fails again and again until the scope is
 * exited. Cancelling a scope additionally wakes, right away, each task that
 * is parked inside it (depth-first over the scope tree, not entering
 * shielded scopes), through the waiter's on_cancel.
 */
#include <errno.h>
#include "sched/loop.h"
#include "util/misuse.h"

_Static_assert(sizeof(coop__scope) <= sizeof(coop_scope), "coop_scope storage too small");
_Static_assert(_Alignof(coop__scope) <= _Alignof(coop_scope), "coop_scope alignment");

int coop__scope_effective(const coop__scope *s) {
    for (; s; s = s->parent) {
        if (s->cause) return s->cause;
        if (s->shield) return 0;
    }
    return 0;
}

static void deliver(coop__scope *s) {
    coop__task *t = s->task;
    if (t->scope == s && t->parked) coop__sched_cancel_parked(t, coop__scope_effective(s));
    coop__list *p;
    coop__list_each(p, &s->children) {
        coop__scope *c = COOP_CONTAINER_OF(p, coop__scope, sibling);
        if (!c->shield && !c->cause) deliver(c);
    }
}

void coop__scope_cancel(coop__scope *s, int cause) {
    if (s->cause || !s->entered) return;
    s->cause = cause;
    s->task->loop->cancelled_scopes++;
    coop__timer_stop(s->task->loop, &s->deadline_timer);
    deliver(s);
}

static void deadline_fired(coop__timer *tm) {
    coop__scope *s = COOP_CONTAINER_OF(tm, coop__scope, deadline_timer);
    coop__scope_cancel(s, -ETIMEDOUT);
}

static void set_deadline(coop__scope *s, int64_t deadline) {
    coop__loop *l = s->task->loop;
    s->deadline = deadline;
    if (s->cause) return;
    if (deadline == COOP_NEVER)
        coop__timer_stop(l, &s->deadline_timer);
    else if (deadline <= coop__loop_now(l))
        coop__scope_cancel(s, -ETIMEDOUT);
    else
        coop__timer_start(l, &s->deadline_timer, deadline);
}

void coop__scope_enter(coop__task *t, coop__scope *s, coop__scope *parent, int64_t deadline) {
    s->task = t;
    s->parent = parent;
    coop__list_init(&s->children);
    coop__list_init(&s->sibling);
    if (parent) coop__list_push(&parent->children, &s->sibling);
    coop__timer_init(&s->deadline_timer, deadline_fired);
    s->cause = 0;
    s->shield = 0;
    s->entered = 1;
    s->deadline = COOP_NEVER;
    t->scope = s;
    if (deadline != COOP_NEVER) set_deadline(s, deadline);
}

void coop__scope_exit(coop__task *t, coop__scope *s) {
    if (t->scope != s)
        coop__misuse("coop_scope_exit: scope is not the innermost scope of task '%s' "
                     "(scopes must be exited in reverse order of entering)",
                     t->name);
    if (!coop__list_empty(&s->children))
        coop__misuse("coop_scope_exit: a nursery opened inside the scope is still open (task '%s')",
                     t->name);
    coop__timer_stop(t->loop, &s->deadline_timer);
    coop__list_remove(&s->sibling);
    if (s->cause) t->loop->cancelled_scopes--;
    s->entered = 0;
    t->scope = s == &t->root_scope ? NULL : s->parent;
}

/* ---- public API ----------------------------------------------------------------- */

static coop__task *need_task(const char *call) {
    coop__task *t = coop__task_current();
    if (!t) coop__misuse("%s called outside a task", call);
    return t;
}

static coop__scope *impl(const coop_scope *s) { return (coop__scope *)(void *)(uintptr_t)s; }

/* A scope belongs to one loop: touching it from another thread would race
 * with that loop. */
static coop__scope *entered(const coop_scope *s, const char *call) {
    coop__scope *x = impl(s);
    if (!x->entered) coop__misuse("%s on a scope that is not entered", call);
    if (x->task->loop != coop__tls_loop)
        coop__misuse("%s from a thread that does not run the scope's loop", call);
    return x;
}

void coop_scope_enter(coop_scope *s, int64_t deadline) {
    coop__task *t = need_task("coop_scope_enter");
    coop__scope_enter(t, impl(s), t->scope, deadline);
}

int coop_scope_exit(coop_scope *s) {
    coop__task *t = need_task("coop_scope_exit");
    coop__scope *x = impl(s);
    coop__scope_exit(t, x);
    return x->cause;
}

void coop_scope_cancel(coop_scope *s) {
    coop__scope *x = entered(s, "coop_scope_cancel");
    coop__scope_cancel(x, -ECANCELED);
}

void coop_scope_set_deadline(coop_scope *s, int64_t deadline) {
    coop__scope *x = entered(s, "coop_scope_set_deadline");
    set_deadline(x, deadline);
}

int64_t coop_scope_deadline(const coop_scope *s) { return impl(s)->deadline; }

void coop_scope_shield(coop_scope *s, int on) {
    coop__scope *x = entered(s, "coop_scope_shield");
    x->shield = on != 0;
    /* Unshielding may expose the scope to a cancellation already pending
     * outside: deliver it now to a parked task inside. */
    if (!on && coop__scope_effective(x)) deliver(x);
}

int coop_scope_cancelled(const coop_scope *s) { return impl(s)->cause; }

/*
 * nursery.c — nurseries: a cancel scope that owns tasks (trio's model).
 *
 * Children's root scopes are nested in the nursery's scope, so any
 * cancellation that reaches the nursery reaches them. The first child that
 * fails — returns < 0 while nothing had cancelled it — records its error
 * and cancels the nursery. Closing waits, uncancellably, for every child:
 * children never outlive the nursery, whatever happens to its owner.
 */
#include <errno.h>
#include "sched/loop.h"
#include "util/misuse.h"

_Static_assert(sizeof(coop__nursery) <= sizeof(coop_nursery), "coop_nursery storage too small");
_Static_assert(_Alignof(coop__nursery) <= _Alignof(coop_nursery), "coop_nursery alignment");

static coop__nursery *impl(const coop_nursery *n) { return (coop__nursery *)(void *)(uintptr_t)n; }

void coop_nursery_open(coop_nursery *n, int64_t deadline) {
    coop__task *t = coop__task_current();
    if (!t) coop__misuse("coop_nursery_open called outside a task");
    coop__nursery *x = impl(n);
    x->live = 0;
    x->first_error = 0;
    x->closed = 0;
    x->closer = NULL;
    coop__scope_enter(t, &x->scope, t->scope, deadline);
}

int coop_nursery_spawn_with(coop_nursery *n, coop_task_id *id, const coop_spawn_opts *opts,
                            coop_fn fn, void *arg) {
    coop__loop *l = coop__loop_get();
    coop__nursery *x = impl(n);
    if (!l) return -EPERM;
    if (x->closed || !x->scope.entered) return -EINVAL;
    if (x->scope.task->loop != l) return -EPERM;
    int r = coop__task_spawn(l, opts, fn, arg, x, &x->scope, 0, id);
    if (r == 0) x->live++;
    return r;
}

int coop_nursery_spawn(coop_nursery *n, coop_task_id *id, const char *name, coop_fn fn, void *arg) {
    coop_spawn_opts o = {name, 0};
    return coop_nursery_spawn_with(n, id, &o, fn, arg);
}

void coop__nursery_child_done(coop__nursery *x, coop__task *t, int result) {
    x->live--;
    /* A child that returns a cancellation error while it was being
     * cancelled did what it was asked: that is not a failure. */
    int cancelled = (result == -ECANCELED || result == -ETIMEDOUT) &&
                    coop__scope_effective(&t->root_scope) != 0;
    if (result < 0 && !cancelled && !x->first_error) {
        x->first_error = result;
        coop__scope_cancel(&x->scope, -ECANCELED);
    }
    if (x->live == 0 && x->closer) {
        coop__waiter *w = x->closer;
        x->closer = NULL;
        coop__unpark(w, 0);
    }
}

void coop_nursery_cancel(coop_nursery *n) {
    coop__nursery *x = impl(n);
    if (!x->scope.entered) coop__misuse("coop_nursery_cancel on a nursery that is not open");
    if (x->scope.task->loop != coop__tls_loop)
        coop__misuse("coop_nursery_cancel from a thread that does not run the nursery's loop");
    coop__scope_cancel(&x->scope, -ECANCELED);
}

int coop_nursery_close(coop_nursery *n) {
    coop__task *t = coop__task_current();
    coop__nursery *x = impl(n);
    if (!t) coop__misuse("coop_nursery_close called outside a task");
    if (!x->scope.entered || x->scope.task != t || t->scope != &x->scope)
        coop__misuse("coop_nursery_close: nursery is not the innermost open scope of task '%s'", t->name);
    if (x->live > 0) {
        coop__waiter w = {.on_cancel = NULL, .what = "coop_nursery_close"};
        x->closer = &w;
        coop__park(&w);
    }
    int own = x->scope.cause;
    int outer = x->scope.shield ? 0 : coop__scope_effective(x->scope.parent);
    int r = x->first_error;
    if (!r && own == -ETIMEDOUT) r = -ETIMEDOUT; /* its own deadline; explicit cancel is clean */
    if (!r) r = outer;
    coop__scope_exit(t, &x->scope);
    x->closed = 1;
    return r;
}

size_t coop_nursery_live(const coop_nursery *n) { return impl(n)->live; }

/*
 * greenlet.c — greenlets: coroutines that switch to each other explicitly,
 * passing a value, with a parent that receives control and the result when
 * one finishes (the `greenlet` package's model).
 *
 * Greenlets live in groups. The context that creates the first greenlet
 * without a parent (a task's own code, or a generator's body) is adopted
 * as the group's root: a coop_greenlet with no stack whose fiber is that
 * context's fiber. All switches stay within a group, hence within one task,
 * and every switch (the fast path of coop_greenlet_switch, or transfer())
 * moves the context's fiber/coroutine pair (coro.h) so that a greenlet that
 * parks parks its task and is resumed itself. The fast path finds the
 * running greenlet through a per-thread hint that it trusts only if the
 * stack pointer lies within that greenlet's stack. A dead greenlet's stack is given back by
 * whichever greenlet runs next (reap): it cannot be freed while in use.
 * Lifetime: each greenlet holds a reference on its parent; a root lives
 * while its group has greenlets, and is dropped (un-adopted) with the last.
 */
#include "coop.h"
#include "gen/coro.h"
#include "gen/gen_internal.h"
#include "util/alloc.h"
#include "util/misuse.h"
#include <errno.h>

enum gl_state {
    GL_NEW = 0,   /* created, never switched to */
    GL_ALIVE = 1, /* started and not finished (running or suspended in a switch) */
    GL_DEAD = 2,  /* its body returned, or it was thrown into before starting */
};

struct coop_greenlet {
    coop__coro coro;       /* stack and fiber; first member: *ctx.coro points here */
    coop__fiber *fiber;    /* the fiber to switch to: &coro.fiber, or a root's home fiber */
    void *ctx_coro;        /* *ctx.coro while it runs: itself, or a root's home coroutine */
    coop_greenlet_fn fn;   /* the body (NULL for a root) */
    coop_greenlet *parent; /* receives control when it dies; referenced; NULL for a root */
    coop_greenlet *root;   /* the group's root (a root points to itself) */
    coop__ctx home;        /* the context the group lives in (copied from the root) */
    uintptr_t stack_lo;    /* bounds of the stack it runs on, copied (not read */
    size_t stack_size;     /* through fiber) so the fast path never follows a stale pointer */
    coop_greenlet *zombie; /* root only: a dead greenlet whose stack awaits release */
    int state;             /* enum gl_state */
    int is_root;           /* 1 for a group's root */
    int user_freed;        /* coop_greenlet_free was called */
    unsigned refs;         /* the user's handle + children that name it as parent */
    int in_err;            /* switch -> target: 0, or the error thrown in */
    void *in_value;        /* switch -> target: the value passed */
    void **received;       /* where its pending fast-path switch stores what arrives */
};

/* The greenlet running in ctx, or NULL if ctx has no group. */
static inline coop_greenlet *current_of(coop__ctx ctx) {
    coop__coro *c = *ctx.coro;
    if (!c) return NULL;
    if (c->kind == COOP__CORO_GREENLET) return (coop_greenlet *)c;
    return *coop__gen_root_slot(c);
}

/* The greenlet last switched to on this thread, a hint for the fast path. */
#define hint coop__coro_state.greenlet

/* 1 if the caller runs on g's stack: then g is the running greenlet. */
static inline int running_on(const coop_greenlet *g) {
    return coop__coro_sp() - g->stack_lo < g->stack_size;
}

/* Give g's stack back. Its bounds are cleared too, so that a stale hint to
 * g can never pass running_on() when the stack is reused by another
 * coroutine. */
static void release_stack(coop_greenlet *g) {
    coop__coro_release(&g->coro);
    g->stack_lo = 0;
    g->stack_size = 0;
    if (hint == g) hint = NULL;
}

/* Give back the stack of the greenlet that died last (we are off it now). */
static inline void reap(coop_greenlet *root) {
    coop_greenlet *z = root->zombie;
    if (COOP_UNLIKELY(z != NULL)) {
        root->zombie = NULL;
        release_stack(z);
    }
}

/* The greenlet that actually receives a switch to t carrying err: dead
 * greenlets stand for their parents, and a greenlet that never started dies
 * of an error thrown into it, passing the error on. */
static coop_greenlet *resolve(coop_greenlet *t, int err) {
    for (;;) {
        if (t->state == GL_DEAD) {
            t = t->parent;
        } else if (t->state == GL_NEW && err < 0) {
            t->state = GL_DEAD;
            release_stack(t);
            t = t->parent;
        } else {
            return t;
        }
    }
}

/* Switch from cur (running in ctx) to target, delivering value or err, and
 * return what is delivered to cur when it runs again. */
static int transfer(coop__ctx ctx, coop_greenlet *cur, coop_greenlet *target, void *value, int err,
                    void **received) {
    target = resolve(target, err);
    if (target == cur) {
        if (err < 0) return err;
        if (received) *received = value;
        return 0;
    }
    target->in_value = value;
    target->in_err = err;
    if (target->state == GL_NEW) target->state = GL_ALIVE;
    hint = target;
    coop__coro_jump(ctx, target->fiber, target->ctx_coro);
    hint = cur;
    reap(cur->root);
    if (cur->in_err) return cur->in_err;
    if (received) *received = cur->in_value;
    return 0;
}

static void greenlet_entry(void *p) {
    coop_greenlet *g = p;
    reap(g->root);
    void *ret = NULL;
    int r = g->fn(g->in_value, &ret);
    g->state = GL_DEAD;
    coop_greenlet *t = resolve(g->parent, r < 0 ? r : 0);
    t->in_value = r < 0 ? NULL : ret;
    t->in_err = r < 0 ? r : 0;
    if (t->state == GL_NEW) t->state = GL_ALIVE;
    g->root->zombie = g;
    hint = t;
    coop__coro_exit(g->root->home, t->fiber, t->ctx_coro);
}

/* Adopt the context ctx as the root of a new group. */
static coop_greenlet *root_new(coop__ctx ctx) {
    coop_greenlet *r = coop__calloc(1, sizeof *r);
    if (!r) return NULL;
    r->coro.kind = COOP__CORO_GREENLET;
    r->coro.thread_tag = coop__coro_thread_tag();
    r->fiber = *ctx.fiber;
    r->home = ctx;
    r->stack_lo = (uintptr_t)r->fiber->stack_lo; /* 0 and 0 for the thread's stack: */
    r->stack_size = r->fiber->stack_size;        /* the fast path is never taken there */
    r->root = r;
    r->is_root = 1;
    r->state = GL_ALIVE;
    if (*ctx.coro == NULL) { /* a task's own code (or the thread's) */
        r->ctx_coro = &r->coro;
        *ctx.coro = &r->coro;
    } else { /* a generator's body: the generator keeps the root */
        r->ctx_coro = *ctx.coro;
        *coop__gen_root_slot(*ctx.coro) = r;
    }
    return r;
}

static void root_drop(coop_greenlet *r) {
    if (hint == r) hint = NULL;
    coop__ctx ctx = coop__coro_ctx();
    if (ctx.fiber != r->home.fiber || *ctx.coro != r->ctx_coro)
        coop__misuse("coop_greenlet_free: the last greenlet of a group must be freed from the "
                     "group's root context (the code that created the group)");
    if (r->ctx_coro == &r->coro)
        *ctx.coro = NULL;
    else
        *coop__gen_root_slot(r->ctx_coro) = NULL;
    coop__free(r);
}

static void unref(coop_greenlet *g) {
    while (g && --g->refs == 0) {
        coop_greenlet *parent = g->parent;
        if (g->is_root) {
            root_drop(g);
        } else {
            release_stack(g);
            coop__free(g);
        }
        g = parent;
    }
}

int coop_greenlet_new(coop_greenlet **out, coop_greenlet_fn fn, coop_greenlet *parent,
                      size_t stack_size) {
    if (!out || !fn) return -EINVAL;
    coop__ctx ctx = coop__coro_ctx();
    coop_greenlet *cur = current_of(ctx);
    if (parent && (!cur || parent->root != cur->root)) return -EPERM;
    coop_greenlet *g = coop__calloc(1, sizeof *g);
    if (!g) return -ENOMEM;
    int r =
        coop__coro_init(&g->coro, COOP__CORO_GREENLET, stack_size, greenlet_entry, g, "greenlet");
    if (r < 0) {
        coop__free(g);
        return r;
    }
    if (!parent) {
        if (!cur && !(cur = root_new(ctx))) {
            release_stack(g);
            coop__free(g);
            return -ENOMEM;
        }
        parent = cur;
    }
    g->fiber = &g->coro.fiber;
    g->ctx_coro = &g->coro;
    g->home = parent->root->home;
    g->stack_lo = (uintptr_t)g->coro.stack.lo;
    g->stack_size = (size_t)((char *)g->coro.stack.hi - (char *)g->coro.stack.lo);
    g->fn = fn;
    g->parent = parent;
    g->root = parent->root;
    g->state = GL_NEW;
    g->refs = 1;
    parent->refs++;
    *out = g;
    return 0;
}

static int switch_checked(coop_greenlet *target, void *value, int err, void **received) {
    if (!target) return -EINVAL;
    coop__ctx ctx = coop__coro_ctx();
    coop_greenlet *cur = current_of(ctx);
    if (COOP_UNLIKELY(!cur || cur->root != target->root)) return -EPERM;
    return transfer(ctx, cur, target, value, err, received);
}

/* Back in a fast-path switch: whoever switched here set the hint to us.
 * Reading everything from memory keeps nothing live across the switch, so
 * the fast path saves no registers of its own (the switch saves them). */
static int arrived(void) {
    coop_greenlet *me = hint;
    reap(me->root);
    if (COOP_UNLIKELY(me->in_err)) return me->in_err;
    if (me->received) *me->received = me->in_value;
    return 0;
}

int coop_greenlet_switch(coop_greenlet *target, void *value, void **received) {
    /* Fast path: the hint is the running greenlet (we are on its stack), and
     * target is a live greenlet of its group. No context lookup needed. */
    coop_greenlet *cur = hint;
    if (COOP_LIKELY(cur && target && running_on(cur) && cur->root == target->root &&
                    target->state == GL_ALIVE && target != cur)) {
        cur->received = received;
        target->in_value = value;
        target->in_err = 0;
        hint = target;
        coop__coro_jump(cur->home, target->fiber, target->ctx_coro);
        return arrived();
    }
    return switch_checked(target, value, 0, received);
}

int coop_greenlet_throw(coop_greenlet *target, int err, void **received) {
    if (err >= 0) return -EINVAL;
    return switch_checked(target, NULL, err, received);
}

coop_greenlet *coop_greenlet_current(void) {
    return current_of(coop__coro_ctx());
}

coop_greenlet *coop_greenlet_parent(const coop_greenlet *g) {
    return g ? g->parent : NULL;
}

int coop_greenlet_dead(const coop_greenlet *g) {
    return g && g->state == GL_DEAD;
}

int coop_greenlet_started(const coop_greenlet *g) {
    return g && g->state != GL_NEW;
}

int coop_greenlet_free(coop_greenlet *g) {
    if (!g) return 0;
    if (g->is_root)
        coop__misuse("coop_greenlet_free: a group's root is not freed by hand (it goes with "
                     "the group's last greenlet)");
    if (g->user_freed) coop__misuse("coop_greenlet_free: greenlet freed twice");
    coop__ctx ctx = coop__coro_ctx();
    coop_greenlet *cur = current_of(ctx);
    if (g == cur) coop__misuse("coop_greenlet_free: the running greenlet frees itself");
    int r = 0;
    if (g->state == GL_ALIVE) {
        if (!cur || cur->root != g->root)
            coop__misuse("coop_greenlet_free: a live greenlet freed from outside its group");
        /* Like greenlet's GC: kill it with the caller as its parent, so its
         * death comes back here. cur is alive while it waits: no reference. */
        coop_greenlet *parent = g->parent;
        g->parent = cur;
        r = transfer(ctx, cur, g, NULL, COOP_GREENLET_EXIT, NULL);
        g->parent = parent;
        if (g->state != GL_DEAD) { /* it switched away instead of dying */
            r = -EPROTO;
            g->state = GL_DEAD;
            release_stack(g);
        } else if (r == COOP_GREENLET_EXIT) {
            r = 0;
        }
    } else if (g->state == GL_NEW) {
        g->state = GL_DEAD;
        release_stack(g);
    }
    g->user_freed = 1;
    unref(g);
    return r;
}

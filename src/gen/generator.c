/*
 * generator.c — Python generators in C: a body on its own stack that
 * yields values to whoever resumes it (next/send), receives errors at its
 * yield (throw, close), and returns a value or an error at the end; plus
 * `yield from` delegation.
 *
 * A generator runs as part of the context that resumed it (coro.h): its
 * body may park, which parks the consumer's task, and the loop resumes the
 * body. State machine: NEW -> RUNNING <-> SUSPENDED -> DONE (NEW -> DONE by
 * throw/close before the start). Only RUNNING has live frames in use; a
 * DONE generator has given its stack back. A resumer's fiber and coroutine
 * are recorded at each resume and restored at each yield, so generators
 * nest (a body may resume another generator) and may be resumed by
 * different tasks at different times (never while RUNNING: -EBUSY).
 */
#include "coop.h"
#include "gen/coro.h"
#include "gen/gen_internal.h"
#include "util/alloc.h"
#include "util/misuse.h"
#include <errno.h>

enum gen_state {
    GEN_NEW = 0,       /* created, body not entered yet */
    GEN_SUSPENDED = 1, /* stopped at a yield */
    GEN_RUNNING = 2,   /* its body is executing (maybe parked with its task) */
    GEN_DONE = 3,      /* finished; stack released */
};

struct coop_gen {
    coop__coro coro;         /* stack and fiber; must stay first (*ctx.coro) */
    coop_gen_fn body;        /* the generator function */
    void *arg;               /* its argument */
    int state;               /* enum gen_state */
    int in_err;              /* resume -> body: 0, or the error thrown in */
    void *in_value;          /* resume -> body: the value sent in */
    int out_code;            /* body -> resume: 0 yielded, COOP_GEN_DONE, or < 0 */
    void *out_value;         /* body -> resume: yielded or returned value */
    coop__ctx ctx;           /* the context that resumed it (valid while RUNNING) */
    coop__fiber *back_fiber; /* the resumer's fiber, switched back to at yield */
    void *back_coro;         /* the resumer's coroutine, restored in ctx at yield */
    coop_greenlet *root;     /* greenlet group rooted in this body, or NULL */
};

static void gen_entry(void *p) {
    coop_gen *g = p;
    void *ret = NULL;
    int r = g->body(g, g->arg, &ret);
    if (g->root)
        coop__misuse("generator finished while the greenlet group of its body was alive "
                     "(free those greenlets before the body returns)");
    g->state = GEN_DONE;
    g->out_code = r < 0 ? r : COOP_GEN_DONE;
    g->out_value = r < 0 ? NULL : ret;
    coop__coro_exit(g->ctx, g->back_fiber, g->back_coro);
}

int coop_gen_new(coop_gen **out, coop_gen_fn body, void *arg, size_t stack_size) {
    if (!out || !body) return -EINVAL;
    coop_gen *g = coop__calloc(1, sizeof *g);
    if (!g) return -ENOMEM;
    g->body = body;
    g->arg = arg;
    g->state = GEN_NEW;
    int r = coop__coro_init(&g->coro, COOP__CORO_GEN, stack_size, gen_entry, g, "generator");
    if (r < 0) {
        coop__free(g);
        return r;
    }
    *out = g;
    return 0;
}

/* Run g (NEW or SUSPENDED) with a value or an injected error until it
 * yields or finishes, and return what came out. */
static inline int run(coop_gen *g, void *in, int err, void **value) {
    coop__ctx ctx = coop__coro_ctx();
    g->in_value = in;
    g->in_err = err;
    g->ctx = ctx;
    g->back_fiber = *ctx.fiber;
    g->back_coro = *ctx.coro;
    g->state = GEN_RUNNING;
    coop__coro_jump(ctx, &g->coro.fiber, &g->coro);
    /* back here: g yielded (SUSPENDED) or finished (DONE) */
    if (COOP_UNLIKELY(g->state == GEN_DONE)) coop__coro_release(&g->coro);
    if (value) *value = g->out_value;
    return g->out_code;
}

/* Resume g from any state (the caller has checked g). */
static int resume(coop_gen *g, void *in, int err, void **value) {
    if (g->state == GEN_RUNNING) return -EBUSY;
    if (g->state == GEN_DONE) {
        if (value) *value = NULL;
        return err < 0 ? err : COOP_GEN_DONE;
    }
    if (g->state == GEN_NEW) {
        if (err < 0) { /* thrown into before it started: it ends without running */
            g->state = GEN_DONE;
            coop__coro_release(&g->coro);
            if (value) *value = NULL;
            return err;
        }
        if (in) return -EINVAL; /* Python: can't send non-None to a just-started generator */
    }
    return run(g, in, err, value);
}

static int check(const coop_gen *g) {
    if (!g) return -EINVAL;
    if (g->coro.thread_tag != coop__coro_thread_tag()) return -EPERM;
    return 0;
}

int coop_gen_send(coop_gen *g, void *in, void **value) {
    /* fast path: a suspended generator of this thread */
    if (COOP_LIKELY(g && g->state == GEN_SUSPENDED &&
                    g->coro.thread_tag == coop__coro_thread_tag()))
        return run(g, in, 0, value);
    int r = check(g);
    return r < 0 ? r : resume(g, in, 0, value);
}

int coop_gen_next(coop_gen *g, void **value) {
    return coop_gen_send(g, NULL, value);
}

int coop_gen_throw(coop_gen *g, int err, void **value) {
    int r = check(g);
    if (r < 0) return r;
    if (err >= 0) return -EINVAL;
    return resume(g, NULL, err, value);
}

int coop_gen_close(coop_gen *g) {
    int r = check(g);
    if (r < 0) return r;
    if (g->state == GEN_RUNNING) return -EBUSY;
    if (g->state == GEN_DONE) return 0;
    r = resume(g, NULL, COOP_GEN_EXIT, NULL);
    if (r == 0) return -EPROTO; /* it yielded instead of finishing */
    if (r == COOP_GEN_DONE || r == COOP_GEN_EXIT) return 0;
    return r;
}

int coop_gen_free(coop_gen *g) {
    if (!g) return 0;
    if (g->coro.thread_tag != coop__coro_thread_tag())
        coop__misuse("coop_gen_free: generator freed on another thread than its own");
    if (g->state == GEN_RUNNING)
        coop__misuse("coop_gen_free: the generator is running (freed from its own body, or "
                     "while its task is parked inside it)");
    int r = 0;
    if (g->state == GEN_SUSPENDED) {
        r = coop_gen_close(g);
        if (g->state != GEN_DONE) { /* it refused to finish: drop its frames unrun */
            g->state = GEN_DONE;
            coop__coro_release(&g->coro);
        }
    }
    coop__coro_release(&g->coro); /* NEW: never ran */
    coop__free(g);
    return r;
}

int coop_gen_yield(coop_gen *g, void *value, void **sent) {
    /* Only g's own body runs on g's stack (not a generator or greenlet it
     * resumed, not another task): that check is the whole validation. */
    if (COOP_UNLIKELY(!g || g->state != GEN_RUNNING || !coop__coro_on(&g->coro.fiber)))
        return -EPERM;
    coop__ctx ctx = g->ctx;
    g->out_code = 0;
    g->out_value = value;
    g->state = GEN_SUSPENDED;
    coop__coro_jump(ctx, g->back_fiber, g->back_coro);
    /* resumed: resume() set in_err/in_value and made g RUNNING again */
    if (g->in_err) return g->in_err;
    if (sent) *sent = g->in_value;
    return 0;
}

int coop_gen_yield_from(coop_gen *g, coop_gen *sub, void **result) {
    if (!g || g->state != GEN_RUNNING || !coop__coro_on(&g->coro.fiber)) return -EPERM;
    int r = check(sub);
    if (r < 0) return r;
    if (sub == g) return -EBUSY;
    void *v = NULL;
    r = resume(sub, NULL, 0, &v);
    for (;;) {
        if (r == COOP_GEN_DONE) {
            if (result) *result = v;
            return 0;
        }
        if (r < 0) return r; /* sub failed (or was busy): propagate */
        void *sent = NULL;
        int y = coop_gen_yield(g, v, &sent);
        if (y == COOP_GEN_EXIT) {
            /* Python closes the sub-iterator, then raises GeneratorExit */
            int c = coop_gen_close(sub);
            return c < 0 ? c : COOP_GEN_EXIT;
        }
        r = y < 0 ? resume(sub, NULL, y, &v) : resume(sub, sent, 0, &v);
    }
}

int coop_gen_done(const coop_gen *g) {
    return g && g->state == GEN_DONE;
}

/* ---- for greenlet.c: a greenlet group rooted in a generator body ------- */

coop_greenlet **coop__gen_root_slot(void *coro) {
    coop_gen *g = coro; /* coro is g->coro, the first member */
    return &g->root;
}

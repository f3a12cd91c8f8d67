/*
 * coro.c — stacks and contexts for generators and greenlets (coro.h).
 *
 * Stacks come from a per-thread coop__stack_pool that lives while at least
 * one coroutine of the thread holds a stack: created on the first, freed
 * with the last, so a thread that stops using generators keeps nothing
 * (and the test harness sees no leak). The pool keeps recently used stacks,
 * so creating and freeing generators in a loop makes no syscall.
 * Not done here: the scheduler's own pool is not shared (park.h does not
 * expose it); the cost is one more pool per thread that uses coroutines.
 */
#include "gen/coro.h"
#include "util/misuse.h"
#include <errno.h>

_Thread_local coop__coro_tls coop__coro_state;
#define tls coop__coro_state

coop__ctx coop__coro_ctx_slow(coop__task *t) {
    if (t) {
        /* Task records are reused at the same address by later tasks, but
         * the slots' addresses are then the same too: the cache stays right. */
        tls.task = t;
        tls.ctx.fiber = coop__task_fiber_slot(t);
        tls.ctx.coro = coop__task_coro_slot(t);
        return tls.ctx;
    }
    if (COOP_UNLIKELY(!tls.ready)) {
        coop__fiber_make_thread(&tls.fiber);
        tls.fiber_slot = &tls.fiber;
        tls.coro_slot = NULL;
        tls.ready = 1;
    }
    return (coop__ctx){&tls.fiber_slot, &tls.coro_slot};
}

int coop__coro_init(coop__coro *c, int kind, size_t stack_size, void (*entry)(void *), void *arg,
                    const char *name) {
    c->kind = kind;
    c->thread_tag = &tls;
    c->stack.lo = NULL;
    if (!tls.pool) {
        int r = coop__stack_pool_new(&tls.pool);
        if (r < 0) return r;
    }
    int r = coop__stack_get(tls.pool, stack_size ? stack_size : COOP_STACK_DEFAULT, &c->stack);
    if (r < 0) {
        c->stack.lo = NULL;
        if (tls.pool_users == 0) {
            coop__stack_pool_free(tls.pool);
            tls.pool = NULL;
        }
        return r;
    }
    tls.pool_users++;
    coop__stack_set_name(&c->stack, name);
    coop__fiber_make(&c->fiber, c->stack.lo, c->stack.hi, entry, arg);
    return 0;
}

void coop__coro_release(coop__coro *c) {
    if (!c->stack.lo) return;
    COOP_ASSERT(c->thread_tag == &tls && tls.pool_users > 0);
    coop__fiber_release(&c->fiber);
    coop__stack_put(tls.pool, &c->stack);
    c->stack.lo = NULL;
    if (--tls.pool_users == 0) {
        coop__stack_pool_free(tls.pool);
        tls.pool = NULL;
    }
}

void coop__coro_exit(coop__ctx ctx, coop__fiber *to, void *to_coro) {
    coop__fiber *from = *ctx.fiber;
    *ctx.fiber = to;
    *ctx.coro = to_coro;
    coop__fiber_switch_last(from, to);
    coop__fatal("coop: a finished coroutine was resumed");
}

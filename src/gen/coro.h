/*
 * coro.h — what generators and greenlets share: a coroutine with its own
 * stack that the loop never schedules by itself, and the "execution
 * context" it runs in.
 *
 * A context is the task that runs code now (or, outside any task, the
 * thread): coop__ctx points at its two slots, the fiber that currently
 * executes for it (the task's resume fiber) and the coroutine that fiber
 * belongs to. Resuming a coroutine saves the
 * current fiber and makes the coroutine's fiber the context's fiber, so
 * that when its body parks (coop__park), the scheduler saves and later
 * resumes the coroutine's fiber, not the consumer's: the body behaves as
 * part of the consumer's task. Invariant: *ctx.fiber is the fiber running
 * whenever that context runs; *ctx.coro is NULL for a task's own code
 * (unless a greenlet group adopted it as its root).
 */
#ifndef COOP_GEN_CORO_H
#define COOP_GEN_CORO_H

#include "core/fiber.h"
#include "core/stack.h"
#include "sched/park.h"
#include <stddef.h>
#include <stdint.h>

enum coop__coro_kind {
    COOP__CORO_GEN = 1,      /* a generator (struct coop_gen) */
    COOP__CORO_GREENLET = 2, /* a greenlet or a greenlet group's root */
};

typedef struct coop__coro {
    coop__fiber fiber;      /* its own execution context (unused by roots) */
    coop__stack stack;      /* its stack (stack.lo NULL: none held) */
    int kind;               /* enum coop__coro_kind: to find the owner of ctx->coro */
    const void *thread_tag; /* the creating thread's tag: coroutines never cross threads */
} coop__coro;

/* A context: pointers to its two slots (in the task record, or in the
 * thread's storage). Two contexts are the same iff their fiber slots are. */
typedef struct coop__ctx {
    coop__fiber **fiber; /* the fiber running for the context */
    void **coro;         /* the coroutine owning it (a coop__coro *), or NULL */
} coop__ctx;

/* Per-thread state of coro.c, here for the inline fast paths. */
typedef struct coop__coro_tls {
    coop__task *task;        /* cache: the task whose slots are in ctx */
    coop__ctx ctx;           /* cache: that task's slots */
    coop__fiber *fiber_slot; /* the thread's context when no task runs: */
    void *coro_slot;         /* its two slots (see coop__ctx) */
    coop__fiber fiber;       /* the thread's own stack, as a fiber */
    int ready;               /* fiber and slots are set up */
    coop__stack_pool *pool;  /* stacks of this thread's coroutines */
    size_t pool_users;       /* coroutines holding a stack from pool */
    void *greenlet;          /* greenlet.c: the greenlet last switched to on this
                                thread (a hint, validated by its stack bounds) */
} coop__coro_tls;
extern _Thread_local coop__coro_tls coop__coro_state;

coop__ctx coop__coro_ctx_slow(coop__task *t);

/* The current context: the running task's, or the thread's own when no
 * task runs (outside a loop, or in a loop callback). */
static inline coop__ctx coop__coro_ctx(void) {
    coop__task *t = coop__task_current();
    if (__builtin_expect(t && t == coop__coro_state.task, 1)) return coop__coro_state.ctx;
    return coop__coro_ctx_slow(t);
}

/* A per-thread address identifying the calling thread. */
static inline const void *coop__coro_thread_tag(void) {
    return &coop__coro_state;
}

/* The stack pointer (without forcing a frame pointer, as
 * __builtin_frame_address would). */
static inline uintptr_t coop__coro_sp(void) {
    uintptr_t sp;
#if defined(__x86_64__)
    __asm__("movq %%rsp, %0" : "=r"(sp));
#elif defined(__aarch64__)
    __asm__("mov %0, sp" : "=r"(sp));
#else
    sp = (uintptr_t)__builtin_frame_address(0);
#endif
    return sp;
}

/* 1 if the caller runs on f's stack, i.e. f is the fiber executing now
 * (each stack is executed by one context at a time). Exact and cheap; 0
 * for fibers of unknown bounds (the thread's own stack). */
static inline int coop__coro_on(const coop__fiber *f) {
    return coop__coro_sp() - (uintptr_t)f->stack_lo < f->stack_size;
}

/* Give c a stack of stack_size bytes (0 = default) from the thread's pool
 * and prepare its fiber to run entry(arg). name labels the stack for
 * overflow reports (must outlive the stack). Returns 0 or -ENOMEM. */
int coop__coro_init(coop__coro *c, int kind, size_t stack_size, void (*entry)(void *), void *arg,
                    const char *name);

/* Give c's stack back (c must not be running; its frames are discarded).
 * Idempotent. */
void coop__coro_release(coop__coro *c);

/* Make `to` (belonging to coroutine to_coro) the fiber of ctx and switch to
 * it, saving the running fiber (ctx->fiber). Returns when something
 * switches back to the saved fiber. */
static inline void coop__coro_jump(coop__ctx ctx, coop__fiber *to, void *to_coro) {
    coop__fiber *from = *ctx.fiber;
    *ctx.fiber = to;
    *ctx.coro = to_coro;
    coop__fiber_switch(from, to);
}

/* The same from a coroutine whose body has finished: never returns. */
__attribute__((noreturn)) void coop__coro_exit(coop__ctx ctx, coop__fiber *to, void *to_coro);

#endif

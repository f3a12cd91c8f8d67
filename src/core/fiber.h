/*
 * fiber.h — an execution context with its own stack, and the one operation
 * on it: switch. This is the only interface the scheduler uses from
 * src/core; the architecture-specific switch (x86_64.S, aarch64.S, or the
 * ucontext fallback) and the sanitizer/valgrind bookkeeping hide behind it.
 *
 * Invariants: a fiber is resumed only by the thread that runs its loop; a
 * fiber's entry function never returns (the task trampoline ends with
 * coop__fiber_switch_last); a fiber is switched to only while suspended.
 */
#ifndef COOP_CORE_FIBER_H
#define COOP_CORE_FIBER_H

#include <stddef.h>
#include <stdint.h>

#if !defined(COOP_SWITCH_UCONTEXT) && !defined(__x86_64__) && !defined(__aarch64__)
#define COOP_SWITCH_UCONTEXT 1
#endif
#ifdef COOP_SWITCH_UCONTEXT
#include <ucontext.h>
#endif

typedef struct coop__fiber {
#ifdef COOP_SWITCH_UCONTEXT
    ucontext_t uc;           /* portable fallback: the whole saved context */
#else
    void *sp;                /* saved stack pointer; registers and the resume
                                address are kept on the fiber's own stack
                                (layouts: x86_64.S, aarch64.S) */
#endif
    void *stack_lo;          /* lowest usable stack address (NULL: thread stack) */
    size_t stack_size;       /* usable bytes above stack_lo */
    void *asan_fake_stack;   /* ASan fake-stack handle saved across switches */
    void *tsan_fiber;        /* TSan fiber handle (thread's own for the main fiber) */
    unsigned valgrind_id;    /* VALGRIND_STACK_REGISTER id, 0 if none */
} coop__fiber;

/* Prepare f to run entry(arg) on the stack [lo, hi) when first switched to.
 * hi must be 16-byte aligned. entry must never return. */
void coop__fiber_make(coop__fiber *f, void *lo, void *hi, void (*entry)(void *), void *arg);

/* Make f stand for the calling thread's own stack (the fiber that called
 * coop_run), so that other fibers can switch back to it. */
void coop__fiber_make_thread(coop__fiber *f);

/* Save the current context into from and resume to. Returns when something
 * switches back to from. from == to is allowed and returns at once. */
void coop__fiber_switch(coop__fiber *from, coop__fiber *to);

/* Like coop__fiber_switch, for a fiber that has finished: from will never be
 * resumed (lets ASan drop its fake stack and TSan its fiber). */
void coop__fiber_switch_last(coop__fiber *from, coop__fiber *to);

/* Release sanitizer/valgrind resources of a finished fiber, before its stack
 * is reused. Must not be called on the running fiber. */
void coop__fiber_release(coop__fiber *f);

#endif

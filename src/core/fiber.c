/*
 * fiber.c — making fibers, and the sanitizer/valgrind bookkeeping around
 * the architecture switch (x86_64.S, aarch64.S, or ucontext.c).
 *
 * Without ASan and TSan there is nothing to do at switch time, so with an
 * assembly switch coop__fiber_switch and coop__fiber_switch_last are the
 * assembly itself (the fast path is one call, nothing else). With a
 * sanitizer (or the ucontext fallback) they are defined here and wrap
 * coop__fiber_jump:
 *   ASan: __sanitizer_start_switch_fiber before the jump (with a NULL
 *         fake-stack save when the fiber has finished, so ASan frees its
 *         fake stack) and __sanitizer_finish_switch_fiber after it — also
 *         as the first thing a new fiber does (fiber_start);
 *   TSan: __tsan_switch_to_fiber before the jump; fibers are created with
 *         __tsan_create_fiber and destroyed by coop__fiber_release.
 * Valgrind only needs to know where the stacks are (register on make,
 * deregister on release).
 */
#include "core/fiber.h"

#include <stdint.h>
#include <string.h>

#include "core/switch.h"

#ifdef COOP_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef COOP_TSAN
#include <sanitizer/tsan_interface.h>
#endif
#ifdef COOP_VALGRIND
#include <valgrind/valgrind.h>
#endif

#if defined(COOP_ASAN) || defined(COOP_TSAN)
#define SANITIZED 1
#endif

#ifdef SANITIZED
/* A new fiber first runs fiber_start with this record, which sits at the
 * top of its stack, so that it can finish the sanitizer switch before
 * calling the real entry. */
typedef struct {
    void (*entry)(void *); /* the caller's entry function */
    void *arg;             /* and its argument */
} start_record;
static void fiber_start(void *record);
#endif

void coop__fiber_make(coop__fiber *f, void *lo, void *hi, void (*entry)(void *), void *arg) {
    memset(f, 0, sizeof *f);
    f->stack_lo = lo;
    f->stack_size = (size_t)((char *)hi - (char *)lo);
    uintptr_t top = (uintptr_t)hi & ~(uintptr_t)15;
#ifdef SANITIZED
    top = (top - sizeof(start_record)) & ~(uintptr_t)15;
    start_record *rec = (start_record *)top;
    rec->entry = entry;
    rec->arg = arg;
    entry = fiber_start;
    arg = rec;
#endif
    coop__fiber_prepare(f, lo, (void *)top, entry, arg);
#ifdef COOP_TSAN
    f->tsan_fiber = __tsan_create_fiber(0);
#endif
#ifdef COOP_VALGRIND
    f->valgrind_id = VALGRIND_STACK_REGISTER(lo, hi);
#endif
}

void coop__fiber_make_thread(coop__fiber *f) {
    memset(f, 0, sizeof *f);
#ifdef COOP_TSAN
    f->tsan_fiber = __tsan_get_current_fiber();
#endif
}

void coop__fiber_release(coop__fiber *f) {
#ifdef COOP_TSAN
    if (f->tsan_fiber) __tsan_destroy_fiber(f->tsan_fiber);
    f->tsan_fiber = NULL;
#endif
#ifdef COOP_VALGRIND
    if (f->valgrind_id) VALGRIND_STACK_DEREGISTER(f->valgrind_id);
    f->valgrind_id = 0;
#endif
    (void)f;
}

/* ---- the assembly's frame for a new fiber -------------------------------- */

#ifndef COOP_SWITCH_UCONTEXT

/* The first resume address of every new fiber (x86_64.S / aarch64.S). */
void coop__fiber_entry(void);

/* The frame layouts are described in x86_64.S and aarch64.S: the frame
 * is FRAME_WORDS words at the top of the new stack, the saved stack
 * pointer points at word FRAME_SP of it. */
#if defined(__x86_64__)
#define FRAME_WORDS 8
#define FRAME_SP 7      /* sp: the resume address; registers below it */
#define FRAME_RESUME 7
#define FRAME_ENTRY 6   /* rbx at sp-8 */
#define FRAME_ARG 4     /* r12 at sp-24 */
#define FRAME_FPU 0     /* MXCSR | x87 control word << 32, at sp-56 */
#elif defined(__aarch64__)
#define FRAME_WORDS 22
#define FRAME_SP 0
#define FRAME_ENTRY 0   /* x19 */
#define FRAME_ARG 1     /* x20 */
#define FRAME_FPU 20    /* FPCR */
#define FRAME_RESUME 11 /* x30 */
#endif

/* The calling thread's floating-point control state, which a new fiber
 * starts with (as a new thread would inherit it). */
static uint64_t current_fpu_control(void) {
#if defined(__x86_64__)
    uint32_t mxcsr;
    uint16_t x87cw;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(x87cw));
    return mxcsr | (uint64_t)x87cw << 32;
#else
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    return fpcr;
#endif
}

void coop__fiber_prepare(coop__fiber *f, void *lo, void *top, void (*entry)(void *), void *arg) {
    (void)lo;
    uint64_t *frame = (uint64_t *)top - FRAME_WORDS;
    memset(frame, 0, FRAME_WORDS * sizeof *frame);
    frame[FRAME_ENTRY] = (uint64_t)(uintptr_t)entry;
    frame[FRAME_ARG] = (uint64_t)(uintptr_t)arg;
    frame[FRAME_FPU] = current_fpu_control();
    frame[FRAME_RESUME] = (uint64_t)(uintptr_t)coop__fiber_entry;
    f->sp = frame + FRAME_SP;
}

#endif /* !COOP_SWITCH_UCONTEXT */

/* ---- switch with bookkeeping --------------------------------------------- */

#if defined(SANITIZED) || defined(COOP_SWITCH_UCONTEXT)

#ifdef COOP_ASAN
/* The fiber that switched to the one now running: the arriving fiber tells
 * ASan it has arrived and learns the bounds of the stack it left, which is
 * how the thread fiber's bounds become known. */
static _Thread_local coop__fiber *switched_from;

static void asan_arrived(coop__fiber *self) {
    const void *from_lo;
    size_t from_size;
    __sanitizer_finish_switch_fiber(self ? self->asan_fake_stack : NULL, &from_lo, &from_size);
    coop__fiber *from = switched_from;
    if (from && !from->stack_lo) {
        from->stack_lo = (void *)from_lo;
        from->stack_size = from_size;
    }
}
#endif

static void switch_with_bookkeeping(coop__fiber *from, coop__fiber *to, int last) {
#ifdef COOP_ASAN
    switched_from = from;
    __sanitizer_start_switch_fiber(last ? NULL : &from->asan_fake_stack, to->stack_lo,
                                   to->stack_size);
#endif
#ifdef COOP_TSAN
    __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
    (void)last;
    coop__fiber_jump(from, to);
#ifdef COOP_ASAN
    asan_arrived(from);
#endif
}

void coop__fiber_switch(coop__fiber *from, coop__fiber *to) {
    if (from == to) return;
    switch_with_bookkeeping(from, to, 0);
}

void coop__fiber_switch_last(coop__fiber *from, coop__fiber *to) {
    switch_with_bookkeeping(from, to, 1);
    __builtin_unreachable(); /* nothing resumes a finished fiber */
}

#endif

#ifdef SANITIZED
static void fiber_start(void *record) {
    start_record rec = *(start_record *)record;
#ifdef COOP_ASAN
    asan_arrived(NULL);
#endif
    rec.entry(rec.arg);
    __builtin_unreachable(); /* entry ends with coop__fiber_switch_last */
}
#endif

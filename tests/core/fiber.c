/*
 * Tests of src/core/fiber: the context switch itself, used directly (no
 * scheduler): round trips, callee-saved registers and floating-point
 * control state preserved per fiber, deep recursion, many fibers.
 */
#include <execinfo.h>
#include <stdint.h>
#include <sys/mman.h>
#include "core/fiber.h"
#include "test.h"
#ifdef COOP_VALGRIND
#include <valgrind/valgrind.h>
#define UNDER_VALGRIND() RUNNING_ON_VALGRIND
#else
#define UNDER_VALGRIND() 0
#endif

#define STACK_BYTES (256 * 1024)

static void *map_stack(size_t n) {
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    CHECK(p != MAP_FAILED);
    return p;
}

/* ---- round trips --------------------------------------------------------- */

static coop__fiber main_fiber, ping_fiber;
static int ping_count;

static void ping_entry(void *arg) {
    int rounds = *(int *)arg;
    for (int i = 0; i < rounds; i++) {
        ping_count++;
        coop__fiber_switch(&ping_fiber, &main_fiber);
    }
    coop__fiber_switch_last(&ping_fiber, &main_fiber);
}

TEST(fiber_switch_round_trips_alternate_strictly) {
    int rounds = 1000;
    char *stack = map_stack(STACK_BYTES);
    coop__fiber_make_thread(&main_fiber);
    coop__fiber_make(&ping_fiber, stack, stack + STACK_BYTES, ping_entry, &rounds);
    for (int i = 0; i < rounds; i++) {
        coop__fiber_switch(&main_fiber, &ping_fiber);
        CHECK_EQ(ping_count, i + 1);
    }
    coop__fiber_switch(&main_fiber, &ping_fiber); /* lets it finish */
    CHECK_EQ(ping_count, rounds);
    coop__fiber_release(&ping_fiber);
    munmap(stack, STACK_BYTES);
}

TEST(fiber_switch_to_itself_returns_at_once) {
    coop__fiber_make_thread(&main_fiber);
    volatile int reached = 0;
    coop__fiber_switch(&main_fiber, &main_fiber);
    reached = 1;
    CHECK_EQ(reached, 1);
}

static void arg_entry(void *arg) {
    *(void **)arg = arg;
    coop__fiber_switch_last(&ping_fiber, &main_fiber);
}

TEST(fiber_entry_receives_its_argument_on_an_aligned_stack) {
    char *stack = map_stack(STACK_BYTES);
    void *seen = NULL;
    coop__fiber_make_thread(&main_fiber);
    /* An odd top: make aligns it down. */
    coop__fiber_make(&ping_fiber, stack, stack + STACK_BYTES - 8, arg_entry, &seen);
    coop__fiber_switch(&main_fiber, &ping_fiber);
    CHECK(seen == &seen);
    coop__fiber_release(&ping_fiber);
    munmap(stack, STACK_BYTES);
}

/* ---- callee-saved registers ------------------------------------------- */

/* mark_and_switch(from, to, out) loads distinct values into every
 * callee-saved register, switches, and stores what the registers hold
 * afterwards into out[]; clobber_and_switch(from, to) loads other values and
 * switches. If the switch lost any register, out[] differs. */
void mark_and_switch(coop__fiber *from, coop__fiber *to, uint64_t *out);
void clobber_and_switch(coop__fiber *from, coop__fiber *to);

#if defined(__x86_64__)
#define NREGS 6
static const uint64_t marks[NREGS] = {0x1111111111111111, 0x2222222222222222, 0x3333333333333333,
                                      0x4444444444444444, 0x5555555555555555, 0x6666666666666666};
__asm__(".text\n"
        "mark_and_switch:\n"
        "  push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15; push %rdx\n"
        "  movabs $0x1111111111111111, %rbx\n"
        "  movabs $0x2222222222222222, %rbp\n"
        "  movabs $0x3333333333333333, %r12\n"
        "  movabs $0x4444444444444444, %r13\n"
        "  movabs $0x5555555555555555, %r14\n"
        "  movabs $0x6666666666666666, %r15\n"
        "  call coop__fiber_switch\n"
        "  pop %rdx\n"
        "  mov %rbx, 0(%rdx); mov %rbp, 8(%rdx); mov %r12, 16(%rdx)\n"
        "  mov %r13, 24(%rdx); mov %r14, 32(%rdx); mov %r15, 40(%rdx)\n"
        "  pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n"
        "  ret\n"
        "clobber_and_switch:\n"
        "  push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15; sub $8, %rsp\n"
        "  mov $-1, %rbx; mov $-2, %rbp; mov $-3, %r12; mov $-4, %r13; mov $-5, %r14; mov $-6, %r15\n"
        "  call coop__fiber_switch\n"
        "  add $8, %rsp; pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n"
        "  ret\n");
#elif defined(__aarch64__)
#define NREGS 18 /* x19-x28, d8-d15 */
static uint64_t marks[NREGS];
__asm__(".text\n"
        "mark_and_switch:\n"
        "  stp x29, x30, [sp, #-176]!\n"
        "  mov x29, sp\n"
        "  stp x19, x20, [sp, #16]\n  stp x21, x22, [sp, #32]\n  stp x23, x24, [sp, #48]\n"
        "  stp x25, x26, [sp, #64]\n  stp x27, x28, [sp, #80]\n  stp d8, d9, [sp, #96]\n"
        "  stp d10, d11, [sp, #112]\n  stp d12, d13, [sp, #128]\n  stp d14, d15, [sp, #144]\n"
        "  str x2, [sp, #160]\n"
        "  mov x19, #0x19\n  mov x20, #0x20\n  mov x21, #0x21\n  mov x22, #0x22\n"
        "  mov x23, #0x23\n  mov x24, #0x24\n  mov x25, #0x25\n  mov x26, #0x26\n"
        "  mov x27, #0x27\n  mov x28, #0x28\n"
        "  mov x9, #0x108\n  fmov d8, x9\n  mov x9, #0x109\n  fmov d9, x9\n"
        "  mov x9, #0x110\n  fmov d10, x9\n  mov x9, #0x111\n  fmov d11, x9\n"
        "  mov x9, #0x112\n  fmov d12, x9\n  mov x9, #0x113\n  fmov d13, x9\n"
        "  mov x9, #0x114\n  fmov d14, x9\n  mov x9, #0x115\n  fmov d15, x9\n"
        "  bl coop__fiber_switch\n"
        "  ldr x2, [sp, #160]\n"
        "  stp x19, x20, [x2, #0]\n  stp x21, x22, [x2, #16]\n  stp x23, x24, [x2, #32]\n"
        "  stp x25, x26, [x2, #48]\n  stp x27, x28, [x2, #64]\n  stp d8, d9, [x2, #80]\n"
        "  stp d10, d11, [x2, #96]\n  stp d12, d13, [x2, #112]\n  stp d14, d15, [x2, #128]\n"
        "  ldp x19, x20, [sp, #16]\n  ldp x21, x22, [sp, #32]\n  ldp x23, x24, [sp, #48]\n"
        "  ldp x25, x26, [sp, #64]\n  ldp x27, x28, [sp, #80]\n  ldp d8, d9, [sp, #96]\n"
        "  ldp d10, d11, [sp, #112]\n  ldp d12, d13, [sp, #128]\n  ldp d14, d15, [sp, #144]\n"
        "  ldp x29, x30, [sp], #176\n"
        "  ret\n"
        "clobber_and_switch:\n"
        "  stp x29, x30, [sp, #-160]!\n"
        "  mov x29, sp\n"
        "  stp x19, x20, [sp, #16]\n  stp x21, x22, [sp, #32]\n  stp x23, x24, [sp, #48]\n"
        "  stp x25, x26, [sp, #64]\n  stp x27, x28, [sp, #80]\n  stp d8, d9, [sp, #96]\n"
        "  stp d10, d11, [sp, #112]\n  stp d12, d13, [sp, #128]\n  stp d14, d15, [sp, #144]\n"
        "  mov x19, #-1\n  mov x20, #-1\n  mov x21, #-1\n  mov x22, #-1\n  mov x23, #-1\n"
        "  mov x24, #-1\n  mov x25, #-1\n  mov x26, #-1\n  mov x27, #-1\n  mov x28, #-1\n"
        "  movi d8, #0\n  movi d9, #0\n  movi d10, #0\n  movi d11, #0\n"
        "  movi d12, #0\n  movi d13, #0\n  movi d14, #0\n  movi d15, #0\n"
        "  bl coop__fiber_switch\n"
        "  ldp x19, x20, [sp, #16]\n  ldp x21, x22, [sp, #32]\n  ldp x23, x24, [sp, #48]\n"
        "  ldp x25, x26, [sp, #64]\n  ldp x27, x28, [sp, #80]\n  ldp d8, d9, [sp, #96]\n"
        "  ldp d10, d11, [sp, #112]\n  ldp d12, d13, [sp, #128]\n  ldp d14, d15, [sp, #144]\n"
        "  ldp x29, x30, [sp], #160\n"
        "  ret\n");
#endif

#ifdef NREGS
static uint64_t after_main[NREGS], after_fiber[NREGS];

static void marking_entry(void *arg) {
    (void)arg;
    mark_and_switch(&ping_fiber, &main_fiber, after_fiber);
    coop__fiber_switch_last(&ping_fiber, &main_fiber);
}

static void clobbering_entry(void *arg) {
    (void)arg;
    clobber_and_switch(&ping_fiber, &main_fiber);
    coop__fiber_switch_last(&ping_fiber, &main_fiber);
}

static void init_marks(void) {
#if defined(__aarch64__)
    static const uint64_t x[10] = {0x19, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28};
    static const uint64_t d[8] = {0x108, 0x109, 0x110, 0x111, 0x112, 0x113, 0x114, 0x115};
    for (int i = 0; i < 10; i++) marks[i] = x[i];
    for (int i = 0; i < 8; i++) marks[10 + i] = d[i];
#endif
}

TEST(fiber_switch_keeps_a_fibers_registers_from_the_thread) {
    init_marks();
    char *stack = map_stack(STACK_BYTES);
    coop__fiber_make_thread(&main_fiber);
    coop__fiber_make(&ping_fiber, stack, stack + STACK_BYTES, marking_entry, NULL);
    coop__fiber_switch(&main_fiber, &ping_fiber);        /* the fiber marks, comes back */
    clobber_and_switch(&main_fiber, &ping_fiber);        /* it reads its registers, ends */
    for (int i = 0; i < NREGS; i++) CHECK_EQ(after_fiber[i], marks[i]);
    coop__fiber_release(&ping_fiber);
    munmap(stack, STACK_BYTES);
}

TEST(fiber_switch_keeps_the_threads_registers_from_a_fiber) {
    init_marks();
    char *stack = map_stack(STACK_BYTES);
    coop__fiber_make_thread(&main_fiber);
    coop__fiber_make(&ping_fiber, stack, stack + STACK_BYTES, clobbering_entry, NULL);
    mark_and_switch(&main_fiber, &ping_fiber, after_main); /* the fiber clobbers, comes back */
    for (int i = 0; i < NREGS; i++) CHECK_EQ(after_main[i], marks[i]);
    coop__fiber_switch(&main_fiber, &ping_fiber);          /* let it end */
    coop__fiber_release(&ping_fiber);
    munmap(stack, STACK_BYTES);
}
#endif

/* ---- floating-point control state ----------------------------------------- */

#if !defined(COOP_NO_SWITCH_FPU) || defined(COOP_SWITCH_UCONTEXT)
#if defined(__x86_64__)
static unsigned get_sse_rounding(void) {
    unsigned mxcsr;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    return (mxcsr >> 13) & 3;
}
static void set_sse_rounding(unsigned mode) {
    unsigned mxcsr;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    mxcsr = (mxcsr & ~(3u << 13)) | mode << 13;
    __asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
}
static unsigned get_x87_precision(void) {
    unsigned short cw;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    return (cw >> 8) & 3;
}
static void set_x87_precision(unsigned pc) {
    unsigned short cw;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    cw = (unsigned short)((cw & ~(3u << 8)) | pc << 8);
    __asm__ volatile("fldcw %0" : : "m"(cw));
}
#define ROUND_NEAREST 0u
#define ROUND_TO_ZERO 3u
#define HAVE_FPU_TEST 1
#elif defined(__aarch64__)
static unsigned get_sse_rounding(void) { /* FPCR.RMode, bits 22-23 */
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    return (unsigned)(fpcr >> 22) & 3;
}
static void set_sse_rounding(unsigned mode) {
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    fpcr = (fpcr & ~((uint64_t)3 << 22)) | (uint64_t)mode << 22;
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr));
}
static unsigned get_x87_precision(void) { return 0; }
static void set_x87_precision(unsigned pc) { (void)pc; }
#define ROUND_NEAREST 0u
#define ROUND_TO_ZERO 3u
#define HAVE_FPU_TEST 1
#endif
#endif

#ifdef HAVE_FPU_TEST
static unsigned fiber_rounding_seen[3];

static void rounding_entry(void *arg) {
    (void)arg;
    fiber_rounding_seen[0] = get_sse_rounding(); /* inherited at make time */
    set_sse_rounding(ROUND_TO_ZERO);
    set_x87_precision(0); /* single precision (x86 only) */
    coop__fiber_switch(&ping_fiber, &main_fiber);
    fiber_rounding_seen[1] = get_sse_rounding();
    fiber_rounding_seen[2] = get_x87_precision();
    coop__fiber_switch_last(&ping_fiber, &main_fiber);
}

TEST(fiber_switch_keeps_floating_point_control_per_fiber) {
    char *stack = map_stack(STACK_BYTES);
    unsigned thread_precision = get_x87_precision();
    coop__fiber_make_thread(&main_fiber);
    coop__fiber_make(&ping_fiber, stack, stack + STACK_BYTES, rounding_entry, NULL);
    coop__fiber_switch(&main_fiber, &ping_fiber);
    /* The fiber's rounding mode did not leak into the thread... */
    CHECK_EQ(get_sse_rounding(), ROUND_NEAREST);
    if (!UNDER_VALGRIND()) CHECK_EQ(get_x87_precision(), thread_precision);
    /* ...and the fiber gets its own back, despite the thread's. */
    coop__fiber_switch(&main_fiber, &ping_fiber);
    CHECK_EQ(fiber_rounding_seen[0], ROUND_NEAREST);
    CHECK_EQ(fiber_rounding_seen[1], ROUND_TO_ZERO);
    if (!UNDER_VALGRIND()) /* valgrind does not model x87 precision control */
        CHECK_EQ(fiber_rounding_seen[2], 0);
    coop__fiber_release(&ping_fiber);
    munmap(stack, STACK_BYTES);
}

static void inherit_entry(void *arg) {
    *(unsigned *)arg = get_sse_rounding();
    coop__fiber_switch_last(&ping_fiber, &main_fiber);
}

TEST(fiber_make_starts_with_the_creators_floating_point_control) {
    char *stack = map_stack(STACK_BYTES);
    unsigned seen = 99;
    set_sse_rounding(ROUND_TO_ZERO);
    coop__fiber_make_thread(&main_fiber);
    coop__fiber_make(&ping_fiber, stack, stack + STACK_BYTES, inherit_entry, &seen);
    set_sse_rounding(ROUND_NEAREST);
    coop__fiber_switch(&main_fiber, &ping_fiber);
    CHECK_EQ(seen, ROUND_TO_ZERO);
    CHECK_EQ(get_sse_rounding(), ROUND_NEAREST);
    coop__fiber_release(&ping_fiber);
    munmap(stack, STACK_BYTES);
}
#endif

/* ---- deep recursion, many fibers ------------------------------------------ */

__attribute__((noinline)) static long sum_down(long n, volatile char *pad) {
    volatile char frame[200];
    frame[0] = (char)n;
    (void)pad;
    if (n == 0) return 0;
    return n + sum_down(n - 1, frame) + frame[0] - (char)n;
}

static long recursion_result;

static void recursion_entry(void *arg) {
    recursion_result = sum_down(*(long *)arg, NULL);
    coop__fiber_switch_last(&ping_fiber, &main_fiber);
}

TEST(fiber_runs_deep_recursion_on_its_own_stack) {
    size_t bytes = 32 * 1024 * 1024; /* lazily committed: costs what is used */
    char *stack = map_stack(bytes);
    long depth = 20000; /* 5-10 MB of frames (more with ASan's redzones) */
    coop__fiber_make_thread(&main_fiber);
    coop__fiber_make(&ping_fiber, stack, stack + bytes, recursion_entry, &depth);
    coop__fiber_switch(&main_fiber, &ping_fiber);
    CHECK_EQ(recursion_result, depth * (depth + 1) / 2);
    coop__fiber_release(&ping_fiber);
    munmap(stack, bytes);
}

/* A ring of fibers: each passes a token to the next, many times over. */
enum { RING = 1000, LAPS = 20 };
static coop__fiber ring[RING];
static long ring_visits[RING];
static int ring_token;

static void ring_entry(void *arg) {
    int me = (int)(intptr_t)arg;
    for (int lap = 0;; lap++) {
        CHECK_EQ(ring_token, me);
        ring_visits[me]++;
        ring_token = (me + 1) % RING;
        coop__fiber *next = ring_token == 0 ? &main_fiber : &ring[ring_token];
        if (lap == LAPS - 1) coop__fiber_switch_last(&ring[me], next); /* done */
        coop__fiber_switch(&ring[me], next);
    }
}

TEST(fiber_ring_of_many_fibers_passes_a_token) {
    size_t bytes = 16 * 1024;
    char *stacks = map_stack(RING * bytes);
    coop__fiber_make_thread(&main_fiber);
    for (int i = 0; i < RING; i++)
        coop__fiber_make(&ring[i], stacks + i * bytes, stacks + (i + 1) * bytes, ring_entry,
                         (void *)(intptr_t)i);
    for (int lap = 0; lap < LAPS; lap++) {
        CHECK_EQ(ring_token, 0);
        coop__fiber_switch(&main_fiber, &ring[0]);
    }
    for (int i = 0; i < RING; i++) CHECK_EQ(ring_visits[i], LAPS);
    for (int i = 0; i < RING; i++) coop__fiber_release(&ring[i]);
    munmap(stacks, RING * bytes);
}

/* ---- unwinding ---------------------------------------------------------- */

void coop__fiber_entry(void); /* the first frame of every fiber (assembly) */

static void *trace[64];
static int trace_len;

__attribute__((noinline)) static void take_backtrace(int depth) {
    if (depth > 0) {
        take_backtrace(depth - 1);
        __asm__ volatile("" ::: "memory"); /* not a tail call */
        return;
    }
    trace_len = backtrace(trace, 64);
}

static void backtrace_entry(void *arg) {
    (void)arg;
    take_backtrace(5);
    coop__fiber_switch_last(&ping_fiber, &main_fiber);
}

/* The CFI of the switch ends the unwinder's walk at the fiber's entry (the
 * same information gdb's `bt` uses): no garbage frames past it. */
TEST(fiber_backtrace_ends_at_the_fiber_entry) {
#ifdef COOP_SWITCH_UCONTEXT
    return; /* makecontext's own start frame ends the stack there */
#endif
    char *stack = map_stack(STACK_BYTES);
    /* Above the fiber's top, plausible return addresses (as a task record
     * could hold): an unwinder that did not stop would walk into them. */
    char *top = stack + STACK_BYTES - 256;
    for (uintptr_t *p = (uintptr_t *)top; p < (uintptr_t *)(stack + STACK_BYTES); p++)
        *p = (uintptr_t)take_backtrace + 8;
    coop__fiber_make_thread(&main_fiber);
    coop__fiber_make(&ping_fiber, stack, top, backtrace_entry, NULL);
    coop__fiber_switch(&main_fiber, &ping_fiber);
    CHECK(trace_len > 6);
    CHECK(trace_len < 64);
    uintptr_t last = (uintptr_t)trace[trace_len - 1], entry = (uintptr_t)coop__fiber_entry;
    if (last < entry || last > entry + 32)
        test__fail(__FILE__, __LINE__, "last frame %p is not in coop__fiber_entry (%p)", trace[trace_len - 1],
                   (void *)coop__fiber_entry);
    coop__fiber_release(&ping_fiber);
    munmap(stack, STACK_BYTES);
}

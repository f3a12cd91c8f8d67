/*
 * x86_64.S — the context switch for x86_64 System V (Linux).
 *
 * A suspended fiber's coop__fiber.sp (offset 0) points at its resume
 * address; the callee-saved state lies just below it, in what was the red
 * zone when it was written:
 *
 *     sp+0  resume address (the switch's return address, or the entry
 *           trampoline for a fiber that has not run yet)
 *     sp-8  rbx    sp-16 rbp    sp-24 r12    sp-32 r13    sp-40 r14
 *     sp-48 r15    sp-56 MXCSR (4 bytes) and x87 control word (2 bytes)
 *
 * The ABI guarantees that signal handlers leave the 128 bytes below rsp
 * alone, and nothing else runs on a suspended fiber's stack, so the frame
 * needs no stack adjustment: 20 instructions per switch with the FPU
 * control words, 16 without (boost.context's jump_fcontext: 24).
 *
 * Only callee-saved state is kept: every other register is dead across a
 * call by the ABI. The resume address is reached with an indirect `jmp`,
 * not `ret`: a `ret` here would always mispredict (the return stack buffer
 * predicts the caller of *this* fiber's switch, not the other one's).
 * MXCSR and the x87 control word are callee-saved by the ABI ("control
 * bits"), so a fiber that changes the rounding mode must not leak it into
 * others; COOP_NO_SWITCH_FPU drops those 4 instructions for programs that
 * never change them (docs/guide/core-stacks.md).
 *
 * Without sanitizers coop__fiber_switch *is* this code (no C wrapper); with
 * ASan or TSan fiber.c wraps coop__fiber_jump with the annotations. A new
 * fiber's first frame is built by coop__fiber_prepare in fiber.c.
 *
 * Not here: shadow-stack (CET SHSTK) support — a stack switch would need to
 * switch shadow stacks too, so this object carries no SHSTK property and a
 * binary linked with it runs with shadow stacks disabled.
 */
#if defined(__x86_64__) && !defined(COOP_SWITCH_UCONTEXT)

#if defined(__CET__) && (__CET__ & 1)
#define LANDING endbr64
/* The resume address is a return address, which carries no endbr64: tell
 * IBT not to track this one jump. */
#define JUMP_RESUME notrack jmp *%rcx
#else
#define LANDING
#define JUMP_RESUME jmp *%rcx
#endif

#define FUNCTION(name)          \
    .globl name;                \
    .hidden name;               \
    .type name, @function;      \
    name:

    .text
    .p2align 4
/* void coop__fiber_jump(coop__fiber *from, coop__fiber *to) */
FUNCTION(coop__fiber_jump)
#if !defined(COOP_ASAN) && !defined(COOP_TSAN)
FUNCTION(coop__fiber_switch)
FUNCTION(coop__fiber_switch_last)
#endif
    .cfi_startproc
    LANDING
    movq    %rbx, -8(%rsp)
    .cfi_rel_offset rbx, -8
    movq    %rbp, -16(%rsp)
    .cfi_rel_offset rbp, -16
    movq    %r12, -24(%rsp)
    .cfi_rel_offset r12, -24
    movq    %r13, -32(%rsp)
    .cfi_rel_offset r13, -32
    movq    %r14, -40(%rsp)
    .cfi_rel_offset r14, -40
    movq    %r15, -48(%rsp)
    .cfi_rel_offset r15, -48
#ifndef COOP_NO_SWITCH_FPU
    stmxcsr -56(%rsp)
    fnstcw  -52(%rsp)
#endif
    movq    %rsp, (%rdi)            /* from->sp */
    movq    (%rsi), %rsp            /* to->sp: from here on we are on `to` */
#ifndef COOP_NO_SWITCH_FPU
    ldmxcsr -56(%rsp)
    fldcw   -52(%rsp)
#endif
    movq    -8(%rsp), %rbx
    movq    -16(%rsp), %rbp
    movq    -24(%rsp), %r12
    movq    -32(%rsp), %r13
    movq    -40(%rsp), %r14
    movq    -48(%rsp), %r15
    popq    %rcx
    .cfi_adjust_cfa_offset -8
    JUMP_RESUME
    .cfi_endproc
    .size coop__fiber_jump, .-coop__fiber_jump
#if !defined(COOP_ASAN) && !defined(COOP_TSAN)
    .size coop__fiber_switch, .-coop__fiber_switch
    .size coop__fiber_switch_last, .-coop__fiber_switch_last
#endif

/* The first resume address of every new fiber (see coop__fiber_prepare): rbx
 * holds entry, r12 its argument, and sp is 16-byte aligned. The outermost
 * frame: its return address is undefined, so debuggers stop here. */
    .p2align 4
FUNCTION(coop__fiber_entry)
    .cfi_startproc
    .cfi_undefined rip
    LANDING
    xorl    %ebp, %ebp              /* end of the frame-pointer chain too */
    movq    %r12, %rdi
    call    *%rbx
    ud2                             /* entry never returns */
    .cfi_endproc
    .size coop__fiber_entry, .-coop__fiber_entry

#if defined(__CET__) && (__CET__ & 1)
/* GNU property: IBT-compatible (every indirect-jump target has a landing
 * pad or is reached by a notrack jump). SHSTK deliberately not claimed. */
    .section .note.gnu.property, "a"
    .p2align 3
    .long 4                         /* name size */
    .long 16                        /* descriptor size */
    .long 5                         /* NT_GNU_PROPERTY_TYPE_0 */
    .asciz "GNU"
    .long 0xc0000002                /* GNU_PROPERTY_X86_FEATURE_1_AND */
    .long 4
    .long 1                         /* GNU_PROPERTY_X86_FEATURE_1_IBT */
    .p2align 3
#endif

#endif
    .section .note.GNU-stack, "", @progbits

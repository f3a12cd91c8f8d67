/*
 * aarch64.S — the context switch for AArch64 (AAPCS64, Linux).
 *
 * A suspended fiber's state is one 176-byte frame on its own stack, and
 * coop__fiber.sp (offset 0) points at it:
 *
 *     sp+0   x19 x20   sp+16  x21 x22   sp+32  x23 x24   sp+48  x25 x26
 *     sp+64  x27 x28   sp+80  x29 x30 (x30: the resume address)
 *     sp+96  d8  d9    sp+112 d10 d11   sp+128 d12 d13   sp+144 d14 d15
 *     sp+160 FPCR      sp+168 unused (keeps sp 16-byte aligned)
 *
 * Only callee-saved state is kept (the low halves of v8-v15 are the only
 * callee-saved vector state). The resume address is reached with `br x30`,
 * not `ret`, which would always mispredict on the return-address stack.
 * FPCR (rounding mode, flush-to-zero) is restored only when it differs,
 * as writing it can stall; COOP_NO_SWITCH_FPU drops it altogether.
 *
 * Not here: BTI/PAC properties. Resuming lands on return addresses, which
 * carry no BTI landing pad, so this object does not claim BTI and a binary
 * linked with it runs without BTI enforcement. Landing pads are still
 * emitted (as hints, no-ops on older cores) where indirect branches land.
 */
#if defined(__aarch64__) && !defined(COOP_SWITCH_UCONTEXT)

#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
#define LANDING_CALL hint #34   /* bti c */
#define LANDING_JUMP hint #38   /* bti jc */
#else
#define LANDING_CALL
#define LANDING_JUMP
#endif

#define FUNCTION(name)          \
    .globl name;                \
    .hidden name;               \
    .type name, %function;      \
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
    LANDING_CALL
    sub     sp, sp, #176
    .cfi_def_cfa_offset 176
    stp     x19, x20, [sp, #0]
    stp     x21, x22, [sp, #16]
    stp     x23, x24, [sp, #32]
    stp     x25, x26, [sp, #48]
    stp     x27, x28, [sp, #64]
    stp     x29, x30, [sp, #80]
    .cfi_offset x29, -96
    .cfi_offset x30, -88
    stp     d8, d9, [sp, #96]
    stp     d10, d11, [sp, #112]
    stp     d12, d13, [sp, #128]
    stp     d14, d15, [sp, #144]
#ifndef COOP_NO_SWITCH_FPU
    mrs     x9, fpcr
    str     x9, [sp, #160]
#endif
    mov     x10, sp
    str     x10, [x0]               /* from->sp */
    ldr     x10, [x1]               /* to->sp: from here on we are on `to` */
    mov     sp, x10
#ifndef COOP_NO_SWITCH_FPU
    ldr     x10, [sp, #160]
    cmp     x9, x10
    b.eq    1f
    msr     fpcr, x10
1:
#endif
    ldp     x19, x20, [sp, #0]
    ldp     x21, x22, [sp, #16]
    ldp     x23, x24, [sp, #32]
    ldp     x25, x26, [sp, #48]
    ldp     x27, x28, [sp, #64]
    ldp     x29, x30, [sp, #80]
    ldp     d8, d9, [sp, #96]
    ldp     d10, d11, [sp, #112]
    ldp     d12, d13, [sp, #128]
    ldp     d14, d15, [sp, #144]
    add     sp, sp, #176
    .cfi_def_cfa_offset 0
    br      x30
    .cfi_endproc
    .size coop__fiber_jump, .-coop__fiber_jump
#if !defined(COOP_ASAN) && !defined(COOP_TSAN)
    .size coop__fiber_switch, .-coop__fiber_switch
    .size coop__fiber_switch_last, .-coop__fiber_switch_last
#endif

/* The first resume address of every new fiber (see coop__fiber_prepare in
 * fiber.c): x19 holds entry, x20 its argument, sp is 16-byte aligned. The
 * outermost frame: its return address is undefined, so debuggers stop. */
    .p2align 4
FUNCTION(coop__fiber_entry)
    .cfi_startproc
    .cfi_undefined x30
    LANDING_JUMP
    mov     x29, #0                 /* end of the frame-record chain too */
    mov     x0, x20
    blr     x19
    brk     #0                      /* entry never returns */
    .cfi_endproc
    .size coop__fiber_entry, .-coop__fiber_entry

#endif
    .section .note.GNU-stack, "", %progbits

/*
 * switch.h — what fiber.c needs from the architecture-specific switch:
 * x86_64.S, aarch64.S (with the frame builder in fiber.c) or ucontext.c.
 * Private to src/core.
 */
#ifndef COOP_CORE_SWITCH_H
#define COOP_CORE_SWITCH_H

#include "core/fiber.h"

/* Save the running context into from, resume to. No sanitizer bookkeeping:
 * without sanitizers the assembly exports this very code as
 * coop__fiber_switch and coop__fiber_switch_last too. */
void coop__fiber_jump(coop__fiber *from, coop__fiber *to);

/* Set up f so that the first jump to it runs entry(arg) with the stack
 * [lo, top) (top 16-byte aligned, below any record fiber.c put there). */
void coop__fiber_prepare(coop__fiber *f, void *lo, void *top, void (*entry)(void *), void *arg);

#endif

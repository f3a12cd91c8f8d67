/*
 * ucontext.c — the portable switch (-DCOOP_UCONTEXT=ON, or an architecture
 * without assembly): getcontext/makecontext/swapcontext. Slow — glibc's
 * swapcontext saves and restores the signal mask with a system call on
 * every switch — but correct everywhere POSIX.1-2001's ucontext exists,
 * and a reference for the assembly. It saves the whole FPU environment,
 * so COOP_NO_SWITCH_FPU has no effect here.
 *
 * fiber.c does the bookkeeping and calls coop__fiber_jump/prepare below.
 */
#ifdef COOP_SWITCH_UCONTEXT

#include <stdint.h>
#include <stdlib.h>
#include <ucontext.h>

#include "core/switch.h"
#include "util/misuse.h"

/* makecontext passes only int arguments: the entry and its argument travel
 * in this record at the top of the new stack, its address split in two. */
typedef struct {
    void (*entry)(void *); /* the function the fiber runs */
    void *arg;             /* its argument */
} entry_record;

static void ucontext_start(unsigned hi, unsigned lo) {
    entry_record *rec = (entry_record *)(((uintptr_t)hi << 16 << 16) | (uintptr_t)lo);
    rec->entry(rec->arg);
    abort(); /* entry never returns */
}

void coop__fiber_prepare(coop__fiber *f, void *lo, void *top, void (*entry)(void *), void *arg) {
    entry_record *rec = (entry_record *)(((uintptr_t)top - sizeof(entry_record)) & ~(uintptr_t)15);
    rec->entry = entry;
    rec->arg = arg;
    if (getcontext(&f->uc) != 0) coop__fatal("getcontext failed");
    f->uc.uc_stack.ss_sp = lo;
    f->uc.uc_stack.ss_size = (size_t)((char *)rec - (char *)lo);
    f->uc.uc_link = NULL;
    uintptr_t p = (uintptr_t)rec;
    makecontext(&f->uc, (void (*)(void))ucontext_start, 2, (unsigned)(p >> 16 >> 16),
                (unsigned)(p & 0xffffffffu));
}

void coop__fiber_jump(coop__fiber *from, coop__fiber *to) {
    if (swapcontext(&from->uc, &to->uc) != 0) coop__fatal("swapcontext failed");
}

#endif

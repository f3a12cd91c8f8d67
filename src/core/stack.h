/*
 * stack.h — task stacks: mmap'd, lazily committed, pooled per loop.
 *
 * The scheduler asks for a stack of a given usable size and gets [lo, hi).
 * It places its task record at the top of the stack (so a parked task costs
 * one touched page), and names the stack so that the overflow handler can
 * say whose stack overflowed. The pool, guard pages (guard regions, or
 * mprotect within the mapping budget and a canary beyond it), the SIGSEGV
 * handler on an alternate stack, MADV_FREE of excess pooled stacks and the
 * staggering of stack tops are all behind this interface (stack.c).
 */
#ifndef COOP_CORE_STACK_H
#define COOP_CORE_STACK_H

#include <stddef.h>

typedef struct coop__stack {
    void *lo;      /* lowest usable address */
    void *hi;      /* one past the highest usable address; 64-byte aligned,
                      staggered by a cache line per stack */
    size_t size;   /* usable size class this stack belongs to */
    void *meta;    /* pool-private record of this stack */
} coop__stack;

typedef struct coop__stack_pool coop__stack_pool;

/* Create / destroy a pool (one per loop). Destroy unmaps every stack; all
 * stacks must have been put back. */
int coop__stack_pool_new(coop__stack_pool **pool);
void coop__stack_pool_free(coop__stack_pool *pool);

/* Get a stack with at least size usable bytes (rounded up to a page
 * multiple, at least COOP_STACK_MIN). No syscall when the pool has one.
 * Returns 0 or -ENOMEM. */
int coop__stack_get(coop__stack_pool *pool, size_t size, coop__stack *out);

/* Return a stack to the pool. */
void coop__stack_put(coop__stack_pool *pool, coop__stack *s);

/* Attach a name to a stack for overflow reports: name must stay valid
 * until the stack is put back (the task record on the stack holds it). */
void coop__stack_set_name(const coop__stack *s, const char *name);

/* Abort with "coop: stack overflow in task 'NAME' ..." if the canary band
 * below s->lo was overwritten (the only overflow detection an unguarded
 * stack has; coop__stack_put checks too). Cheap: one cache line. */
void coop__stack_check(const coop__stack *s);

/* Counters of one pool, for tests and debugging. */
typedef struct coop__stack_stats {
    unsigned long maps;      /* chunk mappings made (mmap calls) */
    unsigned long guarded;   /* stacks given a guard page (mprotect calls) */
    unsigned long unguarded; /* stacks handed out without one (over budget) */
    unsigned long released;  /* pooled stacks released with MADV_FREE */
    unsigned long release_calls; /* madvise calls that released them */
    unsigned long live;      /* stacks handed out and not yet put back */
    unsigned long pooled;    /* carved stacks waiting in the pool */
} coop__stack_stats;
void coop__stack_pool_stats(const coop__stack_pool *pool, coop__stack_stats *out);

/* Pooled stacks kept ready per size class before the surplus is released
 * with MADV_FREE (default 64). The surplus is released 32 stacks at a time,
 * so up to 31 more stay resident until the next batch. */
void coop__stack_pool_set_high_water(coop__stack_pool *pool, unsigned n);

/* The process-wide budget of memory map entries that guard pages may use
 * (each guard costs two); vmas < 0 restores the default, half of
 * /proc/sys/vm/max_map_count. Stacks carved beyond it get no guard page. */
void coop__stack_set_guard_budget(long vmas);
/* Map entries currently spent on guard pages, process-wide. */
long coop__stack_guard_budget_used(void);

/* Whether stacks carved from now on get madvise(MADV_GUARD_INSTALL) guard
 * regions (Linux 6.13+; they cost no map entry, so no budget applies)
 * instead of mprotect guards. On by default where the kernel has them;
 * returns whether they are now in use. For tests. */
int coop__stack_use_guard_regions(int enable);

#endif

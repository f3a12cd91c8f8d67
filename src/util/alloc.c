/*
 * alloc.c — counting allocator with fault injection (see alloc.h). The
 * counters are process-wide relaxed atomics: exact once threads have
 * joined, which is when tests read them.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include "util/alloc.h"

static atomic_long live;
static atomic_long fail_countdown; /* 0: off; k > 0: the kth next allocation fails */

static int should_fail(void) {
    long k = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (k <= 0) return 0;
    return atomic_fetch_sub_explicit(&fail_countdown, 1, memory_order_relaxed) == 1;
}

void *coop__malloc(size_t n) {
    if (should_fail()) return NULL;
    void *p = malloc(n ? n : 1);
    if (p) atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
    return p;
}

void *coop__calloc(size_t count, size_t n) {
    if (should_fail()) return NULL;
    void *p = calloc(count ? count : 1, n ? n : 1);
    if (p) atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
    return p;
}

void *coop__realloc(void *p, size_t n) {
    if (!p) return coop__malloc(n);
    if (should_fail()) return NULL;
    return realloc(p, n ? n : 1);
}

void coop__free(void *p) {
    if (!p) return;
    atomic_fetch_sub_explicit(&live, 1, memory_order_relaxed);
    free(p);
}

long coop__alloc_live(void) { return atomic_load_explicit(&live, memory_order_relaxed); }

void coop__alloc_fail_at(long nth) { atomic_store_explicit(&fail_countdown, nth, memory_order_relaxed); }

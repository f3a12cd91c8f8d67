/*
 * alloc.h — every allocation of the library goes through here, so tests can
 * check that nothing leaked (coop__alloc_live) and can make the Nth
 * allocation fail (coop__alloc_fail_at) to test the -ENOMEM paths.
 * Thread-safe.
 */
#ifndef COOP_UTIL_ALLOC_H
#define COOP_UTIL_ALLOC_H

#include <stddef.h>
#include "coop.h"

void *coop__malloc(size_t n);
void *coop__calloc(size_t count, size_t n);
void *coop__realloc(void *p, size_t n);
void coop__free(void *p);

/* Live allocations (allocated minus freed) of the process. */
long coop__alloc_live(void);
/* Make the nth allocation from now fail (1 = the next); 0 disables. */
void coop__alloc_fail_at(long nth);

#endif

/*
 * gen_internal.h — what generator.c and greenlet.c need from each other:
 * a greenlet group may be rooted in a generator's body, and the generator
 * keeps that root so greenlet.c can find it from the context.
 */
#ifndef COOP_GEN_INTERNAL_H
#define COOP_GEN_INTERNAL_H

#include "coop.h"

/* The greenlet-root slot of the generator whose coroutine is coro (a
 * ctx->coro of kind COOP__CORO_GEN). */
coop_greenlet **coop__gen_root_slot(void *coro);

#endif

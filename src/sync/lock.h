/*
 * lock.h — what coop_cond needs to know about coop_lock (lock.c), without
 * exposing its layout.
 */
#ifndef COOP_SYNC_LOCK_H
#define COOP_SYNC_LOCK_H

#include "sched/park.h"

/* The task that owns l, or NULL if l is free. */
coop__task *coop__lock_owner(const coop_lock *l);

/* Acquire l ignoring cancellation (inside a shielded scope): for coop_cond,
 * which must hold the lock again on every return path. Returns 0. */
int coop__lock_acquire_shielded(coop_lock *l);

#endif

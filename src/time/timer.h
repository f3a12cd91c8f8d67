/*
 * timer.h — the loop's clock and timer queue (internal).
 *
 * Timers are intrusive heap nodes ordered by (when, seq): no allocation,
 * O(log n) start and stop, O(1) next deadline. Every timed thing in the
 * core is a timer: sleeps, cancel-scope deadlines, call_later/call_at and
 * call_soon (when = COOP__SOON, i.e. already due).
 *
 * The clock is read at most once per loop iteration: coop__loop_now caches
 * the reading until the loop invalidates it at the start of the next
 * iteration. With the virtual clock, time only moves when the loop jumps it
 * to the next deadline because every task is blocked.
 */
#ifndef COOP_TIME_TIMER_H
#define COOP_TIME_TIMER_H

#include <stdint.h>
#include "sched/park.h"
#include "util/heap.h"

/* "Due now": the deadline of call_soon, earlier than any real deadline. */
#define COOP__SOON INT64_MIN

typedef struct coop__timer {
    coop__heap_node node;               /* heap links */
    int64_t when;                       /* deadline, loop clock ns */
    uint64_t seq;                       /* start order, breaks ties FIFO */
    void (*fn)(struct coop__timer *t);  /* called on expiry, on the loop */
    int pending;                        /* in the heap */
} coop__timer;

typedef struct coop__timers {
    coop__heap heap;       /* pending timers */
    uint64_t seq;          /* next sequence number */
    int64_t now;           /* cached clock reading */
    int now_valid;         /* now is fresh for this iteration */
    int virtual_clock;     /* time is virtual */
} coop__timers;

/* CLOCK_MONOTONIC now, uncached: the real clock, whatever the loop uses
 * (statistics measure real time even on the virtual clock). */
int64_t coop__monotonic_ns(void);

void coop__timers_init(coop__timers *ts, int virtual_clock);

/* The loop clock (cached per iteration). */
int64_t coop__loop_now(coop__loop *l);
/* Forget the cached reading (start of an iteration). */
void coop__clock_invalidate(coop__loop *l);
/* Virtual clock: move time forward to when (never backwards). */
void coop__clock_jump(coop__loop *l, int64_t when);

static inline void coop__timer_init(coop__timer *t, void (*fn)(coop__timer *t)) {
    t->fn = fn;
    t->pending = 0;
    t->when = 0;
    t->seq = 0;
}
/* Start (or move) t to fire at when. */
void coop__timer_start(coop__loop *l, coop__timer *t, int64_t when);
/* Stop t if pending; returns 1 if it was. Inline: most stops find nothing. */
int coop__timer_stop_pending(coop__loop *l, coop__timer *t);
static inline int coop__timer_stop(coop__loop *l, coop__timer *t) {
    return t->pending ? coop__timer_stop_pending(l, t) : 0;
}
/* Earliest pending deadline, or COOP_NEVER. */
int64_t coop__timer_next(coop__loop *l);
/* Phase 3 of the iteration: fire the timers that are due and were started
 * before this call (a callback that starts a due timer does not make this
 * call run forever). Returns the number fired. */
size_t coop__timers_run(coop__loop *l);
/* Number of pending timers. */
size_t coop__timers_count(coop__loop *l);

#endif

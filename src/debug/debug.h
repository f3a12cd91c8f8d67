/*
 * debug.h — private record of a watched loop (watchdog.c) and what the
 * statistics (stats.c) read from it.
 */
#ifndef COOP_DEBUG_DEBUG_H
#define COOP_DEBUG_DEBUG_H

#include <pthread.h>
#include <stdint.h>
#include "coop.h"
#include "sched/park.h"
#include "util/list.h"

typedef struct coop__watch {
    coop__list link;           /* in the registry (under its lock) */
    coop__loop *loop;          /* the watched loop */
    pthread_t thread;          /* the thread running it (signal target) */
    int64_t threshold;         /* report runs at least this long (ns) */
    int64_t started;           /* when watching began (monotonic ns) */
    /* Monitor state, under the registry lock: */
    uint64_t last_switches;    /* switch count at the last sample */
    coop__task *last_task;     /* running task at the last sample (compared only) */
    int64_t since;             /* when the monitor first saw last_switches */
    int reported;              /* this run was reported (once per run) */
    char held_name[32];        /* name of the reported task, for "released" */
    int64_t max_slice;         /* longest run seen without a checkpoint */
    /* The lag probe, under the registry lock: */
    coop__post probe;          /* posted to the loop, once per threshold */
    int probe_inflight;        /* posted and not yet run */
    int orphan;                /* unwatched while in flight: the probe frees */
    int64_t probe_sent;        /* when it was posted */
    uint64_t lag_samples;      /* probes that ran */
    int64_t lag_sum;           /* their total lag */
    int64_t lag_max;           /* their worst lag */
} coop__watch;

/* Copy the watch figures of loop l into *st; returns 1 if l is watched,
 * else 0 (and *st is untouched). [any thread] */
int coop__watch_stats(coop__loop *l, coop_loop_stats *st);

/* Lifecycle hook for the scheduler (not yet called: see the offload
 * report). begin, on the loop's thread once the loop is current: watch it
 * if COOP_SLOW_MS is set to a positive number of milliseconds (the
 * watchdog then needs no code in the program). end, on the loop's thread
 * before the loop's memory is released: stop watching it (so forgetting
 * coop_watchdog_stop cannot leave the monitor reading a freed loop). */
void coop__watchdog_loop_begin(coop__loop *l);
void coop__watchdog_loop_end(coop__loop *l);

#endif

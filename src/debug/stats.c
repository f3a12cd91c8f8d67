/*
 * stats.c — loop statistics (coop_loop_stats_get) and the task dump
 * (coop_task_dump). Counters the scheduler keeps anyway (iterations,
 * switch-ins, live tasks) are read on the loop's own thread; the sampled
 * figures (longest slice, lag) come from the watchdog's record when the
 * loop is watched.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "debug/debug.h"
#include "sched/loop.h"

int coop_loop_stats_get(coop_loop_stats *st) {
    if (!st) return -EINVAL;
    coop__loop *l = coop__loop_get();
    if (!l) return -EPERM;
    memset(st, 0, sizeof *st);
    st->iterations = l->iterations;
    st->switches = atomic_load_explicit(&l->switches, memory_order_relaxed);
    st->tasks = l->ntasks;
    st->polls = l->polls;
    st->run_ns = coop__monotonic_ns() - l->started_ns;
    st->idle_ns = l->idle_ns;
    st->max_iteration_ns = l->iter_max_ns;
    coop__watch_stats(l, st);
    return 0;
}

static const char *state_name(int s) {
    switch (s) {
    case COOP_TASK_READY: return "ready";
    case COOP_TASK_RUNNING: return "running";
    case COOP_TASK_PARKED: return "parked";
    case COOP_TASK_DONE: return "done";
    default: return "?";
    }
}

typedef struct dump {
    int fd;    /* where to write */
    int count; /* tasks listed */
} dump;

static void dump_one(coop__task *t, const char *what, void *arg) {
    dump *d = arg;
    d->count++;
    if (what)
        dprintf(d->fd, "  task \"%s\": %s, waiting in %s\n", coop__task_name(t),
                state_name(coop__task_state(t)), what);
    else
        dprintf(d->fd, "  task \"%s\": %s\n", coop__task_name(t), state_name(coop__task_state(t)));
}

int coop_task_dump(int fd) {
    coop__loop *l = coop__loop_get();
    if (!l) return -EPERM;
    dump d = {.fd = fd, .count = 0};
    coop__loop_each_task(l, dump_one, &d);
    return d.count;
}

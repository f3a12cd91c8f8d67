/*
 * clock.c — the loop clock: CLOCK_MONOTONIC read at most once per loop
 * iteration, or a virtual clock for tests that starts at 0 and moves only
 * when the loop jumps it (trio's MockClock with autojump_threshold=0).
 */
#include <time.h>
#include "sched/loop.h"

int64_t coop__monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t coop__loop_now(coop__loop *l) {
    coop__timers *ts = &l->timers;
    if (!ts->now_valid && !ts->virtual_clock) {
        ts->now = coop__monotonic_ns();
        ts->now_valid = 1;
    }
    return ts->now;
}

void coop__clock_invalidate(coop__loop *l) { l->timers.now_valid = 0; }

void coop__clock_jump(coop__loop *l, int64_t when) {
    if (l->timers.virtual_clock && when > l->timers.now) l->timers.now = when;
}

int64_t coop_now(void) {
    coop__loop *l = coop__tls_loop;
    return l ? coop__loop_now(l) : coop__monotonic_ns();
}

int64_t coop_after(int64_t delay_ns) {
    int64_t now = coop_now();
    if (delay_ns <= 0) return now;
    return delay_ns > COOP_NEVER - now ? COOP_NEVER : now + delay_ns;
}

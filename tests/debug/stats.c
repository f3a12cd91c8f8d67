/* Loop statistics that need no watchdog: polls, idle time, longest iteration. */
#include <time.h>
#include "test.h"

static int64_t mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int yielder(void *arg) {
    (void)arg;
    for (int i = 0; i < 500; i++) CHECK_OK(coop_yield());
    return 0;
}
static int yields_body(void *arg) {
    (void)arg;
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "y", yielder, NULL));
    yielder(NULL);
    CHECK_OK(coop_join(t, NULL));
    coop_loop_stats st;
    CHECK_OK(coop_loop_stats_get(&st));
    CHECK_EQ(st.polls, 0); /* no fd waits, no timers: not one syscall */
    CHECK(st.iterations >= 500);
    CHECK(st.switches >= 1000);
    return 0;
}
TEST(loop_stats_yield_loop_makes_no_poll) { CHECK_EQ(test_run_real(yields_body, NULL), 0); }

static int spin_ms(void *arg) {
    int64_t until = mono() + COOP_MS((intptr_t)arg);
    while (mono() < until) {
    }
    return 0;
}
static int idle_body(void *arg) {
    (void)arg;
    CHECK_OK(coop_sleep(COOP_MS(40)));
    coop_loop_stats st;
    CHECK_OK(coop_loop_stats_get(&st));
    CHECK(st.polls >= 1);
    CHECK(st.idle_ns >= COOP_MS(35)); /* the sleep was spent blocked in the backend */
    CHECK(st.run_ns >= st.idle_ns);
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "spinner", spin_ms, (void *)30));
    CHECK_OK(coop_sleep(COOP_MS(1)));
    CHECK_OK(coop_join(t, NULL));
    CHECK_OK(coop_sleep(COOP_MS(1)));
    CHECK_OK(coop_loop_stats_get(&st));
    CHECK(st.max_iteration_ns >= COOP_MS(30)); /* the spinner held one iteration that long */
    return 0;
}
TEST(loop_stats_count_idle_time_and_the_longest_iteration) { CHECK_EQ(test_run_real(idle_body, NULL), 0); }

TEST(loop_stats_outside_a_loop_is_eperm) {
    coop_loop_stats st;
    CHECK_ERR(coop_loop_stats_get(&st), -EPERM);
    CHECK_ERR(coop_loop_stats_get(NULL), -EINVAL);
}

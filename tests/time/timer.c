/* Stackless callbacks: call_soon, call_later, call_at, cancel. */
#include "test.h"

static int log_[16], nlog;
static void record(void *arg) { log_[nlog++] = (int)(intptr_t)arg; }

static int order_body(void *arg) {
    (void)arg;
    coop_timer a, b, c, d;
    coop_timer_init(&a);
    coop_timer_init(&b);
    coop_timer_init(&c);
    coop_timer_init(&d);
    CHECK_OK(coop_call_later(&a, COOP_MS(20), record, (void *)3));
    CHECK_OK(coop_call_at(&b, coop_now() + COOP_MS(10), record, (void *)2));
    CHECK_OK(coop_call_soon(&c, record, (void *)1));
    CHECK_OK(coop_call_soon(&d, record, (void *)99));
    CHECK_EQ(coop_timer_pending(&d), 1);
    CHECK_EQ(coop_timer_cancel(&d), 1);
    CHECK_EQ(coop_timer_cancel(&d), 0);
    CHECK_EQ(nlog, 0); /* nothing runs before this task suspends */
    CHECK_OK(coop_sleep(COOP_MS(30)));
    CHECK_EQ(coop_timer_pending(&a), 0);
    return 0;
}
TEST(callbacks_run_in_time_order_and_cancel_works) {
    CHECK_EQ(test_run(order_body, NULL), 0);
    CHECK_EQ(nlog, 3);
    for (int i = 0; i < 3; i++) CHECK_EQ(log_[i], i + 1);
}

static coop_timer later;
static int spawned_ran;
static int spawned(void *arg) {
    (void)arg;
    spawned_ran = 1;
    return 0;
}
static void spawn_from_callback(void *arg) {
    (void)arg;
    CHECK_ERR(coop_yield(), -EPERM); /* no task in a callback */
    CHECK(coop_self() == 0);
    CHECK_OK(coop_spawn(NULL, "late", spawned, NULL));
}
static int keepalive_body(void *arg) {
    (void)arg;
    coop_timer_init(&later);
    CHECK_OK(coop_call_later(&later, COOP_SEC(1), spawn_from_callback, NULL));
    return 0; /* main ends; the pending callback keeps the loop alive */
}
TEST(pending_callback_keeps_loop_alive_and_may_spawn) {
    CHECK_EQ(test_run(keepalive_body, NULL), 0);
    CHECK_EQ(spawned_ran, 1);
}

static int resched_count;
static coop_timer resched;
static void reschedule_self(void *arg) {
    (void)arg;
    if (++resched_count < 1000) CHECK_OK(coop_call_soon(&resched, reschedule_self, NULL));
}
static int resched_body(void *arg) {
    (void)arg;
    coop_timer_init(&resched);
    CHECK_OK(coop_call_soon(&resched, reschedule_self, NULL));
    int my_turns = 0;
    while (resched_count < 1000) {
        CHECK_OK(coop_yield());
        my_turns++;
    }
    CHECK(my_turns >= 999); /* one callback per iteration: tasks keep running */
    return 0;
}
TEST(call_soon_from_callback_runs_next_iteration) { CHECK_EQ(test_run(resched_body, NULL), 0); }

TEST(call_outside_loop_is_eperm) {
    coop_timer t;
    coop_timer_init(&t);
    CHECK_ERR(coop_call_soon(&t, record, NULL), -EPERM);
    CHECK_EQ(coop_timer_cancel(&t), 0);
}

static int null_cb_body(void *arg) {
    (void)arg;
    coop_timer t;
    coop_timer_init(&t);
    CHECK_ERR(coop_call_soon(&t, NULL, NULL), -EINVAL);
    return 0;
}
TEST(call_with_null_callback_is_einval) { CHECK_EQ(test_run(null_cb_body, NULL), 0); }

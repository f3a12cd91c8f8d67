/* Sleeping and the virtual clock. */
#include "test.h"

static int order[8], norder;
static int sleep_then_record(void *arg) {
    int ms = (int)(intptr_t)arg;
    CHECK_OK(coop_sleep(COOP_MS(ms)));
    order[norder++] = ms;
    return 0;
}

static int sleep_order_body(void *arg) {
    (void)arg;
    int64_t t0 = coop_now();
    int ms[] = {30, 10, 20, 10};
    for (int i = 0; i < 4; i++) CHECK_OK(coop_spawn(NULL, "s", sleep_then_record, (void *)(intptr_t)ms[i]));
    CHECK_OK(coop_sleep(COOP_MS(100)));
    CHECK_EQ(coop_now() - t0, COOP_MS(100)); /* virtual time: exact */
    return 0;
}
TEST(sleep_wakes_in_deadline_order_fifo_for_ties) {
    CHECK_EQ(test_run(sleep_order_body, NULL), 0);
    CHECK_EQ(norder, 4);
    int want[] = {10, 10, 20, 30};
    for (int i = 0; i < 4; i++) CHECK_EQ(order[i], want[i]);
}

static int virtual_body(void *arg) {
    (void)arg;
    CHECK_EQ(coop_now(), 0);
    CHECK_OK(coop_sleep(COOP_SEC(3600))); /* an hour, instantly */
    CHECK_EQ(coop_now(), COOP_SEC(3600));
    CHECK_OK(coop_sleep_until(COOP_SEC(3600) + 5));
    CHECK_EQ(coop_now(), COOP_SEC(3600) + 5);
    CHECK_OK(coop_sleep_until(0)); /* in the past: just a yield */
    CHECK_OK(coop_sleep(-5));
    return 0;
}
TEST(virtual_clock_jumps_when_all_tasks_block) { CHECK_EQ(test_run(virtual_body, NULL), 0); }

static int real_body(void *arg) {
    (void)arg;
    int64_t t0 = coop_now();
    CHECK_OK(coop_sleep(COOP_MS(20)));
    int64_t dt = coop_now() - t0;
    CHECK(dt >= COOP_MS(20)); /* never early; lateness is not asserted */
    return 0;
}
TEST(real_sleep_is_never_early) { CHECK_EQ(test_run_real(real_body, NULL), 0); }

static int clock_cached_body(void *arg) {
    (void)arg;
    int64_t a = coop_now();
    for (volatile int i = 0; i < 1000000; i++) {
    }
    CHECK_EQ(coop_now(), a); /* same iteration: same reading */
    return 0;
}
TEST(clock_is_read_once_per_iteration) { CHECK_EQ(test_run_real(clock_cached_body, NULL), 0); }

TEST(after_saturates_at_never) {
    CHECK_EQ(coop_after(COOP_NEVER), COOP_NEVER);
    CHECK(coop_after(0) > 0);
}

/* A task that only ever yields must not starve a sleeper. */
static int yielder_stop;
static long yields;
static int yielder(void *arg) {
    (void)arg;
    while (!yielder_stop) {
        CHECK_OK(coop_yield());
        yields++;
    }
    return 0;
}
static int starve_body(void *arg) {
    (void)arg;
    coop_task_id y;
    CHECK_OK(coop_spawn(&y, "yielder", yielder, NULL));
    CHECK_OK(coop_sleep(COOP_MS(5)));
    yielder_stop = 1;
    CHECK_OK(coop_join(y, NULL));
    return 0;
}
TEST(yielding_task_cannot_starve_timers) {
    CHECK_EQ(test_run_real(starve_body, NULL), 0);
    CHECK(yields > 0);
}

/* Tests of coop_waitgroup (src/sync/waitgroup.c). */
#include <limits.h>
#include "sync/helpers.h"

static coop_waitgroup wg;
static int wait_op(void *arg) { return coop_waitgroup_wait(arg); }

static int worker(void *arg) {
    coop_sleep(COOP_MS((intptr_t)arg));
    return coop_waitgroup_done(&wg);
}

static int waits_for_all(void *arg) {
    (void)arg;
    coop_waitgroup_init(&wg);
    CHECK_ERR(coop_waitgroup_wait(&wg), 0); /* zero: at once */
    for (intptr_t i = 1; i <= 3; i++) {
        CHECK_ERR(coop_waitgroup_add(&wg, 1), 0);
        CHECK_OK(coop_spawn(NULL, "worker", worker, (void *)(i * 10)));
    }
    CHECK_EQ(coop_waitgroup_count(&wg), 3);
    int64_t t0 = coop_now();
    CHECK_ERR(coop_waitgroup_wait(&wg), 0);
    CHECK_EQ(coop_waitgroup_count(&wg), 0);
    CHECK(coop_now() - t0 >= COOP_MS(30)); /* the slowest worker */
    coop_waitgroup_destroy(&wg);
    return 0;
}
TEST(waitgroup_wait_returns_when_the_counter_reaches_zero) { CHECK_ERR(test_run(waits_for_all, NULL), 0); }

static int negative(void *arg) {
    (void)arg;
    coop_waitgroup_init(&wg);
    CHECK_ERR(coop_waitgroup_done(&wg), -EINVAL);
    CHECK_ERR(coop_waitgroup_add(&wg, 2), 0);
    CHECK_ERR(coop_waitgroup_add(&wg, -3), -EINVAL);
    CHECK_EQ(coop_waitgroup_count(&wg), 2); /* unchanged */
    CHECK_ERR(coop_waitgroup_add(&wg, -2), 0);
    coop_waitgroup_destroy(&wg);
    return 0;
}
TEST(waitgroup_negative_counter_is_einval) { CHECK_ERR(test_run(negative, NULL), 0); }

/* Reaching zero wakes the waiters for good: an add() for the next batch in
 * the same turn does not put them back to sleep. */
static int zero_then_add(void *arg) {
    (void)arg;
    coop_waitgroup_init(&wg);
    CHECK_ERR(coop_waitgroup_add(&wg, 1), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe p = {0};
    probe_start(&p, &n, wait_op, &wg, 1);
    CHECK_ERR(coop_waitgroup_done(&wg), 0);
    CHECK_ERR(coop_waitgroup_add(&wg, 1), 0);
    coop_scope_cancel(&p.scope);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(p.result, 0);
    CHECK_ERR(coop_waitgroup_done(&wg), 0);
    coop_waitgroup_destroy(&wg);
    return 0;
}
TEST(waitgroup_wake_up_stands_after_add_and_cancel) { CHECK_ERR(test_run(zero_then_add, NULL), 0); }

static int cancelled(void *arg) {
    (void)arg;
    coop_waitgroup_init(&wg);
    CHECK_ERR(coop_waitgroup_add(&wg, 1), 0);
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(5)));
    CHECK_ERR(coop_waitgroup_wait(&wg), -ETIMEDOUT);
    coop_scope_exit(&s);
    CHECK_ERR(coop_waitgroup_done(&wg), 0);
    coop_waitgroup_destroy(&wg);
    return 0;
}
TEST(waitgroup_wait_times_out) { CHECK_ERR(test_run(cancelled, NULL), 0); }

static int destroy_waited(void *arg) {
    (void)arg;
    coop_waitgroup_init(&wg);
    coop_waitgroup_add(&wg, 1);
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "waiter", wait_op, &wg));
    wait_parked(t);
    coop_waitgroup_destroy(&wg);
    return 0;
}
static void destroy_with_waiter(void) { test_run(destroy_waited, NULL); }
TEST(waitgroup_destroy_with_waiters_aborts) {
    expect_abort(destroy_with_waiter, "coop_waitgroup_destroy: 1 task(s) still wait");
}

TEST(waitgroup_overflow_is_einval) {
    coop_waitgroup_init(&wg);
    CHECK_ERR(coop_waitgroup_add(&wg, LONG_MAX), 0);
    CHECK_ERR(coop_waitgroup_add(&wg, 1), -EINVAL);
    CHECK_EQ(coop_waitgroup_count(&wg), LONG_MAX);
}

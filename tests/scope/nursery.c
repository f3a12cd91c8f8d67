/* Nurseries: children cannot outlive them; first failure cancels siblings. */
#include "test.h"

static int finished;
static int sleep_ms(void *arg) {
    int r = coop_sleep(COOP_MS((intptr_t)arg));
    if (r == 0) finished++;
    return r;
}
static int fail_after_ms(void *arg) {
    CHECK_OK(coop_sleep(COOP_MS((intptr_t)arg)));
    return -EIO;
}

static int waits_body(void *arg) {
    (void)arg;
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    for (int i = 1; i <= 3; i++) CHECK_OK(coop_nursery_spawn(&n, NULL, "child", sleep_ms, (void *)(intptr_t)(i * 10)));
    CHECK_EQ(coop_nursery_live(&n), 3);
    CHECK_ERR(coop_nursery_close(&n), 0);
    CHECK_EQ(finished, 3);
    CHECK_EQ(coop_now(), COOP_MS(30));
    return 0;
}
TEST(nursery_close_waits_for_all_children) { CHECK_EQ(test_run(waits_body, NULL), 0); }

static int first_failure_body(void *arg) {
    (void)arg;
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    CHECK_OK(coop_nursery_spawn(&n, NULL, "slow", sleep_ms, (void *)1000));
    CHECK_OK(coop_nursery_spawn(&n, NULL, "failer", fail_after_ms, (void *)10));
    CHECK_OK(coop_nursery_spawn(&n, NULL, "slow2", sleep_ms, (void *)2000));
    CHECK_ERR(coop_sleep(COOP_SEC(5)), -ECANCELED); /* the body is cancelled too */
    CHECK_ERR(coop_nursery_close(&n), -EIO);
    CHECK_EQ(finished, 0);
    CHECK_EQ(coop_now(), COOP_MS(10));
    return 0;
}
TEST(nursery_first_failure_cancels_siblings_and_is_returned) { CHECK_EQ(test_run(first_failure_body, NULL), 0); }

static int cancel_body(void *arg) {
    (void)arg;
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    CHECK_OK(coop_nursery_spawn(&n, NULL, "slow", sleep_ms, (void *)1000));
    CHECK_OK(coop_sleep(COOP_MS(5)));
    coop_nursery_cancel(&n);
    CHECK_ERR(coop_nursery_close(&n), 0); /* explicit cancel is a clean exit */
    CHECK_EQ(coop_now(), COOP_MS(5));
    return 0;
}
TEST(nursery_cancel_is_clean_exit) { CHECK_EQ(test_run(cancel_body, NULL), 0); }

static int deadline_body(void *arg) {
    (void)arg;
    coop_nursery n;
    coop_nursery_open(&n, coop_after(COOP_MS(50)));
    CHECK_OK(coop_nursery_spawn(&n, NULL, "slow", sleep_ms, (void *)1000));
    CHECK_OK(coop_nursery_spawn(&n, NULL, "fast", sleep_ms, (void *)10));
    CHECK_ERR(coop_nursery_close(&n), -ETIMEDOUT);
    CHECK_EQ(finished, 1);
    CHECK_EQ(coop_now(), COOP_MS(50));
    return 0;
}
TEST(nursery_deadline_cancels_children_and_reports_timeout) { CHECK_EQ(test_run(deadline_body, NULL), 0); }

static int inner_nursery_task(void *arg) {
    (void)arg;
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    CHECK_OK(coop_nursery_spawn(&n, NULL, "grandchild", sleep_ms, (void *)1000));
    return coop_nursery_close(&n);
}
static int outer_cancel_body(void *arg) {
    (void)arg;
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(20)));
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    CHECK_OK(coop_nursery_spawn(&n, NULL, "child", inner_nursery_task, NULL));
    CHECK_ERR(coop_nursery_close(&n), -ETIMEDOUT); /* outer deadline, through two nurseries */
    CHECK_EQ(coop_now(), COOP_MS(20));
    CHECK_ERR(coop_scope_exit(&s), -ETIMEDOUT);
    CHECK_EQ(finished, 0);
    return 0;
}
TEST(nursery_outer_deadline_reaches_grandchildren) { CHECK_EQ(test_run(outer_cancel_body, NULL), 0); }

static int spawn_closed_body(void *arg) {
    (void)arg;
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    CHECK_ERR(coop_nursery_close(&n), 0);
    CHECK_ERR(coop_nursery_spawn(&n, NULL, "late", sleep_ms, (void *)1), -EINVAL);
    return 0;
}
TEST(nursery_spawn_after_close_is_einval) { CHECK_EQ(test_run(spawn_closed_body, NULL), 0); }

static coop_task_id child_id;
static int cancel_one_body(void *arg) {
    (void)arg;
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    CHECK_OK(coop_nursery_spawn(&n, &child_id, "victim", sleep_ms, (void *)1000));
    CHECK_OK(coop_nursery_spawn(&n, NULL, "bystander", sleep_ms, (void *)20));
    CHECK_STR(coop_task_name(child_id), "victim");
    CHECK_OK(coop_cancel(child_id));
    CHECK_ERR(coop_join(child_id, NULL), -ESRCH); /* the nursery owns it */
    CHECK_ERR(coop_nursery_close(&n), 0); /* a cancelled child is not a failure */
    CHECK_EQ(finished, 1);
    return 0;
}
TEST(nursery_cancelling_one_child_is_not_a_failure) { CHECK_EQ(test_run(cancel_one_body, NULL), 0); }

static coop_nursery *outer_n;
static int spawns_sibling(void *arg) {
    (void)arg;
    CHECK_OK(coop_sleep(COOP_MS(5)));
    return coop_nursery_spawn(outer_n, NULL, "sibling", sleep_ms, (void *)10);
}
static int child_spawn_body(void *arg) {
    (void)arg;
    coop_nursery n;
    outer_n = &n;
    coop_nursery_open(&n, COOP_NEVER);
    CHECK_OK(coop_nursery_spawn(&n, NULL, "spawner", spawns_sibling, NULL));
    CHECK_ERR(coop_nursery_close(&n), 0); /* waits for the late sibling too */
    CHECK_EQ(finished, 1);
    CHECK_EQ(coop_now(), COOP_MS(15));
    return 0;
}
TEST(nursery_children_may_spawn_siblings_while_closing) { CHECK_EQ(test_run(child_spawn_body, NULL), 0); }

static int open_and_return(void *arg) {
    static coop_nursery n;
    (void)arg;
    coop_nursery_open(&n, COOP_NEVER);
    return 0;
}
static void run_open_and_return(void) { test_run(open_and_return, NULL); }
TEST(task_returning_with_open_nursery_aborts) {
    test_expect_abort(run_open_and_return, "without exiting a cancel scope or closing a nursery");
}

/* Cancel scopes: cancellation, deadlines, level triggering, shields, nesting. */
#include "test.h"

static int timeout_body(void *arg) {
    (void)arg;
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(50)));
    CHECK_ERR(coop_sleep(COOP_SEC(10)), -ETIMEDOUT);
    CHECK_EQ(coop_now(), COOP_MS(50));
    CHECK_ERR(coop_yield(), -ETIMEDOUT);   /* level-triggered: again */
    CHECK_ERR(coop_sleep(1), -ETIMEDOUT);  /* and again */
    CHECK_ERR(coop_cancelled(), -ETIMEDOUT);
    CHECK_ERR(coop_scope_exit(&s), -ETIMEDOUT);
    CHECK_OK(coop_yield()); /* outside: fine again */
    return 0;
}
TEST(scope_deadline_times_out_every_checkpoint_until_exit) { CHECK_EQ(test_run(timeout_body, NULL), 0); }

static int no_timeout_body(void *arg) {
    (void)arg;
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(50)));
    CHECK_OK(coop_sleep(COOP_MS(10)));
    CHECK_ERR(coop_scope_exit(&s), 0);
    CHECK_OK(coop_sleep(COOP_SEC(1))); /* the deadline timer is gone */
    return 0;
}
TEST(scope_exit_before_deadline_is_clean) { CHECK_EQ(test_run(no_timeout_body, NULL), 0); }

static coop_scope *shared_scope;
static int canceller(void *arg) {
    (void)arg;
    CHECK_OK(coop_sleep(COOP_MS(5)));
    coop_scope_cancel(shared_scope);
    return 0;
}
static int cancel_body(void *arg) {
    (void)arg;
    coop_scope s;
    coop_scope_enter(&s, COOP_NEVER);
    shared_scope = &s;
    CHECK_OK(coop_spawn(NULL, "canceller", canceller, NULL));
    CHECK_ERR(coop_sleep(COOP_SEC(10)), -ECANCELED);
    CHECK_EQ(coop_now(), COOP_MS(5)); /* woken at the cancel, not the sleep's end */
    CHECK_ERR(coop_scope_exit(&s), -ECANCELED);
    return 0;
}
TEST(scope_cancel_wakes_parked_task_from_another_task) { CHECK_EQ(test_run(cancel_body, NULL), 0); }

static int nested_body(void *arg) {
    (void)arg;
    coop_scope outer, inner;
    coop_scope_enter(&outer, coop_after(COOP_MS(10)));
    coop_scope_enter(&inner, coop_after(COOP_MS(100)));
    CHECK_ERR(coop_sleep(COOP_SEC(1)), -ETIMEDOUT); /* outer's deadline reaches inside */
    CHECK_EQ(coop_now(), COOP_MS(10));
    CHECK_ERR(coop_scope_exit(&inner), 0);          /* inner itself was not cancelled */
    CHECK_ERR(coop_scope_exit(&outer), -ETIMEDOUT);
    return 0;
}
TEST(scope_outer_deadline_reaches_inner_scope) { CHECK_EQ(test_run(nested_body, NULL), 0); }

static int shield_body(void *arg) {
    (void)arg;
    coop_scope outer, cleanup;
    coop_scope_enter(&outer, COOP_NEVER);
    coop_scope_cancel(&outer);
    CHECK_ERR(coop_yield(), -ECANCELED);
    coop_scope_enter(&cleanup, coop_after(COOP_MS(30)));
    coop_scope_shield(&cleanup, 1);
    CHECK_OK(coop_sleep(COOP_MS(10))); /* shielded: outer cancel does not reach */
    CHECK_ERR(coop_sleep(COOP_MS(50)), -ETIMEDOUT); /* its own deadline does */
    CHECK_ERR(coop_scope_exit(&cleanup), -ETIMEDOUT);
    CHECK_ERR(coop_scope_exit(&outer), -ECANCELED);
    return 0;
}
TEST(scope_shield_blocks_outer_cancel_but_not_own_deadline) { CHECK_EQ(test_run(shield_body, NULL), 0); }

static coop_scope *unshield_target;
static int unshielder(void *arg) {
    (void)arg;
    CHECK_OK(coop_sleep(COOP_MS(5)));
    coop_scope_shield(unshield_target, 0);
    return 0;
}
static int unshield_body(void *arg) {
    (void)arg;
    coop_scope outer, sh;
    coop_scope_enter(&outer, COOP_NEVER);
    coop_scope_cancel(&outer);
    coop_scope_enter(&sh, COOP_NEVER);
    coop_scope_shield(&sh, 1);
    unshield_target = &sh;
    CHECK_OK(coop_spawn(NULL, "unshielder", unshielder, NULL));
    CHECK_ERR(coop_sleep(COOP_SEC(10)), -ECANCELED); /* woken when the shield drops */
    CHECK_EQ(coop_now(), COOP_MS(5));
    CHECK_ERR(coop_scope_exit(&sh), 0);
    CHECK_ERR(coop_scope_exit(&outer), -ECANCELED);
    return 0;
}
TEST(scope_unshield_delivers_pending_cancel) { CHECK_EQ(test_run(unshield_body, NULL), 0); }

static int deadline_move_body(void *arg) {
    (void)arg;
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(10)));
    coop_scope_set_deadline(&s, coop_after(COOP_MS(40)));
    CHECK_EQ(coop_scope_deadline(&s), COOP_MS(40));
    CHECK_ERR(coop_sleep(COOP_SEC(1)), -ETIMEDOUT);
    CHECK_EQ(coop_now(), COOP_MS(40));
    CHECK_ERR(coop_scope_exit(&s), -ETIMEDOUT);
    coop_scope_enter(&s, COOP_NEVER);
    coop_scope_set_deadline(&s, coop_now()); /* already passed */
    CHECK_ERR(coop_scope_cancelled(&s), -ETIMEDOUT);
    CHECK_ERR(coop_scope_exit(&s), -ETIMEDOUT);
    coop_scope_enter(&s, coop_after(COOP_MS(10)));
    coop_scope_set_deadline(&s, COOP_NEVER);
    CHECK_OK(coop_sleep(COOP_SEC(1)));
    CHECK_ERR(coop_scope_exit(&s), 0);
    return 0;
}
TEST(scope_deadline_can_move_both_ways) { CHECK_EQ(test_run(deadline_move_body, NULL), 0); }

static int victim(void *arg) {
    int *out = arg;
    *out = coop_sleep(COOP_SEC(100));
    int again = coop_yield();
    return again; /* still cancelled: level-triggered to the end */
}
static int cancel_task_body(void *arg) {
    (void)arg;
    int slept = 1, r = 0;
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "victim", victim, &slept));
    CHECK_OK(coop_sleep(COOP_MS(1)));
    CHECK_OK(coop_cancel(t));
    CHECK_OK(coop_cancel(t)); /* idempotent */
    CHECK_OK(coop_join(t, &r));
    CHECK_ERR(slept, -ECANCELED);
    CHECK_ERR(r, -ECANCELED);
    CHECK_ERR(coop_cancel(t), -ESRCH);
    return 0;
}
TEST(task_cancel_cancels_its_root_scope) { CHECK_EQ(test_run(cancel_task_body, NULL), 0); }

/* The race rule: once woken, the result stands even if a cancel follows. */
static int woken_result;
static coop_task_id sleeper_id;
static int short_sleeper(void *arg) {
    (void)arg;
    woken_result = coop_sleep(COOP_MS(10));
    return 0;
}
static coop_timer cancel_timer;
static void cancel_sleeper(void *arg) {
    (void)arg;
    CHECK_OK(coop_cancel(sleeper_id));
}
static int race_body(void *arg) {
    (void)arg;
    CHECK_OK(coop_spawn(&sleeper_id, "sleeper", short_sleeper, NULL));
    CHECK_OK(coop_yield());
    /* Fires in the same iteration as the sleep's timer, right after it. */
    coop_timer_init(&cancel_timer);
    CHECK_OK(coop_call_at(&cancel_timer, COOP_MS(10), cancel_sleeper, NULL));
    CHECK_OK(coop_join(sleeper_id, NULL));
    CHECK_ERR(woken_result, 0);
    return 0;
}
TEST(park_result_stands_when_cancel_follows_wakeup) { CHECK_EQ(test_run(race_body, NULL), 0); }

static int wrong_order_body(void *arg) {
    (void)arg;
    coop_scope a, b;
    coop_scope_enter(&a, COOP_NEVER);
    coop_scope_enter(&b, COOP_NEVER);
    coop_scope_exit(&a);
    return 0;
}
static void run_wrong_order(void) { test_run(wrong_order_body, NULL); }
TEST(scope_exit_out_of_order_aborts) {
    test_expect_abort(run_wrong_order, "not the innermost scope");
}

static int leaves_scope_open(void *arg) {
    static coop_scope s;
    (void)arg;
    coop_scope_enter(&s, COOP_NEVER);
    return 0;
}
static void run_leaves_open(void) { test_run(leaves_scope_open, NULL); }
TEST(task_returning_inside_scope_aborts) { test_expect_abort(run_leaves_open, "without exiting a cancel scope"); }

static void enter_outside(void) {
    coop_scope s;
    coop_scope_enter(&s, COOP_NEVER);
}
TEST(scope_enter_outside_task_aborts) { test_expect_abort(enter_outside, "outside a task"); }

#include <pthread.h>
static coop_scope *foreign_scope;
static void *cancel_from_thread(void *arg) {
    (void)arg;
    coop_scope_cancel(foreign_scope); /* misuse: not this thread's loop */
    return NULL;
}
static int foreign_body(void *arg) {
    (void)arg;
    coop_scope s;
    coop_scope_enter(&s, COOP_NEVER);
    foreign_scope = &s;
    pthread_t th;
    pthread_create(&th, NULL, cancel_from_thread, NULL);
    pthread_join(th, NULL);
    coop_scope_exit(&s);
    return 0;
}
static void run_foreign(void) { test_run(foreign_body, NULL); }
TEST(scope_cancel_from_another_thread_aborts) {
    test_expect_abort(run_foreign, "from a thread that does not run the scope's loop");
}

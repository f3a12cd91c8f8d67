/* Tests of coop_cond (src/sync/condition.c). */
#include "sync/helpers.h"

static coop_lock lk;
static coop_cond cv;

/* Lock, wait, note whether the lock is held on return, unlock. */
static int held_after[8];
static int wait_op(void *arg) {
    int slot = (int)(intptr_t)arg;
    CHECK_ERR(coop_lock_acquire(&lk), 0);
    int r = coop_cond_wait(&cv);
    held_after[slot] = coop_lock_release(&lk) == 0; /* release succeeds only if held */
    return r;
}

static void setup(void) {
    coop_lock_init(&lk);
    coop_cond_init(&cv, &lk);
    memset(held_after, 0, sizeof held_after);
}
static void teardown(void) {
    coop_cond_destroy(&cv);
    coop_lock_destroy(&lk);
}

static int notify_one(void *arg) {
    (void)arg;
    setup();
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe p[3] = {0};
    probe_seq = 0;
    for (int i = 0; i < 3; i++) probe_start(&p[i], &n, wait_op, (void *)(intptr_t)i, 1);
    CHECK_ERR(coop_lock_acquire(&lk), 0);
    CHECK_ERR(coop_cond_notify(&cv, 1), 1);
    CHECK_ERR(coop_lock_release(&lk), 0);
    settle();
    CHECK(p[0].finished && !p[1].finished && !p[2].finished);
    CHECK_ERR(coop_lock_acquire(&lk), 0);
    CHECK_ERR(coop_cond_notify(&cv, 5), 2); /* only two left */
    CHECK_ERR(coop_lock_release(&lk), 0);
    CHECK_OK(coop_nursery_close(&n));
    for (int i = 0; i < 3; i++) {
        CHECK_ERR(p[i].result, 0);
        CHECK_EQ(p[i].order, i);
        CHECK(held_after[i]);
    }
    teardown();
    return 0;
}
TEST(cond_notify_wakes_waiters_in_fifo_order) { CHECK_ERR(test_run(notify_one, NULL), 0); }

static int notify_all(void *arg) {
    (void)arg;
    setup();
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe p[4] = {0};
    for (int i = 0; i < 4; i++) probe_start(&p[i], &n, wait_op, (void *)(intptr_t)i, 1);
    CHECK_ERR(coop_lock_acquire(&lk), 0);
    CHECK_ERR(coop_cond_notify_all(&cv), 4);
    CHECK_ERR(coop_lock_release(&lk), 0);
    CHECK_OK(coop_nursery_close(&n));
    for (int i = 0; i < 4; i++) CHECK(p[i].result == 0 && held_after[i]);
    teardown();
    return 0;
}
TEST(cond_notify_all_wakes_every_waiter_holding_the_lock) { CHECK_ERR(test_run(notify_all, NULL), 0); }

static int without_lock(void *arg) {
    (void)arg;
    setup();
    CHECK_ERR(coop_cond_wait(&cv), -EPERM);
    CHECK_ERR(coop_cond_notify(&cv, 1), -EPERM);
    CHECK_ERR(coop_cond_notify_all(&cv), -EPERM);
    teardown();
    return 0;
}
TEST(cond_use_without_the_lock_is_eperm) { CHECK_ERR(test_run(without_lock, NULL), 0); }

/* Cancelled while the lock is held by someone else: the waiter returns only
 * once it has the lock again, and reports the cancellation. */
static int cancel_reacquires(void *arg) {
    (void)arg;
    setup();
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe p = {0};
    probe_start(&p, &n, wait_op, (void *)0, 1);
    CHECK_ERR(coop_lock_acquire(&lk), 0);
    coop_scope_cancel(&p.scope);
    settle();
    CHECK(!p.finished); /* waiting for the lock, shielded */
    CHECK_ERR(coop_lock_release(&lk), 0);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(p.result, -ECANCELED);
    CHECK(held_after[0]);
    teardown();
    return 0;
}
TEST(cond_wait_cancelled_reacquires_the_lock_first) { CHECK_ERR(test_run(cancel_reacquires, NULL), 0); }

/* notify(1) then cancel the notified waiter in the same turn: the
 * notification is not lost (the waiter reports 0), and the other waiter is
 * not woken by it. */
static int notify_then_cancel(void *arg) {
    (void)arg;
    setup();
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe a = {0}, b = {0};
    probe_start(&a, &n, wait_op, (void *)0, 1);
    probe_start(&b, &n, wait_op, (void *)1, 1);
    CHECK_ERR(coop_lock_acquire(&lk), 0);
    CHECK_ERR(coop_cond_notify(&cv, 1), 1);
    coop_scope_cancel(&a.scope);
    CHECK_ERR(coop_lock_release(&lk), 0);
    settle();
    CHECK(a.finished);
    CHECK_ERR(a.result, 0);
    CHECK(!b.finished);
    /* And the reverse: cancel b first, then notify: nobody is woken. */
    coop_scope_cancel(&b.scope);
    CHECK_ERR(coop_lock_acquire(&lk), 0);
    CHECK_ERR(coop_cond_notify(&cv, 1), 0);
    CHECK_ERR(coop_lock_release(&lk), 0);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(b.result, -ECANCELED);
    CHECK(held_after[0] && held_after[1]);
    teardown();
    return 0;
}
TEST(cond_notify_then_cancel_keeps_the_notification) { CHECK_ERR(test_run(notify_then_cancel, NULL), 0); }

static int timed(void *arg) {
    (void)arg;
    setup();
    CHECK_ERR(coop_lock_acquire(&lk), 0);
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(10)));
    CHECK_ERR(coop_cond_wait(&cv), -ETIMEDOUT);
    coop_scope_exit(&s);
    CHECK_ERR(coop_lock_release(&lk), 0); /* held again */
    teardown();
    return 0;
}
TEST(cond_wait_times_out_holding_the_lock) { CHECK_ERR(test_run(timed, NULL), 0); }

static int destroy_waited(void *arg) {
    (void)arg;
    setup();
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "waiter", wait_op, (void *)0));
    wait_parked(t);
    coop_cond_destroy(&cv);
    return 0;
}
static void destroy_with_waiter(void) { test_run(destroy_waited, NULL); }
TEST(cond_destroy_with_waiters_aborts) {
    expect_abort(destroy_with_waiter, "coop_cond_destroy: 1 task(s) still wait");
}

/* Tests of coop_lock (src/sync/lock.c). */
#include "sync/helpers.h"

static coop_lock lk;
static int acquire_op(void *arg) {
    int r = coop_lock_acquire(arg);
    return r;
}
/* Acquire, note the order, hold across a yield, release. */
static int log_order[8], log_len;
static int acquire_log_release(void *arg) {
    int r = coop_lock_acquire(&lk);
    if (r < 0) return r;
    log_order[log_len++] = (int)(intptr_t)arg;
    coop_yield();
    CHECK_ERR(coop_lock_release(&lk), 0);
    return 0;
}

static int uncontended(void *arg) {
    (void)arg;
    coop_lock_init(&lk);
    CHECK_EQ(coop_lock_locked(&lk), 0);
    CHECK_ERR(coop_lock_acquire(&lk), 0);
    CHECK_EQ(coop_lock_locked(&lk), 1);
    CHECK_ERR(coop_lock_release(&lk), 0);
    CHECK_EQ(coop_lock_locked(&lk), 0);
    coop_lock_destroy(&lk);
    return 0;
}
TEST(lock_acquire_release_uncontended) { CHECK_ERR(test_run(uncontended, NULL), 0); }

static int other_release(void *arg) { return coop_lock_release(arg); }
static int release_unheld(void *arg) {
    (void)arg;
    coop_lock_init(&lk);
    CHECK_ERR(coop_lock_release(&lk), -EPERM); /* nobody holds it */
    CHECK_ERR(coop_lock_acquire(&lk), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe p = {0};
    probe_start(&p, &n, other_release, &lk, 0); /* another task releases */
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(p.result, -EPERM);
    CHECK_EQ(coop_lock_locked(&lk), 1);
    CHECK_ERR(coop_lock_release(&lk), 0);
    coop_lock_destroy(&lk);
    return 0;
}
TEST(lock_release_by_non_owner_is_eperm) { CHECK_ERR(test_run(release_unheld, NULL), 0); }

TEST(lock_outside_a_task_is_eperm) {
    coop_lock_init(&lk);
    CHECK_ERR(coop_lock_acquire(&lk), -EPERM);
    CHECK_ERR(coop_lock_try_acquire(&lk), -EPERM);
    CHECK_ERR(coop_lock_release(&lk), -EPERM);
    coop_lock_destroy(&lk);
}

static int try_held(void *arg) {
    (void)arg;
    coop_lock_init(&lk);
    CHECK_ERR(coop_lock_try_acquire(&lk), 0);
    CHECK_ERR(coop_lock_try_acquire(&lk), -EAGAIN);
    CHECK_ERR(coop_lock_acquire(&lk), -EDEADLK); /* not recursive */
    CHECK_ERR(coop_lock_release(&lk), 0);
    coop_lock_destroy(&lk);
    return 0;
}
TEST(lock_try_acquire_held_is_eagain_and_reacquire_is_edeadlk) {
    CHECK_ERR(test_run(try_held, NULL), 0);
}

static int fifo(void *arg) {
    (void)arg;
    coop_lock_init(&lk);
    log_len = 0;
    CHECK_ERR(coop_lock_acquire(&lk), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe p[4] = {0};
    for (int i = 0; i < 4; i++) probe_start(&p[i], &n, acquire_log_release, (void *)(intptr_t)i, 1);
    CHECK_ERR(coop_lock_release(&lk), 0);
    /* Hand-off: the first waiter owns the lock already; no barging back. */
    CHECK_EQ(coop_lock_locked(&lk), 1);
    CHECK_ERR(coop_lock_try_acquire(&lk), -EAGAIN);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_EQ(log_len, 4);
    for (int i = 0; i < 4; i++) CHECK_EQ(log_order[i], i);
    CHECK_EQ(coop_lock_locked(&lk), 0);
    coop_lock_destroy(&lk);
    return 0;
}
TEST(lock_waiters_acquire_in_fifo_order_by_hand_off) { CHECK_ERR(test_run(fifo, NULL), 0); }

static int times_out(void *arg) {
    (void)arg;
    coop_lock_init(&lk);
    CHECK_ERR(coop_lock_acquire(&lk), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe p = {.deadline = coop_after(COOP_MS(50))};
    int64_t t0 = coop_now();
    probe_start(&p, &n, acquire_op, &lk, 1);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(p.result, -ETIMEDOUT);
    CHECK(p.returned_at - t0 >= COOP_MS(50));
    CHECK_ERR(coop_lock_release(&lk), 0); /* still ours; the waiter left */
    CHECK_EQ(coop_lock_locked(&lk), 0);
    coop_lock_destroy(&lk);
    return 0;
}
TEST(lock_acquire_times_out_without_owning) { CHECK_ERR(test_run(times_out, NULL), 0); }

/* The race: release hands the lock to the waiter, and in the same turn the
 * waiter's scope is cancelled. The hand-off stands: the waiter owns it. */
static int handoff_then_cancel(void *arg) {
    (void)arg;
    coop_lock_init(&lk);
    CHECK_ERR(coop_lock_acquire(&lk), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe p = {0};
    probe_start(&p, &n, acquire_op, &lk, 1);
    CHECK_ERR(coop_lock_release(&lk), 0);
    coop_scope_cancel(&p.scope);
    settle();
    CHECK(p.finished);
    CHECK_ERR(p.result, 0);
    CHECK_EQ(coop_lock_locked(&lk), 1); /* owned by the (finished) probe */
    CHECK_OK(coop_nursery_close(&n));
    return 0; /* the lock is held by a finished task: not destroyed */
}
TEST(lock_hand_off_then_cancel_keeps_ownership) { CHECK_ERR(test_run(handoff_then_cancel, NULL), 0); }

/* The reverse: the first waiter is cancelled, then the lock is released:
 * it goes to the second waiter, not into the void. */
static int cancel_then_release(void *arg) {
    (void)arg;
    coop_lock_init(&lk);
    CHECK_ERR(coop_lock_acquire(&lk), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe a = {0}, b = {0};
    probe_start(&a, &n, acquire_op, &lk, 1);
    probe_start(&b, &n, acquire_op, &lk, 1);
    coop_scope_cancel(&a.scope);
    CHECK_ERR(coop_lock_release(&lk), 0);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(a.result, -ECANCELED);
    CHECK_ERR(b.result, 0);
    CHECK_EQ(coop_lock_locked(&lk), 1); /* b finished holding it */
    return 0;
}
TEST(lock_cancel_then_release_goes_to_next_waiter) { CHECK_ERR(test_run(cancel_then_release, NULL), 0); }

static int take_and_destroy(void *arg) {
    (void)arg;
    coop_lock_init(&lk);
    CHECK_ERR(coop_lock_acquire(&lk), 0);
    coop_lock_destroy(&lk);
    return 0;
}
static void destroy_held(void) { test_run(take_and_destroy, NULL); }
TEST(lock_destroy_while_held_aborts) { expect_abort(destroy_held, "coop_lock_destroy: the lock is still held"); }

static int destroy_waited(void *arg) {
    (void)arg;
    coop_lock_init(&lk);
    CHECK_ERR(coop_lock_acquire(&lk), 0);
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "waiter", acquire_op, &lk));
    wait_parked(t);
    coop_lock_destroy(&lk);
    return 0;
}
static void destroy_with_waiter(void) { test_run(destroy_waited, NULL); }
TEST(lock_destroy_with_waiters_aborts) {
    expect_abort(destroy_with_waiter, "coop_lock_destroy: 1 task(s) still wait");
}

/* Tests of coop_sem (src/sync/semaphore.c), including the lost-wakeup race
 * that asyncio's Semaphore once had (a waiter cancelled as it is woken). */
#include "sync/helpers.h"

static coop_sem sem;
static int acquire_op(void *arg) { return coop_sem_acquire(arg); }

static int counts(void *arg) {
    (void)arg;
    CHECK_ERR(coop_sem_init(&sem, 2), 0);
    CHECK_ERR(coop_sem_acquire(&sem), 0);
    CHECK_ERR(coop_sem_acquire(&sem), 0);
    CHECK_EQ(coop_sem_value(&sem), 0);
    CHECK_ERR(coop_sem_try_acquire(&sem), -EAGAIN);
    CHECK_ERR(coop_sem_release(&sem), 0);
    CHECK_ERR(coop_sem_release(&sem), 0);
    CHECK_ERR(coop_sem_release(&sem), 0); /* unbounded: may go above 2 */
    CHECK_EQ(coop_sem_value(&sem), 3);
    CHECK_ERR(coop_sem_try_acquire(&sem), 0);
    coop_sem_destroy(&sem);
    return 0;
}
TEST(sem_acquire_and_release_count_permits) { CHECK_ERR(test_run(counts, NULL), 0); }

TEST(sem_init_negative_is_einval) {
    CHECK_ERR(coop_sem_init(&sem, -1), -EINVAL);
    CHECK_ERR(coop_sem_init_bounded(&sem, -1), -EINVAL);
}

static int bounded(void *arg) {
    (void)arg;
    CHECK_ERR(coop_sem_init_bounded(&sem, 1), 0);
    CHECK_ERR(coop_sem_release(&sem), -EOVERFLOW);
    CHECK_EQ(coop_sem_value(&sem), 1);
    CHECK_ERR(coop_sem_acquire(&sem), 0);
    CHECK_ERR(coop_sem_release(&sem), 0);
    CHECK_ERR(coop_sem_release(&sem), -EOVERFLOW);
    coop_sem_destroy(&sem);
    return 0;
}
TEST(sem_bounded_release_beyond_initial_is_eoverflow) { CHECK_ERR(test_run(bounded, NULL), 0); }

static int fifo(void *arg) {
    (void)arg;
    CHECK_ERR(coop_sem_init(&sem, 0), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe p[3] = {0};
    probe_seq = 0;
    for (int i = 0; i < 3; i++) probe_start(&p[i], &n, acquire_op, &sem, 1);
    for (int i = 0; i < 3; i++) CHECK_ERR(coop_sem_release(&sem), 0);
    CHECK_EQ(coop_sem_value(&sem), 0); /* every permit went to a waiter */
    CHECK_OK(coop_nursery_close(&n));
    for (int i = 0; i < 3; i++) {
        CHECK_ERR(p[i].result, 0);
        CHECK_EQ(p[i].order, i);
    }
    coop_sem_destroy(&sem);
    return 0;
}
TEST(sem_waiters_get_permits_in_fifo_order) { CHECK_ERR(test_run(fifo, NULL), 0); }

static int times_out(void *arg) {
    (void)arg;
    CHECK_ERR(coop_sem_init(&sem, 0), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe p = {.deadline = coop_after(COOP_MS(20))};
    probe_start(&p, &n, acquire_op, &sem, 1);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(p.result, -ETIMEDOUT);
    CHECK_ERR(coop_sem_release(&sem), 0);
    CHECK_EQ(coop_sem_value(&sem), 1); /* the permit was not given to the timed-out waiter */
    coop_sem_destroy(&sem);
    return 0;
}
TEST(sem_acquire_times_out_without_a_permit) { CHECK_ERR(test_run(times_out, NULL), 0); }

/* Release, then (same turn) cancel the waiter that just got the permit.
 * The permit is not lost: the waiter reports success and holds it. */
static int release_then_cancel(void *arg) {
    (void)arg;
    CHECK_ERR(coop_sem_init(&sem, 0), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe a = {0}, b = {0};
    probe_start(&a, &n, acquire_op, &sem, 1);
    probe_start(&b, &n, acquire_op, &sem, 1);
    CHECK_ERR(coop_sem_release(&sem), 0);
    coop_scope_cancel(&a.scope);
    settle();
    CHECK_ERR(a.result, 0); /* a holds the permit */
    CHECK(!b.finished);     /* and b still waits for one */
    CHECK_EQ(coop_sem_value(&sem), 0);
    CHECK_ERR(coop_sem_release(&sem), 0); /* a's permit, given back */
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(b.result, 0);
    /* Accounting: 2 released, 2 acquired, 0 left. */
    CHECK_EQ(coop_sem_value(&sem), 0);
    coop_sem_destroy(&sem);
    return 0;
}
TEST(sem_release_then_cancel_keeps_the_permit) { CHECK_ERR(test_run(release_then_cancel, NULL), 0); }

/* The reverse order: cancel the first waiter, then release: the permit
 * goes to the next waiter; with no next waiter it stays in the count. */
static int cancel_then_release(void *arg) {
    (void)arg;
    CHECK_ERR(coop_sem_init(&sem, 0), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe a = {0}, b = {0};
    probe_start(&a, &n, acquire_op, &sem, 1);
    probe_start(&b, &n, acquire_op, &sem, 1);
    coop_scope_cancel(&a.scope);
    CHECK_ERR(coop_sem_release(&sem), 0);
    settle();
    CHECK_ERR(a.result, -ECANCELED);
    CHECK(b.finished);
    CHECK_ERR(b.result, 0);
    probe c = {0};
    probe_start(&c, &n, acquire_op, &sem, 1);
    coop_scope_cancel(&c.scope);
    CHECK_ERR(coop_sem_release(&sem), 0);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(c.result, -ECANCELED);
    CHECK_EQ(coop_sem_value(&sem), 1); /* c's would-be permit was kept */
    coop_sem_destroy(&sem);
    return 0;
}
TEST(sem_cancel_then_release_passes_the_permit_on) { CHECK_ERR(test_run(cancel_then_release, NULL), 0); }

static int cancelled_on_entry(void *arg) {
    (void)arg;
    CHECK_ERR(coop_sem_init(&sem, 1), 0);
    coop_scope s;
    coop_scope_enter(&s, COOP_NEVER);
    coop_scope_cancel(&s);
    CHECK_ERR(coop_sem_acquire(&sem), -ECANCELED); /* a checkpoint even when free */
    coop_scope_exit(&s);
    CHECK_EQ(coop_sem_value(&sem), 1);
    coop_sem_destroy(&sem);
    return 0;
}
TEST(sem_acquire_in_cancelled_scope_takes_nothing) { CHECK_ERR(test_run(cancelled_on_entry, NULL), 0); }

static int destroy_waited(void *arg) {
    (void)arg;
    coop_sem_init(&sem, 0);
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "waiter", acquire_op, &sem));
    wait_parked(t);
    coop_sem_destroy(&sem);
    return 0;
}
static void destroy_with_waiter(void) { test_run(destroy_waited, NULL); }
TEST(sem_destroy_with_waiters_aborts) {
    expect_abort(destroy_with_waiter, "coop_sem_destroy: 1 task(s) still wait");
}

/* Tests of coop_barrier (src/sync/barrier.c). */
#include "sync/helpers.h"

static coop_barrier bar;
static int wait_op(void *arg) { return coop_barrier_wait(arg); }

static int releases(void *arg) {
    (void)arg;
    CHECK_ERR(coop_barrier_init(&bar, 3), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    for (int round = 0; round < 2; round++) {
        probe p[2] = {0};
        probe_start(&p[0], &n, wait_op, &bar, 1);
        probe_start(&p[1], &n, wait_op, &bar, 1);
        CHECK_EQ(coop_barrier_waiting(&bar), 2);
        CHECK_ERR(coop_barrier_wait(&bar), 2); /* the last arrival */
        CHECK_EQ(coop_barrier_waiting(&bar), 0);
        settle();
        CHECK(p[0].finished && p[1].finished);
        CHECK_EQ(p[0].result, 0);
        CHECK_EQ(p[1].result, 1);
    }
    CHECK_OK(coop_nursery_close(&n));
    coop_barrier_destroy(&bar);
    return 0;
}
TEST(barrier_releases_a_full_round_and_resets) { CHECK_ERR(test_run(releases, NULL), 0); }

TEST(barrier_of_zero_parties_is_einval) { CHECK_ERR(coop_barrier_init(&bar, 0), -EINVAL); }

static int single(void *arg) {
    (void)arg;
    CHECK_ERR(coop_barrier_init(&bar, 1), 0);
    CHECK_ERR(coop_barrier_wait(&bar), 0);
    coop_barrier_destroy(&bar);
    return 0;
}
TEST(barrier_of_one_never_waits) { CHECK_ERR(test_run(single, NULL), 0); }

/* A cancelled waiter leaves the round: the others still need a full count. */
static int cancelled_leaves(void *arg) {
    (void)arg;
    CHECK_ERR(coop_barrier_init(&bar, 3), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe a = {0}, b = {0}, c = {0};
    probe_start(&a, &n, wait_op, &bar, 1);
    probe_start(&b, &n, wait_op, &bar, 1);
    coop_scope_cancel(&a.scope);
    settle();
    CHECK_ERR(a.result, -ECANCELED);
    CHECK_EQ(coop_barrier_waiting(&bar), 1);
    probe_start(&c, &n, wait_op, &bar, 1); /* 2 of 3: still waiting */
    CHECK(!b.finished && !c.finished);
    CHECK_ERR(coop_barrier_wait(&bar), 2);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(b.result, 0);
    CHECK_ERR(c.result, 1);
    coop_barrier_destroy(&bar);
    return 0;
}
TEST(barrier_cancelled_waiter_leaves_the_round) { CHECK_ERR(test_run(cancelled_leaves, NULL), 0); }

/* The round completes, then a released waiter is cancelled before it ran:
 * it was released (reports its index), the barrier is in the next round. */
static int release_then_cancel(void *arg) {
    (void)arg;
    CHECK_ERR(coop_barrier_init(&bar, 2), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe a = {0};
    probe_start(&a, &n, wait_op, &bar, 1);
    CHECK_ERR(coop_barrier_wait(&bar), 1);
    coop_scope_cancel(&a.scope);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(a.result, 0);
    CHECK_EQ(coop_barrier_waiting(&bar), 0);
    coop_barrier_destroy(&bar);
    return 0;
}
TEST(barrier_release_then_cancel_keeps_the_release) { CHECK_ERR(test_run(release_then_cancel, NULL), 0); }

static int destroy_waited(void *arg) {
    (void)arg;
    coop_barrier_init(&bar, 2);
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "waiter", wait_op, &bar));
    wait_parked(t);
    coop_barrier_destroy(&bar);
    return 0;
}
static void destroy_with_waiter(void) { test_run(destroy_waited, NULL); }
TEST(barrier_destroy_with_waiters_aborts) {
    expect_abort(destroy_with_waiter, "coop_barrier_destroy: 1 task(s) still wait");
}

/* Tests of coop_event (src/sync/event.c). */
#include "sync/helpers.h"

static coop_event ev;
static int wait_op(void *arg) { return coop_event_wait(arg); }

static int set_first(void *arg) {
    (void)arg;
    coop_event_init(&ev);
    CHECK_EQ(coop_event_is_set(&ev), 0);
    coop_event_set(&ev);
    coop_event_set(&ev); /* idempotent */
    CHECK_EQ(coop_event_is_set(&ev), 1);
    CHECK_ERR(coop_event_wait(&ev), 0);
    coop_event_destroy(&ev);
    return 0;
}
TEST(event_wait_returns_at_once_when_set) { CHECK_ERR(test_run(set_first, NULL), 0); }

static int wakes_all(void *arg) {
    (void)arg;
    coop_event_init(&ev);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe p[3] = {0};
    for (int i = 0; i < 3; i++) probe_start(&p[i], &n, wait_op, &ev, 1);
    coop_event_set(&ev);
    CHECK_OK(coop_nursery_close(&n));
    for (int i = 0; i < 3; i++) CHECK_ERR(p[i].result, 0);
    coop_event_destroy(&ev);
    return 0;
}
TEST(event_set_wakes_every_waiter) { CHECK_ERR(test_run(wakes_all, NULL), 0); }

static int clear_blocks(void *arg) {
    (void)arg;
    coop_event_init(&ev);
    coop_event_set(&ev);
    coop_event_clear(&ev);
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(30)));
    CHECK_ERR(coop_event_wait(&ev), -ETIMEDOUT);
    CHECK_ERR(coop_scope_exit(&s), -ETIMEDOUT);
    coop_event_destroy(&ev); /* the timed-out waiter left */
    return 0;
}
TEST(event_clear_makes_wait_block_until_timeout) { CHECK_ERR(test_run(clear_blocks, NULL), 0); }

/* set wakes the waiter; a cancel and a clear in the same turn do not undo
 * the wake-up. */
static int set_then_cancel(void *arg) {
    (void)arg;
    coop_event_init(&ev);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe p = {0};
    probe_start(&p, &n, wait_op, &ev, 1);
    coop_event_set(&ev);
    coop_event_clear(&ev);
    coop_scope_cancel(&p.scope);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(p.result, 0);
    coop_event_destroy(&ev);
    return 0;
}
TEST(event_set_then_cancel_keeps_the_wake_up) { CHECK_ERR(test_run(set_then_cancel, NULL), 0); }

static int cancel_waiter(void *arg) {
    (void)arg;
    coop_event_init(&ev);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe p = {0};
    probe_start(&p, &n, wait_op, &ev, 1);
    coop_cancel(p.id);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(p.result, -ECANCELED);
    coop_event_destroy(&ev); /* no waiter left behind */
    return 0;
}
TEST(event_wait_cancelled_leaves_no_waiter) { CHECK_ERR(test_run(cancel_waiter, NULL), 0); }

TEST(event_wait_outside_a_task_is_eperm) {
    coop_event_init(&ev);
    CHECK_ERR(coop_event_wait(&ev), -EPERM);
}

static int destroy_waited(void *arg) {
    (void)arg;
    coop_event_init(&ev);
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "waiter", wait_op, &ev));
    wait_parked(t);
    coop_event_destroy(&ev);
    return 0;
}
static void destroy_with_waiter(void) { test_run(destroy_waited, NULL); }
TEST(event_destroy_with_waiters_aborts) {
    expect_abort(destroy_with_waiter, "coop_event_destroy: 1 task(s) still wait");
}

static void set_cb(void *arg) { coop_event_set(arg); }
static int set_by_callback(void *arg) {
    (void)arg;
    coop_event_init(&ev);
    coop_timer tm;
    coop_timer_init(&tm);
    CHECK_ERR(coop_call_later(&tm, COOP_MS(30), set_cb, &ev), 0);
    int64_t t0 = coop_now();
    CHECK_ERR(coop_event_wait(&ev), 0);
    CHECK(coop_now() - t0 >= COOP_MS(30));
    coop_event_destroy(&ev);
    return 0;
}
TEST(event_set_from_a_loop_callback_wakes_the_waiter) { CHECK_ERR(test_run(set_by_callback, NULL), 0); }

/* Tests of channels used directly, Go style (src/chan/chan.c). */
#include "sync/helpers.h"
#include "util/alloc.h"

static coop_chan *ch;
static int recv_into[8];
static int recv_op(void *arg) { return coop_chan_recv(ch, &recv_into[(intptr_t)arg]); }
static int send_vals[8];
static int send_op(void *arg) { return coop_chan_send(ch, &send_vals[(intptr_t)arg]); }

static int rendezvous(void *arg) {
    (void)arg;
    CHECK_ERR(coop_chan_new(&ch, sizeof(int), 0), 0);
    CHECK_EQ(coop_chan_cap(ch), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe p = {0};
    send_vals[0] = 42;
    probe_start(&p, &n, send_op, (void *)0, 1); /* blocks: nobody receives */
    coop_sleep(COOP_MS(100));
    CHECK(!p.finished);
    CHECK_EQ(coop_chan_len(ch), 0);
    int v = 0;
    CHECK_ERR(coop_chan_recv(ch, &v), 0);
    CHECK_EQ(v, 42);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(p.result, 0);
    /* And the receiver first: it waits until the send. */
    coop_nursery_open(&n, COOP_NEVER);
    probe q = {0};
    probe_start(&q, &n, recv_op, (void *)0, 1);
    int w = 7;
    CHECK_ERR(coop_chan_send(ch, &w), 0);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(q.result, 0);
    CHECK_EQ(recv_into[0], 7);
    coop_chan_free(ch);
    return 0;
}
TEST(chan_unbuffered_send_waits_for_a_receiver) { CHECK_ERR(test_run(rendezvous, NULL), 0); }

static int buffered(void *arg) {
    (void)arg;
    CHECK_ERR(coop_chan_new(&ch, sizeof(int), 3), 0);
    for (int i = 0; i < 3; i++) CHECK_ERR(coop_chan_send(ch, &i), 0);
    CHECK_EQ(coop_chan_len(ch), 3);
    int four = 3;
    CHECK_ERR(coop_chan_try_send(ch, &four), -EAGAIN);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe p = {0};
    send_vals[0] = 3;
    probe_start(&p, &n, send_op, (void *)0, 1); /* full: blocks */
    for (int i = 0; i < 4; i++) {
        int v = -1;
        CHECK_ERR(coop_chan_recv(ch, &v), 0);
        CHECK_EQ(v, i); /* send order, the blocked sender's value last */
    }
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(p.result, 0);
    int v;
    CHECK_ERR(coop_chan_try_recv(ch, &v), -EAGAIN);
    coop_chan_free(ch);
    return 0;
}
TEST(chan_buffered_delivers_in_order_and_blocks_when_full) { CHECK_ERR(test_run(buffered, NULL), 0); }

static int close_drains(void *arg) {
    (void)arg;
    CHECK_ERR(coop_chan_new(&ch, sizeof(int), 4), 0);
    for (int i = 0; i < 2; i++) CHECK_ERR(coop_chan_send(ch, &i), 0);
    coop_chan_close(ch);
    coop_chan_close(ch); /* idempotent */
    CHECK_EQ(coop_chan_closed(ch), 1);
    int v = 9;
    CHECK_ERR(coop_chan_send(ch, &v), -EPIPE);
    CHECK_ERR(coop_chan_try_send(ch, &v), -EPIPE);
    for (int i = 0; i < 2; i++) {
        CHECK_ERR(coop_chan_recv(ch, &v), 0);
        CHECK_EQ(v, i);
    }
    v = 9;
    CHECK_ERR(coop_chan_recv(ch, &v), -EPIPE);
    CHECK_ERR(coop_chan_try_recv(ch, &v), -EPIPE);
    CHECK_EQ(v, 9); /* untouched */
    coop_chan_free(ch);
    return 0;
}
TEST(chan_close_lets_receivers_drain_then_epipe) { CHECK_ERR(test_run(close_drains, NULL), 0); }

static int close_wakes(void *arg) {
    (void)arg;
    CHECK_ERR(coop_chan_new(&ch, sizeof(int), 0), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe s = {0}, r1 = {0}, r2 = {0};
    probe_start(&s, &n, send_op, (void *)0, 1);
    coop_chan_close(ch);
    settle();
    CHECK_ERR(s.result, -EPIPE); /* the blocked sender delivered nothing */
    probe_start(&r1, &n, recv_op, (void *)0, 0);
    probe_start(&r2, &n, recv_op, (void *)1, 0);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(r1.result, -EPIPE);
    CHECK_ERR(r2.result, -EPIPE);
    coop_chan_free(ch);
    return 0;
}
TEST(chan_close_wakes_blocked_senders_with_epipe) { CHECK_ERR(test_run(close_wakes, NULL), 0); }

static int close_wakes_receivers(void *arg) {
    (void)arg;
    CHECK_ERR(coop_chan_new(&ch, sizeof(int), 2), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe r = {0};
    probe_start(&r, &n, recv_op, (void *)0, 1);
    coop_chan_close(ch);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(r.result, -EPIPE);
    coop_chan_free(ch);
    return 0;
}
TEST(chan_close_wakes_blocked_receivers_with_epipe) { CHECK_ERR(test_run(close_wakes_receivers, NULL), 0); }

/* Conservation: a cancelled receive consumed nothing, a cancelled send
 * delivered nothing. */
static int cancelled_ops(void *arg) {
    (void)arg;
    CHECK_ERR(coop_chan_new(&ch, sizeof(int), 0), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe r = {.deadline = coop_after(COOP_MS(10))};
    recv_into[0] = -1;
    probe_start(&r, &n, recv_op, (void *)0, 1);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(r.result, -ETIMEDOUT);
    CHECK_EQ(recv_into[0], -1);
    int v = 5;
    CHECK_ERR(coop_chan_try_send(ch, &v), -EAGAIN); /* the receiver is gone */

    coop_nursery_open(&n, COOP_NEVER);
    probe s = {0};
    send_vals[0] = 6;
    probe_start(&s, &n, send_op, (void *)0, 1);
    coop_cancel(s.id);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(s.result, -ECANCELED);
    CHECK_ERR(coop_chan_try_recv(ch, &v), -EAGAIN); /* nothing was delivered */
    coop_chan_free(ch);
    return 0;
}
TEST(chan_cancelled_send_and_recv_have_no_effect) { CHECK_ERR(test_run(cancelled_ops, NULL), 0); }

/* The race: a send completes into a parked receiver, and the receiver's
 * scope is cancelled in the same turn. The value stands: received once. */
static int send_then_cancel(void *arg) {
    (void)arg;
    CHECK_ERR(coop_chan_new(&ch, sizeof(int), 0), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe r = {0};
    probe_start(&r, &n, recv_op, (void *)0, 1);
    int v = 11;
    CHECK_ERR(coop_chan_try_send(ch, &v), 0);
    coop_scope_cancel(&r.scope);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(r.result, 0);
    CHECK_EQ(recv_into[0], 11);
    /* The reverse: the sender is parked, a receive takes its value and the
     * sender is cancelled in the same turn: the send reports success. */
    coop_nursery_open(&n, COOP_NEVER);
    probe s = {0};
    send_vals[0] = 12;
    probe_start(&s, &n, send_op, (void *)0, 1);
    CHECK_ERR(coop_chan_try_recv(ch, &v), 0);
    coop_scope_cancel(&s.scope);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(s.result, 0);
    CHECK_EQ(v, 12);
    coop_chan_free(ch);
    return 0;
}
TEST(chan_hand_off_then_cancel_keeps_the_value) { CHECK_ERR(test_run(send_then_cancel, NULL), 0); }

static int cancelled_first(void *arg) {
    (void)arg;
    CHECK_ERR(coop_chan_new(&ch, sizeof(int), 0), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe a = {0}, b = {0};
    probe_start(&a, &n, recv_op, (void *)0, 1);
    probe_start(&b, &n, recv_op, (void *)1, 1);
    coop_scope_cancel(&a.scope);
    int v = 13;
    CHECK_ERR(coop_chan_try_send(ch, &v), 0); /* goes to b */
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(a.result, -ECANCELED);
    CHECK_ERR(b.result, 0);
    CHECK_EQ(recv_into[1], 13);
    coop_chan_free(ch);
    return 0;
}
TEST(chan_cancel_then_send_goes_to_the_next_receiver) { CHECK_ERR(test_run(cancelled_first, NULL), 0); }

typedef struct big {
    char name[20];
    double x;
    long n;
} big;
static int copies(void *arg) {
    (void)arg;
    CHECK_ERR(coop_chan_new(&ch, sizeof(big), 1), 0);
    big b = {"hello", 2.5, 77};
    CHECK_ERR(coop_chan_send(ch, &b), 0);
    memset(&b, 0, sizeof b); /* the channel holds a copy */
    big out;
    CHECK_ERR(coop_chan_recv(ch, &out), 0);
    CHECK_STR(out.name, "hello");
    CHECK(out.x == 2.5 && out.n == 77);
    coop_chan_free(ch);
    return 0;
}
TEST(chan_values_are_copied) { CHECK_ERR(test_run(copies, NULL), 0); }

TEST(chan_new_rejects_bad_sizes) {
    CHECK_ERR(coop_chan_new(&ch, 0, 1), -EINVAL);
    CHECK_ERR(coop_chan_new(&ch, SIZE_MAX / 2, 4), -ENOMEM);
}

TEST(chan_new_fails_cleanly_without_memory) {
    for (long k = 1; k <= 2; k++) {
        coop__alloc_fail_at(k);
        CHECK_ERR(coop_chan_new(&ch, 8, 4), -ENOMEM);
    }
    coop__alloc_fail_at(0);
}

static int free_waited(void *arg) {
    (void)arg;
    coop_chan_new(&ch, sizeof(int), 0);
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "receiver", recv_op, (void *)0));
    wait_parked(t);
    coop_chan_free(ch);
    return 0;
}
static void free_with_waiter(void) { test_run(free_waited, NULL); }
TEST(chan_free_with_waiters_aborts) {
    expect_abort(free_with_waiter, "coop_chan_free: 1 task(s) still wait");
}

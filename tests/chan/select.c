/* Tests of coop_chan_select (src/chan/select.c). */
#include "sync/helpers.h"

static coop_chan *a, *b;

static int sender_a(void *arg) {
    int v = (int)(intptr_t)arg;
    return coop_chan_send(a, &v);
}
static int sender_b(void *arg) {
    int v = (int)(intptr_t)arg;
    return coop_chan_send(b, &v);
}

static void make(size_t cap) {
    CHECK_ERR(coop_chan_new(&a, sizeof(int), cap), 0);
    CHECK_ERR(coop_chan_new(&b, sizeof(int), cap), 0);
}
static void unmake(void) {
    coop_chan_free(a);
    coop_chan_free(b);
}

static int first_ready(void *arg) {
    (void)arg;
    make(1);
    int one = 1, two = 2, x = 0, y = 0;
    CHECK_ERR(coop_chan_send(a, &one), 0);
    CHECK_ERR(coop_chan_send(b, &two), 0);
    coop_chan_case c[2] = {coop_chan_case_recv(a, &x), coop_chan_case_recv(b, &y)};
    CHECK_ERR(coop_chan_select(c, 2, COOP_NEVER), 0); /* both ready: array order */
    CHECK_EQ(x, 1);
    CHECK_EQ(c[0].result, 0);
    CHECK_EQ(y, 0);
    CHECK_EQ(coop_chan_len(b), 1); /* the other case had no effect */
    CHECK_ERR(coop_chan_select(c, 2, COOP_NEVER), 1);
    CHECK_EQ(y, 2);
    unmake();
    return 0;
}
TEST(select_takes_the_first_ready_case_in_order) { CHECK_ERR(test_run(first_ready, NULL), 0); }

static int waits(void *arg) {
    (void)arg;
    make(0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    CHECK_OK(coop_nursery_spawn(&n, NULL, "b", sender_b, (void *)7));
    int x = 0, y = 0;
    coop_chan_case c[2] = {coop_chan_case_recv(a, &x), coop_chan_case_recv(b, &y)};
    CHECK_ERR(coop_chan_select(c, 2, COOP_NEVER), 1);
    CHECK_EQ(y, 7);
    CHECK_OK(coop_nursery_close(&n));
    /* The losing case was unlinked: a has no receiver left. */
    int v = 1;
    CHECK_ERR(coop_chan_try_send(a, &v), -EAGAIN);
    unmake();
    return 0;
}
TEST(select_waits_for_the_first_case_that_can_happen) { CHECK_ERR(test_run(waits, NULL), 0); }

static int exactly_one(void *arg) {
    (void)arg;
    make(0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    int x = 0, y = 0;
    coop_chan_case c[2] = {coop_chan_case_recv(a, &x), coop_chan_case_recv(b, &y)};
    coop_task_id sa, sb;
    /* Both senders become ready in the same turn; only one case happens. */
    CHECK_OK(coop_nursery_spawn(&n, &sa, "a", sender_a, (void *)1));
    CHECK_OK(coop_nursery_spawn(&n, &sb, "b", sender_b, (void *)2));
    CHECK_ERR(coop_chan_select(c, 2, COOP_NEVER), 0);
    CHECK_EQ(x, 1);
    CHECK_EQ(y, 0);
    CHECK_EQ(coop_task_state(sb), COOP_TASK_PARKED); /* b's send still waits */
    int v;
    CHECK_ERR(coop_chan_recv(b, &v), 0);
    CHECK_EQ(v, 2);
    CHECK_OK(coop_nursery_close(&n));
    unmake();
    return 0;
}
TEST(select_performs_exactly_one_case) { CHECK_ERR(test_run(exactly_one, NULL), 0); }

static int got_b;
static int recv_b(void *arg) {
    (void)arg;
    return coop_chan_recv(b, &got_b);
}

static int send_case(void *arg) {
    (void)arg;
    make(0);
    int x = 0, out = 5;
    coop_chan_case c[2] = {coop_chan_case_recv(a, &x), coop_chan_case_send(b, &out)};
    CHECK_ERR(coop_chan_try_select(c, 2), -EAGAIN); /* the default */
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe r = {0};
    probe_start(&r, &n, recv_b, NULL, 1);
    CHECK_ERR(coop_chan_try_select(c, 2), 1);
    CHECK_EQ(c[1].result, 0);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_EQ(got_b, 5);
    unmake();
    return 0;
}
TEST(select_send_case_and_non_blocking_default) { CHECK_ERR(test_run(send_case, NULL), 0); }

static int deadline(void *arg) {
    (void)arg;
    make(0);
    int x = 0, out = 5;
    coop_chan_case c[2] = {coop_chan_case_recv(a, &x), coop_chan_case_send(b, &out)};
    int64_t t0 = coop_now();
    CHECK_ERR(coop_chan_select(c, 2, t0 + COOP_MS(40)), -ETIMEDOUT);
    CHECK(coop_now() - t0 >= COOP_MS(40));
    CHECK_ERR(coop_chan_select(c, 2, t0), -ETIMEDOUT); /* already passed */
    /* Nothing was left behind: neither channel has a waiter. */
    int v = 1;
    CHECK_ERR(coop_chan_try_send(a, &v), -EAGAIN);
    CHECK_ERR(coop_chan_try_recv(b, &v), -EAGAIN);
    CHECK_ERR(coop_cancelled(), 0); /* the deadline scope did not leak out */
    unmake();
    return 0;
}
TEST(select_deadline_passes_with_no_effect) { CHECK_ERR(test_run(deadline, NULL), 0); }

static int cancelled(void *arg) {
    (void)arg;
    make(0);
    int x = 0;
    coop_chan_case c[1] = {coop_chan_case_recv(a, &x)};
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(5)));
    CHECK_ERR(coop_chan_select(c, 1, COOP_NEVER), -ETIMEDOUT); /* the caller's scope */
    coop_scope_exit(&s);
    coop_scope_enter(&s, COOP_NEVER);
    coop_scope_cancel(&s);
    CHECK_ERR(coop_chan_select(c, 1, COOP_NEVER), -ECANCELED);
    coop_scope_exit(&s);
    unmake();
    return 0;
}
TEST(select_obeys_the_callers_cancel_scope) { CHECK_ERR(test_run(cancelled, NULL), 0); }

static int nil_case(void *arg) {
    (void)arg;
    make(1);
    int x = 0, y = 0, v = 3;
    CHECK_ERR(coop_chan_send(a, &v), 0);
    coop_chan_case c[2] = {coop_chan_case_recv(NULL, &x), coop_chan_case_recv(a, &y)};
    CHECK_ERR(coop_chan_select(c, 2, COOP_NEVER), 1);
    CHECK_EQ(y, 3);
    coop_chan_case off[1] = {coop_chan_case_recv(NULL, &x)};
    CHECK_ERR(coop_chan_select(off, 1, coop_after(COOP_MS(5))), -ETIMEDOUT);
    unmake();
    return 0;
}
TEST(select_case_on_a_null_channel_is_off) { CHECK_ERR(test_run(nil_case, NULL), 0); }

static int sel_x, sel_index;
static coop_chan_case sel_cases[2];
static int select_blocked(void *arg) {
    (void)arg;
    sel_cases[0] = coop_chan_case_recv(a, &sel_x);
    sel_cases[1] = coop_chan_case_recv(b, &sel_x);
    sel_index = coop_chan_select(sel_cases, 2, COOP_NEVER);
    return 0;
}

static int closed(void *arg) {
    (void)arg;
    make(0);
    int x = 0, v = 1;
    coop_chan_close(a);
    coop_chan_case c[2] = {coop_chan_case_recv(b, &x), coop_chan_case_recv(a, &x)};
    CHECK_ERR(coop_chan_select(c, 2, COOP_NEVER), 1);
    CHECK_ERR(c[1].result, -EPIPE);
    coop_chan_case s[1] = {coop_chan_case_send(a, &v)};
    CHECK_ERR(coop_chan_try_select(s, 1), 0);
    CHECK_ERR(s[0].result, -EPIPE);
    unmake();
    /* A select blocked on two channels wakes when one of them closes. */
    make(0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    coop_task_id t;
    CHECK_OK(coop_nursery_spawn(&n, &t, "select", select_blocked, NULL));
    wait_parked(t);
    coop_chan_close(b);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(sel_index, 1);
    CHECK_ERR(sel_cases[1].result, -EPIPE);
    CHECK_ERR(coop_chan_try_send(a, &v), -EAGAIN); /* a's case was unlinked */
    unmake();
    return 0;
}
TEST(select_on_a_closed_channel_reports_epipe) { CHECK_ERR(test_run(closed, NULL), 0); }

static int ends(void *arg) {
    (void)arg;
    make(1);
    coop_chan_tx tx;
    coop_chan_rx rx;
    coop_chan_tx_open(&tx, a);
    coop_chan_rx_open(&rx, a);
    int v = 4, x = 0;
    coop_chan_case c[1] = {coop_chan_case_tx(&tx, &v)};
    CHECK_ERR(coop_chan_select(c, 1, COOP_NEVER), 0);
    coop_chan_case d[1] = {coop_chan_case_rx(&rx, &x)};
    CHECK_ERR(coop_chan_select(d, 1, COOP_NEVER), 0);
    CHECK_EQ(x, 4);
    coop_chan_rx_close(&rx);
    CHECK_ERR(coop_chan_select(d, 1, COOP_NEVER), 0);
    CHECK_ERR(d[0].result, -EBADF);
    coop_chan_tx_close(&tx);
    unmake();
    return 0;
}
TEST(select_through_ends_and_closed_end_is_ebadf) { CHECK_ERR(test_run(ends, NULL), 0); }

static int bad(void *arg) {
    (void)arg;
    make(0);
    int x;
    coop_chan_case c[1] = {coop_chan_case_recv(a, &x)};
    c[0].op = 99;
    CHECK_ERR(coop_chan_select(c, 1, COOP_NEVER), -EINVAL);
    CHECK_ERR(coop_chan_try_select(c, 1), -EINVAL);
    unmake();
    return 0;
}
TEST(select_with_a_bad_case_is_einval) { CHECK_ERR(test_run(bad, NULL), 0); }

/* A select with a send and a receive case on the same unbuffered channel,
 * blocked: a partner matches one of them, and the other is withdrawn. */
static int both_ways(void *arg) {
    (void)arg;
    make(0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe r = {0};
    got_b = 0;
    int out = 9, in = 0;
    /* The select waits on a (both directions) while a receiver on b waits. */
    coop_chan_case c[2] = {coop_chan_case_send(a, &out), coop_chan_case_recv(a, &in)};
    CHECK_OK(coop_nursery_spawn(&n, &r.id, "sender", sender_a, (void *)4));
    CHECK_ERR(coop_chan_select(c, 2, COOP_NEVER), 1); /* the sender matched the receive case */
    CHECK_EQ(in, 4);
    CHECK_OK(coop_nursery_close(&n));
    int v;
    CHECK_ERR(coop_chan_try_recv(a, &v), -EAGAIN); /* the send case was withdrawn */
    unmake();
    return 0;
}
TEST(select_send_and_receive_on_one_channel_performs_one) { CHECK_ERR(test_run(both_ways, NULL), 0); }

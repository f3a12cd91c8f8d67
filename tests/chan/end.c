/* Tests of trio-style send/receive ends (src/chan/end.c). */
#include "sync/helpers.h"

static coop_chan *ch;
static coop_chan_tx tx, tx2;
static coop_chan_rx rx, rx2;
static int out;
static int rx_recv_op(void *arg) { return coop_chan_rx_recv(arg, &out); }
static int val = 5;
static int tx_send_op(void *arg) { return coop_chan_tx_send(arg, &val); }

static int last_tx_closes(void *arg) {
    (void)arg;
    CHECK_ERR(coop_chan_new(&ch, sizeof(int), 2), 0);
    coop_chan_tx_open(&tx, ch);
    coop_chan_rx_open(&rx, ch);
    CHECK_ERR(coop_chan_tx_clone(&tx2, &tx), 0);
    int v = 1;
    CHECK_ERR(coop_chan_tx_send(&tx, &v), 0);
    coop_chan_tx_close(&tx);
    coop_chan_tx_close(&tx); /* idempotent */
    CHECK_EQ(coop_chan_closed(ch), 0); /* tx2 is still open */
    v = 2;
    CHECK_ERR(coop_chan_tx_send(&tx2, &v), 0);
    coop_chan_tx_close(&tx2);
    CHECK_EQ(coop_chan_closed(ch), 1);
    for (int i = 1; i <= 2; i++) {
        CHECK_ERR(coop_chan_rx_recv(&rx, &v), 0);
        CHECK_EQ(v, i);
    }
    CHECK_ERR(coop_chan_rx_recv(&rx, &v), -EPIPE);
    coop_chan_rx_close(&rx);
    coop_chan_free(ch);
    return 0;
}
TEST(chan_end_last_send_end_closing_closes_the_channel) { CHECK_ERR(test_run(last_tx_closes, NULL), 0); }

static int all_rx_closed(void *arg) {
    (void)arg;
    CHECK_ERR(coop_chan_new(&ch, sizeof(int), 0), 0);
    coop_chan_tx_open(&tx, ch);
    coop_chan_rx_open(&rx, ch);
    CHECK_ERR(coop_chan_rx_clone(&rx2, &rx), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe s = {0};
    probe_start(&s, &n, tx_send_op, &tx, 1);
    coop_chan_rx_close(&rx);
    settle();
    CHECK(!s.finished); /* rx2 could still receive */
    coop_chan_rx_close(&rx2);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(s.result, -EPIPE);
    CHECK_ERR(coop_chan_tx_send(&tx, &val), -EPIPE);
    CHECK_ERR(coop_chan_tx_try_send(&tx, &val), -EPIPE);
    coop_chan_tx_close(&tx);
    coop_chan_free(ch);
    return 0;
}
TEST(chan_end_all_receive_ends_closed_makes_send_epipe) { CHECK_ERR(test_run(all_rx_closed, NULL), 0); }

static int closed_end(void *arg) {
    (void)arg;
    CHECK_ERR(coop_chan_new(&ch, sizeof(int), 1), 0);
    coop_chan_tx_open(&tx, ch);
    coop_chan_rx_open(&rx, ch);
    coop_chan_rx_open(&rx2, ch);
    coop_chan_tx_open(&tx2, ch);
    coop_chan_tx_close(&tx);
    coop_chan_rx_close(&rx);
    int v = 0;
    CHECK_ERR(coop_chan_tx_send(&tx, &v), -EBADF);
    CHECK_ERR(coop_chan_tx_try_send(&tx, &v), -EBADF);
    CHECK_ERR(coop_chan_rx_recv(&rx, &v), -EBADF);
    CHECK_ERR(coop_chan_rx_try_recv(&rx, &v), -EBADF);
    coop_chan_tx tx3;
    coop_chan_rx rx3;
    CHECK_ERR(coop_chan_tx_clone(&tx3, &tx), -EBADF);
    CHECK_ERR(coop_chan_rx_clone(&rx3, &rx), -EBADF);
    coop_chan_tx_close(&tx2);
    coop_chan_rx_close(&rx2);
    coop_chan_free(ch);
    return 0;
}
TEST(chan_end_use_of_a_closed_end_is_ebadf) { CHECK_ERR(test_run(closed_end, NULL), 0); }

/* Closing an end wakes the tasks blocked through it (and only them). */
static int close_wakes(void *arg) {
    (void)arg;
    CHECK_ERR(coop_chan_new(&ch, sizeof(int), 0), 0);
    coop_chan_rx_open(&rx, ch);
    coop_chan_rx_open(&rx2, ch);
    coop_chan_tx_open(&tx, ch);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe a = {0}, b = {0};
    probe_start(&a, &n, rx_recv_op, &rx, 1);
    probe_start(&b, &n, rx_recv_op, &rx2, 1);
    coop_chan_rx_close(&rx);
    settle();
    CHECK_ERR(a.result, -EBADF);
    CHECK(!b.finished);
    int v = 21;
    CHECK_ERR(coop_chan_tx_send(&tx, &v), 0);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(b.result, 0);
    CHECK_EQ(out, 21);
    coop_chan_rx_close(&rx2);
    coop_chan_tx_close(&tx);
    coop_chan_free(ch);
    return 0;
}
TEST(chan_end_close_wakes_tasks_blocked_through_it_with_ebadf) { CHECK_ERR(test_run(close_wakes, NULL), 0); }

static void free_open(void) {
    coop_chan_new(&ch, sizeof(int), 0);
    coop_chan_tx_open(&tx, ch);
    coop_chan_free(ch);
}
TEST(chan_end_free_with_open_ends_aborts) {
    expect_abort(free_open, "coop_chan_free: 1 send end(s) and 0 receive end(s) still open");
}

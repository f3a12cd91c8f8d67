/*
 * chan_random.c — seeded random stress of channels, ends, select and
 * queues: producers send uniquely numbered messages through random means
 * (send, send through a cloned end, try_send, select over two channels,
 * queue put), consumers receive through random means, many operations run
 * inside scopes with random deadlines, and a chaos task cancels random
 * operations at random moments (often in the same turn as the hand-off).
 * At the end every message is accounted for exactly: received exactly once
 * if and only if its send reported success.
 */
#include "stress/stress.h"

#define PRODUCERS 16
#define CONSUMERS 6
#define PER_PRODUCER 600
#define NMSG (PRODUCERS * PER_PRODUCER)

static coop_chan *unbuf, *buf; /* capacity 0 and 4 */
static coop_chan_tx unbuf_tx;  /* cloned by each producer that uses it */
static coop_queue *queue;
static unsigned char sent_ok[NMSG];  /* the send of message i reported 0 */
static unsigned char received[NMSG]; /* times message i was received */
static coop_scope *op_scope[PRODUCERS + CONSUMERS];
static long cancels, timeouts;
static int stop_chaos, queue_done;

static void note(int r) {
    if (r == -ECANCELED) cancels++;
    if (r == -ETIMEDOUT) timeouts++;
}

static void enter(coop_scope *s, int slot) {
    coop_scope_enter(s, stress_rand(3) == 0 ? coop_after(COOP_USEC(stress_rand(100))) : COOP_NEVER);
    op_scope[slot] = s;
}
static void leave(coop_scope *s, int slot) {
    op_scope[slot] = NULL;
    coop_scope_exit(s);
}

static int producer(void *arg) {
    int id = (int)(intptr_t)arg;
    coop_chan_tx tx;
    CHECK_ERR(coop_chan_tx_clone(&tx, &unbuf_tx), 0);
    for (int k = 0; k < PER_PRODUCER; k++) {
        int msg = id * PER_PRODUCER + k, r;
        coop_scope s;
        enter(&s, id);
        switch (stress_rand(6)) {
        case 0: r = coop_chan_send(unbuf, &msg); break;
        case 1: r = coop_chan_tx_send(&tx, &msg); break;
        case 2: r = coop_chan_send(buf, &msg); break;
        case 3: r = coop_chan_try_send(buf, &msg); break;
        case 4: {
            coop_chan_case c[2] = {coop_chan_case_send(unbuf, &msg), coop_chan_case_send(buf, &msg)};
            r = coop_chan_select(c, 2, stress_rand(2) ? coop_after(COOP_USEC(stress_rand(50))) : COOP_NEVER);
            if (r >= 0) r = c[r].result;
            break;
        }
        default: r = coop_queue_put(queue, &msg); break;
        }
        leave(&s, id);
        note(r);
        CHECK(r == 0 || r == -ECANCELED || r == -ETIMEDOUT || r == -EAGAIN);
        if (r == 0) sent_ok[msg]++;
    }
    coop_chan_tx_close(&tx);
    return 0;
}

static void got(int msg) {
    CHECK(msg >= 0 && msg < NMSG);
    received[msg]++;
}

/* Receive until both channels are closed and drained and the queue is
 * finished. */
static int consumer(void *arg) {
    int slot = PRODUCERS + (int)(intptr_t)arg;
    int unbuf_open = 1, buf_open = 1;
    while (unbuf_open || buf_open || !queue_done || coop_queue_size(queue)) {
        int msg = -1, r;
        coop_scope s;
        enter(&s, slot);
        unsigned how = stress_rand(5);
        if (how == 0 && unbuf_open) {
            r = coop_chan_recv(unbuf, &msg);
            if (r == -EPIPE) unbuf_open = 0;
        } else if (how == 1 && buf_open) {
            r = coop_chan_try_recv(buf, &msg);
            if (r == -EPIPE) buf_open = 0;
        } else if (how == 2) {
            r = coop_queue_try_get(queue, &msg);
        } else {
            coop_chan_case c[2] = {coop_chan_case_recv(unbuf_open ? unbuf : NULL, &msg),
                                   coop_chan_case_recv(buf_open ? buf : NULL, &msg)};
            r = coop_chan_select(c, 2, coop_after(COOP_USEC(stress_rand(80))));
            if (r >= 0) {
                if (c[r].result == -EPIPE) *(r == 0 ? &unbuf_open : &buf_open) = 0;
                r = c[r].result;
            }
        }
        leave(&s, slot);
        note(r);
        if (r == 0) {
            got(msg);
            if (how == 2) CHECK_ERR(coop_queue_task_done(queue), 0);
        } else {
            CHECK_EQ(msg, -1); /* a failed receive wrote nothing */
            if (how == 2 || r == -EAGAIN) coop_yield();
        }
    }
    return 0;
}

static int chaos(void *arg) {
    (void)arg;
    while (!stop_chaos) {
        coop_scope *s = op_scope[stress_rand(PRODUCERS + CONSUMERS)];
        if (s) coop_scope_cancel(s);
        /* Yields, not sleeps: on the virtual clock time stands still while
         * any task is ready, so a sleeping chaos task would starve. */
        for (unsigned k = stress_rand(3); k > 0; k--) coop_yield();
    }
    return 0;
}

static int body(void *arg) {
    (void)arg;
    CHECK_ERR(coop_chan_new(&unbuf, sizeof(int), 0), 0);
    CHECK_ERR(coop_chan_new(&buf, sizeof(int), 4), 0);
    CHECK_ERR(coop_queue_new(&queue, sizeof(int), 8, COOP_QUEUE_FIFO, NULL), 0);
    coop_chan_tx_open(&unbuf_tx, unbuf);
    coop_nursery all, producers;
    coop_nursery_open(&all, COOP_NEVER);
    CHECK_OK(coop_nursery_spawn(&all, NULL, "chaos", chaos, NULL));
    for (intptr_t i = 0; i < CONSUMERS; i++) CHECK_OK(coop_nursery_spawn(&all, NULL, "consumer", consumer, (void *)i));
    coop_nursery_open(&producers, COOP_NEVER);
    for (intptr_t i = 0; i < PRODUCERS; i++)
        CHECK_OK(coop_nursery_spawn(&producers, NULL, "producer", producer, (void *)i));
    CHECK_OK(coop_nursery_close(&producers));
    stop_chaos = 1;
    /* Close the channels first: a consumer blocked in a receive must be
     * woken (-EPIPE) to go and help drain the queue. */
    coop_chan_tx_close(&unbuf_tx); /* the last send end: closes unbuf */
    CHECK_EQ(coop_chan_closed(unbuf), 1);
    coop_chan_close(buf);
    CHECK_ERR(coop_queue_join(queue), 0); /* every queued message was taken and done */
    queue_done = 1;
    CHECK_OK(coop_nursery_close(&all));
    long ok = 0;
    for (int i = 0; i < NMSG; i++) {
        if (received[i] != sent_ok[i])
            test__fail(__FILE__, __LINE__, "message %d: send reported %s, received %d time(s)", i,
                       sent_ok[i] ? "success" : "failure", received[i]);
        ok += sent_ok[i];
    }
    printf("chan stress: %ld of %d messages delivered exactly once, %ld cancellations, %ld timeouts\n",
           ok, NMSG, cancels, timeouts);
    CHECK(cancels > 0 && timeouts > 0);
    CHECK_EQ(coop_chan_len(buf), 0);
    coop_queue_free(queue);
    coop_chan_free(buf);
    coop_chan_free(unbuf);
    return 0;
}

TEST_TIMEOUT(chan_random_traffic_with_cancellation_conserves_messages, 30) {
    stress_seed("chan_random");
    CHECK_ERR(test_run(body, NULL), 0);
}

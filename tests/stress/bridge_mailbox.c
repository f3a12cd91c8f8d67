/*
 * Stress: four loops on four threads pass 1,000,000 messages in a ring of
 * mailboxes (loop i sends to loop i+1), each loop sending and receiving
 * concurrently in two tasks. Every message is (sender, sequence): each
 * receiver checks that its one sender's sequence arrives complete, in
 * order, without duplicates, and a checksum over all messages must match.
 * A second test crosses coop_run_in_loop calls between the loops.
 * COOP_STRESS_MESSAGES overrides the count; under valgrind or TSan the
 * default is scaled down (they are 20-100x slower), never in a plain run.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include "coop/bridge.h"
#include "test.h"
#if defined(COOP_VALGRIND) && __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

#define LOOPS 4

static long message_count(void) {
    const char *env = getenv("COOP_STRESS_MESSAGES");
    if (env && atol(env) > 0) return atol(env);
#ifdef COOP_TSAN
    return 100000;
#endif
    return RUNNING_ON_VALGRIND ? 20000 : 1000000;
}

typedef struct ring_loop {
    int id;                /* this loop's index */
    long per_loop;         /* messages this loop sends (and receives) */
    coop_mailbox *inbox;   /* messages for this loop */
    coop_mailbox *outbox;  /* the next loop's inbox */
    uint64_t checksum;     /* sum over the received messages' mixed values */
    long received;         /* count of received messages */
    int order_ok;          /* every sequence number arrived once, in order */
} ring_loop;

static uint64_t mix(uint64_t v) {
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdULL;
    v ^= v >> 33;
    return v;
}

static int ring_sender(void *arg) {
    ring_loop *rl = arg;
    for (long i = 0; i < rl->per_loop; i++) {
        uint64_t msg = ((uint64_t)rl->id << 40) | (uint64_t)i;
        int r = coop_mailbox_send(rl->outbox, &msg);
        if (r < 0) return r;
    }
    return 0;
}

static int ring_receiver(void *arg) {
    ring_loop *rl = arg;
    uint64_t from = (uint64_t)((rl->id + LOOPS - 1) % LOOPS);
    rl->order_ok = 1;
    for (long i = 0; i < rl->per_loop; i++) {
        uint64_t msg;
        int r = coop_mailbox_recv(rl->inbox, &msg);
        if (r < 0) return r;
        if (msg >> 40 != from || (msg & ((1ULL << 40) - 1)) != (uint64_t)i) rl->order_ok = 0;
        rl->checksum += mix(msg);
        rl->received++;
    }
    return 0;
}

static int ring_main(void *arg) {
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    coop_nursery_spawn(&n, NULL, "sender", ring_sender, arg);
    coop_nursery_spawn(&n, NULL, "receiver", ring_receiver, arg);
    return coop_nursery_close(&n);
}

static void *ring_thread(void *arg) {
    intptr_t r = coop_run(ring_main, arg);
    return (void *)r;
}

TEST_TIMEOUT(bridge_four_loops_pass_a_million_messages, 30) {
    long total = message_count();
    ring_loop rl[LOOPS];
    memset(rl, 0, sizeof rl);
    for (int i = 0; i < LOOPS; i++) {
        rl[i].id = i;
        rl[i].per_loop = total / LOOPS;
        CHECK_ERR(coop_mailbox_new(&rl[i].inbox, sizeof(uint64_t), 1024), 0);
    }
    uint64_t expect = 0;
    for (int i = 0; i < LOOPS; i++) {
        rl[i].outbox = rl[(i + 1) % LOOPS].inbox;
        for (long k = 0; k < rl[i].per_loop; k++) expect += mix(((uint64_t)i << 40) | (uint64_t)k);
    }
    pthread_t th[LOOPS];
    for (int i = 0; i < LOOPS; i++) CHECK_EQ(pthread_create(&th[i], NULL, ring_thread, &rl[i]), 0);
    uint64_t sum = 0;
    long count = 0;
    for (int i = 0; i < LOOPS; i++) {
        void *r;
        pthread_join(th[i], &r);
        CHECK_ERR((intptr_t)r, 0);
        CHECK(rl[i].order_ok);
        CHECK_EQ(rl[i].received, rl[i].per_loop);
        sum += rl[i].checksum;
        count += rl[i].received;
    }
    CHECK_EQ(count, total / LOOPS * LOOPS);
    CHECK(sum == expect);
    for (int i = 0; i < LOOPS; i++) {
        CHECK_EQ(coop_mailbox_count(rl[i].inbox), 0);
        coop_mailbox_free(rl[i].inbox);
    }
}

/* ---- crossing coop_run_in_loop calls ----------------------------------- */

typedef struct cross {
    coop_loop_thread *threads[LOOPS];
    atomic_long calls;
} cross;

typedef struct hop {
    cross *c;
    int at;      /* the loop this call runs on */
    int left;    /* hops still to make */
} hop;

/* Runs on loop h->at; hands the rest of the chain to the next loop and
 * returns the number of hops made. */
static int hop_fn(void *arg) {
    hop *h = arg;
    atomic_fetch_add(&h->c->calls, 1);
    if (h->left == 0) return 1;
    hop next = {h->c, (h->at + 1) % LOOPS, h->left - 1};
    int r = 0;
    int rc = coop_run_in_loop(coop_loop_thread_loop(h->c->threads[next.at]), hop_fn, &next, &r);
    return rc < 0 ? rc : r + 1;
}

TEST_TIMEOUT(bridge_run_in_loop_chains_across_four_loops, 30) {
    static cross c;
    for (int i = 0; i < LOOPS; i++) CHECK_ERR(coop_loop_thread_start(&c.threads[i], NULL), 0);
    /* 200 chains of 20 hops from this plain thread; each hop waits (as a
     * task) for the next loop's result. */
    int chains = RUNNING_ON_VALGRIND ? 20 : 200;
    for (int k = 0; k < chains; k++) {
        hop h = {&c, k % LOOPS, 19};
        int r = 0;
        CHECK_ERR(coop_run_in_loop(coop_loop_thread_loop(c.threads[h.at]), hop_fn, &h, &r), 0);
        CHECK_EQ(r, 20);
    }
    CHECK_EQ(atomic_load(&c.calls), chains * 20);
    for (int i = 0; i < LOOPS; i++) CHECK_ERR(coop_loop_thread_stop(c.threads[i]), 0);
}

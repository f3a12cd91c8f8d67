/*
 * The seed's transfer examples, as tests. Between two checkpoints a task
 * owns all shared state: concurrent transfers without a checkpoint keep the
 * total; with a checkpoint between reading and writing a balance, another
 * task runs in the window and money is lost — deterministically.
 */
#include "test.h"

typedef struct account {
    long balance;
} account;

static account a, b;
typedef struct transfer_args {
    account *src, *dst;
    long amount;
    int rounds;
} transfer_args;

static int transfer(void *arg) {
    transfer_args *t = arg;
    for (int i = 0; i < t->rounds; i++) {
        long balance = t->src->balance; /* no checkpoint in these lines */
        t->src->balance = balance - t->amount;
        t->dst->balance += t->amount;
        CHECK_OK(coop_yield()); /* checkpoints only between transfers */
    }
    return 0;
}

static int transfer_dangerous(void *arg) {
    transfer_args *t = arg;
    for (int i = 0; i < t->rounds; i++) {
        long balance = t->src->balance;
        CHECK_OK(coop_sleep(0)); /* the await in the middle: another task runs here */
        t->src->balance = balance - t->amount;
        t->dst->balance += t->amount;
    }
    return 0;
}

static int run_transfers(coop_fn fn) {
    a.balance = 1000;
    b.balance = 1000;
    transfer_args ab = {&a, &b, 10, 50}, ba = {&b, &a, 7, 50};
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    CHECK_OK(coop_nursery_spawn(&n, NULL, "a->b", fn, &ab));
    CHECK_OK(coop_nursery_spawn(&n, NULL, "b->a", fn, &ba));
    CHECK_OK(coop_nursery_spawn(&n, NULL, "a->b again", fn, &ab));
    return coop_nursery_close(&n);
}

static int safe_body(void *arg) {
    (void)arg;
    return run_transfers(transfer);
}
static int dangerous_body(void *arg) {
    (void)arg;
    return run_transfers(transfer_dangerous);
}

TEST(transfer_without_checkpoint_keeps_total) {
    CHECK_EQ(test_run(safe_body, NULL), 0);
    CHECK_EQ(a.balance + b.balance, 2000);
    CHECK_EQ(a.balance, 1000 - 2 * 50 * 10 + 50 * 7);
}

TEST(transfer_with_checkpoint_in_the_middle_loses_money) {
    CHECK_EQ(test_run(dangerous_body, NULL), 0);
    long total = a.balance + b.balance;
    CHECK(total != 2000);
    /* Deterministic: the same interleaving, the same loss, every run. */
    long first = total;
    CHECK_EQ(test_run(dangerous_body, NULL), 0);
    CHECK_EQ(a.balance + b.balance, first);
}

/*
 * Tests of atomic sections (coop_atomic_begin/end, implemented by the
 * scheduler): code between checkpoints is atomic only if nothing in it
 * suspends; a section turns a checkpoint inside it into an abort whose
 * message names the task, the section and the call. Each violation runs in
 * a forked child; the test checks SIGABRT and the message.
 */
#include "expect_abort.h"
#include <stdint.h>

typedef struct loop_run {
    coop_fn fn; /* the main task */
    void *arg;  /* its argument */
} loop_run;

static void run_loop(void *arg) {
    loop_run *r = arg;
    test_run(r->fn, r->arg);
}

/* Run fn(arg) as the main task of a loop in a child with stderr captured
 * in buf; returns 1 if the child died of SIGABRT. */
static int run_child(coop_fn fn, void *arg, char *buf, size_t size) {
    loop_run r = {fn, arg};
    return expect_abort(run_loop, &r, buf, size);
}

typedef struct account {
    long balance; /* money */
} account;

static account src = {100}, dst = {0};

/* The seed's transfer(): no checkpoint between read and write. */
static void transfer(account *from, account *to, long amount) {
    coop_atomic_begin("transfer");
    long balance = from->balance;
    from->balance = balance - amount;
    to->balance += amount;
    coop_atomic_end();
}

/* The seed's transfer_dangerous(): a checkpoint in the middle. */
static void transfer_dangerous(account *from, account *to, long amount) {
    coop_atomic_begin("transfer_dangerous");
    long balance = from->balance;
    coop_sleep(COOP_MS(1)); /* some_io_operation(): other tasks run here */
    from->balance = balance - amount;
    to->balance += amount;
    coop_atomic_end();
}

static int safe_main(void *arg) {
    (void)arg;
    for (int i = 0; i < 10; i++)
        transfer(&src, &dst, 10);
    CHECK_EQ(src.balance, 0);
    CHECK_EQ(dst.balance, 100);
    return 0;
}

TEST(atomic_section_without_checkpoint_runs_normally) {
    CHECK_OK(test_run(safe_main, NULL));
}

static int dangerous_task(void *arg) {
    (void)arg;
    transfer_dangerous(&src, &dst, 10);
    return 0;
}

static int dangerous_main(void *arg) {
    (void)arg;
    coop_task_id t;
    coop_spawn(&t, "teller-2", dangerous_task, NULL);
    return coop_join(t, NULL);
}

TEST(atomic_section_with_checkpoint_aborts_naming_task_section_and_call) {
    char buf[1024];
    CHECK(run_child(dangerous_main, NULL, buf, sizeof buf));
    CHECK(strstr(buf, "coop: misuse:") != NULL);
    CHECK(strstr(buf, "teller-2") != NULL);
    CHECK(strstr(buf, "transfer_dangerous") != NULL);
    CHECK(strstr(buf, "coop_sleep") != NULL);
}

static int yield_main(void *arg) {
    (void)arg;
    coop_atomic_begin("outer");
    coop_atomic_begin("inner");
    coop_atomic_end();
    coop_yield(); /* still inside "outer" */
    return 0;
}

TEST(atomic_sections_nest_and_yield_inside_aborts) {
    char buf[1024];
    CHECK(run_child(yield_main, NULL, buf, sizeof buf));
    CHECK(strstr(buf, "coop_yield") != NULL);
    CHECK(strstr(buf, "'outer'") != NULL);
    CHECK(strstr(buf, "main") != NULL);
}

static int unbalanced_main(void *arg) {
    (void)arg;
    coop_atomic_end();
    return 0;
}

TEST(atomic_end_without_begin_aborts) {
    char buf[1024];
    CHECK(run_child(unbalanced_main, NULL, buf, sizeof buf));
    CHECK(strstr(buf, "coop_atomic_end without coop_atomic_begin") != NULL);
}

static void begin_outside(void *arg) {
    (void)arg;
    coop_atomic_begin("nowhere");
}

TEST(atomic_begin_outside_a_task_aborts) {
    char buf[512];
    CHECK(expect_abort(begin_outside, NULL, buf, sizeof buf));
    CHECK(strstr(buf, "nowhere") != NULL);
}

/* A generator is part of its consumer's task: resuming one that only
 * yields is fine inside a section (yield is not a checkpoint), but one
 * whose body sleeps trips the section. */
static int counting(coop_gen *g, void *arg, void **ret) {
    (void)ret;
    for (intptr_t i = 0;; i++) {
        if (arg) coop_sleep(COOP_MS(1));
        if (coop_gen_yield(g, (void *)i, NULL) < 0) return 0;
    }
}

static int gen_main(void *arg) {
    coop_gen *g;
    CHECK_OK(coop_gen_new(&g, counting, arg, 0));
    coop_atomic_begin("consume");
    void *v;
    CHECK_ERR(coop_gen_next(g, &v), 0);
    CHECK_ERR(coop_gen_next(g, &v), 0);
    coop_atomic_end();
    CHECK_EQ((intptr_t)v, 1);
    CHECK_OK(coop_gen_free(g));
    return 0;
}

TEST(atomic_section_allows_generator_yields) {
    CHECK_OK(test_run(gen_main, NULL));
}

TEST(atomic_section_catches_a_checkpoint_inside_a_generator_body) {
    char buf[1024];
    CHECK(run_child(gen_main, (void *)1, buf, sizeof buf));
    CHECK(strstr(buf, "'consume'") != NULL && strstr(buf, "coop_sleep") != NULL);
}

/*
 * Tests of greenlets: switching with values, parents receiving results
 * and errors, throw, dead/alive, greenlets that park on the loop, groups,
 * misuse.
 */
#include "expect_abort.h"
#include "util/alloc.h"
#include <stdint.h>

#define V(n) ((void *)(intptr_t)(n))
#define N(p) ((int)(intptr_t)(p))

static coop_greenlet *g1, *g2;
static char trace[64];
static void note(char c) {
    size_t n = strlen(trace);
    trace[n] = c;
    trace[n + 1] = '\0';
}

/* greenlet's documentation example: prints 12, 56, 34 (78 never runs). */
static int test1(void *first, void **ret) {
    (void)first, (void)ret;
    note('a');
    coop_greenlet_switch(g2, NULL, NULL);
    note('b');
    return 0;
}
static int test2(void *first, void **ret) {
    (void)first, (void)ret;
    note('c');
    int r = coop_greenlet_switch(g1, NULL, NULL);
    if (r < 0) return r; /* killed by coop_greenlet_free: COOP_GREENLET_EXIT */
    note('d');
    return 0;
}

TEST(greenlet_switches_resume_where_they_left_and_parent_gets_control) {
    CHECK(coop_greenlet_current() == NULL);
    CHECK_OK(coop_greenlet_new(&g1, test1, NULL, 0));
    CHECK_OK(coop_greenlet_new(&g2, test2, NULL, 0));
    coop_greenlet *root = coop_greenlet_current();
    CHECK(root != NULL);
    CHECK(coop_greenlet_parent(g1) == root);
    CHECK_ERR(coop_greenlet_switch(g1, NULL, NULL), 0);
    CHECK_STR(trace, "acb"); /* g1 finished: control came back to its parent */
    CHECK(coop_greenlet_dead(g1));
    CHECK(!coop_greenlet_dead(g2) && coop_greenlet_started(g2));
    CHECK_OK(coop_greenlet_free(g1));
    CHECK_OK(coop_greenlet_free(g2)); /* killed: 'd' never runs */
    CHECK_STR(trace, "acb");
    CHECK(coop_greenlet_current() == NULL); /* the group is gone */
}

/* Receives first, then doubles every value switched in, forever. */
static int doubler(void *first, void **ret) {
    (void)ret;
    coop_greenlet *parent = coop_greenlet_parent(coop_greenlet_current());
    void *v = first;
    for (;;) {
        int r = coop_greenlet_switch(parent, V(N(v) * 2), &v);
        if (r < 0) return r == COOP_GREENLET_EXIT ? 0 : r;
        if (N(v) < 0) { /* finish with a result */
            *ret = V(-N(v));
            return 0;
        }
    }
}

TEST(greenlet_switch_passes_values_both_ways_and_result_goes_to_parent) {
    coop_greenlet *g;
    CHECK_OK(coop_greenlet_new(&g, doubler, NULL, 0));
    void *v;
    CHECK_ERR(coop_greenlet_switch(g, V(1), &v), 0);
    CHECK_EQ(N(v), 2);
    CHECK_ERR(coop_greenlet_switch(g, V(21), &v), 0);
    CHECK_EQ(N(v), 42);
    CHECK_ERR(coop_greenlet_switch(g, V(-9), &v), 0); /* finishes: its return value */
    CHECK_EQ(N(v), 9);
    CHECK(coop_greenlet_dead(g));
    CHECK_OK(coop_greenlet_free(g));
}

TEST(greenlet_switch_to_self_returns_the_value) {
    coop_greenlet *g;
    CHECK_OK(coop_greenlet_new(&g, doubler, NULL, 0));
    void *v;
    CHECK_ERR(coop_greenlet_switch(coop_greenlet_current(), V(5), &v), 0);
    CHECK_EQ(N(v), 5);
    CHECK_OK(coop_greenlet_free(g));
}

static int failer(void *first, void **ret) {
    (void)first, (void)ret;
    return -EILSEQ;
}

TEST(greenlet_error_goes_to_parents_pending_switch) {
    coop_greenlet *g;
    CHECK_OK(coop_greenlet_new(&g, failer, NULL, 0));
    CHECK_ERR(coop_greenlet_switch(g, NULL, NULL), -EILSEQ);
    CHECK(coop_greenlet_dead(g));
    CHECK_OK(coop_greenlet_free(g));
}

/* A chain: inner's parent is outer. inner finishes into outer, which adds
 * one and finishes into the root. */
static coop_greenlet *inner, *outer;
static int inner_fn(void *first, void **ret) {
    *ret = V(N(first) + 10);
    return 0;
}
static int outer_fn(void *first, void **ret) {
    void *v;
    int r = coop_greenlet_switch(inner, first, &v); /* inner dies: we get its result */
    if (r < 0) return r;
    *ret = V(N(v) + 1);
    return 0;
}

TEST(greenlet_parent_chain_delivers_results_upwards) {
    CHECK_OK(coop_greenlet_new(&outer, outer_fn, NULL, 0));
    CHECK_OK(coop_greenlet_new(&inner, inner_fn, outer, 0));
    CHECK(coop_greenlet_parent(inner) == outer);
    void *v;
    CHECK_ERR(coop_greenlet_switch(outer, V(100), &v), 0);
    CHECK_EQ(N(v), 111);
    CHECK(coop_greenlet_dead(inner) && coop_greenlet_dead(outer));
    CHECK_OK(coop_greenlet_free(outer)); /* memory lives on for inner */
    CHECK_OK(coop_greenlet_free(inner));
}

TEST(greenlet_switch_to_dead_greenlet_goes_to_its_parent) {
    CHECK_OK(coop_greenlet_new(&outer, doubler, NULL, 0));
    CHECK_OK(coop_greenlet_new(&inner, failer, outer, 0));
    void *v;
    CHECK_ERR(coop_greenlet_switch(outer, V(1), &v), 0); /* outer waits on us */
    /* inner dies at once into outer, which receives -EILSEQ and fails back here */
    CHECK_ERR(coop_greenlet_switch(inner, NULL, &v), -EILSEQ);
    CHECK(coop_greenlet_dead(outer));
    CHECK_OK(coop_greenlet_free(inner));
    CHECK_OK(coop_greenlet_free(outer));
}

static int catcher(void *first, void **ret) {
    (void)first;
    coop_greenlet *root = coop_greenlet_parent(coop_greenlet_current());
    int r = coop_greenlet_switch(root, NULL, NULL);
    *ret = V(-r); /* report what was thrown in */
    return 0;
}

TEST(greenlet_throw_is_returned_by_targets_pending_switch) {
    coop_greenlet *g;
    CHECK_OK(coop_greenlet_new(&g, catcher, NULL, 0));
    CHECK_ERR(coop_greenlet_switch(g, NULL, NULL), 0);
    void *v;
    CHECK_ERR(coop_greenlet_throw(g, -ENOLINK, &v), 0);
    CHECK_EQ(N(v), ENOLINK);
    CHECK_ERR(coop_greenlet_throw(g, 3, NULL), -EINVAL);
    CHECK_OK(coop_greenlet_free(g));
}

static int never_runs_flag;
static int marker(void *first, void **ret) {
    (void)first, (void)ret;
    never_runs_flag = 1;
    return 0;
}

TEST(greenlet_throw_into_unstarted_kills_it_and_reaches_parent) {
    coop_greenlet *g;
    CHECK_OK(coop_greenlet_new(&g, marker, NULL, 0));
    CHECK_ERR(coop_greenlet_throw(g, -EIO, NULL), -EIO);
    CHECK(coop_greenlet_dead(g));
    CHECK_EQ(never_runs_flag, 0);
    CHECK_OK(coop_greenlet_free(g));
}

static int cleanup_code;
static int cleaner(void *first, void **ret) {
    (void)first, (void)ret;
    coop_greenlet *root = coop_greenlet_parent(coop_greenlet_current());
    int r = coop_greenlet_switch(root, NULL, NULL);
    cleanup_code = r;
    return r;
}

TEST(greenlet_free_of_live_greenlet_throws_exit_and_runs_cleanup) {
    coop_greenlet *g;
    CHECK_OK(coop_greenlet_new(&g, cleaner, NULL, 0));
    CHECK_ERR(coop_greenlet_switch(g, NULL, NULL), 0);
    CHECK_ERR(coop_greenlet_free(g), 0);
    CHECK_EQ(cleanup_code, COOP_GREENLET_EXIT);
}

static int bouncer(void *first, void **ret) {
    (void)first, (void)ret;
    coop_greenlet *root = coop_greenlet_parent(coop_greenlet_current());
    for (;;)
        coop_greenlet_switch(root, NULL, NULL); /* refuses to die */
    return 0;
}

TEST(greenlet_free_of_greenlet_that_refuses_to_die_is_eproto) {
    coop_greenlet *g;
    CHECK_OK(coop_greenlet_new(&g, bouncer, NULL, 0));
    CHECK_ERR(coop_greenlet_switch(g, NULL, NULL), 0);
    CHECK_ERR(coop_greenlet_free(g), -EPROTO);
}

/* ---- greenlets and the loop -------------------------------------------- */

static int ticks;
static int ticker(void *arg) {
    (void)arg;
    for (int i = 0; i < 4; i++, ticks++)
        coop_sleep(COOP_MS(10));
    return 0;
}

static int sleeper_fn(void *first, void **ret) {
    int64_t t0 = coop_now();
    int r = coop_sleep(N(first) * COOP_MS(1));
    if (r < 0) return r;
    *ret = V((coop_now() - t0) / COOP_MS(1));
    return 0;
}

static int sleep_main(void *arg) {
    (void)arg;
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "ticker", ticker, NULL));
    coop_greenlet *g;
    CHECK_OK(coop_greenlet_new(&g, sleeper_fn, NULL, 0));
    void *v;
    CHECK_ERR(coop_greenlet_switch(g, V(100), &v), 0);
    CHECK_EQ(N(v), 100);
    CHECK_EQ(ticks, 4); /* other tasks ran while the greenlet slept */
    CHECK_OK(coop_greenlet_free(g));
    CHECK_OK(coop_join(t, NULL));
    return 0;
}

TEST(greenlet_calling_coop_sleep_parks_its_task) {
    CHECK_OK(test_run(sleep_main, NULL));
}

static coop_greenlet *foreign;
static int intruder(void *arg) {
    (void)arg;
    CHECK_ERR(coop_greenlet_switch(foreign, NULL, NULL), -EPERM);
    coop_greenlet *mine;
    CHECK_ERR(coop_greenlet_new(&mine, marker, foreign, 0), -EPERM);
    return 0;
}

static int groups_main(void *arg) {
    (void)arg;
    CHECK_OK(coop_greenlet_new(&foreign, doubler, NULL, 0));
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "intruder", intruder, NULL));
    CHECK_OK(coop_join(t, NULL));
    CHECK_OK(coop_greenlet_free(foreign));
    return 0;
}

TEST(greenlet_of_another_task_cannot_be_switched_to) {
    CHECK_OK(test_run(groups_main, NULL));
}

/* A greenlet group rooted in a generator body. */
static int gen_with_greenlets(coop_gen *gen, void *arg, void **ret) {
    (void)arg;
    coop_greenlet *g;
    int r = coop_greenlet_new(&g, doubler, NULL, 0);
    if (r < 0) return r;
    void *v;
    for (int i = 1; i <= 3 && r == 0; i++) {
        r = coop_greenlet_switch(g, V(i), &v);
        if (r == 0) r = coop_gen_yield(gen, v, NULL);
    }
    coop_greenlet_free(g);
    *ret = V(coop_greenlet_current() == NULL);
    return r;
}

TEST(greenlet_group_inside_a_generator_body) {
    coop_gen *gen;
    CHECK_OK(coop_gen_new(&gen, gen_with_greenlets, NULL, 0));
    void *v;
    for (int i = 1; i <= 3; i++) {
        CHECK_ERR(coop_gen_next(gen, &v), 0);
        CHECK_EQ(N(v), 2 * i);
        CHECK(coop_greenlet_current() == NULL); /* the group is the body's */
    }
    CHECK_ERR(coop_gen_next(gen, &v), COOP_GEN_DONE);
    CHECK_EQ(N(v), 1);
    CHECK_OK(coop_gen_free(gen));
}

static int self_freeing(void *first, void **ret) {
    (void)first, (void)ret;
    coop_greenlet_free(coop_greenlet_current());
    return 0;
}

static void run_self_freeing(void *arg) {
    (void)arg;
    coop_greenlet *g;
    coop_greenlet_new(&g, self_freeing, NULL, 0);
    coop_greenlet_switch(g, NULL, NULL);
}

TEST(greenlet_freeing_itself_aborts) {
    char buf[512];
    CHECK(expect_abort(run_self_freeing, NULL, buf, sizeof buf));
    CHECK(strstr(buf, "coop_greenlet_free") && strstr(buf, "running"));
}

TEST(greenlet_new_rejects_bad_arguments) {
    coop_greenlet *g;
    CHECK_ERR(coop_greenlet_new(NULL, marker, NULL, 0), -EINVAL);
    CHECK_ERR(coop_greenlet_new(&g, NULL, NULL, 0), -EINVAL);
    CHECK_ERR(coop_greenlet_switch(NULL, NULL, NULL), -EINVAL);
}

/* Every allocation of coop_greenlet_new (greenlet, stack pool, group root)
 * failing in turn: -ENOMEM or success, and no leak. */
TEST(greenlet_new_survives_allocation_failure_sweep) {
    for (long n = 1; n <= 8; n++) {
        coop_greenlet *g = NULL;
        coop__alloc_fail_at(n);
        int r = coop_greenlet_new(&g, doubler, NULL, 0);
        coop__alloc_fail_at(0);
        if (r == -ENOMEM) {
            CHECK(coop_greenlet_current() == NULL); /* no half-made group */
            continue;
        }
        CHECK_ERR(r, 0);
        void *v;
        CHECK_ERR(coop_greenlet_switch(g, V(4), &v), 0);
        CHECK_EQ(N(v), 8);
        CHECK_OK(coop_greenlet_free(g));
    }
}

/* A dead greenlet's stack is reused by the next one (the pool is LIFO):
 * switches from the new greenlet must not be mistaken for the dead one's. */
static coop_greenlet *relay_to;
static int relay(void *first, void **ret) {
    void *v = first;
    for (;;) {
        int r = coop_greenlet_switch(relay_to, (void *)(intptr_t)(N(v) + 1), &v);
        if (r < 0) return r == COOP_GREENLET_EXIT ? 0 : r;
        if (N(v) >= 100) {
            *ret = v;
            return 0;
        }
    }
}

TEST(greenlet_reused_stack_is_not_mistaken_for_the_dead_owner) {
    for (int round = 0; round < 3; round++) {
        coop_greenlet *a, *b;
        CHECK_OK(coop_greenlet_new(&a, doubler, NULL, 0));
        void *v;
        CHECK_ERR(coop_greenlet_switch(a, V(3), &v), 0);
        CHECK_EQ(N(v), 6);
        CHECK_OK(coop_greenlet_free(a)); /* dies; its stack goes back to the pool */
        CHECK_OK(coop_greenlet_new(&a, relay, NULL, 0));
        CHECK_OK(coop_greenlet_new(&b, doubler, NULL, 0));
        relay_to = coop_greenlet_current(); /* the relay bounces values off the root */
        CHECK_ERR(coop_greenlet_switch(a, V(10), &v), 0);
        CHECK_EQ(N(v), 11);
        CHECK_ERR(coop_greenlet_switch(b, V(21), &v), 0);
        CHECK_EQ(N(v), 42);
        CHECK_ERR(coop_greenlet_switch(a, V(200), &v), 0); /* relay finishes with 200 */
        CHECK_EQ(N(v), 200);
        CHECK_OK(coop_greenlet_free(a));
        CHECK_OK(coop_greenlet_free(b));
    }
}

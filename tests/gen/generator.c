/*
 * Tests of generators: values out and in, throw, close, exhaustion,
 * yield from, bodies that suspend on the loop, misuse.
 */
#include "expect_abort.h"
#include "util/alloc.h"
#include <stdint.h>

#define V(n) ((void *)(intptr_t)(n))
#define N(p) ((int)(intptr_t)(p))

/* Yields 1..*arg, returns 100 + *arg. */
static int count_body(coop_gen *g, void *arg, void **ret) {
    int n = N(arg);
    for (int i = 1; i <= n; i++) {
        int r = coop_gen_yield(g, V(i), NULL);
        if (r < 0) return r;
    }
    *ret = V(100 + n);
    return 0;
}

TEST(gen_yields_values_in_order_then_done_with_return_value) {
    coop_gen *g;
    CHECK_OK(coop_gen_new(&g, count_body, V(3), 0));
    void *v;
    for (int i = 1; i <= 3; i++) {
        CHECK_ERR(coop_gen_next(g, &v), 0);
        CHECK_EQ(N(v), i);
    }
    CHECK(!coop_gen_done(g));
    CHECK_ERR(coop_gen_next(g, &v), COOP_GEN_DONE);
    CHECK_EQ(N(v), 103);
    CHECK(coop_gen_done(g));
    /* like a second StopIteration: done again, without the value */
    v = V(7);
    CHECK_ERR(coop_gen_next(g, &v), COOP_GEN_DONE);
    CHECK(v == NULL);
    CHECK_OK(coop_gen_free(g));
}

/* Running average: x = yield avg. */
static int averager(coop_gen *g, void *arg, void **ret) {
    (void)arg;
    (void)ret;
    long sum = 0, n = 0;
    void *in = NULL;
    for (;;) {
        int r = coop_gen_yield(g, V(n ? sum / n : 0), &in);
        if (r < 0) return r == COOP_GEN_EXIT ? 0 : r;
        sum += N(in);
        n++;
    }
}

TEST(gen_send_delivers_value_to_yield) {
    coop_gen *g;
    CHECK_OK(coop_gen_new(&g, averager, NULL, 0));
    void *v;
    CHECK_ERR(coop_gen_next(g, &v), 0); /* prime it */
    CHECK_ERR(coop_gen_send(g, V(10), &v), 0);
    CHECK_EQ(N(v), 10);
    CHECK_ERR(coop_gen_send(g, V(20), &v), 0);
    CHECK_EQ(N(v), 15);
    CHECK_ERR(coop_gen_close(g), 0);
    CHECK(coop_gen_done(g));
    CHECK_OK(coop_gen_free(g));
}

TEST(gen_send_value_to_unstarted_generator_is_einval) {
    coop_gen *g;
    CHECK_OK(coop_gen_new(&g, averager, NULL, 0));
    CHECK_ERR(coop_gen_send(g, V(1), NULL), -EINVAL);
    CHECK(!coop_gen_done(g));
    CHECK_ERR(coop_gen_next(g, NULL), 0); /* still usable */
    CHECK_OK(coop_gen_free(g));
}

/* Yields 1; on a thrown -EIO yields 42 and then finishes; other errors
 * propagate. */
static int catcher(coop_gen *g, void *arg, void **ret) {
    (void)arg;
    int r = coop_gen_yield(g, V(1), NULL);
    if (r == -EIO) {
        r = coop_gen_yield(g, V(42), NULL);
        if (r < 0) return r;
        *ret = V(7);
        return 0;
    }
    return r < 0 ? r : 0;
}

TEST(gen_throw_is_returned_by_yield_and_body_can_handle_it) {
    coop_gen *g;
    CHECK_OK(coop_gen_new(&g, catcher, NULL, 0));
    void *v;
    CHECK_ERR(coop_gen_next(g, &v), 0);
    CHECK_ERR(coop_gen_throw(g, -EIO, &v), 0);
    CHECK_EQ(N(v), 42);
    CHECK_ERR(coop_gen_next(g, &v), COOP_GEN_DONE);
    CHECK_EQ(N(v), 7);
    CHECK_OK(coop_gen_free(g));
}

TEST(gen_throw_unhandled_propagates_and_finishes) {
    coop_gen *g;
    CHECK_OK(coop_gen_new(&g, catcher, NULL, 0));
    CHECK_ERR(coop_gen_next(g, NULL), 0);
    CHECK_ERR(coop_gen_throw(g, -EBADMSG, NULL), -EBADMSG);
    CHECK(coop_gen_done(g));
    CHECK_ERR(coop_gen_next(g, NULL), COOP_GEN_DONE);
    CHECK_ERR(coop_gen_throw(g, -EIO, NULL), -EIO); /* finished: re-raised */
    CHECK_OK(coop_gen_free(g));
}

static int ran;
static int mark_body(coop_gen *g, void *arg, void **ret) {
    (void)g, (void)arg, (void)ret;
    ran = 1;
    return 0;
}

TEST(gen_throw_before_start_finishes_without_running) {
    coop_gen *g;
    CHECK_OK(coop_gen_new(&g, mark_body, NULL, 0));
    CHECK_ERR(coop_gen_throw(g, -EIO, NULL), -EIO);
    CHECK(coop_gen_done(g));
    CHECK_EQ(ran, 0);
    CHECK_ERR(coop_gen_throw(g, 0, NULL), -EINVAL);
    CHECK_OK(coop_gen_free(g));
}

static int cleaned;
static int cleanup_body(coop_gen *g, void *arg, void **ret) {
    (void)arg, (void)ret;
    int r;
    while ((r = coop_gen_yield(g, NULL, NULL)) == 0) {
    }
    cleaned = r; /* the code close delivered */
    return r;
}

TEST(gen_close_injects_exit_code_and_runs_cleanup) {
    coop_gen *g;
    CHECK_OK(coop_gen_new(&g, cleanup_body, NULL, 0));
    CHECK_ERR(coop_gen_next(g, NULL), 0);
    CHECK_ERR(coop_gen_close(g), 0);
    CHECK_EQ(cleaned, COOP_GEN_EXIT);
    CHECK(coop_gen_done(g));
    CHECK_ERR(coop_gen_close(g), 0); /* idempotent */
    CHECK_OK(coop_gen_free(g));
}

TEST(gen_close_of_unstarted_generator_never_runs_it) {
    coop_gen *g;
    CHECK_OK(coop_gen_new(&g, mark_body, NULL, 0));
    CHECK_ERR(coop_gen_close(g), 0);
    CHECK(coop_gen_done(g));
    CHECK_EQ(ran, 0);
    CHECK_OK(coop_gen_free(g));
}

static int stubborn(coop_gen *g, void *arg, void **ret) {
    (void)arg, (void)ret;
    for (;;)
        coop_gen_yield(g, V(1), NULL); /* ignores the close request */
    return 0;
}

TEST(gen_close_ignored_reports_eproto_and_free_discards) {
    coop_gen *g;
    CHECK_OK(coop_gen_new(&g, stubborn, NULL, 0));
    CHECK_ERR(coop_gen_next(g, NULL), 0);
    CHECK_ERR(coop_gen_close(g), -EPROTO);
    CHECK(!coop_gen_done(g));
    CHECK_ERR(coop_gen_free(g), -EPROTO); /* freed anyway, frames dropped */
}

static int failing_cleanup(coop_gen *g, void *arg, void **ret) {
    (void)arg, (void)ret;
    coop_gen_yield(g, NULL, NULL);
    return -ENOSPC; /* cleanup failed */
}

TEST(gen_close_reports_cleanup_error) {
    coop_gen *g;
    CHECK_OK(coop_gen_new(&g, failing_cleanup, NULL, 0));
    CHECK_ERR(coop_gen_next(g, NULL), 0);
    CHECK_ERR(coop_gen_close(g), -ENOSPC);
    CHECK_OK(coop_gen_free(g));
}

TEST(gen_free_of_suspended_generator_closes_it_first) {
    coop_gen *g;
    cleaned = 0;
    CHECK_OK(coop_gen_new(&g, cleanup_body, NULL, 0));
    CHECK_ERR(coop_gen_next(g, NULL), 0);
    CHECK_ERR(coop_gen_free(g), 0);
    CHECK_EQ(cleaned, COOP_GEN_EXIT);
}

TEST(gen_body_error_is_returned_by_next) {
    coop_gen *g;
    CHECK_OK(coop_gen_new(&g, failing_cleanup, NULL, 0));
    CHECK_ERR(coop_gen_next(g, NULL), 0);
    CHECK_ERR(coop_gen_next(g, NULL), -ENOSPC);
    CHECK(coop_gen_done(g));
    CHECK_OK(coop_gen_free(g));
}

/* ---- yield from --------------------------------------------------------- */

/* Echoes what is sent (first yields 0), returns the count of sends; on a
 * thrown -EIO yields -1 once. */
static int echo_sub(coop_gen *g, void *arg, void **ret) {
    int limit = N(arg), sends = 0;
    void *out = V(0);
    while (sends < limit) {
        void *in = NULL;
        int r = coop_gen_yield(g, out, &in);
        if (r == -EIO) {
            out = V(-1);
            continue;
        }
        if (r < 0) {
            cleaned = r;
            return r;
        }
        out = in;
        sends++;
    }
    *ret = V(sends);
    return 0;
}

static int delegator(coop_gen *g, void *arg, void **ret) {
    coop_gen *sub = arg;
    int r = coop_gen_yield(g, V(1000), NULL);
    if (r < 0) return r;
    void *sub_ret = NULL;
    r = coop_gen_yield_from(g, sub, &sub_ret);
    if (r < 0) return r;
    *ret = V(N(sub_ret) * 10);
    return 0;
}

TEST(gen_yield_from_passes_values_sends_and_return_value) {
    coop_gen *sub, *g;
    CHECK_OK(coop_gen_new(&sub, echo_sub, V(2), 0));
    CHECK_OK(coop_gen_new(&g, delegator, sub, 0));
    void *v;
    CHECK_ERR(coop_gen_next(g, &v), 0);
    CHECK_EQ(N(v), 1000);
    CHECK_ERR(coop_gen_next(g, &v), 0); /* sub's first yield */
    CHECK_EQ(N(v), 0);
    CHECK_ERR(coop_gen_send(g, V(5), &v), 0);
    CHECK_EQ(N(v), 5);
    CHECK_ERR(coop_gen_throw(g, -EIO, &v), 0); /* passed to sub, handled there */
    CHECK_EQ(N(v), -1);
    CHECK_ERR(coop_gen_send(g, V(6), &v), COOP_GEN_DONE);
    CHECK_EQ(N(v), 20); /* sub returned 2 sends; delegator * 10 */
    CHECK(coop_gen_done(sub));
    CHECK_OK(coop_gen_free(g));
    CHECK_OK(coop_gen_free(sub));
}

TEST(gen_yield_from_close_closes_the_sub_generator) {
    coop_gen *sub, *g;
    cleaned = 0;
    CHECK_OK(coop_gen_new(&sub, echo_sub, V(5), 0));
    CHECK_OK(coop_gen_new(&g, delegator, sub, 0));
    CHECK_ERR(coop_gen_next(g, NULL), 0);
    CHECK_ERR(coop_gen_next(g, NULL), 0); /* inside sub now */
    CHECK_ERR(coop_gen_close(g), 0);
    CHECK_EQ(cleaned, COOP_GEN_EXIT);
    CHECK(coop_gen_done(sub));
    CHECK(coop_gen_done(g));
    CHECK_OK(coop_gen_free(g));
    CHECK_OK(coop_gen_free(sub));
}

TEST(gen_yield_from_unhandled_throw_propagates_out_of_both) {
    coop_gen *sub, *g;
    CHECK_OK(coop_gen_new(&sub, echo_sub, V(5), 0));
    CHECK_OK(coop_gen_new(&g, delegator, sub, 0));
    CHECK_ERR(coop_gen_next(g, NULL), 0);
    CHECK_ERR(coop_gen_next(g, NULL), 0);
    CHECK_ERR(coop_gen_throw(g, -ENOTCONN, NULL), -ENOTCONN);
    CHECK(coop_gen_done(sub));
    CHECK(coop_gen_done(g));
    CHECK_OK(coop_gen_free(g));
    CHECK_OK(coop_gen_free(sub));
}

/* ---- bodies that suspend on the loop ------------------------------------ */

static int ticks;
static int ticker(void *arg) {
    (void)arg;
    for (int i = 0; i < 5; i++) {
        ticks++;
        coop_sleep(COOP_MS(10));
    }
    return 0;
}

/* Sleeps 100 ms before each value: an asynchronous generator. */
static int sleepy(coop_gen *g, void *arg, void **ret) {
    (void)arg, (void)ret;
    for (int i = 0; i < 3; i++) {
        int r = coop_sleep(COOP_MS(100));
        if (r < 0) return r;
        r = coop_gen_yield(g, V(coop_now() / COOP_MS(1)), NULL);
        if (r < 0) return r;
    }
    return 0;
}

static int sleepy_main(void *arg) {
    (void)arg;
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "ticker", ticker, NULL));
    coop_gen *g;
    CHECK_OK(coop_gen_new(&g, sleepy, NULL, 0));
    int64_t t0 = coop_now();
    void *v;
    CHECK_ERR(coop_gen_next(g, &v), 0);
    CHECK_EQ(N(v), (t0 + COOP_MS(100)) / COOP_MS(1));
    CHECK_EQ(ticks, 5); /* the loop ran the ticker while the body slept */
    CHECK_ERR(coop_gen_next(g, &v), 0);
    CHECK_ERR(coop_gen_next(g, &v), 0);
    CHECK_EQ(coop_now() - t0, COOP_MS(300));
    CHECK_ERR(coop_gen_next(g, &v), COOP_GEN_DONE);
    CHECK_OK(coop_gen_free(g));
    CHECK_OK(coop_join(t, NULL));
    return 0;
}

TEST(gen_body_that_sleeps_suspends_the_consumer_task) {
    CHECK_OK(test_run(sleepy_main, NULL));
}

static int gen_task_body(void *arg) {
    coop_gen *g = arg;
    void *v;
    int r = coop_gen_next(g, &v);
    return r == 0 ? N(v) : r;
}

static int two_consumers_main(void *arg) {
    (void)arg;
    coop_gen *g;
    CHECK_OK(coop_gen_new(&g, sleepy, NULL, 0));
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "consumer", gen_task_body, g));
    coop_sleep(COOP_MS(50)); /* the consumer is parked inside g */
    CHECK_ERR(coop_gen_next(g, NULL), -EBUSY);
    CHECK_ERR(coop_gen_close(g), -EBUSY);
    CHECK_ERR(coop_gen_yield(g, NULL, NULL), -EPERM); /* not g's body */
    int result;
    CHECK_OK(coop_join(t, &result));
    CHECK_EQ(result, 100);
    /* now suspended at a yield: another task may resume it */
    void *v;
    CHECK_ERR(coop_gen_next(g, &v), 0);
    CHECK_EQ(N(v), 200);
    CHECK_OK(coop_gen_free(g));
    return 0;
}

TEST(gen_parked_inside_one_task_is_busy_for_others) {
    CHECK_OK(test_run(two_consumers_main, NULL));
}

static int cancelled_main(void *arg) {
    (void)arg;
    coop_gen *g;
    CHECK_OK(coop_gen_new(&g, sleepy, NULL, 0));
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(50)));
    int64_t t0 = coop_now();
    CHECK_ERR(coop_gen_next(g, NULL), -ETIMEDOUT); /* the body's sleep was cut short */
    CHECK_EQ(coop_now() - t0, COOP_MS(50));
    CHECK_ERR(coop_scope_exit(&s), -ETIMEDOUT);
    CHECK(coop_gen_done(g));
    CHECK_OK(coop_gen_free(g));
    return 0;
}

TEST(gen_body_sleep_is_cancelled_by_consumer_scope) {
    CHECK_OK(test_run(cancelled_main, NULL));
}

/* ---- misuse ------------------------------------------------------------- */

static int self_resumer(coop_gen *g, void *arg, void **ret) {
    (void)arg, (void)ret;
    int r = coop_gen_next(g, NULL);
    coop_gen_yield(g, V(r), NULL);
    return 0;
}

TEST(gen_resumed_from_its_own_body_is_ebusy) {
    coop_gen *g;
    CHECK_OK(coop_gen_new(&g, self_resumer, NULL, 0));
    void *v;
    CHECK_ERR(coop_gen_next(g, &v), 0);
    CHECK_EQ(N(v), -EBUSY);
    CHECK_OK(coop_gen_free(g));
}

static coop_gen *other_gen;
static int foreign_yielder(coop_gen *g, void *arg, void **ret) {
    (void)arg, (void)ret;
    /* yielding for a generator that is not the one running */
    coop_gen_yield(g, V(coop_gen_yield(other_gen, NULL, NULL)), NULL);
    return 0;
}

TEST(gen_yield_outside_its_body_is_eperm) {
    CHECK_ERR(coop_gen_yield(NULL, NULL, NULL), -EPERM);
    coop_gen *g;
    CHECK_OK(coop_gen_new(&g, foreign_yielder, NULL, 0));
    CHECK_OK(coop_gen_new(&other_gen, count_body, V(1), 0));
    CHECK_ERR(coop_gen_yield(other_gen, NULL, NULL), -EPERM); /* not started, not in it */
    void *v;
    CHECK_ERR(coop_gen_next(g, &v), 0);
    CHECK_EQ(N(v), -EPERM);
    CHECK_OK(coop_gen_free(g));
    CHECK_OK(coop_gen_free(other_gen));
}

static int self_freer(coop_gen *g, void *arg, void **ret) {
    (void)arg, (void)ret;
    coop_gen_free(g);
    return 0;
}

static void free_from_body(void *arg) {
    (void)arg;
    coop_gen *g;
    coop_gen_new(&g, self_freer, NULL, 0);
    coop_gen_next(g, NULL);
}

TEST(gen_free_from_its_own_body_aborts) {
    char buf[512];
    CHECK(expect_abort(free_from_body, NULL, buf, sizeof buf));
    CHECK(strstr(buf, "coop_gen_free") && strstr(buf, "running"));
}

TEST(gen_new_reports_enomem) {
    coop_gen *g = NULL;
    CHECK_ERR(coop_gen_new(&g, count_body, NULL, 0), 0);
    CHECK_OK(coop_gen_free(g)); /* warm: the first pool is gone again */
    coop__alloc_fail_at(1);
    CHECK_ERR(coop_gen_new(&g, count_body, NULL, 0), -ENOMEM);
    coop__alloc_fail_at(0);
    CHECK_ERR(coop_gen_new(NULL, count_body, NULL, 0), -EINVAL);
    CHECK_ERR(coop_gen_new(&g, NULL, NULL, 0), -EINVAL);
}

/* Every allocation of coop_gen_new failing in turn: -ENOMEM or success,
 * never a leak (the harness checks) or a half-made generator. */
TEST(gen_new_survives_allocation_failure_sweep) {
    for (long n = 1; n <= 8; n++) {
        coop_gen *g = NULL;
        coop__alloc_fail_at(n);
        int r = coop_gen_new(&g, count_body, V(2), 0);
        coop__alloc_fail_at(0);
        if (r == -ENOMEM) continue;
        CHECK_ERR(r, 0);
        void *v;
        CHECK_ERR(coop_gen_next(g, &v), 0);
        CHECK_EQ(N(v), 1);
        CHECK_OK(coop_gen_free(g));
    }
}

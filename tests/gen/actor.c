/*
 * Tests of actors: ordered handling, back-pressure, ask with replies and
 * deadlines, failure reported to the supervisor, close and free.
 */
#include "test.h"
#include "util/alloc.h"
#include <stdint.h>

#define V(n) ((void *)(intptr_t)(n))
#define N(p) ((int)(intptr_t)(p))

typedef struct counter {
    int seen[64];  /* messages in the order handled */
    int n;         /* how many */
    int64_t delay; /* each message takes this long */
} counter;

/* Records msg; replies with the running count; msg < 0 fails with it. */
static int count_handler(void *state, void *msg, void **reply) {
    counter *c = state;
    if (c->delay) coop_sleep(c->delay);
    if (N(msg) < 0) return N(msg);
    c->seen[c->n++] = N(msg);
    *reply = V(c->n);
    return N(msg);
}

static coop_actor *make(counter *c, size_t cap) {
    coop_actor_opts o;
    coop_actor_opts_init(&o);
    o.name = "counter";
    o.handler = count_handler;
    o.state = c;
    o.capacity = cap;
    coop_actor *a = NULL;
    CHECK_OK(coop_actor_new(&a, &o));
    return a;
}

static int order_main(void *arg) {
    (void)arg;
    counter c = {0};
    coop_actor *a = make(&c, 4);
    CHECK_STR(coop_actor_name(a), "counter");
    for (int i = 1; i <= 10; i++)
        CHECK_OK(coop_actor_send(a, V(i)));
    CHECK_OK(coop_actor_free(a)); /* close: the queue is drained first */
    CHECK_EQ(c.n, 10);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(c.seen[i], i + 1);
    return 0;
}

TEST(actor_handles_every_message_in_order_and_drains_on_free) {
    CHECK_OK(test_run(order_main, NULL));
}

static int pressure_main(void *arg) {
    (void)arg;
    counter c = {.delay = COOP_MS(10)};
    coop_actor *a = make(&c, 2);
    int64_t t0 = coop_now();
    CHECK_OK(coop_actor_send(a, V(1))); /* taken at once... */
    CHECK_OK(coop_actor_send(a, V(2)));
    CHECK_OK(coop_actor_send(a, V(3)));
    CHECK_EQ(coop_now(), t0);           /* ...no wait while there is room */
    CHECK_OK(coop_actor_send(a, V(4))); /* full: waits for the first to finish */
    CHECK_EQ(coop_now() - t0, COOP_MS(10));
    CHECK_OK(coop_actor_send(a, V(5)));
    CHECK_EQ(coop_now() - t0, COOP_MS(20));
    CHECK_OK(coop_actor_free(a));
    CHECK_EQ(c.n, 5);
    return 0;
}

TEST(actor_send_suspends_while_the_mailbox_is_full) {
    CHECK_OK(test_run(pressure_main, NULL));
}

static int cancelled_send_main(void *arg) {
    (void)arg;
    counter c = {.delay = COOP_MS(10)};
    coop_actor *a = make(&c, 1);
    CHECK_OK(coop_actor_send(a, V(1)));
    CHECK_OK(coop_actor_send(a, V(2))); /* fills the one slot */
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(5)));
    CHECK_ERR(coop_actor_send(a, V(3)), -ETIMEDOUT);
    coop_scope_exit(&s);
    CHECK_OK(coop_actor_free(a));
    CHECK_EQ(c.n, 2); /* 3 was never queued */
    return 0;
}

TEST(actor_send_cancelled_while_blocked_queues_nothing) {
    CHECK_OK(test_run(cancelled_send_main, NULL));
}

static int ask_main(void *arg) {
    (void)arg;
    counter c = {0};
    coop_actor *a = make(&c, 4);
    CHECK_OK(coop_actor_send(a, V(7)));
    void *reply = NULL;
    CHECK_ERR(coop_actor_ask(a, V(8), COOP_NEVER, &reply), 8);
    CHECK_EQ(N(reply), 2);
    CHECK_ERR(coop_actor_ask(a, V(9), coop_after(COOP_SEC(1)), &reply), 9);
    CHECK_EQ(N(reply), 3);
    CHECK_OK(coop_actor_free(a));
    return 0;
}

TEST(actor_ask_returns_the_handlers_result_and_reply) {
    CHECK_OK(test_run(ask_main, NULL));
}

static int ask_queued_timeout_main(void *arg) {
    (void)arg;
    counter c = {.delay = COOP_MS(100)};
    coop_actor *a = make(&c, 4);
    CHECK_OK(coop_actor_send(a, V(1))); /* keeps the actor busy 100 ms */
    int64_t t0 = coop_now();
    void *reply = V(-1);
    CHECK_ERR(coop_actor_ask(a, V(2), coop_after(COOP_MS(30)), &reply), -ETIMEDOUT);
    CHECK_EQ(coop_now() - t0, COOP_MS(30));
    CHECK_EQ(N(reply), -1); /* untouched */
    CHECK_OK(coop_actor_free(a));
    CHECK_EQ(c.n, 1); /* the timed-out request was removed, never handled */
    return 0;
}

TEST(actor_ask_times_out_and_its_queued_message_is_never_handled) {
    CHECK_OK(test_run(ask_queued_timeout_main, NULL));
}

static int ask_handling_timeout_main(void *arg) {
    (void)arg;
    counter c = {.delay = COOP_MS(100)};
    coop_actor *a = make(&c, 4);
    void *reply = V(-1);
    CHECK_ERR(coop_actor_ask(a, V(5), coop_after(COOP_MS(30)), &reply), -ETIMEDOUT);
    CHECK_EQ(N(reply), -1);
    CHECK_OK(coop_actor_free(a)); /* the late reply goes nowhere */
    CHECK_EQ(c.n, 1);
    return 0;
}

TEST(actor_ask_times_out_while_handled_and_the_late_reply_is_dropped) {
    CHECK_OK(test_run(ask_handling_timeout_main, NULL));
}

typedef struct report {
    char name[32]; /* the failed actor's name */
    int err;       /* its error */
    int calls;     /* how many reports */
    int discarded; /* messages discarded */
} report;

static report rep;
static void on_failure(void *sup, const char *name, int err) {
    report *r = sup;
    snprintf(r->name, sizeof r->name, "%s", name);
    r->err = err;
    r->calls++;
}
static void on_discard(void *state, void *msg) {
    (void)state, (void)msg;
    rep.discarded++;
}

static int failure_main(void *arg) {
    (void)arg;
    counter c = {.delay = COOP_MS(1)};
    coop_actor_opts o;
    coop_actor_opts_init(&o);
    o.name = "worker-7";
    o.handler = count_handler;
    o.state = &c;
    o.capacity = 8;
    o.on_failure = on_failure;
    o.supervisor = &rep;
    o.discard = on_discard;
    coop_actor *a;
    CHECK_OK(coop_actor_new(&a, &o));
    CHECK_OK(coop_actor_send(a, V(1)));
    CHECK_OK(coop_actor_send(a, V(-EDOM))); /* kills it */
    CHECK_OK(coop_actor_send(a, V(3)));     /* queued behind: discarded */
    void *reply;
    CHECK_ERR(coop_actor_ask(a, V(4), COOP_NEVER, &reply), -EDOM); /* the askers get the error */
    CHECK_EQ(rep.calls, 1);
    CHECK_STR(rep.name, "worker-7");
    CHECK_EQ(rep.err, -EDOM);
    CHECK_EQ(rep.discarded, 1);
    CHECK_ERR(coop_actor_send(a, V(5)), -EPIPE);
    CHECK_ERR(coop_actor_free(a), -EDOM);
    CHECK_EQ(c.n, 1);
    return 0;
}

TEST(actor_failure_notifies_supervisor_with_name_and_error) {
    CHECK_OK(test_run(failure_main, NULL));
}

static int blocked_sender(void *arg) {
    return coop_actor_send(arg, V(9));
}

static int close_main(void *arg) {
    (void)arg;
    counter c = {.delay = COOP_MS(10)};
    coop_actor *a = make(&c, 1);
    CHECK_OK(coop_actor_send(a, V(1)));
    CHECK_OK(coop_actor_send(a, V(2)));
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "blocked", blocked_sender, a));
    coop_yield(); /* it blocks on the full mailbox */
    coop_actor_close(a);
    int result;
    CHECK_OK(coop_join(t, &result));
    CHECK_ERR(result, -EPIPE);
    CHECK_ERR(coop_actor_send(a, V(3)), -EPIPE);
    CHECK_OK(coop_actor_free(a));
    CHECK_EQ(c.n, 2); /* queued messages were still handled */
    return 0;
}

TEST(actor_close_wakes_blocked_senders_and_drains_the_queue) {
    CHECK_OK(test_run(close_main, NULL));
}

static int misuse_main(void *arg) {
    (void)arg;
    coop_actor_opts o;
    coop_actor_opts_init(&o);
    coop_actor *a;
    CHECK_ERR(coop_actor_new(&a, &o), -EINVAL); /* no handler */
    CHECK_ERR(coop_actor_new(NULL, &o), -EINVAL);
    o.handler = count_handler;
    counter c = {0};
    o.state = &c;
    coop__alloc_fail_at(1);
    CHECK_ERR(coop_actor_new(&a, &o), -ENOMEM);
    coop__alloc_fail_at(2);
    CHECK_ERR(coop_actor_new(&a, &o), -ENOMEM);
    coop__alloc_fail_at(0);
    CHECK_ERR(coop_actor_send(NULL, NULL), -EINVAL);
    return 0;
}

TEST(actor_new_reports_bad_arguments_and_enomem) {
    CHECK_OK(test_run(misuse_main, NULL));
}

TEST(actor_outside_a_loop_is_eperm) {
    coop_actor_opts o;
    coop_actor_opts_init(&o);
    o.handler = count_handler;
    coop_actor *a;
    CHECK_ERR(coop_actor_new(&a, &o), -EPERM);
}

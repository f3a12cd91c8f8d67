/* Tests of coop_queue (src/chan/queue.c). */
#include "sync/helpers.h"
#include "util/alloc.h"

static coop_queue *q;
static int got[8];
static int get_op(void *arg) { return coop_queue_get(q, &got[(intptr_t)arg]); }
static int vals[8];
static int put_op(void *arg) { return coop_queue_put(q, &vals[(intptr_t)arg]); }

static int cmp_int(const void *x, const void *y) {
    int a, b;
    memcpy(&a, x, sizeof a);
    memcpy(&b, y, sizeof b);
    return (a > b) - (a < b);
}

static int fifo(void *arg) {
    (void)arg;
    CHECK_ERR(coop_queue_new(&q, sizeof(int), 0, COOP_QUEUE_FIFO, NULL), 0);
    /* Interleave puts and gets so the ring wraps while it grows. */
    int next_out = 0;
    for (int i = 0; i < 1000; i++) {
        CHECK_ERR(coop_queue_put(q, &i), 0);
        if (i % 3 == 0) {
            int v;
            CHECK_ERR(coop_queue_get(q, &v), 0);
            CHECK_EQ(v, next_out++);
        }
    }
    CHECK_EQ(coop_queue_size(q), 1000 - next_out);
    while (coop_queue_size(q)) {
        int v;
        CHECK_ERR(coop_queue_try_get(q, &v), 0);
        CHECK_EQ(v, next_out++);
    }
    CHECK_EQ(next_out, 1000);
    coop_queue_free(q);
    return 0;
}
TEST(queue_fifo_keeps_order_while_growing) { CHECK_ERR(test_run(fifo, NULL), 0); }

static int bounded_wrap(void *arg) {
    (void)arg;
    /* maxsize 10 is not a power of two: growth 8 -> 10 with a wrapped ring. */
    CHECK_ERR(coop_queue_new(&q, sizeof(int), 10, COOP_QUEUE_FIFO, NULL), 0);
    int v, next_in = 0, next_out = 0;
    for (int i = 0; i < 8; i++, next_in++) CHECK_ERR(coop_queue_try_put(q, &next_in), 0);
    for (int i = 0; i < 5; i++) {
        CHECK_ERR(coop_queue_try_get(q, &v), 0);
        CHECK_EQ(v, next_out++);
    }
    for (int i = 0; i < 7; i++, next_in++) CHECK_ERR(coop_queue_try_put(q, &next_in), 0);
    CHECK_EQ(coop_queue_size(q), 10);
    CHECK_ERR(coop_queue_try_put(q, &next_in), -EAGAIN);
    while (coop_queue_try_get(q, &v) == 0) CHECK_EQ(v, next_out++);
    CHECK_EQ(next_out, next_in);
    CHECK_EQ(coop_queue_maxsize(q), 10);
    coop_queue_free(q);
    return 0;
}
TEST(queue_bounded_ring_grows_to_maxsize_in_order) { CHECK_ERR(test_run(bounded_wrap, NULL), 0); }

static int lifo(void *arg) {
    (void)arg;
    CHECK_ERR(coop_queue_new(&q, sizeof(int), 0, COOP_QUEUE_LIFO, NULL), 0);
    for (int i = 0; i < 20; i++) CHECK_ERR(coop_queue_put(q, &i), 0);
    for (int i = 19; i >= 0; i--) {
        int v;
        CHECK_ERR(coop_queue_get(q, &v), 0);
        CHECK_EQ(v, i);
    }
    coop_queue_free(q);
    return 0;
}
TEST(queue_lifo_returns_the_newest_first) { CHECK_ERR(test_run(lifo, NULL), 0); }

typedef struct job {
    int prio;
    int id;
} job;
static int cmp_job(const void *x, const void *y) { return cmp_int(x, y); /* by prio */ }

static int priority(void *arg) {
    (void)arg;
    CHECK_ERR(coop_queue_new(&q, sizeof(job), 0, COOP_QUEUE_PRIORITY, cmp_job), 0);
    unsigned seed = 12345;
    for (int i = 0; i < 200; i++) {
        seed = seed * 1103515245 + 12345;
        job j = {(int)(seed >> 16) % 10, i};
        CHECK_ERR(coop_queue_put(q, &j), 0);
    }
    job prev = {-1, -1};
    for (int i = 0; i < 200; i++) {
        job j;
        CHECK_ERR(coop_queue_get(q, &j), 0);
        CHECK(j.prio >= prev.prio);
        if (j.prio == prev.prio) CHECK(j.id > prev.id); /* ties: FIFO */
        prev = j;
    }
    coop_queue_free(q);
    return 0;
}
TEST(queue_priority_returns_smallest_first_ties_fifo) { CHECK_ERR(test_run(priority, NULL), 0); }

TEST(queue_new_rejects_bad_arguments) {
    CHECK_ERR(coop_queue_new(&q, 0, 0, COOP_QUEUE_FIFO, NULL), -EINVAL);
    CHECK_ERR(coop_queue_new(&q, 4, 0, 7, NULL), -EINVAL);
    CHECK_ERR(coop_queue_new(&q, 4, 0, COOP_QUEUE_PRIORITY, NULL), -EINVAL);
}

static int waits(void *arg) {
    (void)arg;
    CHECK_ERR(coop_queue_new(&q, sizeof(int), 1, COOP_QUEUE_FIFO, NULL), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe g = {0};
    probe_start(&g, &n, get_op, (void *)0, 1); /* empty: waits */
    int v = 31;
    CHECK_ERR(coop_queue_put(q, &v), 0); /* straight to the getter */
    CHECK_EQ(coop_queue_size(q), 0);
    CHECK_ERR(coop_queue_put(q, &v), 0);
    probe p = {0};
    vals[0] = 32;
    probe_start(&p, &n, put_op, (void *)0, 1); /* full: waits */
    CHECK_ERR(coop_queue_try_put(q, &v), -EAGAIN);
    CHECK_ERR(coop_queue_get(q, &v), 0);
    CHECK_EQ(v, 31);
    CHECK_EQ(coop_queue_size(q), 1); /* the blocked put moved in */
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(g.result, 0);
    CHECK_EQ(got[0], 31);
    CHECK_ERR(p.result, 0);
    CHECK_ERR(coop_queue_get(q, &v), 0);
    CHECK_EQ(v, 32);
    CHECK_ERR(coop_queue_try_get(q, &v), -EAGAIN);
    coop_queue_free(q);
    return 0;
}
TEST(queue_get_waits_when_empty_and_put_when_full) { CHECK_ERR(test_run(waits, NULL), 0); }

static int cancelled(void *arg) {
    (void)arg;
    CHECK_ERR(coop_queue_new(&q, sizeof(int), 1, COOP_QUEUE_FIFO, NULL), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe g = {.deadline = coop_after(COOP_MS(10))};
    got[0] = -1;
    probe_start(&g, &n, get_op, (void *)0, 1);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(g.result, -ETIMEDOUT);
    CHECK_EQ(got[0], -1);
    int v = 1;
    CHECK_ERR(coop_queue_put(q, &v), 0);
    CHECK_EQ(coop_queue_size(q), 1); /* not handed to the departed getter */
    coop_nursery_open(&n, COOP_NEVER);
    probe p = {0};
    vals[0] = 2;
    probe_start(&p, &n, put_op, (void *)0, 1);
    coop_cancel(p.id);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(p.result, -ECANCELED);
    CHECK_ERR(coop_queue_get(q, &v), 0);
    CHECK_EQ(v, 1);
    CHECK_ERR(coop_queue_try_get(q, &v), -EAGAIN); /* 2 was never put */
    coop_queue_free(q);
    return 0;
}
TEST(queue_cancelled_get_and_put_have_no_effect) { CHECK_ERR(test_run(cancelled, NULL), 0); }

/* A put hands its value to a parked getter and the getter is cancelled in
 * the same turn: the value is the getter's, not lost nor duplicated. */
static int put_then_cancel(void *arg) {
    (void)arg;
    CHECK_ERR(coop_queue_new(&q, sizeof(int), 0, COOP_QUEUE_FIFO, NULL), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe g = {0};
    probe_start(&g, &n, get_op, (void *)0, 1);
    int v = 8;
    CHECK_ERR(coop_queue_try_put(q, &v), 0);
    coop_scope_cancel(&g.scope);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(g.result, 0);
    CHECK_EQ(got[0], 8);
    CHECK_EQ(coop_queue_size(q), 0);
    CHECK_ERR(coop_queue_task_done(q), 0);
    coop_queue_free(q);
    return 0;
}
TEST(queue_hand_off_then_cancel_keeps_the_value) { CHECK_ERR(test_run(put_then_cancel, NULL), 0); }

static int join_op(void *arg) {
    (void)arg;
    return coop_queue_join(q);
}
static int joins(void *arg) {
    (void)arg;
    CHECK_ERR(coop_queue_new(&q, sizeof(int), 0, COOP_QUEUE_FIFO, NULL), 0);
    CHECK_ERR(coop_queue_join(q), 0); /* nothing unfinished */
    CHECK_ERR(coop_queue_task_done(q), -EINVAL);
    for (int i = 0; i < 2; i++) CHECK_ERR(coop_queue_put(q, &i), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe j = {0};
    probe_start(&j, &n, join_op, NULL, 1);
    int v;
    CHECK_ERR(coop_queue_get(q, &v), 0);
    CHECK_ERR(coop_queue_get(q, &v), 0);
    settle();
    CHECK(!j.finished); /* got, but not done */
    CHECK_ERR(coop_queue_task_done(q), 0);
    settle();
    CHECK(!j.finished);
    CHECK_ERR(coop_queue_task_done(q), 0);
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(j.result, 0);
    CHECK_ERR(coop_queue_task_done(q), -EINVAL);
    coop_queue_free(q);
    return 0;
}
TEST(queue_join_waits_for_task_done_of_every_put) { CHECK_ERR(test_run(joins, NULL), 0); }

static int no_memory(void *arg) {
    (void)arg;
    CHECK_ERR(coop_queue_new(&q, sizeof(int), 0, COOP_QUEUE_FIFO, NULL), 0);
    int v = 1;
    coop__alloc_fail_at(1);
    CHECK_ERR(coop_queue_put(q, &v), -ENOMEM);
    CHECK_EQ(coop_queue_size(q), 0);
    CHECK_ERR(coop_queue_task_done(q), -EINVAL); /* the failed put counted nothing */
    CHECK_ERR(coop_queue_put(q, &v), 0);
    coop_queue_free(q);
    coop__alloc_fail_at(1);
    CHECK_ERR(coop_queue_new(&q, sizeof(int), 0, COOP_QUEUE_FIFO, NULL), -ENOMEM);
    return 0;
}
TEST(queue_put_fails_cleanly_without_memory) { CHECK_ERR(test_run(no_memory, NULL), 0); }

static int free_waited(void *arg) {
    (void)arg;
    coop_queue_new(&q, sizeof(int), 0, COOP_QUEUE_FIFO, NULL);
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "getter", get_op, (void *)0));
    wait_parked(t);
    coop_queue_free(q);
    return 0;
}
static void free_with_waiter(void) { test_run(free_waited, NULL); }
TEST(queue_free_with_waiters_aborts) {
    expect_abort(free_with_waiter, "coop_queue_free: 1 task(s) still wait");
}

/* A full LIFO / priority queue: the blocked put's value enters the queue
 * when a get frees a slot, and is then ordered like any other element. */
static int blocked_put_ordering(void *arg) {
    int kind = (int)(intptr_t)arg;
    CHECK_ERR(coop_queue_new(&q, sizeof(int), 2, kind, cmp_int), 0);
    int a = 5, b = 1, v;
    CHECK_ERR(coop_queue_put(q, &a), 0);
    CHECK_ERR(coop_queue_put(q, &b), 0);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    probe p = {0};
    vals[0] = 0;
    probe_start(&p, &n, put_op, (void *)0, 1);
    CHECK_ERR(coop_queue_get(q, &v), 0);
    CHECK_EQ(v, 1); /* LIFO: the newest; PRIORITY: the smallest */
    CHECK_OK(coop_nursery_close(&n));
    CHECK_ERR(p.result, 0);
    CHECK_ERR(coop_queue_get(q, &v), 0);
    CHECK_EQ(v, 0); /* the blocked put's value, newest and smallest */
    CHECK_ERR(coop_queue_get(q, &v), 0);
    CHECK_EQ(v, 5);
    coop_queue_free(q);
    return 0;
}
TEST(queue_lifo_blocked_put_enters_when_a_slot_frees) {
    CHECK_ERR(test_run(blocked_put_ordering, (void *)(intptr_t)COOP_QUEUE_LIFO), 0);
}
TEST(queue_priority_blocked_put_enters_when_a_slot_frees) {
    CHECK_ERR(test_run(blocked_put_ordering, (void *)(intptr_t)COOP_QUEUE_PRIORITY), 0);
}

typedef struct wide {
    char bytes[100]; /* a stride that is not a multiple of 16, > the swap buffer */
} wide;
static int cmp_wide(const void *x, const void *y) {
    return cmp_int(x, y);
}
static int wide_priority(void *arg) {
    (void)arg;
    CHECK_ERR(coop_queue_new(&q, sizeof(wide), 0, COOP_QUEUE_PRIORITY, cmp_wide), 0);
    for (int i = 0; i < 50; i++) {
        wide w;
        memset(&w, 0, sizeof w);
        int key = (i * 37) % 50;
        memcpy(w.bytes, &key, sizeof key);
        memset(w.bytes + sizeof key, key, sizeof w.bytes - sizeof key);
        CHECK_ERR(coop_queue_put(q, &w), 0);
    }
    for (int i = 0; i < 50; i++) {
        wide w;
        CHECK_ERR(coop_queue_get(q, &w), 0);
        int key;
        memcpy(&key, w.bytes, sizeof key);
        CHECK_EQ(key, i);
        CHECK_EQ((unsigned char)w.bytes[99], (unsigned char)i); /* the whole element moved */
    }
    coop_queue_free(q);
    return 0;
}
TEST(queue_priority_moves_whole_large_elements) { CHECK_ERR(test_run(wide_priority, NULL), 0); }

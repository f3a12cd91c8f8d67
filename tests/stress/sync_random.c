/*
 * sync_random.c — seeded random stress of the sync primitives: many tasks
 * doing random lock / semaphore / condition / event / waitgroup operations,
 * some inside scopes with random deadlines, while a chaos task cancels
 * random waiters at random moments. At the end every permit, every token
 * and the lock are accounted for exactly, and mutual exclusion held at
 * every step.
 */
#include "stress/stress.h"

#define WORKERS 48
#define OPS 1000
#define PERMITS 3

static coop_lock lk;
static coop_sem sem;
static coop_cond cv;
static coop_event ev;
static coop_waitgroup wg;

static int lock_owner = -1;   /* worker inside the lock's critical section */
static int sem_holders;       /* workers holding a permit now */
static long tokens;           /* produced minus consumed (under lk) */
static long produced, consumed;
static long cancels_seen, timeouts_seen;
static coop_scope *current_scope[WORKERS]; /* the scope around a worker's op */
static int producers_done;

/* Run one op inside a scope that chaos may cancel, maybe with a deadline. */
static int scoped(int id, int (*op)(int), int with_deadline) {
    coop_scope s;
    coop_scope_enter(&s, with_deadline ? coop_after(COOP_USEC(stress_rand(200))) : COOP_NEVER);
    current_scope[id] = &s;
    int r = op(id);
    current_scope[id] = NULL;
    coop_scope_exit(&s);
    if (r == -ECANCELED) cancels_seen++;
    if (r == -ETIMEDOUT) timeouts_seen++;
    return r;
}

static int op_lock(int id) {
    int r = coop_lock_acquire(&lk);
    if (r < 0) return r;
    CHECK_EQ(lock_owner, -1);
    lock_owner = id;
    for (unsigned k = stress_rand(3); k > 0; k--) coop_yield(); /* cancellable, but we hold on */
    CHECK_EQ(lock_owner, id);
    lock_owner = -1;
    CHECK_ERR(coop_lock_release(&lk), 0);
    return 0;
}

static int op_sem(int id) {
    (void)id;
    int r = coop_sem_acquire(&sem);
    if (r < 0) return r;
    sem_holders++;
    CHECK(sem_holders <= PERMITS);
    CHECK_EQ(coop_sem_value(&sem) + sem_holders <= PERMITS, 1);
    for (unsigned k = stress_rand(3); k > 0; k--) coop_yield();
    sem_holders--;
    CHECK_ERR(coop_sem_release(&sem), 0); /* bounded: a lost or doubled permit overflows */
    return 0;
}

static int op_produce(int id) {
    (void)id;
    int r = coop_lock_acquire(&lk);
    if (r < 0) return r;
    CHECK_EQ(lock_owner, -1);
    tokens++;
    produced++;
    coop_cond_notify(&cv, 1);
    CHECK_ERR(coop_lock_release(&lk), 0);
    return 0;
}

static int op_consume(int id) {
    (void)id;
    int r = coop_lock_acquire(&lk);
    if (r < 0) return r;
    while (tokens == 0 && r == 0) r = coop_cond_wait(&cv);
    /* Held again on every path, cancellation included. */
    CHECK_EQ(coop_lock_locked(&lk), 1);
    CHECK_EQ(lock_owner, -1);
    if (r == 0) {
        tokens--;
        consumed++;
    }
    CHECK_ERR(coop_lock_release(&lk), 0);
    return r;
}

static int op_event(int id) {
    (void)id;
    return coop_event_wait(&ev);
}

static int worker(void *arg) {
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < OPS; i++) {
        int with_deadline = stress_rand(4) == 0;
        switch (stress_rand(5)) {
        case 0: scoped(id, op_lock, with_deadline); break;
        case 1: scoped(id, op_sem, with_deadline); break;
        case 2: scoped(id, op_produce, with_deadline); break;
        case 3: scoped(id, op_consume, 1); break; /* may wait for a token forever */
        default: scoped(id, op_event, 1); break;
        }
        if (stress_rand(8) == 0) coop_sleep(COOP_USEC(stress_rand(50)));
    }
    CHECK_ERR(coop_waitgroup_done(&wg), 0);
    return 0;
}

static int chaos(void *arg) {
    (void)arg;
    while (!producers_done) {
        unsigned what = stress_rand(10);
        if (what < 6) {
            coop_scope *s = current_scope[stress_rand(WORKERS)];
            if (s) coop_scope_cancel(s);
        } else if (what == 6) {
            coop_event_set(&ev);
        } else if (what == 7) {
            coop_event_clear(&ev);
        }
        /* Mostly yields, so cancels land in the same turns as hand-offs;
         * sometimes a sleep, so that the virtual clock can move on (it
         * stands still while any task is ready) and deadlines fire. */
        if (stress_rand(2))
            coop_yield();
        else
            coop_sleep(COOP_USEC(stress_rand(30)));
    }
    return 0;
}

static int body(void *arg) {
    (void)arg;
    coop_lock_init(&lk);
    CHECK_ERR(coop_sem_init_bounded(&sem, PERMITS), 0);
    coop_cond_init(&cv, &lk);
    coop_event_init(&ev);
    coop_waitgroup_init(&wg);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    CHECK_OK(coop_nursery_spawn(&n, NULL, "chaos", chaos, NULL));
    CHECK_ERR(coop_waitgroup_add(&wg, WORKERS), 0);
    for (intptr_t i = 0; i < WORKERS; i++) CHECK_OK(coop_nursery_spawn(&n, NULL, "worker", worker, (void *)i));
    CHECK_ERR(coop_waitgroup_wait(&wg), 0);
    producers_done = 1;
    CHECK_OK(coop_nursery_close(&n));
    /* Exact accounting. */
    CHECK_EQ(coop_sem_value(&sem), PERMITS);
    CHECK_EQ(sem_holders, 0);
    CHECK_EQ(coop_lock_locked(&lk), 0);
    CHECK_EQ(produced - consumed, tokens);
    CHECK(tokens >= 0);
    printf("sync stress: produced %ld consumed %ld, %ld cancellations, %ld timeouts\n", produced,
           consumed, cancels_seen, timeouts_seen);
    CHECK(cancels_seen > 0 && timeouts_seen > 0); /* the races were exercised */
    coop_waitgroup_destroy(&wg);
    coop_event_destroy(&ev);
    coop_cond_destroy(&cv);
    coop_sem_destroy(&sem);
    coop_lock_destroy(&lk);
    return 0;
}

TEST_TIMEOUT(sync_random_operations_with_cancellation_keep_exact_accounting, 30) {
    stress_seed("sync_random");
    CHECK_ERR(test_run(body, NULL), 0);
}

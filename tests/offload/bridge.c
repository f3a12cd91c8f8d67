/*
 * Bridges: coop_run_in_loop from a plain thread, from a task of another
 * loop (which keeps running meanwhile), onto the caller's own loop; its
 * cancellation (the remote task is cancelled and awaited: arg is never used
 * after the return); its errors. Loop threads start and stop. Mailboxes:
 * order, capacity, try variants, close, cancellation that takes nothing,
 * threads and tasks on both sides, misuse on free. Waits that hold a loop
 * for another thread do not advance the virtual clock, so tests with
 * deadlines run on the real clock.
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>
#include "coop/bridge.h"
#include "test.h"
#include "util/alloc.h"

/* ---- coop_run_in_loop -------------------------------------------------- */

typedef struct remote {
    coop_loop *expect_loop; /* the loop fn must run on */
    int64_t sleep_ns;       /* how long fn sleeps */
    int ran;                /* fn ran on the expected loop */
    int finished;           /* fn returned (set just before) */
    int sleep_result;       /* what fn's sleep returned */
} remote;

static int remote_fn(void *arg) {
    remote *r = arg;
    r->ran = coop_loop_current() == r->expect_loop && coop_self() != 0;
    r->sleep_result = coop_sleep(r->sleep_ns);
    r->finished = 1;
    return r->sleep_result < 0 ? r->sleep_result : 42;
}

TEST(bridge_run_in_loop_from_a_plain_thread) {
    coop_loop_thread *lt;
    CHECK_ERR(coop_loop_thread_start(&lt, NULL), 0);
    remote r = {coop_loop_thread_loop(lt), COOP_MS(1), 0, 0, 0};
    int result = 0;
    CHECK_ERR(coop_run_in_loop(coop_loop_thread_loop(lt), remote_fn, &r, &result), 0);
    CHECK_EQ(result, 42);
    CHECK(r.ran && r.finished);
    CHECK_ERR(coop_loop_thread_stop(lt), 0);
}

static int ticks;
static int ticker(void *arg) {
    (void)arg;
    while (coop_sleep(COOP_MS(1)) == 0) ticks++;
    return 0;
}

static int body_from_task(void *arg) {
    coop_loop_thread *lt = arg;
    coop_task_id t;
    CHECK_ERR(coop_spawn(&t, "ticker", ticker, NULL), 0);
    ticks = 0;
    remote r = {coop_loop_thread_loop(lt), COOP_MS(30), 0, 0, 0};
    int result = 0;
    CHECK_ERR(coop_run_in_loop(coop_loop_thread_loop(lt), remote_fn, &r, &result), 0);
    CHECK_EQ(result, 42);
    CHECK(r.ran);
    CHECK(ticks >= 5); /* the caller's loop ran on while it waited */
    /* The caller's own loop works too. */
    r.expect_loop = coop_loop_current();
    r.sleep_ns = 0;
    CHECK_ERR(coop_run_in_loop(coop_loop_current(), remote_fn, &r, &result), 0);
    CHECK(r.ran);
    coop_cancel(t);
    CHECK_ERR(coop_join(t, NULL), 0);
    return 0;
}
TEST(bridge_run_in_loop_from_a_task_awaits_without_blocking_its_loop) {
    coop_loop_thread *lt;
    CHECK_ERR(coop_loop_thread_start(&lt, NULL), 0);
    CHECK_ERR(test_run_real(body_from_task, lt), 0);
    CHECK_ERR(coop_loop_thread_stop(lt), 0);
}

static int body_cancel(void *arg) {
    coop_loop_thread *lt = arg;
    remote r = {coop_loop_thread_loop(lt), COOP_SEC(100), 0, 0, 0};
    int result = 0;
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(20)));
    CHECK_ERR(coop_run_in_loop(coop_loop_thread_loop(lt), remote_fn, &r, &result), -ETIMEDOUT);
    coop_scope_exit(&s);
    CHECK(r.finished);                     /* fn is over: r may go out of scope */
    CHECK_ERR(r.sleep_result, -ECANCELED); /* the remote task was cancelled */
    CHECK_ERR(result, -ECANCELED);
    /* Already cancelled before the call: fn never starts... */
    r.finished = 0;
    coop_scope_enter(&s, COOP_NEVER);
    coop_scope_cancel(&s);
    CHECK_ERR(coop_run_in_loop(coop_loop_thread_loop(lt), remote_fn, &r, &result), -ECANCELED);
    coop_scope_exit(&s);
    CHECK(!r.finished);
    return 0;
}
TEST(bridge_run_in_loop_cancelled_cancels_the_remote_task_and_waits_for_it) {
    coop_loop_thread *lt;
    CHECK_ERR(coop_loop_thread_start(&lt, NULL), 0);
    CHECK_ERR(test_run_real(body_cancel, lt), 0);
    CHECK_ERR(coop_loop_thread_stop(lt), 0);
}

static int callback_result;
static void from_callback(void *arg) {
    callback_result = coop_run_in_loop(arg, remote_fn, NULL, NULL);
}

static int body_errors(void *arg) {
    coop_loop_thread *lt = arg;
    CHECK_ERR(coop_run_in_loop(NULL, remote_fn, NULL, NULL), -EINVAL);
    CHECK_ERR(coop_run_in_loop(coop_loop_thread_loop(lt), NULL, NULL, NULL), -EINVAL);
    coop_timer h;
    coop_timer_init(&h);
    CHECK_ERR(coop_call_soon(&h, from_callback, coop_loop_thread_loop(lt)), 0);
    CHECK_ERR(coop_sleep(COOP_MS(1)), 0);
    CHECK_ERR(callback_result, -EPERM); /* a loop callback must not block */
    remote r = {coop_loop_thread_loop(lt), 0, 0, 0, 0};
    coop__alloc_fail_at(1);
    CHECK_ERR(coop_run_in_loop(coop_loop_thread_loop(lt), remote_fn, &r, NULL), -ENOMEM);
    coop__alloc_fail_at(0);
    CHECK(!r.ran);
    return 0;
}
TEST(bridge_run_in_loop_reports_errors) {
    coop_loop_thread *lt;
    CHECK_ERR(coop_loop_thread_start(&lt, NULL), 0);
    CHECK_ERR(test_run_real(body_errors, lt), 0);
    CHECK_ERR(coop_loop_thread_stop(lt), 0);
}

/* A loop thread's loop ends only when its remaining tasks end. */
static int lingering(void *arg) {
    coop_sleep(COOP_MS(20));
    *(int *)arg = 1;
    return 0;
}
static int spawn_lingering(void *arg) { return coop_spawn(NULL, "lingering", lingering, arg); }

TEST(bridge_loop_thread_stop_waits_for_remaining_tasks) {
    coop_loop_thread *lt;
    CHECK_ERR(coop_loop_thread_start(&lt, NULL), 0);
    int done = 0;
    CHECK_ERR(coop_run_in_loop(coop_loop_thread_loop(lt), spawn_lingering, &done, NULL), 0);
    CHECK_EQ(done, 0);
    CHECK_ERR(coop_loop_thread_stop(lt), 0);
    CHECK_EQ(done, 1);
}

/* ---- mailbox ------------------------------------------------------------ */

TEST(mailbox_keeps_order_and_capacity) {
    coop_mailbox *m;
    CHECK_ERR(coop_mailbox_new(&m, 0, 4), -EINVAL);
    CHECK_ERR(coop_mailbox_new(&m, sizeof(int), 0), -EINVAL);
    CHECK_ERR(coop_mailbox_new(&m, sizeof(int), 3), 0);
    int v;
    CHECK_ERR(coop_mailbox_try_recv(m, &v), -EAGAIN);
    for (int i = 1; i <= 3; i++) CHECK_ERR(coop_mailbox_try_send(m, &i), 0);
    v = 4;
    CHECK_ERR(coop_mailbox_try_send(m, &v), -EAGAIN);
    CHECK_EQ(coop_mailbox_count(m), 3);
    for (int i = 1; i <= 3; i++) {
        CHECK_ERR(coop_mailbox_recv(m, &v), 0); /* a plain thread: no wait needed */
        CHECK_EQ(v, i);
    }
    v = 5;
    CHECK_ERR(coop_mailbox_send(m, &v), 0);
    coop_mailbox_close(m);
    coop_mailbox_close(m);
    CHECK_ERR(coop_mailbox_try_send(m, &v), -EPIPE);
    CHECK_ERR(coop_mailbox_recv(m, &v), 0); /* what was sent before the close */
    CHECK_EQ(v, 5);
    CHECK_ERR(coop_mailbox_recv(m, &v), -EPIPE);
    coop_mailbox_free(m);
    coop__alloc_fail_at(2);
    CHECK_ERR(coop_mailbox_new(&m, sizeof(int), 3), -ENOMEM);
    coop__alloc_fail_at(0);
}

/* A plain thread sends n numbers in windows of 8, reading the replies
 * (each doubled) of a window before sending the next. */
typedef struct pingpong {
    coop_mailbox *to_loop, *from_loop;
    int n;
    long sum;
} pingpong;

static void *thread_side(void *arg) {
    pingpong *pp = arg;
    for (int base = 1; base <= pp->n; base += 8) {
        for (int i = base; i < base + 8 && i <= pp->n; i++)
            CHECK_ERR(coop_mailbox_send(pp->to_loop, &i), 0);
        for (int i = base; i < base + 8 && i <= pp->n; i++) {
            int v;
            CHECK_ERR(coop_mailbox_recv(pp->from_loop, &v), 0);
            pp->sum += v;
        }
    }
    return NULL;
}

static int body_thread_task(void *arg) {
    pingpong *pp = arg;
    for (int i = 1; i <= pp->n; i++) {
        int v;
        CHECK_ERR(coop_mailbox_recv(pp->to_loop, &v), 0);
        CHECK_EQ(v, i);
        v *= 2;
        CHECK_ERR(coop_mailbox_send(pp->from_loop, &v), 0);
    }
    return 0;
}
TEST(mailbox_connects_a_plain_thread_and_a_task) {
    pingpong pp = {NULL, NULL, 20000, 0};
    CHECK_ERR(coop_mailbox_new(&pp.to_loop, sizeof(int), 16), 0);
    CHECK_ERR(coop_mailbox_new(&pp.from_loop, sizeof(int), 16), 0);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, thread_side, &pp), 0);
    CHECK_ERR(test_run_real(body_thread_task, &pp), 0);
    pthread_join(th, NULL);
    CHECK_EQ(pp.sum, (long)pp.n * (pp.n + 1));
    coop_mailbox_free(pp.to_loop);
    coop_mailbox_free(pp.from_loop);
}

static void *late_sender(void *arg) {
    usleep(50 * 1000);
    int v = 77;
    CHECK_ERR(coop_mailbox_send(arg, &v), 0);
    return NULL;
}

static int body_cancel_recv(void *arg) {
    coop_mailbox *m = arg;
    int v = 0;
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(10)));
    CHECK_ERR(coop_mailbox_recv(m, &v), -ETIMEDOUT);
    coop_scope_exit(&s);
    CHECK_EQ(v, 0);
    CHECK_ERR(coop_mailbox_recv(m, &v), 0); /* the message was not lost */
    CHECK_EQ(v, 77);
    /* A full mailbox: a cancelled send sent nothing. */
    v = 1;
    CHECK_ERR(coop_mailbox_send(m, &v), 0);
    coop_scope_enter(&s, coop_after(COOP_MS(10)));
    v = 2;
    CHECK_ERR(coop_mailbox_send(m, &v), -ETIMEDOUT);
    coop_scope_exit(&s);
    CHECK_EQ(coop_mailbox_count(m), 1);
    CHECK_ERR(coop_mailbox_try_recv(m, &v), 0);
    CHECK_EQ(v, 1);
    return 0;
}
TEST(mailbox_cancelled_wait_takes_and_sends_nothing) {
    coop_mailbox *m;
    CHECK_ERR(coop_mailbox_new(&m, sizeof(int), 1), 0);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, late_sender, m), 0);
    CHECK_ERR(test_run_real(body_cancel_recv, m), 0);
    pthread_join(th, NULL);
    coop_mailbox_free(m);
}

/* Many receivers with short deadlines racing one sending thread: every
 * message is received exactly once, even when a receiver chosen by the
 * sender is cancelled before its wakeup arrives (it hands the wakeup on). */
#define RACE_MSGS 20000
#define RACE_TASKS 8
typedef struct race {
    coop_mailbox *m;
    atomic_int seen[RACE_MSGS];
    int got;
} race;

static void *race_sender(void *arg) {
    race *rc = arg;
    for (int i = 0; i < RACE_MSGS; i++) {
        CHECK_ERR(coop_mailbox_send(rc->m, &i), 0);
        if (i % 64 == 0) sched_yield();
    }
    coop_mailbox_close(rc->m);
    return NULL;
}

static int race_receiver(void *arg) {
    race *rc = arg;
    for (int k = 0;; k++) {
        coop_scope s;
        coop_scope_enter(&s, coop_after(COOP_USEC(k % 7 * 20)));
        int v;
        int r = coop_mailbox_recv(rc->m, &v);
        coop_scope_exit(&s);
        if (r == -EPIPE) return 0;
        if (r == -ETIMEDOUT) continue;
        CHECK_ERR(r, 0);
        CHECK_EQ(atomic_fetch_add(&rc->seen[v], 1), 0);
        rc->got++;
    }
}

static int body_race(void *arg) {
    race *rc = arg;
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    for (int i = 0; i < RACE_TASKS; i++)
        CHECK_ERR(coop_nursery_spawn(&n, NULL, "receiver", race_receiver, rc), 0);
    CHECK_ERR(coop_nursery_close(&n), 0);
    return 0;
}
TEST(mailbox_cancellation_racing_wakeups_loses_no_message) {
    static race rc;
    CHECK_ERR(coop_mailbox_new(&rc.m, sizeof(int), 4), 0);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, race_sender, &rc), 0);
    CHECK_ERR(test_run_real(body_race, &rc), 0);
    pthread_join(th, NULL);
    CHECK_EQ(rc.got, RACE_MSGS);
    for (int i = 0; i < RACE_MSGS; i++) CHECK_EQ(atomic_load(&rc.seen[i]), 1);
    coop_mailbox_free(rc.m);
}

static int blocked_receiver(void *arg) {
    int v;
    return coop_mailbox_recv(arg, &v);
}
static int body_free_busy(void *arg) {
    coop_mailbox *m = arg;
    CHECK_ERR(coop_spawn(NULL, "receiver", blocked_receiver, m), 0);
    coop_yield();
    coop_mailbox_free(m); /* aborts */
    return 0;
}
TEST(mailbox_free_with_a_waiting_task_is_misuse) {
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        coop_mailbox *m;
        if (coop_mailbox_new(&m, 1, 1) < 0) _exit(3);
        close(2); /* keep the expected abort message out of the test log */
        test_run_real(body_free_busy, m);
        _exit(0);
    }
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    CHECK(WIFSIGNALED(st));
    CHECK_EQ(WTERMSIG(st), SIGABRT);
}

/*
 * Signals: a task waiting on a watcher receives raise() and kill(getpid()),
 * with the sender's pid and a sigqueue value; the thread's mask is blocked
 * only while watchers exist and is restored after (also with two watchers
 * of one signal, and for a signal the program had blocked itself); pending
 * signals are dropped on free, not run; cancellation consumes nothing;
 * dispositions are never changed; bad sets are refused.
 */
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include "test.h"

static int is_blocked(int sig) {
    sigset_t cur;
    pthread_sigmask(SIG_SETMASK, NULL, &cur);
    return sigismember(&cur, sig) == 1;
}

static sigset_t set_of(int a, int b) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, a);
    if (b) sigaddset(&s, b);
    return s;
}

/* A task that sends signals after the main task started waiting. */
static int sender(void *arg) {
    (void)arg;
    coop_sleep(COOP_MS(5));
    raise(SIGUSR1); /* thread-directed */
    coop_sleep(COOP_MS(5));
    kill(getpid(), SIGUSR2); /* process-directed */
    coop_sleep(COOP_MS(5));
    union sigval v = {.sival_int = 4242};
    sigqueue(getpid(), SIGUSR1, v);
    return 0;
}

static int body_wait(void *arg) {
    (void)arg;
    CHECK(!is_blocked(SIGUSR1));
    sigset_t set = set_of(SIGUSR1, SIGUSR2);
    coop_signal_watch *w;
    CHECK_ERR(coop_signal_watch_new(&w, &set), 0);
    CHECK(is_blocked(SIGUSR1) && is_blocked(SIGUSR2));
    coop_task_id t;
    CHECK_ERR(coop_spawn(&t, "sender", sender, NULL), 0);
    siginfo_t info;
    CHECK_ERR(coop_signal_wait(w, &info), SIGUSR1);
    CHECK_EQ(info.si_pid, getpid());
    CHECK_ERR(coop_signal_wait(w, NULL), SIGUSR2);
    CHECK_ERR(coop_signal_wait(w, &info), SIGUSR1);
    CHECK_EQ(info.si_code, SI_QUEUE);
    CHECK_EQ(info.si_value.sival_int, 4242);
    CHECK_ERR(coop_join(t, NULL), 0);
    coop_signal_watch_free(w);
    CHECK(!is_blocked(SIGUSR1) && !is_blocked(SIGUSR2));
    return 0;
}
TEST(signal_is_delivered_to_a_waiting_task) { CHECK_ERR(test_run(body_wait, NULL), 0); }

static int body_already_pending(void *arg) {
    (void)arg;
    sigset_t set = set_of(SIGUSR1, 0);
    coop_signal_watch *w;
    CHECK_ERR(coop_signal_watch_new(&w, &set), 0);
    raise(SIGUSR1); /* before anyone waits: queued */
    CHECK_ERR(coop_signal_wait(w, NULL), SIGUSR1);
    raise(SIGUSR1); /* never waited for: dropped by free, not run */
    coop_signal_watch_free(w);
    CHECK(!is_blocked(SIGUSR1));
    return 0;
}
TEST(signal_raised_before_the_wait_is_queued_and_dropped_on_free) {
    /* SIGUSR1's default action would kill the test if free let it through. */
    CHECK_ERR(test_run(body_already_pending, NULL), 0);
}

static int body_nested(void *arg) {
    (void)arg;
    sigset_t one = set_of(SIGUSR1, 0), both = set_of(SIGUSR1, SIGUSR2);
    sigset_t term = set_of(SIGTERM, 0);
    pthread_sigmask(SIG_BLOCK, &term, NULL); /* the program's own choice */
    coop_signal_watch *a, *b, *c;
    CHECK_ERR(coop_signal_watch_new(&a, &one), 0);
    CHECK_ERR(coop_signal_watch_new(&b, &both), 0);
    CHECK_ERR(coop_signal_watch_new(&c, &term), 0);
    coop_signal_watch_free(a);
    CHECK(is_blocked(SIGUSR1)); /* b still holds it */
    coop_signal_watch_free(c);
    CHECK(is_blocked(SIGTERM)); /* was blocked before coop: stays */
    coop_signal_watch_free(b);
    CHECK(!is_blocked(SIGUSR1) && !is_blocked(SIGUSR2));
    pthread_sigmask(SIG_UNBLOCK, &term, NULL);
    return 0;
}
TEST(signal_mask_is_restored_only_when_the_last_watcher_goes) {
    CHECK_ERR(test_run(body_nested, NULL), 0);
}

static int body_cancel(void *arg) {
    (void)arg;
    sigset_t set = set_of(SIGUSR1, 0);
    coop_signal_watch *w;
    CHECK_ERR(coop_signal_watch_new(&w, &set), 0);
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(20)));
    CHECK_ERR(coop_signal_wait(w, NULL), -ETIMEDOUT);
    raise(SIGUSR1);
    CHECK_ERR(coop_signal_wait(w, NULL), -ETIMEDOUT); /* cancelled: consumes nothing */
    coop_scope_exit(&s);
    CHECK_ERR(coop_signal_wait(w, NULL), SIGUSR1); /* still there */
    coop_signal_watch_free(w);
    return 0;
}
TEST(signal_wait_times_out_and_consumes_nothing_when_cancelled) {
    CHECK_ERR(test_run(body_cancel, NULL), 0);
}

static int body_disposition(void *arg) {
    (void)arg;
    struct sigaction before, after;
    sigaction(SIGUSR1, NULL, &before);
    sigset_t set = set_of(SIGUSR1, 0);
    coop_signal_watch *w;
    CHECK_ERR(coop_signal_watch_new(&w, &set), 0);
    sigaction(SIGUSR1, NULL, &after);
    CHECK(after.sa_handler == before.sa_handler);
    coop_signal_watch_free(w);
    sigaction(SIGUSR1, NULL, &after);
    CHECK(after.sa_handler == SIG_DFL);
    return 0;
}
TEST(signal_watch_never_changes_the_disposition) {
    CHECK_ERR(test_run(body_disposition, NULL), 0);
}

static int body_errors(void *arg) {
    (void)arg;
    coop_signal_watch *w = (coop_signal_watch *)1;
    sigset_t empty;
    sigemptyset(&empty);
    CHECK_ERR(coop_signal_watch_new(&w, &empty), -EINVAL);
    CHECK(w == NULL);
    sigset_t kill_set = set_of(SIGUSR1, SIGKILL);
    CHECK_ERR(coop_signal_watch_new(&w, &kill_set), -EINVAL);
    sigset_t stop_set = set_of(SIGSTOP, 0);
    CHECK_ERR(coop_signal_watch_new(&w, &stop_set), -EINVAL);
    CHECK_ERR(coop_signal_watch_new(&w, NULL), -EINVAL);
    CHECK(!is_blocked(SIGUSR1));
    return 0;
}
TEST(signal_watch_refuses_bad_sets) {
    CHECK_ERR(test_run(body_errors, NULL), 0);
    sigset_t set = set_of(SIGUSR1, 0);
    coop_signal_watch *w;
    CHECK_ERR(coop_signal_watch_new(&w, &set), -EPERM); /* no loop */
}

static int waiting_task(void *arg) { return coop_signal_wait(arg, NULL); }

static int body_two_waiters(void *arg) {
    (void)arg;
    sigset_t set = set_of(SIGUSR1, 0);
    coop_signal_watch *w;
    CHECK_ERR(coop_signal_watch_new(&w, &set), 0);
    coop_task_id t;
    CHECK_ERR(coop_spawn(&t, "waiter", waiting_task, w), 0);
    CHECK_ERR(coop_yield(), 0);
    CHECK_ERR(coop_signal_wait(w, NULL), -EBUSY);
    raise(SIGUSR1);
    int r;
    CHECK_ERR(coop_join(t, &r), 0);
    CHECK_EQ(r, SIGUSR1);
    coop_signal_watch_free(w);
    return 0;
}
TEST(signal_wait_allows_one_waiter_per_watcher) {
    CHECK_ERR(test_run(body_two_waiters, NULL), 0);
}

/* Waiting for fds: readiness, close wakes waiters, reuse, bad fds. */
#include <fcntl.h>
#include <unistd.h>
#include "test.h"

static int pfd[2];

static int writer_later(void *arg) {
    (void)arg;
    CHECK_OK(coop_sleep(COOP_MS(10)));
    CHECK_EQ(write(pfd[1], "x", 1), 1);
    return 0;
}
static int wait_body(void *arg) {
    (void)arg;
    CHECK_OK(pipe2(pfd, O_NONBLOCK | O_CLOEXEC));
    CHECK_OK(coop_spawn(NULL, "writer", writer_later, NULL));
    CHECK_EQ(coop_fd_wait(pfd[0], COOP_READABLE), COOP_READABLE);
    CHECK_EQ(coop_now(), COOP_MS(10));
    CHECK_EQ(coop_fd_wait(pfd[1], COOP_WRITABLE), COOP_WRITABLE);
    CHECK_OK(coop_close(pfd[0]));
    CHECK_OK(coop_close(pfd[1]));
    return 0;
}
TEST(fd_wait_wakes_on_readable) { CHECK_EQ(test_run(wait_body, NULL), 0); }

static int stale_body(void *arg) {
    (void)arg;
    char c;
    CHECK_OK(pipe2(pfd, O_NONBLOCK | O_CLOEXEC));
    CHECK_EQ(write(pfd[1], "x", 1), 1);
    CHECK_EQ(coop_fd_wait(pfd[0], COOP_READABLE), COOP_READABLE);
    CHECK_EQ(read(pfd[0], &c, 1), 1); /* consumed behind the loop's back */
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(10)));
    CHECK_ERR(coop_fd_wait(pfd[0], COOP_READABLE), -ETIMEDOUT); /* no stale readiness */
    CHECK_ERR(coop_scope_exit(&s), -ETIMEDOUT);
    CHECK_OK(coop_close(pfd[0]));
    CHECK_OK(coop_close(pfd[1]));
    return 0;
}
TEST(fd_wait_does_not_report_consumed_readiness) { CHECK_EQ(test_run(stale_body, NULL), 0); }

static int waiter_result[3];
static int waiter(void *arg) {
    int *out = arg;
    *out = coop_fd_wait(pfd[0], COOP_READABLE);
    return 0;
}
static int close_body(void *arg) {
    (void)arg;
    CHECK_OK(pipe2(pfd, O_NONBLOCK | O_CLOEXEC));
    coop_task_id t[3];
    for (int i = 0; i < 3; i++) CHECK_OK(coop_spawn(&t[i], "waiter", waiter, &waiter_result[i]));
    CHECK_OK(coop_sleep(COOP_MS(5)));
    CHECK_OK(coop_close(pfd[0]));
    for (int i = 0; i < 3; i++) {
        CHECK_OK(coop_join(t[i], NULL));
        CHECK_ERR(waiter_result[i], -EBADF);
    }
    CHECK_OK(coop_close(pfd[1]));
    return 0;
}
TEST(fd_close_wakes_all_waiters_with_ebadf) { CHECK_EQ(test_run(close_body, NULL), 0); }

static int multi_body(void *arg) {
    (void)arg;
    CHECK_OK(pipe2(pfd, O_NONBLOCK | O_CLOEXEC));
    coop_task_id t[3];
    for (int i = 0; i < 3; i++) CHECK_OK(coop_spawn(&t[i], "waiter", waiter, &waiter_result[i]));
    CHECK_OK(coop_sleep(COOP_MS(5)));
    CHECK_EQ(write(pfd[1], "x", 1), 1);
    for (int i = 0; i < 3; i++) {
        CHECK_OK(coop_join(t[i], NULL));
        CHECK_EQ(waiter_result[i], COOP_READABLE);
    }
    CHECK_OK(coop_close(pfd[0]));
    CHECK_OK(coop_close(pfd[1]));
    return 0;
}
TEST(fd_readiness_wakes_every_waiter) { CHECK_EQ(test_run(multi_body, NULL), 0); }

/* A new pipe that got the number old must start with a clean slate: no
 * stale readiness, and new data is seen. Closes the pipe. */
static void check_fresh_pipe_at(int old) {
    CHECK_OK(pipe2(pfd, O_NONBLOCK | O_CLOEXEC));
    CHECK_EQ(pfd[0], old);
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(10)));
    CHECK_ERR(coop_fd_wait(pfd[0], COOP_READABLE), -ETIMEDOUT);
    coop_scope_exit(&s);
    CHECK_EQ(write(pfd[1], "y", 1), 1);
    CHECK_EQ(coop_fd_wait(pfd[0], COOP_READABLE), COOP_READABLE);
    CHECK_OK(coop_close(pfd[0]));
    CHECK_OK(coop_close(pfd[1]));
}

static int reuse_body(void *arg) {
    (void)arg;
    /* Wait on an fd, close it, get the same number for a new pipe: the
     * new fd must not inherit the old one's state or events. */
    CHECK_OK(pipe2(pfd, O_NONBLOCK | O_CLOEXEC));
    CHECK_EQ(write(pfd[1], "x", 1), 1);
    CHECK_EQ(coop_fd_wait(pfd[0], COOP_READABLE), COOP_READABLE);
    int old = pfd[0];
    CHECK_OK(coop_close(pfd[0]));
    CHECK_OK(coop_close(pfd[1]));
    check_fresh_pipe_at(old);
    return 0;
}
TEST(fd_reused_number_gets_fresh_state) { CHECK_EQ(test_run(reuse_body, NULL), 0); }

static int bad_body(void *arg) {
    (void)arg;
    CHECK_ERR(coop_fd_wait(-1, COOP_READABLE), -EINVAL);
    CHECK_ERR(coop_fd_wait(0, 0), -EINVAL);
    int fd = dup(2);
    close(fd); /* now surely not open */
    CHECK_ERR(coop_fd_wait(fd, COOP_READABLE), -EBADF);
    return 0;
}
TEST(fd_wait_on_bad_fd_is_an_error) { CHECK_EQ(test_run(bad_body, NULL), 0); }

static int file_body(void *arg) {
    (void)arg;
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK_EQ(coop_fd_wait(fd, COOP_READABLE), COOP_READABLE); /* regular files are always ready */
    CHECK_OK(coop_close(fd));
    return 0;
}
TEST(fd_wait_on_regular_file_returns_at_once) { CHECK_EQ(test_run(file_body, NULL), 0); }

TEST(fd_wait_outside_task_is_eperm) { CHECK_ERR(coop_fd_wait(0, COOP_READABLE), -EPERM); }

static int forget_body(void *arg) {
    (void)arg;
    /* Released with coop_forget, closed by hand, number reused: a clean slate. */
    CHECK_OK(pipe2(pfd, O_NONBLOCK | O_CLOEXEC));
    CHECK_EQ(write(pfd[1], "x", 1), 1);
    CHECK_EQ(coop_fd_wait(pfd[0], COOP_READABLE), COOP_READABLE);
    int old = pfd[0];
    coop_forget(pfd[0]);
    close(pfd[0]);
    close(pfd[1]);
    check_fresh_pipe_at(old);
    return 0;
}
TEST(fd_forget_then_plain_close_allows_reuse) { CHECK_EQ(test_run(forget_body, NULL), 0); }

static int dup_body(void *arg) {
    (void)arg;
    /* The fd is closed behind the loop's back while a dup keeps the open
     * file (and its epoll registration) alive; the reused number must
     * still be watched correctly. */
    CHECK_OK(pipe2(pfd, O_NONBLOCK | O_CLOEXEC));
    int keep = dup(pfd[0]);
    CHECK(keep >= 0);
    CHECK_EQ(write(pfd[1], "x", 1), 1);
    CHECK_EQ(coop_fd_wait(pfd[0], COOP_READABLE), COOP_READABLE);
    int old = pfd[0];
    coop_forget(old); /* the state goes, but EPOLL_CTL_DEL may find nothing to do */
    close(old);
    int p2[2];
    CHECK_OK(pipe2(p2, O_NONBLOCK | O_CLOEXEC));
    CHECK_EQ(p2[0], old);
    CHECK_EQ(write(p2[1], "z", 1), 1);
    CHECK_EQ(coop_fd_wait(p2[0], COOP_READABLE), COOP_READABLE);
    char c;
    CHECK_EQ(coop_read(p2[0], &c, 1), 1);
    CHECK_EQ(c, 'z');
    CHECK_OK(coop_close(p2[0]));
    CHECK_OK(coop_close(p2[1]));
    close(keep);
    CHECK_OK(coop_close(pfd[1]));
    return 0;
}
TEST(fd_number_reused_while_a_dup_keeps_the_old_file_open) { CHECK_EQ(test_run(dup_body, NULL), 0); }

static int nvalid_body(void *arg) {
    (void)arg;
    /* An fd closed under a waiter without coop_close: the poll backend sees
     * POLLNVAL and wakes the waiter with -EBADF; epoll drops the closed fd
     * silently, so the scope's deadline ends the wait. Either way the task
     * gets an error, never a hang. */
    CHECK_OK(pipe2(pfd, O_NONBLOCK | O_CLOEXEC));
    coop_task_id t;
    int result = 0;
    CHECK_OK(coop_spawn(&t, "waiter", waiter, &result));
    CHECK_OK(coop_yield());
    close(pfd[0]); /* misuse: behind the loop's back */
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(10)));
    CHECK_ERR(coop_sleep(COOP_MS(50)), -ETIMEDOUT);
    coop_scope_exit(&s);
    CHECK_OK(coop_cancel(t));
    CHECK_OK(coop_join(t, NULL));
    CHECK(result == -EBADF || result == -ECANCELED);
    coop_forget(pfd[0]);
    close(pfd[1]);
    return 0;
}
TEST(fd_closed_behind_the_loops_back_never_hangs_the_waiter) { CHECK_EQ(test_run(nvalid_body, NULL), 0); }

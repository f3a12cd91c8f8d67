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

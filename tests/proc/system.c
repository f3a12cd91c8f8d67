/*
 * coop_system: the gevent-style "run a command and capture its output"
 * while other tasks keep running; output limits, exit statuses, stderr
 * capture, spawn failure, cancellation (child killed, nothing leaked),
 * allocation failure.
 */
#include <sys/wait.h>
#include "test.h"
#include "util/alloc.h"

static void check_no_children(void) {
    errno = 0;
    CHECK_EQ(waitpid(-1, NULL, WNOHANG), -1);
    CHECK_EQ(errno, ECHILD);
}

static int ticks;
static int ticker(void *arg) {
    (void)arg;
    for (;;) {
        if (coop_sleep(COOP_MS(1)) < 0) return 0;
        ticks++;
    }
}

static int body_capture(void *arg) {
    (void)arg;
    coop_task_id t;
    CHECK_ERR(coop_spawn(&t, "ticker", ticker, NULL), 0);
    const char *argv[] = {"sh", "-c", "sleep 0.05; echo out; echo err >&2; exit 2", NULL};
    coop_proc_opts o = {0};
    o.stderr_mode = COOP_STDIO_STDOUT;
    char *out;
    size_t len;
    int st;
    ticks = 0;
    CHECK_ERR(coop_system(argv, &o, &out, &len, 1024, &st), 0);
    CHECK_STR(out, "out\nerr\n");
    CHECK_EQ(len, 8);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
    CHECK(ticks > 5); /* the loop kept running during the 50 ms */
    coop_proc_output_free(out);
    coop_cancel(t);
    CHECK_ERR(coop_join(t, NULL), 0);
    return 0;
}
TEST(system_captures_output_while_other_tasks_run) {
    CHECK_ERR(test_run_real(body_capture, NULL), 0);
    check_no_children();
}

static int body_limit(void *arg) {
    (void)arg;
    /* 100000 bytes of output, keep 10: the rest is read and dropped so the
     * child is not blocked on a full pipe. */
    const char *argv[] = {"head", "-c", "100000", "/dev/zero", NULL};
    char *out;
    size_t len;
    CHECK_ERR(coop_system(argv, NULL, &out, &len, 10, NULL), 0);
    CHECK_EQ(len, 10);
    CHECK_EQ(out[10], '\0');
    coop_proc_output_free(out);
    /* No output wanted at all. */
    int st;
    CHECK_ERR(coop_system(argv, NULL, NULL, NULL, 0, &st), 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* Empty output is an empty string, not NULL. */
    const char *quiet[] = {"true", NULL};
    CHECK_ERR(coop_system(quiet, NULL, &out, &len, 100, NULL), 0);
    CHECK_STR(out, "");
    CHECK_EQ(len, 0);
    coop_proc_output_free(out);
    return 0;
}
TEST(system_keeps_at_most_max_output_bytes) {
    CHECK_ERR(test_run(body_limit, NULL), 0);
    check_no_children();
}

static int body_fail(void *arg) {
    (void)arg;
    const char *argv[] = {"coop-no-such-program-xyz", NULL};
    char *out = (char *)1;
    CHECK_ERR(coop_system(argv, NULL, &out, NULL, 100, NULL), -ENOENT);
    CHECK(out == NULL);
    return 0;
}
TEST(system_reports_a_missing_program) {
    CHECK_ERR(test_run(body_fail, NULL), 0);
    check_no_children();
}

static int body_cancel(void *arg) {
    (void)arg;
    const char *argv[] = {"sh", "-c", "echo partial; exec sleep 1000", NULL};
    char *out = (char *)1;
    int st = 0;
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(30)));
    CHECK_ERR(coop_system(argv, NULL, &out, NULL, 100, &st), -ETIMEDOUT);
    coop_scope_exit(&s);
    CHECK(out == NULL);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    return 0;
}
TEST(system_cancelled_kills_the_command) {
    CHECK_ERR(test_run(body_cancel, NULL), 0);
    check_no_children();
}

static int body_nomem(void *arg) {
    (void)arg;
    const char *argv[] = {"echo", "hi", NULL};
    /* Fail each allocation in turn: every failure is clean. */
    for (long k = 1; k < 5; k++) {
        char *out = NULL;
        coop__alloc_fail_at(k);
        int r = coop_system(argv, NULL, &out, NULL, 100, NULL);
        coop__alloc_fail_at(0);
        if (r == 0) {
            CHECK_STR(out, "hi\n");
            coop_proc_output_free(out);
        } else {
            CHECK_ERR(r, -ENOMEM);
            CHECK(out == NULL);
        }
    }
    return 0;
}
TEST(system_fails_cleanly_when_allocations_fail) {
    CHECK_ERR(test_run(body_nomem, NULL), 0);
    check_no_children();
}

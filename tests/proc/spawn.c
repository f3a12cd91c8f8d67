/*
 * Subprocesses: spawn with pipes, /dev/null and inherited streams, env and
 * cwd, exit statuses, spawn failures (missing program, missing cwd,
 * allocation failure), cancellation of a wait killing and reaping a child
 * that never exits (default SIGKILL, configured signal, escalation), the
 * helper-thread fallback for kernels without pidfd_open, EINTR storms.
 * Every test ends by checking that no child (zombie or live) is left.
 */
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include "proc/proc_internal.h"
#include "test.h"
#include "util/alloc.h"

/* ---- helpers ---------------------------------------------------------- */

/* No child of ours exists any more: none running, none a zombie. */
static void check_no_children(void) {
    errno = 0;
    CHECK_EQ(waitpid(-1, NULL, WNOHANG), -1);
    CHECK_EQ(errno, ECHILD);
}

/* Read fd to end of file into buf (NUL-terminated). Returns the length. */
static size_t read_to_eof(int fd, char *buf, size_t cap) {
    size_t len = 0;
    for (;;) {
        ssize_t n = coop_read(fd, buf + len, cap - 1 - len);
        CHECK(n >= 0);
        if (n == 0) break;
        len += (size_t)n;
        CHECK(len < cap - 1);
    }
    buf[len] = '\0';
    return len;
}

static int spawn_and_wait(const char *const argv[], const coop_proc_opts *o, char *out,
                          size_t cap, int *status) {
    coop_proc *p;
    int r = coop_proc_spawn(&p, argv, o);
    if (r < 0) return r;
    if (out) read_to_eof(coop_proc_stdout(p), out, cap);
    r = coop_proc_wait(p, status);
    coop_proc_free(p);
    return r;
}

/* ---- spawning and reading --------------------------------------------- */

static int body_echo(void *arg) {
    (void)arg;
    const char *argv[] = {"echo", "hello", "world", NULL};
    coop_proc_opts o = {0};
    o.stdout_mode = COOP_STDIO_PIPE;
    char out[256];
    int st = -1;
    CHECK_ERR(spawn_and_wait(argv, &o, out, sizeof out, &st), 0);
    CHECK_STR(out, "hello world\n");
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 0);
    return 0;
}
TEST(proc_spawn_reads_the_output_of_a_program) {
    CHECK_ERR(test_run(body_echo, NULL), 0);
    check_no_children();
}

static int body_exit_code(void *arg) {
    (void)arg;
    const char *argv[] = {"sh", "-c", "exit 7", NULL};
    int st = -1;
    CHECK_ERR(spawn_and_wait(argv, NULL, NULL, 0, &st), 0);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 7);
    return 0;
}
TEST(proc_wait_reports_the_exit_code) {
    CHECK_ERR(test_run(body_exit_code, NULL), 0);
    check_no_children();
}

/* A feeder task writes to cat's stdin while the main task reads stdout. */
typedef struct feed {
    coop_proc *p;
    int chunks;
} feed;

static int feeder(void *arg) {
    feed *f = arg;
    char line[64];
    for (int i = 0; i < f->chunks; i++) {
        int n = snprintf(line, sizeof line, "line %04d\n", i % 10000);
        CHECK_ERR(coop_write(coop_proc_stdin(f->p), line, (size_t)n), n);
    }
    CHECK_ERR(coop_proc_close_stream(f->p, 0), 0);
    return 0;
}

static int body_cat(void *arg) {
    (void)arg;
    const char *argv[] = {"cat", NULL};
    coop_proc_opts o = {0};
    o.stdin_mode = COOP_STDIO_PIPE;
    o.stdout_mode = COOP_STDIO_PIPE;
    coop_proc *p;
    CHECK_ERR(coop_proc_spawn(&p, argv, &o), 0);
    CHECK(coop_proc_stdin(p) > 2);
    CHECK(coop_proc_stdout(p) > 2);
    CHECK_EQ(coop_proc_stderr(p), -1);
    CHECK(fcntl(coop_proc_stdout(p), F_GETFL) & O_NONBLOCK);
    CHECK(fcntl(coop_proc_stdout(p), F_GETFD) & FD_CLOEXEC);
    /* 20000 lines: far more than a pipe holds, so both sides must interleave. */
    feed f = {p, 20000};
    coop_task_id t;
    CHECK_ERR(coop_spawn(&t, "feeder", feeder, &f), 0);
    static char out[20000 * 10 + 16];
    CHECK_EQ(read_to_eof(coop_proc_stdout(p), out, sizeof out), 20000 * 10);
    CHECK(memcmp(out, "line 0000\nline 0001\n", 20) == 0);
    CHECK(memcmp(out + 19999 * 10, "line 9999\n", 10) == 0);
    CHECK_ERR(coop_join(t, NULL), 0);
    int st;
    CHECK_ERR(coop_proc_wait(p, &st), 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_ERR(coop_proc_close_stream(p, 0), -EBADF);
    CHECK_ERR(coop_proc_close_stream(p, 3), -EINVAL);
    coop_proc_free(p);
    return 0;
}
TEST(proc_pipes_carry_data_both_ways_without_blocking_the_loop) {
    CHECK_ERR(test_run(body_cat, NULL), 0);
    check_no_children();
}

static int body_env_cwd(void *arg) {
    (void)arg;
    const char *argv[] = {"sh", "-c", "echo \"$COOP_X\"; pwd; echo oops >&2", NULL};
    const char *env[] = {"COOP_X=forty-two", "PATH=/usr/bin:/bin", NULL};
    coop_proc_opts o = {0};
    o.env = env;
    o.cwd = "/";
    o.stdout_mode = COOP_STDIO_PIPE;
    o.stderr_mode = COOP_STDIO_STDOUT;
    char out[256];
    int st;
    CHECK_ERR(spawn_and_wait(argv, &o, out, sizeof out, &st), 0);
    CHECK_STR(out, "forty-two\n/\noops\n");
    o.stderr_mode = COOP_STDIO_NULL;
    CHECK_ERR(spawn_and_wait(argv, &o, out, sizeof out, &st), 0);
    CHECK_STR(out, "forty-two\n/\n");
    return 0;
}
TEST(proc_spawn_sets_env_cwd_and_merges_stderr) {
    CHECK_ERR(test_run(body_env_cwd, NULL), 0);
    check_no_children();
}

static int body_devnull(void *arg) {
    (void)arg;
    /* cat with stdin from /dev/null ends at once with empty output. */
    const char *argv[] = {"cat", NULL};
    coop_proc_opts o = {0};
    o.stdin_mode = COOP_STDIO_NULL;
    o.stdout_mode = COOP_STDIO_PIPE;
    char out[16];
    int st;
    CHECK_ERR(spawn_and_wait(argv, &o, out, sizeof out, &st), 0);
    CHECK_STR(out, "");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    return 0;
}
TEST(proc_stdin_from_dev_null_reads_eof) {
    CHECK_ERR(test_run(body_devnull, NULL), 0);
    check_no_children();
}

/* ---- spawn failures --------------------------------------------------- */

static int body_enoent(void *arg) {
    (void)arg;
    coop_proc *p = (coop_proc *)1;
    const char *missing[] = {"coop-no-such-program-xyz", NULL};
    CHECK_ERR(coop_proc_spawn(&p, missing, NULL), -ENOENT);
    CHECK(p == NULL);
    const char *abs_missing[] = {"/nonexistent/program", NULL};
    coop_proc_opts o = {0};
    o.no_path_search = 1;
    o.stdout_mode = COOP_STDIO_PIPE; /* the pipe made for it must be closed again */
    CHECK_ERR(coop_proc_spawn(&p, abs_missing, &o), -ENOENT);
    const char *not_exec[] = {"/dev/null", NULL};
    CHECK_ERR(coop_proc_spawn(&p, not_exec, &o), -EACCES);
    const char *ok[] = {"true", NULL};
    o.no_path_search = 0;
    o.cwd = "/nonexistent-dir";
    CHECK_ERR(coop_proc_spawn(&p, ok, &o), -ENOENT);
    const char *empty[] = {NULL};
    CHECK_ERR(coop_proc_spawn(&p, empty, NULL), -EINVAL);
    o.cwd = NULL;
    o.stdout_mode = COOP_STDIO_STDOUT; /* only stderr may be 2>&1 */
    CHECK_ERR(coop_proc_spawn(&p, ok, &o), -EINVAL);
    o.stdout_mode = 9;
    CHECK_ERR(coop_proc_spawn(&p, ok, &o), -EINVAL);
    return 0;
}
TEST(proc_spawn_failure_is_reported_by_spawn_not_wait) {
    CHECK_ERR(test_run(body_enoent, NULL), 0);
    check_no_children();
}

static int body_alloc_fail(void *arg) {
    (void)arg;
    const char *argv[] = {"true", NULL};
    coop_proc_opts o = {0};
    o.stdout_mode = COOP_STDIO_PIPE;
    coop_proc *p;
    coop__alloc_fail_at(1);
    CHECK_ERR(coop_proc_spawn(&p, argv, &o), -ENOMEM);
    coop__alloc_fail_at(0);
    CHECK_ERR(coop_proc_spawn(&p, argv, &o), 0);
    CHECK_ERR(coop_proc_wait(p, NULL), 0);
    coop_proc_free(p);
    return 0;
}
TEST(proc_spawn_fails_cleanly_when_allocation_fails) {
    CHECK_ERR(test_run(body_alloc_fail, NULL), 0);
    check_no_children();
}

/* ---- cancellation: a child that never exits --------------------------- */

typedef struct cancel_case {
    int kill_signal;      /* opts.kill_signal */
    const char *script;   /* sh -c script of the child */
    int expect_signal;    /* how the child must have died */
} cancel_case;

static int body_cancel(void *arg) {
    cancel_case *c = arg;
    const char *argv[] = {"sh", "-c", c->script, NULL};
    coop_proc_opts o = {0};
    o.kill_signal = c->kill_signal;
    o.kill_grace_ns = COOP_MS(100);
    coop_proc *p;
    CHECK_ERR(coop_proc_spawn(&p, argv, &o), 0);
    pid_t pid = coop_proc_pid(p);
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(50)));
    int st = 0;
    CHECK_ERR(coop_proc_wait(p, &st), -ETIMEDOUT);
    CHECK_ERR(coop_scope_exit(&s), -ETIMEDOUT);
    CHECK(WIFSIGNALED(st));
    CHECK_EQ(WTERMSIG(st), c->expect_signal);
    CHECK_ERR(coop_proc_kill(p, SIGTERM), -ESRCH); /* reaped: never signalled again */
    errno = 0;
    CHECK_EQ(waitpid(pid, NULL, WNOHANG), -1); /* already reaped by coop */
    CHECK_EQ(errno, ECHILD);
    /* The status is remembered. */
    st = 0;
    CHECK_ERR(coop_proc_wait(p, &st), 0);
    CHECK_EQ(WTERMSIG(st), c->expect_signal);
    coop_proc_free(p);
    return 0;
}
TEST(proc_cancelled_wait_kills_and_reaps_a_child_that_never_exits) {
    cancel_case c = {0, "exec sleep 1000", SIGKILL};
    CHECK_ERR(test_run(body_cancel, &c), 0);
    check_no_children();
}
TEST(proc_cancelled_wait_sends_the_configured_signal) {
    cancel_case c = {SIGTERM, "exec sleep 1000", SIGTERM};
    CHECK_ERR(test_run_real(body_cancel, &c), 0);
    check_no_children();
}
TEST(proc_cancelled_wait_escalates_to_sigkill_when_the_signal_is_ignored) {
    cancel_case c = {SIGTERM, "trap '' TERM; exec sleep 1000", SIGKILL};
    CHECK_ERR(test_run_real(body_cancel, &c), 0);
    check_no_children();
}

static int sleeper_task(void *arg) {
    coop_proc *p = arg;
    return coop_proc_wait(p, NULL);
}

static int body_cancel_task(void *arg) {
    (void)arg;
    const char *argv[] = {"sleep", "1000", NULL};
    coop_proc *p;
    CHECK_ERR(coop_proc_spawn(&p, argv, NULL), 0);
    coop_task_id t;
    CHECK_ERR(coop_spawn(&t, "waiter", sleeper_task, p), 0);
    CHECK_ERR(coop_sleep(COOP_MS(10)), 0);
    CHECK_ERR(coop_proc_wait(p, NULL), -EBUSY); /* one waiter at a time */
    CHECK_ERR(coop_cancel(t), 0);
    int r = 0;
    CHECK_ERR(coop_join(t, &r), 0);
    CHECK_ERR(r, -ECANCELED);
    CHECK_ERR(coop_proc_kill(p, 0), -ESRCH);
    coop_proc_free(p);
    return 0;
}
TEST(proc_cancelling_the_waiting_task_kills_the_child) {
    CHECK_ERR(test_run(body_cancel_task, NULL), 0);
    check_no_children();
}

static int body_free_running(void *arg) {
    (void)arg;
    const char *argv[] = {"sleep", "1000", NULL};
    coop_proc_opts o = {0};
    o.stdin_mode = COOP_STDIO_PIPE;
    o.stdout_mode = COOP_STDIO_PIPE;
    coop_proc *p;
    CHECK_ERR(coop_proc_spawn(&p, argv, &o), 0);
    CHECK_ERR(coop_proc_kill(p, 0), 0); /* alive */
    coop_proc_free(p);                  /* kills, reaps, closes the pipes */
    check_no_children();
    return 0;
}
TEST(proc_free_kills_and_reaps_a_running_child) {
    CHECK_ERR(test_run(body_free_running, NULL), 0);
    check_no_children();
}

/* ---- the no-pidfd fallback ---------------------------------------------- */

static int body_fallback(void *arg) {
    (void)arg;
    coop__proc_no_pidfd = 1;
    const char *argv[] = {"sh", "-c", "echo fallback; exit 3", NULL};
    coop_proc_opts o = {0};
    o.stdout_mode = COOP_STDIO_PIPE;
    char out[64];
    int st;
    CHECK_ERR(spawn_and_wait(argv, &o, out, sizeof out, &st), 0);
    CHECK_STR(out, "fallback\n");
    CHECK_EQ(WEXITSTATUS(st), 3);
    cancel_case c = {0, "exec sleep 1000", SIGKILL};
    CHECK_ERR(body_cancel(&c), 0);
    /* Free while running: the helper thread is joined, the child reaped. */
    const char *sleeper[] = {"sleep", "1000", NULL};
    coop_proc *p;
    CHECK_ERR(coop_proc_spawn(&p, sleeper, NULL), 0);
    coop_proc_free(p);
    coop__proc_no_pidfd = 0;
    return 0;
}
TEST(proc_without_pidfd_a_helper_thread_watches_the_exit) {
    CHECK_ERR(test_run(body_fallback, NULL), 0);
    check_no_children();
}

/* ---- EINTR ---------------------------------------------------------------- */

static void on_alarm(int sig) { (void)sig; }

static int body_eintr(void *arg) {
    (void)arg;
    for (int i = 0; i < 20; i++) {
        const char *argv[] = {"sh", "-c", "echo tick; sleep 0.01", NULL};
        coop_proc_opts o = {0};
        o.stdout_mode = COOP_STDIO_PIPE;
        char out[32];
        int st;
        CHECK_ERR(spawn_and_wait(argv, &o, out, sizeof out, &st), 0);
        CHECK_STR(out, "tick\n");
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    return 0;
}
TEST(proc_calls_survive_a_storm_of_interrupting_signals) {
    /* A handler without SA_RESTART every 500 us (SIGUSR2: the harness owns
     * SIGALRM): every blocking system call of the loop and of spawn sees
     * EINTR many times. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigaction(SIGUSR2, &sa, NULL);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR2;
    timer_t tm;
    CHECK_EQ(timer_create(CLOCK_MONOTONIC, &ev, &tm), 0);
    struct itimerspec it = {{0, 500000}, {0, 500000}};
    timer_settime(tm, 0, &it, NULL);
    int r = test_run_real(body_eintr, NULL);
    timer_delete(tm);
    CHECK_ERR(r, 0);
    check_no_children();
}

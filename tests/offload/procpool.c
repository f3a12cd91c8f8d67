/*
 * Process pool: round trip and reuse, errors passed through, a crashing
 * worker fails only its job and is replaced, cancellation kills the worker,
 * shutdown leaves no zombie and no fd, and a worker holds none of the
 * loop's descriptors.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>
#include "expect_misuse.h"
#include "offload/offload.h"
#include "test.h"
#include "util/alloc.h"

/* Reverse the input; "crash" aborts, "sleep" sleeps 10 s, "big" overflows. */
static ssize_t reverse_job(const void *in, size_t n, void *out, size_t cap) {
    const char *s = in;
    if (n == 5 && memcmp(s, "crash", 5) == 0) abort();
    if (n == 5 && memcmp(s, "sleep", 5) == 0) sleep(10);
    if (n == 3 && memcmp(s, "big", 3) == 0) return (ssize_t)cap + 1;
    if (n == 3 && memcmp(s, "dom", 3) == 0) return -EDOM;
    if (n > cap) return -ENOSPC;
    for (size_t i = 0; i < n; i++) ((char *)out)[i] = s[n - 1 - i];
    return (ssize_t)n;
}

static ssize_t call_str(coop_procpool *pp, const char *s, char *out, size_t cap) {
    return coop_procpool_call(pp, reverse_job, s, strlen(s), out, cap);
}

/* The worker process is gone and reaped (not a zombie of ours). */
static int reaped(pid_t pid) { return waitpid(pid, NULL, WNOHANG) < 0 && errno == ECHILD; }

static int body_round_trip(void *arg) {
    (void)arg;
    coop_procpool *pp;
    CHECK_ERR(coop_procpool_new(&pp, 2, 0), 0);
    CHECK_EQ(coop__procpool_worker_pid(pp, 0), 0); /* forked on demand */
    char out[64];
    CHECK_EQ(call_str(pp, "hello", out, sizeof out), 5);
    CHECK(memcmp(out, "olleh", 5) == 0);
    pid_t first = coop__procpool_worker_pid(pp, 0);
    CHECK(first > 0 && first != getpid());
    CHECK_EQ(call_str(pp, "ab", out, sizeof out), 2);
    CHECK(memcmp(out, "ba", 2) == 0);
    CHECK_EQ(coop__procpool_worker_pid(pp, 0), first); /* reused */
    CHECK_EQ(call_str(pp, "", out, sizeof out), 0);   /* empty input */
    coop_procpool_free(pp);
    CHECK(reaped(first));
    return 0;
}
TEST(procpool_round_trip_reuses_the_worker) { CHECK_ERR(test_run(body_round_trip, NULL), 0); }

static int body_errors(void *arg) {
    (void)arg;
    coop_procpool *pp;
    CHECK_ERR(coop_procpool_new(&pp, 1, 16), 0);
    char out[64];
    CHECK_ERR(call_str(pp, "dom", out, sizeof out), -EDOM);           /* fn's own error */
    CHECK_ERR(call_str(pp, "big", out, sizeof out), -EMSGSIZE);       /* fn wrote too much */
    CHECK_ERR(call_str(pp, "0123456789abcdefX", out, sizeof out), -EMSGSIZE); /* input > max */
    CHECK_ERR(coop_procpool_call(pp, NULL, "x", 1, out, 1), -EINVAL);
    CHECK_ERR(coop_procpool_call(pp, reverse_job, NULL, 1, out, 1), -EINVAL);
    pid_t pid = coop__procpool_worker_pid(pp, 0);
    CHECK_EQ(call_str(pp, "ok", out, sizeof out), 2); /* the same worker still serves */
    CHECK_EQ(coop__procpool_worker_pid(pp, 0), pid);
    coop_procpool_free(pp);
    return 0;
}
TEST(procpool_reports_job_and_size_errors) { CHECK_ERR(test_run(body_errors, NULL), 0); }

TEST(procpool_needs_a_loop_and_memory) {
    coop_procpool *pp;
    CHECK_ERR(coop_procpool_new(&pp, 1, 0), -EPERM);
    CHECK_ERR(coop_procpool_new(NULL, 1, 0), -EINVAL);
}

static int body_nomem(void *arg) {
    (void)arg;
    coop_procpool *pp;
    CHECK_ERR(coop_procpool_new(&pp, 0, 0), -EINVAL);
    coop__alloc_fail_at(1);
    CHECK_ERR(coop_procpool_new(&pp, 1, 0), -ENOMEM);
    coop__alloc_fail_at(0);
    return 0;
}
TEST(procpool_new_fails_cleanly_without_memory) { CHECK_ERR(test_run(body_nomem, NULL), 0); }

static int body_crash(void *arg) {
    (void)arg;
    coop_procpool *pp;
    CHECK_ERR(coop_procpool_new(&pp, 1, 0), 0);
    char out[64];
    CHECK_EQ(call_str(pp, "one", out, sizeof out), 3);
    pid_t victim = coop__procpool_worker_pid(pp, 0);
    int devnull = open("/dev/null", O_WRONLY), saved = dup(2);
    dup2(devnull, 2); /* the abort message of the child */
    CHECK_ERR(call_str(pp, "crash", out, sizeof out), -ECHILD);
    dup2(saved, 2);
    close(saved);
    close(devnull);
    CHECK(reaped(victim));
    CHECK_EQ(call_str(pp, "two", out, sizeof out), 3); /* a fresh worker */
    CHECK(memcmp(out, "owt", 3) == 0);
    pid_t fresh = coop__procpool_worker_pid(pp, 0);
    CHECK(fresh > 0 && fresh != victim);
    coop_procpool_free(pp);
    CHECK(reaped(fresh));
    return 0;
}
TEST(procpool_crashing_worker_fails_only_its_job) { CHECK_ERR(test_run(body_crash, NULL), 0); }

typedef struct cancel_arg {
    coop_procpool *pp;
    ssize_t result;
} cancel_arg;

static int sleeper(void *arg) {
    cancel_arg *ca = arg;
    char out[16];
    ca->result = call_str(ca->pp, "sleep", out, sizeof out);
    return 0;
}

static int body_cancel(void *arg) {
    (void)arg;
    static cancel_arg ca;
    CHECK_ERR(coop_procpool_new(&ca.pp, 1, 0), 0);
    char out[16];
    CHECK_EQ(call_str(ca.pp, "x", out, sizeof out), 1);
    pid_t victim = coop__procpool_worker_pid(ca.pp, 0);
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "sleeper", sleeper, &ca));
    CHECK_ERR(coop_sleep(COOP_MS(50)), 0);
    int64_t t0 = coop_now();
    CHECK_ERR(coop_cancel(t), 0);
    CHECK_ERR(coop_join(t, NULL), 0);
    CHECK_ERR(ca.result, -ECANCELED);
    CHECK(coop_now() - t0 < COOP_SEC(5)); /* did not wait for the 10 s job */
    CHECK(reaped(victim));                /* killed and reaped */
    CHECK_EQ(call_str(ca.pp, "yz", out, sizeof out), 2); /* replaced */
    CHECK(coop__procpool_worker_pid(ca.pp, 0) != victim);
    coop_procpool_free(ca.pp);
    return 0;
}
TEST(procpool_cancel_kills_and_replaces_the_worker) { CHECK_ERR(test_run_real(body_cancel, NULL), 0); }

typedef struct par {
    coop_procpool *pp;
    int ok;
} par;

static int par_task(void *arg) {
    par *p = arg;
    char out[16];
    for (int i = 0; i < 10; i++) {
        if (call_str(p->pp, "abc", out, sizeof out) != 3 || memcmp(out, "cba", 3) != 0) return -EIO;
    }
    p->ok++;
    return 0;
}

static int body_parallel(void *arg) {
    (void)arg;
    static par p;
    CHECK_ERR(coop_procpool_new(&p.pp, 2, 0), 0);
    coop_task_id ids[5];
    for (int i = 0; i < 5; i++) CHECK_OK(coop_spawn(&ids[i], "user", par_task, &p));
    for (int i = 0; i < 5; i++) {
        int res;
        CHECK_ERR(coop_join(ids[i], &res), 0);
        CHECK_ERR(res, 0);
    }
    CHECK_EQ(p.ok, 5);
    pid_t a = coop__procpool_worker_pid(p.pp, 0), b = coop__procpool_worker_pid(p.pp, 1);
    CHECK(a > 0 && b > 0 && a != b); /* both workers served, and only those */
    coop_procpool_free(p.pp);
    CHECK(reaped(a));
    CHECK(reaped(b));
    return 0;
}
TEST(procpool_tasks_share_a_bounded_set_of_workers) { CHECK_ERR(test_run(body_parallel, NULL), 0); }

/* List the fds of a process. */
static int list_fds(pid_t pid, int *fds, int max) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (n < max) fds[n] = atoi(e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static int body_cloexec(void *arg) {
    (void)arg;
    /* Make the parent hold extra descriptors a worker must not inherit:
     * the loop's own (epoll, eventfd) plus a pipe waited on by the loop. */
    int pfd[2];
    CHECK_ERR(pipe2(pfd, O_NONBLOCK | O_CLOEXEC), 0);
    coop_procpool *pp;
    CHECK_ERR(coop_procpool_new(&pp, 1, 0), 0);
    char out[16];
    CHECK_EQ(call_str(pp, "x", out, sizeof out), 1); /* the worker is in its loop */
    int mine[256], theirs[256];
    int nm = list_fds(getpid(), mine, 256);
    int nt = list_fds(coop__procpool_worker_pid(pp, 0), theirs, 256);
    CHECK(nm > 6); /* std fds, loop fds, pipe, the socket, the dir */
    /* The worker keeps 0, 1, 2 and its socket at 3, nothing else. (Under
     * valgrind the tool's own fds sit at the top of the table, >= 1000,
     * out of reach of the program: they are not counted.) */
    int kept = 0;
    for (int i = 0; i < nt && i < 256; i++) {
        CHECK(theirs[i] <= 3 || theirs[i] >= 1000);
        kept += theirs[i] <= 3;
    }
    CHECK_EQ(kept, 4);
    for (int i = 0; i < nm && i < 256; i++) { /* in particular none of ours above 3 */
        if (mine[i] <= 3) continue;
        for (int k = 0; k < nt && k < 256; k++) CHECK(theirs[k] != mine[i] || mine[i] >= 1000);
    }
    coop_procpool_free(pp);
    close(pfd[0]);
    close(pfd[1]);
    return 0;
}
TEST(procpool_worker_holds_none_of_the_loops_fds) { CHECK_ERR(test_run(body_cloexec, NULL), 0); }

static int body_many_rounds(void *arg) {
    (void)arg;
    coop_procpool *pp;
    CHECK_ERR(coop_procpool_new(&pp, 1, 0), 0);
    static char in[200000], out[200000];
    for (size_t i = 0; i < sizeof in; i++) in[i] = (char)(i * 7);
    /* Larger than a socket buffer: the transfer suspends in both directions. */
    CHECK_EQ(coop_procpool_call(pp, reverse_job, in, sizeof in, out, sizeof out), (ssize_t)sizeof in);
    for (size_t i = 0; i < sizeof in; i++) CHECK_EQ(out[i], in[sizeof in - 1 - i]);
    coop_procpool_free(pp);
    return 0;
}
TEST(procpool_large_messages_cross_intact) { CHECK_ERR(test_run(body_many_rounds, NULL), 0); }

static int body_free_busy(void *arg) {
    coop_procpool *pp = arg;
    char out[8];
    call_str(pp, "sleep", out, sizeof out);
    return 0;
}

static int body_misuse(void *arg) {
    (void)arg;
    coop_procpool *pp;
    CHECK_ERR(coop_procpool_new(&pp, 1, 0), 0);
    CHECK_OK(coop_spawn(NULL, "user", body_free_busy, pp));
    coop_sleep(COOP_MS(20));
    coop_procpool_free(pp); /* aborts: a task uses it */
    return 0;
}

TEST(procpool_free_while_in_use_is_misuse) {
    expect_misuse(body_misuse, 1, "coop_procpool_free: 1 task(s) still use the process pool");
}

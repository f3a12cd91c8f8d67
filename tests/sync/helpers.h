/*
 * helpers.h — shared by the sync and chan tests: a "probe" task that runs
 * one waiting call inside its own cancel scope (so a test can cancel
 * exactly that waiter, at exactly the moment it chooses), waiting until a
 * task is parked, and checking that misuse aborts with a message.
 */
#ifndef COOP_TESTS_SYNC_HELPERS_H
#define COOP_TESTS_SYNC_HELPERS_H

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test.h"

/* One waiting call run by its own task inside its own scope. */
typedef struct probe {
    coop_scope scope;     /* entered by the probe task around the call */
    int (*op)(void *arg); /* the call */
    void *arg;            /* its argument */
    int64_t deadline;     /* of the scope (COOP_NEVER: none) */
    int result;           /* what op returned */
    int finished;         /* 1 once op returned */
    int64_t returned_at;  /* coop_now() when op returned */
    int order;            /* finishing order among probes (see probe_seq) */
    coop_task_id id;      /* the probe task */
} probe;

static int probe_seq;

static inline int probe_main(void *arg) {
    probe *p = arg;
    coop_scope_enter(&p->scope, p->deadline);
    p->result = p->op(p->arg);
    p->returned_at = coop_now();
    coop_scope_exit(&p->scope);
    p->finished = 1;
    p->order = probe_seq++;
    return 0;
}

/* Yield until t is parked (bounded: a test must not hang here). */
static inline void wait_parked(coop_task_id t) {
    for (int i = 0; i < 1000 && coop_task_state(t) != COOP_TASK_PARKED; i++) coop_yield();
    CHECK_EQ(coop_task_state(t), COOP_TASK_PARKED);
}

/* Start op(arg) in a probe task of nursery n and wait until it is parked
 * (set park = 0 for calls expected to complete without waiting). */
static inline void probe_start(probe *p, coop_nursery *n, int (*op)(void *), void *arg,
                               int park) {
    p->op = op;
    p->arg = arg;
    if (p->deadline == 0) p->deadline = COOP_NEVER;
    p->finished = 0;
    CHECK_OK(coop_nursery_spawn(n, &p->id, "probe", probe_main, p));
    if (park) wait_parked(p->id);
}

/* Let the ready tasks run a few turns. */
static inline void settle(void) {
    for (int i = 0; i < 5; i++) coop_yield();
}

/* Run body in a forked child (stderr captured) and check that it died by
 * SIGABRT with needle in its message. */
static inline void expect_abort(void (*body)(void), const char *needle) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        body();
        _exit(0);
    }
    close(fds[1]);
    char msg[2048];
    size_t len = 0;
    ssize_t k;
    while (len < sizeof msg - 1 && (k = read(fds[0], msg + len, sizeof msg - 1 - len)) > 0)
        len += (size_t)k;
    msg[len] = 0;
    close(fds[0]);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT)
        test__fail(__FILE__, __LINE__, "expected SIGABRT, got status 0x%x; stderr: %s", st, msg);
    if (!strstr(msg, needle))
        test__fail(__FILE__, __LINE__, "abort message lacks \"%s\": %s", needle, msg);
}

#endif

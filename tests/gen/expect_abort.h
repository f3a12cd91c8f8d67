/*
 * expect_abort.h — misuse tests of tests/gen: run a function in a forked
 * child with its stderr captured, and report whether it died of SIGABRT.
 */
#ifndef COOP_TESTS_GEN_EXPECT_ABORT_H
#define COOP_TESTS_GEN_EXPECT_ABORT_H

#include "test.h"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

/* Run fn(arg) in a child; its stderr goes to buf (NUL-terminated). Returns
 * 1 if the child was killed by SIGABRT. */
static inline int expect_abort(void (*fn)(void *), void *arg, char *buf, size_t size) {
    int p[2];
    CHECK(pipe(p) == 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 2);
        fn(arg);
        _exit(0);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t k;
    while (n + 1 < size && (k = read(p[0], buf + n, size - 1 - n)) > 0)
        n += (size_t)k;
    buf[n] = '\0';
    close(p[0]);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

#endif

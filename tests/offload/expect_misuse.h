/*
 * expect_misuse.h — run a loop whose main task commits a misuse, in a
 * child process, and check that the child aborted (SIGABRT) with a
 * "coop: misuse:" message that contains the given words.
 */
#ifndef COOP_TEST_EXPECT_MISUSE_H
#define COOP_TEST_EXPECT_MISUSE_H

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test.h"

static void expect_misuse(coop_fn body, int real_clock, const char *words) {
    int p[2];
    CHECK_ERR(pipe(p), 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 2);
        if (real_clock)
            test_run_real(body, NULL);
        else
            test_run(body, NULL);
        _exit(0);
    }
    close(p[1]);
    char msg[1024] = {0};
    size_t got = 0;
    ssize_t n;
    while (got < sizeof msg - 1 && (n = read(p[0], msg + got, sizeof msg - 1 - got)) > 0) got += (size_t)n;
    close(p[0]);
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    CHECK(strstr(msg, "coop: misuse:") != NULL);
    CHECK(strstr(msg, words) != NULL);
}

#endif

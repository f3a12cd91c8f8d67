/*
 * expect_misuse.h — run a loop whose main task commits a misuse, in a
 * child process (tests/gen/expect_abort.h), and check that the child
 * aborted with a "coop: misuse:" message containing the given words.
 */
#ifndef COOP_TEST_EXPECT_MISUSE_H
#define COOP_TEST_EXPECT_MISUSE_H

#include "gen/expect_abort.h"

typedef struct misuse_run {
    coop_fn body;   /* the loop's main task */
    int real_clock; /* test_run_real instead of test_run */
} misuse_run;

static void misuse_child(void *arg) {
    misuse_run *m = arg;
    if (m->real_clock)
        test_run_real(m->body, NULL);
    else
        test_run(m->body, NULL);
}

static void expect_misuse(coop_fn body, int real_clock, const char *words) {
    misuse_run m = {body, real_clock};
    char msg[1024];
    CHECK(expect_abort(misuse_child, &m, msg, sizeof msg));
    CHECK(strstr(msg, "coop: misuse:") != NULL);
    CHECK(strstr(msg, words) != NULL);
}

#endif

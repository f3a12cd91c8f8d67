/*
 * valgrind_spawn.h — spawn-failure checks that hold under valgrind too.
 * glibc's posix_spawn reports exec failures through memory shared with the
 * vfork'ed child; valgrind runs that clone as a plain fork, so there the
 * spawn succeeds and the child exits 127 instead (documented in proc.h).
 */
#ifndef COOP_TESTS_PROC_VALGRIND_SPAWN_H
#define COOP_TESTS_PROC_VALGRIND_SPAWN_H

#include <sys/wait.h>
#include "test.h"
#if defined(COOP_VALGRIND) && __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

/* coop_proc_spawn(argv, o) must fail with err; under valgrind a spawn that
 * succeeds with a child exiting 127 is accepted. */
static inline void check_spawn_fails(const char *const argv[], const coop_proc_opts *o, int err) {
    coop_proc *p = (coop_proc *)1;
    int r = coop_proc_spawn(&p, argv, o);
    if (r == 0 && RUNNING_ON_VALGRIND) {
        int st;
        CHECK_ERR(coop_proc_wait(p, &st), 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 127);
        coop_proc_free(p);
        return;
    }
    CHECK_ERR(r, err);
    CHECK(p == NULL);
}

#endif

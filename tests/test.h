/*
 * test.h — the test harness: TEST(name) registers a test; each runs in its
 * own forked process with a timeout, and afterwards the harness checks that
 * no allocation and no file descriptor was left behind (every loop has ended
 * by then, so no task or timer can be left either). Assertions print both
 * values and, for coop results, the error names.
 *
 * Name tests <object>_<behaviour>: chan_recv_times_out_without_sender.
 */
#ifndef COOP_TEST_H
#define COOP_TEST_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "coop.h"
#include "util/alloc.h" /* coop__alloc_live, coop__alloc_fail_at */

typedef void (*test_fn)(void);
void test__register(const char *name, test_fn fn, const char *file, int timeout_s);
__attribute__((noreturn, format(printf, 3, 4))) void test__fail(const char *file, int line,
                                                               const char *fmt, ...);

/* A test with the default timeout (10 s, scaled by COOP_TEST_TIMEOUT_SCALE). */
#define TEST(name) TEST_TIMEOUT(name, 10)
#define TEST_TIMEOUT(name, secs)                                                \
    static void test_##name(void);                                              \
    __attribute__((constructor)) static void test_register_##name(void) {       \
        test__register(#name, test_##name, __FILE__, (secs));                   \
    }                                                                           \
    static void test_##name(void)

/* Run fn in a forked child with stderr captured; check that it aborts
 * (SIGABRT) and that its stderr contains needle. For misuse tests. */
void test_expect_abort(void (*fn)(void), const char *needle);

/* End the test here as skipped, saying why (e.g. a real-time behaviour
 * that valgrind's serialised threads cannot show). Counted apart from
 * passes and failures. Use only for environments, never for bugs. */
__attribute__((noreturn)) void test_skip(const char *why);
/* Nonzero when running under valgrind (which serialises threads and does
 * not implement every syscall). */
int test_under_valgrind(void);

/* The test does not check for leaked fds (e.g. it hands fds to a child). */
void test_skip_fd_check(void);

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) test__fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond); \
    } while (0)

#define CHECK_EQ(a, b)                                                                     \
    do {                                                                                   \
        long long a_ = (long long)(a), b_ = (long long)(b);                                \
        if (a_ != b_)                                                                      \
            test__fail(__FILE__, __LINE__, "%s == %s failed: %lld != %lld", #a, #b, a_, b_); \
    } while (0)

#define CHECK_STR(a, b)                                                                   \
    do {                                                                                  \
        const char *a_ = (a), *b_ = (b);                                                  \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                            \
            test__fail(__FILE__, __LINE__, "%s == %s failed: \"%s\" != \"%s\"", #a, #b,   \
                       a_ ? a_ : "(null)", b_ ? b_ : "(null)");                           \
    } while (0)

/* A coop call returned exactly err (0 or a negative errno). */
#define CHECK_ERR(expr, err)                                                              \
    do {                                                                                  \
        long long r_ = (long long)(expr), e_ = (long long)(err);                          \
        if (r_ != e_)                                                                     \
            test__fail(__FILE__, __LINE__, "%s returned %lld (%s), expected %lld (%s)",   \
                       #expr, r_, r_ < 0 ? coop_strerror((int)r_) : "ok", e_,             \
                       e_ < 0 ? coop_strerror((int)e_) : "ok");                           \
    } while (0)

/* A coop call succeeded (>= 0); evaluates to its result. */
#define CHECK_OK(expr)                                                                    \
    ({                                                                                    \
        long long r_ = (long long)(expr);                                                 \
        if (r_ < 0)                                                                       \
            test__fail(__FILE__, __LINE__, "%s failed: %lld (%s)", #expr, r_,             \
                       coop_strerror((int)r_));                                           \
        r_;                                                                               \
    })

/* Run fn(arg) as the main task of a loop on the virtual clock (timeouts in
 * tests take no real time), on the backend named by COOP_BACKEND. Returns
 * the main task's result. */
int test_run(coop_fn fn, void *arg);
/* The same on the real monotonic clock. */
int test_run_real(coop_fn fn, void *arg);

#endif

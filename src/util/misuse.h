/*
 * misuse.h — defensive checks that stay in release builds.
 *
 * coop__misuse reports a misuse of the API that cannot be returned as an
 * error (or that would corrupt memory if it went on) and aborts: the message
 * starts with "coop: misuse:" and names the call. COOP_ASSERT is for
 * internal invariants and compiles away in NDEBUG builds.
 */
#ifndef COOP_UTIL_MISUSE_H
#define COOP_UTIL_MISUSE_H

#include <assert.h>

__attribute__((noreturn, format(printf, 1, 2), cold)) void coop__misuse(const char *fmt, ...);
__attribute__((noreturn, format(printf, 1, 2), cold)) void coop__fatal(const char *fmt, ...);

#define COOP_ASSERT(x) assert(x)
#define COOP_LIKELY(x) __builtin_expect(!!(x), 1)
#define COOP_UNLIKELY(x) __builtin_expect(!!(x), 0)

#endif

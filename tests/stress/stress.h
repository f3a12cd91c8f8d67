/*
 * stress.h — the seeded randomness of the sync/chan stress tests: the seed
 * comes from COOP_STRESS_SEED or the clock and is printed, so a failure
 * can be replayed exactly (the tests run on the virtual clock, so a seed
 * determines the whole run).
 */
#ifndef COOP_TESTS_STRESS_STRESS_H
#define COOP_TESTS_STRESS_STRESS_H

#include <time.h>
#include "test.h"

static uint64_t stress_state;

static inline uint64_t stress_seed(const char *what) {
    const char *env = getenv("COOP_STRESS_SEED");
    uint64_t seed;
    if (env) {
        seed = strtoull(env, NULL, 0);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20);
    }
    printf("%s: seed %llu (replay with COOP_STRESS_SEED=%llu)\n", what,
           (unsigned long long)seed, (unsigned long long)seed);
    fflush(stdout);
    stress_state = seed ? seed : 1;
    return seed;
}

/* xorshift64*: a uniform number in [0, n). */
static inline unsigned stress_rand(unsigned n) {
    stress_state ^= stress_state >> 12;
    stress_state ^= stress_state << 25;
    stress_state ^= stress_state >> 27;
    return (unsigned)((stress_state * 2685821657736338717ull) >> 33) % n;
}

#endif

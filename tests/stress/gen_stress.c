/*
 * Seeded stress of generators and greenlets shared by several tasks: random
 * next/throw/close/free on a common pool of generators whose bodies sleep
 * at random, checked against a model (sequence numbers, -EBUSY exactly when
 * another task is parked inside), plus per-task greenlet rings passing a
 * token through bodies that sleep. Seed: COOP_STRESS_SEED (default fixed);
 * printed on failure. Virtual clock: bounded and fast.
 */
#include "test.h"
#include <stdint.h>

#define NGEN 12
#define NTASK 6
#define OPS 2000
#define RING 3

static uint64_t seed;

static uint32_t rnd(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return (uint32_t)(*s >> 11);
}

typedef struct slot {
    coop_gen *g;  /* the generator, or NULL */
    long expect;  /* next value it must yield */
    int busy;     /* a task is inside next/throw on it */
    uint64_t rng; /* its body's random stream */
} slot;

static slot pool[NGEN];
static long checks;
static long busy_hits; /* resumes refused because another task was inside */

/* Yields 0, 1, 2, ...; sleeps at random before some values; a thrown -EIO
 * is absorbed (the same value is yielded next). */
static int seq_body(coop_gen *g, void *arg, void **ret) {
    slot *s = arg;
    (void)ret;
    for (long i = 0;; i++) {
        if (rnd(&s->rng) % 3 == 0) {
            int r = coop_sleep(COOP_MS(rnd(&s->rng) % 5));
            if (r < 0) return r;
        }
        int r;
        do {
            r = coop_gen_yield(g, (void *)(intptr_t)i, NULL);
        } while (r == -EIO);
        if (r < 0) return r == COOP_GEN_EXIT ? 0 : r;
    }
}

static void fresh(slot *s, int idx) {
    s->expect = 0;
    s->rng = seed * 31 + (uint64_t)idx + 1;
    CHECK_OK(coop_gen_new(&s->g, seq_body, s, 0));
}

static int worker(void *arg) {
    uint64_t rng = seed ^ ((uint64_t)(intptr_t)arg * 0x9e3779b97f4a7c15ull);
    for (int op = 0; op < OPS; op++) {
        int idx = (int)(rnd(&rng) % NGEN);
        slot *s = &pool[idx];
        void *v = NULL;
        int was_busy = s->busy;
        switch (rnd(&rng) % 8) {
        case 0:
        case 1:
        case 2:
        case 3: { /* next */
            s->busy = 1;
            int r = coop_gen_next(s->g, &v);
            if (was_busy) {
                CHECK_ERR(r, -EBUSY);
                busy_hits++;
                break;
            }
            s->busy = 0;
            CHECK_ERR(r, 0);
            CHECK_EQ((long)(intptr_t)v, s->expect);
            s->expect++;
            break;
        }
        case 4: { /* throw -EIO: absorbed, same value again */
            if (!was_busy) s->busy = 1;
            int r = coop_gen_throw(s->g, -EIO, &v);
            if (was_busy) {
                CHECK_ERR(r, -EBUSY);
                busy_hits++;
                break;
            }
            s->busy = 0;
            if (s->expect == 0) { /* unstarted: it died of it */
                CHECK_ERR(r, -EIO);
                CHECK_OK(coop_gen_free(s->g));
                fresh(s, idx);
                break;
            }
            CHECK_ERR(r, 0);
            CHECK_EQ((long)(intptr_t)v, s->expect - 1); /* re-yielded */
            break;
        }
        case 5: /* close and start over */
        case 6: /* free and start over */
            if (was_busy) {
                CHECK_ERR(coop_gen_close(s->g), -EBUSY);
                break;
            }
            if (rnd(&rng) & 1) CHECK_ERR(coop_gen_close(s->g), 0);
            CHECK_ERR(coop_gen_free(s->g), 0);
            fresh(s, idx);
            break;
        default:
            coop_sleep(COOP_MS(rnd(&rng) % 3));
        }
        checks++;
    }
    return 0;
}

/* ---- greenlet rings ----------------------------------------------------- */

typedef struct ring {
    coop_greenlet *g[RING]; /* the members */
    long passes;            /* token passes */
    uint64_t rng;           /* randomness */
} ring;

static int member(void *first, void **ret) {
    ring *r = first;
    coop_greenlet *me = coop_greenlet_current();
    int idx = 0;
    while (r->g[idx] != me)
        idx++;
    void *tok = NULL;
    for (;;) {
        if (rnd(&r->rng) % 4 == 0 && coop_sleep(COOP_MS(1)) < 0) return -ECANCELED;
        r->passes++;
        if (r->passes >= 300) { /* done: the result goes to the root */
            *ret = (void *)(intptr_t)r->passes;
            return 0;
        }
        int rc = coop_greenlet_switch(r->g[(idx + 1) % RING], r, &tok);
        if (rc < 0) return rc == COOP_GREENLET_EXIT ? 0 : rc;
    }
}

static int ring_task(void *arg) {
    ring r = {.rng = seed + (uint64_t)(intptr_t)arg + 7};
    for (int i = 0; i < RING; i++)
        CHECK_OK(coop_greenlet_new(&r.g[i], member, NULL, 0));
    void *res;
    CHECK_ERR(coop_greenlet_switch(r.g[0], &r, &res), 0);
    CHECK_EQ((long)(intptr_t)res, 300);
    for (int i = 0; i < RING; i++)
        CHECK_OK(coop_greenlet_free(r.g[i]));
    return 0;
}

static int stress_main(void *arg) {
    (void)arg;
    for (int i = 0; i < NGEN; i++)
        fresh(&pool[i], i);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    for (intptr_t i = 0; i < NTASK; i++) {
        CHECK_OK(coop_nursery_spawn(&n, NULL, "worker", worker, (void *)i));
        CHECK_OK(coop_nursery_spawn(&n, NULL, "ring", ring_task, (void *)i));
    }
    CHECK_OK(coop_nursery_close(&n));
    for (int i = 0; i < NGEN; i++)
        CHECK_OK(coop_gen_free(pool[i].g));
    CHECK_EQ(checks, (long)NTASK * OPS);
    CHECK(busy_hits > 0); /* the contended path was exercised */
    return 0;
}

TEST_TIMEOUT(gen_stress_shared_generators_and_greenlet_rings, 20) {
    const char *e = getenv("COOP_STRESS_SEED");
    seed = e ? strtoull(e, NULL, 0) : 0x5eed2026u;
    if (!seed) seed = 1;
    fprintf(stderr, "gen_stress seed=%llu\n", (unsigned long long)seed);
    CHECK_OK(test_run(stress_main, NULL));
}

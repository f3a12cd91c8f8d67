/*
 * Seeded random stress of thread-pool cancellation: many tasks submit jobs
 * to a small pool (so jobs queue, wait for slots and run), and a canceller
 * cancels random tasks at random moments, some of them detaching. At the
 * end every job is accounted for exactly once: it ran and its caller saw
 * the result (success, or the cancellation cause with the result), it ran
 * detached and its cleanup saw the result, or it never ran. The seed is
 * printed; COOP_STRESS_SEED replays one. Bounded to about a second.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>
#include "test.h"

#define TASKS 64
#define ROUNDS 6

typedef struct job_arg {
    atomic_int ran;      /* times the function ran (must end 0 or 1) */
    atomic_int cleaned;  /* times the cleanup ran (0 or 1, only if detached) */
    int spin_us;         /* how long the function works */
} job_arg;

static job_arg args[TASKS * ROUNDS];
static coop_pool *pool;
static atomic_int outcome_ok, outcome_cancel_waited, outcome_cancel_removed_or_detached;

static intptr_t work(void *arg) {
    job_arg *a = arg;
    atomic_fetch_add(&a->ran, 1);
    usleep((useconds_t)a->spin_us);
    return (intptr_t)(a - args) + 1;
}

static void cleanup(void *arg, intptr_t result) {
    job_arg *a = arg;
    if (result != (intptr_t)(a - args) + 1) abort(); /* the wrong result */
    atomic_fetch_add(&a->cleaned, 1);
}

typedef struct task_arg {
    int index;       /* first job index of this task */
    unsigned flags;  /* 0 or COOP_OFFLOAD_DETACH */
} task_arg;

static int submitter(void *arg) {
    task_arg *t = arg;
    for (int r = 0; r < ROUNDS; r++) {
        job_arg *a = &args[t->index * ROUNDS + r];
        intptr_t result = -1;
        int rc = coop_pool_call(pool, work, a, &result, t->flags, cleanup);
        if (rc == 0) {
            if (result != (intptr_t)(a - args) + 1) return -EIO;
            atomic_fetch_add(&outcome_ok, 1);
        } else if (rc == -ECANCELED) {
            if (result != -1) {
                /* waited for a running job: its result is there */
                if (result != (intptr_t)(a - args) + 1 || t->flags) return -EIO;
                atomic_fetch_add(&outcome_cancel_waited, 1);
            } else {
                atomic_fetch_add(&outcome_cancel_removed_or_detached, 1);
            }
            return 0; /* cancelled: this task stops */
        } else {
            return rc;
        }
    }
    return 0;
}

static unsigned seed;

static int body(void *arg) {
    (void)arg;
    CHECK_ERR(coop_pool_new(&pool, "stress", 3, 4), 0);
    static task_arg targ[TASKS];
    coop_task_id ids[TASKS];
    for (int i = 0; i < TASKS; i++) {
        targ[i].index = i;
        targ[i].flags = rand_r(&seed) % 2 ? COOP_OFFLOAD_DETACH : 0;
        for (int r = 0; r < ROUNDS; r++) args[i * ROUNDS + r].spin_us = (int)(rand_r(&seed) % 1500);
        CHECK_OK(coop_spawn(&ids[i], "submitter", submitter, &targ[i]));
    }
    /* Cancel half of the tasks at random moments. */
    for (int k = 0; k < TASKS / 2; k++) {
        coop_sleep(COOP_USEC(rand_r(&seed) % 2000));
        coop_cancel(ids[rand_r(&seed) % TASKS]);
    }
    for (int i = 0; i < TASKS; i++) {
        int res;
        CHECK_ERR(coop_join(ids[i], &res), 0);
        CHECK_ERR(res, 0);
    }
    coop_pool_free(pool); /* joins the workers: every detached job has finished */
    int ran = 0;
    for (int i = 0; i < TASKS * ROUNDS; i++) {
        int n = atomic_load(&args[i].ran), c = atomic_load(&args[i].cleaned);
        CHECK(n == 0 || n == 1); /* never twice */
        CHECK(c <= n);           /* a cleanup only for a job that ran */
        ran += n;
    }
    int detached_cleanups = 0;
    for (int i = 0; i < TASKS * ROUNDS; i++) detached_cleanups += atomic_load(&args[i].cleaned);
    /* Every job that ran reached exactly one party: its caller or its cleanup. */
    CHECK_EQ(ran, atomic_load(&outcome_ok) + atomic_load(&outcome_cancel_waited) + detached_cleanups);
    printf("  seed %u: %d ran (%d ok, %d waited after cancel, %d detached), %d cancelled calls\n",
           seed, ran, atomic_load(&outcome_ok), atomic_load(&outcome_cancel_waited), detached_cleanups,
           atomic_load(&outcome_cancel_removed_or_detached) + atomic_load(&outcome_cancel_waited));
    return 0;
}

TEST_TIMEOUT(offload_random_cancellation_accounts_for_every_job, 30) {
    const char *s = getenv("COOP_STRESS_SEED");
    seed = s ? (unsigned)strtoul(s, NULL, 10) : (unsigned)getpid();
    CHECK_ERR(test_run_real(body, NULL), 0);
}

/*
 * Thread pools: coop_to_thread / coop_pool_call results and errors, built-in
 * pools, back-pressure, cancellation of queued and running jobs (waiting
 * and detached), fault injection. Jobs that must stay "running" block on a
 * gate the test opens; tasks poll with coop_yield, since a loop holding
 * for a worker does not advance its virtual clock.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test.h"
#include "expect_misuse.h"
#include "util/alloc.h"

/* ---- helpers ---------------------------------------------------------- */

typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open;
    atomic_int started; /* jobs that reached the gate */
    atomic_int passed;  /* jobs that went through */
} gate;

#define GATE_INIT {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0}

static void gate_open(gate *g) {
    pthread_mutex_lock(&g->mu);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* Job: block until the gate opens, return 7. */
static intptr_t gated_job(void *arg) {
    gate *g = arg;
    atomic_fetch_add(&g->started, 1);
    pthread_mutex_lock(&g->mu);
    while (!g->open) pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    atomic_fetch_add(&g->passed, 1);
    return 7;
}

/* Yield until *v >= want (a worker sets it). */
static void yield_until(atomic_int *v, int want) {
    while (atomic_load(v) < want) {
        coop_yield();
        sched_yield();
    }
}

static intptr_t square(void *arg) { return (intptr_t)arg * (intptr_t)arg; }

static intptr_t which_thread(void *arg) {
    (void)arg;
    return (intptr_t)(pthread_self() == *(pthread_t *)arg ? 1 : 2);
}

/* ---- results and errors ----------------------------------------------- */

static int body_result(void *arg) {
    (void)arg;
    intptr_t r = 0;
    CHECK_ERR(coop_to_thread(square, (void *)(intptr_t)12, &r), 0);
    CHECK_EQ(r, 144);
    pthread_t self = pthread_self();
    CHECK_ERR(coop_to_thread(which_thread, &self, &r), 0);
    CHECK_EQ(r, 2); /* ran on another thread */
    CHECK_ERR(coop_to_thread(square, (void *)(intptr_t)3, NULL), 0); /* result may be NULL */
    coop_pools_shutdown();
    return 0;
}
TEST(pool_to_thread_returns_the_result_from_a_worker) { CHECK_ERR(test_run(body_result, NULL), 0); }

static intptr_t fail_job(void *arg) {
    (void)arg;
    return -ENOENT;
}

static int body_errno_result(void *arg) {
    (void)arg;
    intptr_t r = 0;
    /* The call succeeds; the job's own -errno is its result. */
    CHECK_ERR(coop_to_thread(fail_job, NULL, &r), 0);
    CHECK_ERR(r, -ENOENT);
    coop_pools_shutdown();
    return 0;
}
TEST(pool_job_errno_is_its_result_not_the_call_error) { CHECK_ERR(test_run(body_errno_result, NULL), 0); }

static void nop_cleanup(void *arg, intptr_t r) {
    (void)arg;
    (void)r;
}

static int body_bad_args(void *arg) {
    (void)arg;
    intptr_t r;
    CHECK_ERR(coop_pool_call(NULL, NULL, NULL, &r, 0, NULL), -EINVAL);
    CHECK_ERR(coop_pool_call(NULL, square, NULL, &r, COOP_OFFLOAD_DETACH, NULL), -EINVAL);
    CHECK_ERR(coop_pool_call(NULL, square, NULL, &r, 0x100, nop_cleanup), -EINVAL);
    return 0;
}
TEST(pool_call_rejects_bad_arguments) {
    CHECK_ERR(test_run(body_bad_args, NULL), 0);
    intptr_t r;
    CHECK_ERR(coop_to_thread(square, NULL, &r), -EPERM); /* no loop */
}

TEST(pool_new_rejects_bad_limits) {
    coop_pool *p;
    CHECK_ERR(coop_pool_new(&p, "x", 0, 1), -EINVAL);
    CHECK_ERR(coop_pool_new(&p, "x", COOP_POOL_THREADS_MAX + 1, 1), -EINVAL);
    CHECK_ERR(coop_pool_new(&p, "x", 1, 0), -EINVAL);
    CHECK_ERR(coop_pool_new(NULL, "x", 1, 1), -EINVAL);
    CHECK_ERR(coop_pool_configure(NULL, 1, 1), -EINVAL);
    CHECK(coop_pool_builtin(3) == NULL);
    CHECK(coop_pool_builtin(-1) == NULL);
}

TEST(pool_new_fails_cleanly_without_memory) {
    coop_pool *p = NULL;
    coop__alloc_fail_at(1);
    CHECK_ERR(coop_pool_new(&p, "x", 1, 1), -ENOMEM);
    coop__alloc_fail_at(0);
    CHECK_ERR(coop_pool_new(&p, "x", 1, 1), 0);
    CHECK_STR(coop_pool_name(p), "x");
    coop_pool_free(p);
}

static int body_detach_nomem(void *arg) {
    (void)arg;
    intptr_t r = 0;
    coop__alloc_fail_at(1);
    CHECK_ERR(coop_pool_call(NULL, square, (void *)(intptr_t)2, &r, COOP_OFFLOAD_DETACH, nop_cleanup),
              -ENOMEM);
    coop__alloc_fail_at(0);
    CHECK_ERR(coop_pool_call(NULL, square, (void *)(intptr_t)2, &r, COOP_OFFLOAD_DETACH, nop_cleanup), 0);
    CHECK_EQ(r, 4);
    coop_pools_shutdown();
    return 0;
}
TEST(pool_detachable_call_fails_cleanly_without_memory) {
    CHECK_ERR(test_run(body_detach_nomem, NULL), 0);
}

/* ---- built-in pools --------------------------------------------------- */

TEST(pool_builtins_have_names_and_env_sizes) {
    setenv("COOP_POOL_FS", "8", 1);
    setenv("COOP_POOL_DNS", "junk", 1); /* ignored: default kept */
    coop_pool_stats st;
    CHECK_STR(coop_pool_name(coop_pool_builtin(COOP_POOL_CPU)), "cpu");
    CHECK_STR(coop_pool_name(coop_pool_builtin(COOP_POOL_FS)), "fs");
    CHECK_STR(coop_pool_name(coop_pool_builtin(COOP_POOL_DNS)), "dns");
    CHECK_ERR(coop_pool_stats_get(coop_pool_builtin(COOP_POOL_FS), &st), 0);
    CHECK_EQ(st.threads_max, 8);
    CHECK_EQ(st.threads, 0); /* lazily started */
    CHECK_ERR(coop_pool_stats_get(coop_pool_builtin(COOP_POOL_DNS), &st), 0);
    CHECK_EQ(st.threads_max, 4);
    CHECK_ERR(coop_pool_configure(coop_pool_builtin(COOP_POOL_DNS), 2, 0), 0);
    CHECK_ERR(coop_pool_stats_get(coop_pool_builtin(COOP_POOL_DNS), &st), 0);
    CHECK_EQ(st.threads_max, 2);
    CHECK_EQ(st.queue_limit, COOP_POOL_QUEUE_DEFAULT);
}

/* The dns pool is full of lookups that hang; a file job still completes. */
typedef struct starve {
    gate g;
    int done;
} starve;

static int slow_lookup(void *arg) {
    starve *s = arg;
    return coop_pool_call(coop_pool_builtin(COOP_POOL_DNS), gated_job, &s->g, NULL, 0, NULL);
}

static int body_no_starvation(void *arg) {
    (void)arg;
    static starve s = {.g = GATE_INIT};
    coop_pool_configure(coop_pool_builtin(COOP_POOL_DNS), 2, 0);
    coop_task_id ids[4];
    for (int i = 0; i < 4; i++) CHECK_OK(coop_spawn(&ids[i], "lookup", slow_lookup, &s));
    yield_until(&s.g.started, 2); /* both dns workers are stuck */
    intptr_t r = 0;
    CHECK_ERR(coop_pool_call(coop_pool_builtin(COOP_POOL_FS), square, (void *)(intptr_t)5, &r, 0, NULL), 0);
    CHECK_EQ(r, 25);
    CHECK_EQ(atomic_load(&s.g.passed), 0); /* the file job did not wait for them */
    gate_open(&s.g);
    for (int i = 0; i < 4; i++) {
        int res;
        CHECK_ERR(coop_join(ids[i], &res), 0);
        CHECK_ERR(res, 0);
    }
    coop_pools_shutdown();
    return 0;
}
TEST(pool_full_dns_pool_does_not_starve_file_jobs) { CHECK_ERR(test_run(body_no_starvation, NULL), 0); }

/* ---- back-pressure ---------------------------------------------------- */

typedef struct bp {
    coop_pool *pool;
    gate g;
    int order[8];
    int n;
} bp;

static int bp_task(void *arg) {
    bp *b = arg;
    intptr_t r;
    int rc = coop_pool_call(b->pool, gated_job, &b->g, &r, 0, NULL);
    if (rc == 0) b->order[b->n++] = (int)coop_self();
    return rc;
}

static int body_back_pressure(void *arg) {
    (void)arg;
    static bp b = {.g = GATE_INIT};
    CHECK_ERR(coop_pool_new(&b.pool, "bp", 1, 1), 0);
    coop_task_id ids[3];
    CHECK_OK(coop_spawn(&ids[0], "running", bp_task, &b));
    yield_until(&b.g.started, 1);
    CHECK_OK(coop_spawn(&ids[1], "queued", bp_task, &b));
    CHECK_OK(coop_spawn(&ids[2], "waiting", bp_task, &b));
    coop_yield();
    coop_yield();
    coop_pool_stats st;
    CHECK_ERR(coop_pool_stats_get(b.pool, &st), 0);
    CHECK_EQ(st.running, 1);
    CHECK_EQ(st.queued, 1);
    CHECK_EQ(st.waiting, 1); /* the third task waits for a queue slot */
    CHECK_EQ(st.threads, 1);
    /* The try-variant refuses instead of waiting. */
    CHECK_ERR(coop_pool_call(b.pool, square, NULL, NULL, COOP_OFFLOAD_TRY, NULL), -EAGAIN);
    gate_open(&b.g);
    for (int i = 0; i < 3; i++) CHECK_ERR(coop_join(ids[i], NULL), 0);
    CHECK_EQ(b.n, 3);
    CHECK_EQ(atomic_load(&b.g.passed), 3);
    CHECK_ERR(coop_pool_stats_get(b.pool, &st), 0);
    CHECK_EQ(st.completed, 3);
    coop_pool_free(b.pool);
    return 0;
}
TEST(pool_full_queue_makes_the_caller_wait_for_a_slot) { CHECK_ERR(test_run(body_back_pressure, NULL), 0); }

/* ---- cancellation ----------------------------------------------------- */

static atomic_int ran_flag;
static intptr_t set_ran(void *arg) {
    (void)arg;
    atomic_store(&ran_flag, 1);
    return 1;
}

static int queued_task(void *arg) {
    return coop_pool_call(arg, set_ran, NULL, NULL, 0, NULL);
}

static int body_cancel_queued(void *arg) {
    (void)arg;
    coop_pool *p;
    CHECK_ERR(coop_pool_new(&p, "one", 1, 4), 0);
    coop_task_id blocker, victim;
    /* The worker is busy with a gated job run by this task's child. */
    static bp b;
    b.pool = p;
    b.g = (gate)GATE_INIT;
    CHECK_OK(coop_spawn(&blocker, "blocker", bp_task, &b));
    yield_until(&b.g.started, 1);
    CHECK_OK(coop_spawn(&victim, "victim", queued_task, p));
    coop_yield();
    coop_yield();
    coop_pool_stats st;
    CHECK_ERR(coop_pool_stats_get(p, &st), 0);
    CHECK_EQ(st.queued, 1);
    CHECK_ERR(coop_cancel(victim), 0);
    int res;
    CHECK_ERR(coop_join(victim, &res), 0);
    CHECK_ERR(res, -ECANCELED);
    CHECK_ERR(coop_pool_stats_get(p, &st), 0);
    CHECK_EQ(st.queued, 0);
    CHECK_EQ(st.cancelled, 1);
    gate_open(&b.g);
    CHECK_ERR(coop_join(blocker, &res), 0);
    coop_pool_free(p); /* joins the worker: anything queued would have run */
    CHECK_EQ(atomic_load(&ran_flag), 0);
    return 0;
}
TEST(pool_cancelled_queued_job_never_runs) { CHECK_ERR(test_run(body_cancel_queued, NULL), 0); }

typedef struct running {
    coop_pool *pool;
    gate g;
    intptr_t result;
    int returned;
    unsigned flags;
} running;

static void *detached_arg_freed;
static intptr_t detached_result;
static void record_cleanup(void *arg, intptr_t r) {
    detached_result = r; /* proves cleanup saw the job's result */
    detached_arg_freed = arg;
}

static int running_task(void *arg) {
    running *rr = arg;
    int rc = coop_pool_call(rr->pool, gated_job, &rr->g, &rr->result, rr->flags, record_cleanup);
    rr->returned = 1;
    return rc;
}

static int body_cancel_running_waits(void *arg) {
    (void)arg;
    static running rr = {.g = GATE_INIT};
    CHECK_ERR(coop_pool_new(&rr.pool, "one", 1, 4), 0);
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "worker-user", running_task, &rr));
    yield_until(&rr.g.started, 1);
    CHECK_ERR(coop_cancel(t), 0);
    for (int i = 0; i < 10; i++) coop_yield();
    /* The call cannot return while the job runs: it waits, shielded. */
    CHECK_EQ(rr.returned, 0);
    CHECK_EQ(coop_task_state(t), COOP_TASK_PARKED);
    gate_open(&rr.g);
    int res;
    CHECK_ERR(coop_join(t, &res), 0);
    CHECK_ERR(res, -ECANCELED); /* the cause is reported ... */
    CHECK_EQ(rr.result, 7);     /* ... and the job's result is there */
    CHECK_EQ(atomic_load(&rr.g.passed), 1);
    coop_pool_free(rr.pool);
    return 0;
}
TEST(pool_cancelled_running_job_is_waited_for) { CHECK_ERR(test_run(body_cancel_running_waits, NULL), 0); }

static int body_cancel_running_detaches(void *arg) {
    (void)arg;
    static running rr = {.g = GATE_INIT, .flags = COOP_OFFLOAD_DETACH};
    CHECK_ERR(coop_pool_new(&rr.pool, "one", 1, 4), 0);
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "detacher", running_task, &rr));
    yield_until(&rr.g.started, 1);
    CHECK_ERR(coop_cancel(t), 0);
    int res;
    CHECK_ERR(coop_join(t, &res), 0); /* returns while the job still runs */
    CHECK_ERR(res, -ECANCELED);
    CHECK_EQ(rr.returned, 1);
    CHECK_EQ(atomic_load(&rr.g.passed), 0);
    CHECK(detached_arg_freed == NULL);
    gate_open(&rr.g);
    coop_pool_free(rr.pool); /* joins the worker, which ran the cleanup */
    CHECK(detached_arg_freed == &rr.g);
    CHECK_EQ(detached_result, 7);
    return 0;
}
TEST(pool_cancelled_detached_job_returns_at_once_and_cleans_up) {
    CHECK_ERR(test_run(body_cancel_running_detaches, NULL), 0);
}

static int body_deadline_queued(void *arg) {
    (void)arg;
    static bp b;
    b.g = (gate)GATE_INIT;
    CHECK_ERR(coop_pool_new(&b.pool, "one", 1, 4), 0);
    coop_task_id blocker;
    CHECK_OK(coop_spawn(&blocker, "blocker", bp_task, &b));
    yield_until(&b.g.started, 1);
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(20)));
    atomic_store(&ran_flag, 0);
    CHECK_ERR(coop_pool_call(b.pool, set_ran, NULL, NULL, 0, NULL), -ETIMEDOUT);
    CHECK_ERR(coop_scope_exit(&s), -ETIMEDOUT);
    gate_open(&b.g);
    CHECK_ERR(coop_join(blocker, NULL), 0);
    coop_pool_free(b.pool);
    CHECK_EQ(atomic_load(&ran_flag), 0);
    return 0;
}
TEST(pool_queued_job_times_out_with_its_scope) { CHECK_ERR(test_run_real(body_deadline_queued, NULL), 0); }

static int body_already_cancelled(void *arg) {
    (void)arg;
    coop_scope s;
    coop_scope_enter(&s, COOP_NEVER);
    coop_scope_cancel(&s);
    atomic_store(&ran_flag, 0);
    CHECK_ERR(coop_to_thread(set_ran, NULL, NULL), -ECANCELED);
    coop_scope_exit(&s);
    CHECK_EQ(atomic_load(&ran_flag), 0);
    return 0;
}
TEST(pool_call_in_cancelled_scope_does_not_submit) { CHECK_ERR(test_run(body_already_cancelled, NULL), 0); }

/* ---- many jobs, several threads --------------------------------------- */

static int many_task(void *arg) {
    coop_pool *p = arg;
    for (intptr_t i = 0; i < 50; i++) {
        intptr_t r;
        int rc = coop_pool_call(p, square, (void *)i, &r, 0, NULL);
        if (rc < 0) return rc;
        if (r != i * i) return -EIO;
    }
    return 0;
}

static int body_many(void *arg) {
    (void)arg;
    coop_pool *p;
    CHECK_ERR(coop_pool_new(&p, "many", 3, 2), 0);
    coop_task_id ids[8];
    for (int i = 0; i < 8; i++) CHECK_OK(coop_spawn(&ids[i], "many", many_task, p));
    for (int i = 0; i < 8; i++) {
        int res;
        CHECK_ERR(coop_join(ids[i], &res), 0);
        CHECK_ERR(res, 0);
    }
    coop_pool_stats st;
    CHECK_ERR(coop_pool_stats_get(p, &st), 0);
    CHECK_EQ(st.completed, 400);
    CHECK(st.threads >= 1 && st.threads <= 3);
    coop_pool_free(p);
    return 0;
}
TEST(pool_many_tasks_share_a_small_pool) { CHECK_ERR(test_run(body_many, NULL), 0); }

/* ---- misuse ----------------------------------------------------------- */

static int body_free_busy(void *arg) {
    (void)arg;
    static running rr = {.g = GATE_INIT};
    CHECK_ERR(coop_pool_new(&rr.pool, "busy", 1, 4), 0);
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "user", running_task, &rr));
    yield_until(&rr.g.started, 1);
    coop_pool_free(rr.pool); /* aborts: a task still waits */
    return 0;
}

TEST(pool_free_with_a_waiting_task_is_misuse) {
    expect_misuse(body_free_busy, 0, "task(s) still wait for pool \"busy\"");
}

/* ---- cancellation after the job finished, before its completion ran ---- */

typedef struct late {
    atomic_int finished;   /* the job's function returned */
    unsigned flags;        /* 0 or COOP_OFFLOAD_DETACH */
    intptr_t result;       /* the caller's result */
    pthread_t cleanup_thread; /* where the cleanup ran */
    int cleanups;          /* cleanups run */
} late;

static intptr_t quick_job(void *arg) {
    late *lt = arg;
    atomic_store(&lt->finished, 1);
    return 42;
}

static void late_cleanup(void *arg, intptr_t r) {
    late *lt = arg;
    lt->cleanup_thread = pthread_self();
    lt->cleanups += r == 42;
}

static int late_task(void *arg) {
    late *lt = arg;
    return coop_pool_call(NULL, quick_job, lt, &lt->result, lt->flags, late_cleanup);
}

/* Cancel the caller when the job has finished but the loop has not yet run
 * its completion: the main task spins without a checkpoint meanwhile. */
static int cancel_late(late *lt) {
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "caller", late_task, lt));
    coop_yield(); /* the caller submits and parks */
    while (!atomic_load(&lt->finished)) sched_yield();
    usleep(1000); /* the worker has posted the completion by now */
    CHECK_ERR(coop_cancel(t), 0);
    int res;
    CHECK_ERR(coop_join(t, &res), 0);
    return res;
}

static int body_late_wait(void *arg) {
    (void)arg;
    static late lt = {.result = -1};
    CHECK_ERR(cancel_late(&lt), -ECANCELED);
    CHECK_EQ(lt.result, 42); /* the effect happened and is reported */
    CHECK_EQ(lt.cleanups, 0);
    coop_pools_shutdown();
    return 0;
}
TEST(pool_cancel_after_the_job_finished_reports_cause_and_result) {
    CHECK_ERR(test_run(body_late_wait, NULL), 0);
}

static int body_late_detach(void *arg) {
    (void)arg;
    static late lt = {.result = -1, .flags = COOP_OFFLOAD_DETACH};
    CHECK_ERR(cancel_late(&lt), -ECANCELED);
    CHECK_EQ(lt.result, -1); /* not written */
    coop_yield();            /* the completion runs the cleanup on the loop */
    coop_yield();
    CHECK_EQ(lt.cleanups, 1);
    CHECK(pthread_equal(lt.cleanup_thread, pthread_self()));
    coop_pools_shutdown();
    return 0;
}
TEST(pool_detached_job_that_already_finished_is_cleaned_up_on_the_loop) {
    CHECK_ERR(test_run(body_late_detach, NULL), 0);
}

/* ---- a job waiting for a queue slot is removed by cancellation -------- */

static int body_cancel_waiting(void *arg) {
    (void)arg;
    static bp b;
    b.g = (gate)GATE_INIT;
    CHECK_ERR(coop_pool_new(&b.pool, "bp", 1, 1), 0);
    coop_task_id run, queued, waiting;
    CHECK_OK(coop_spawn(&run, "running", bp_task, &b));
    yield_until(&b.g.started, 1);
    CHECK_OK(coop_spawn(&queued, "queued", bp_task, &b));
    CHECK_OK(coop_spawn(&waiting, "waiting", queued_task, b.pool));
    coop_yield();
    coop_yield();
    coop_pool_stats st;
    CHECK_ERR(coop_pool_stats_get(b.pool, &st), 0);
    CHECK_EQ(st.waiting, 1);
    atomic_store(&ran_flag, 0);
    CHECK_ERR(coop_cancel(waiting), 0);
    int res;
    CHECK_ERR(coop_join(waiting, &res), 0);
    CHECK_ERR(res, -ECANCELED);
    CHECK_ERR(coop_pool_stats_get(b.pool, &st), 0);
    CHECK_EQ(st.waiting, 0);
    CHECK_EQ(st.queued, 1);
    gate_open(&b.g);
    CHECK_ERR(coop_join(run, NULL), 0);
    CHECK_ERR(coop_join(queued, NULL), 0);
    coop_pool_free(b.pool);
    CHECK_EQ(atomic_load(&ran_flag), 0);
    return 0;
}
TEST(pool_cancelled_job_waiting_for_a_slot_never_runs) { CHECK_ERR(test_run(body_cancel_waiting, NULL), 0); }

/* ---- shrinking a pool ------------------------------------------------- */

static int body_shrink(void *arg) {
    (void)arg;
    coop_pool *p;
    CHECK_ERR(coop_pool_new(&p, "shrink", 4, 8), 0);
    coop_task_id ids[8];
    for (int i = 0; i < 8; i++) CHECK_OK(coop_spawn(&ids[i], "many", many_task, p));
    for (int i = 0; i < 8; i++) CHECK_ERR(coop_join(ids[i], NULL), 0);
    CHECK_ERR(coop_pool_configure(p, 1, 0), 0);
    coop_pool_stats st;
    for (int i = 0; i < 1000; i++) { /* extra idle workers exit */
        CHECK_ERR(coop_pool_stats_get(p, &st), 0);
        if (st.threads <= 1) break;
        usleep(1000);
    }
    CHECK(st.threads <= 1);
    CHECK_EQ(st.threads_max, 1);
    intptr_t r;
    CHECK_ERR(coop_pool_call(p, square, (void *)(intptr_t)9, &r, COOP_OFFLOAD_TRY, NULL), 0);
    CHECK_EQ(r, 81);
    coop_pool_free(p);
    return 0;
}
TEST(pool_configure_shrinks_and_the_pool_still_works) { CHECK_ERR(test_run(body_shrink, NULL), 0); }

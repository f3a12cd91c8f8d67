/*
 * pool.c — thread pools: coop_pool_call / coop_to_thread, named pools and the
 * three built-in ones ("cpu", "fs", "dns").
 *
 * A job record lives on the calling task's stack (on the heap only with
 * COOP_OFFLOAD_DETACH, since the caller may leave before the job ends). The
 * pool's mutex guards the queue, the job states and the counters; workers
 * block on a condition variable (no polling). A finished job reaches its
 * loop through coop__loop_post (the loop wakes through its eventfd); the
 * task holds its loop (coop__loop_hold) while its job is outstanding, so a
 * loop whose tasks all wait on workers blocks for them instead of reporting
 * a deadlock or jumping its virtual clock.
 *
 * Invariant: the task does not return from coop_pool_call while a worker may
 * still touch its stack job: it leaves only when the job was removed from
 * the queue (never ran), or when the completion post has run on the loop,
 * or, detached, after handing the heap job over to the worker/post.
 *
 * Worker threads start lazily, one per job that finds no idle worker, up to
 * the limit; they are joined when the pool is freed (coop_pools_shutdown for
 * the built-ins, whose storage is static so that a test using them leaks no
 * allocation). Thread ids live in a fixed array: no allocation per worker.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "offload/offload.h"
#include "sched/park.h"
#include "util/alloc.h"
#include "util/list.h"
#include "util/misuse.h"

/* Job states, under pool->mu. */
enum { JOB_WAITING = 1, JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_REMOVED };

/* What a cancellation found (decided under pool->mu, used by the task). */
enum { CANCEL_NONE = 0, CANCEL_REMOVED, CANCEL_WAIT, CANCEL_DETACHED };

/* Worker slot states. */
enum { SLOT_FREE = 0, SLOT_LIVE, SLOT_EXITED };

typedef struct job {
    coop__list link;           /* in pool->queue or pool->overflow (under mu) */
    coop_work_fn fn;           /* the work */
    void *arg;                 /* its argument */
    intptr_t result;           /* fn's return value once DONE */
    int state;                 /* JOB_* (under mu) */
    int detached;              /* caller left; the result goes to cleanup (under mu) */
    int heap;                  /* record allocated (COOP_OFFLOAD_DETACH) */
    int delivered;             /* the completion post ran (loop thread only) */
    coop_work_cleanup cleanup; /* for a detached job */
    coop_pool *pool;           /* owning pool */
    coop__loop *loop;          /* the caller's loop, where completion is posted */
    coop__post post;           /* completion notice, posted by the worker */
    coop__waiter *parked;      /* waiter the task is parked on now, or NULL */
} job;

/* The calling task's side of a wait, always on its stack: a detached heap
 * job may be freed by its worker as soon as on_cancel has detached it, so
 * nothing the scheduler or the task touches afterwards may live in it. */
typedef struct caller {
    coop__waiter w; /* parked on */
    job *j;         /* the job */
    int cancel;     /* CANCEL_* decided by on_cancel */
} caller;

/* ---- built-in pools -------------------------------------------------- */

static coop_pool builtin[3];
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;
static _Thread_local coop_pool *worker_of; /* pool of the calling worker thread */

static int env_threads(const char *var, int dflt) {
    const char *s = getenv(var);
    if (!s || !*s) return dflt;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 1 || v > COOP_POOL_THREADS_MAX) return dflt;
    return (int)v;
}

static void pool_init(coop_pool *p, const char *name, int threads, int queue_limit) {
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    coop__list_init(&p->queue);
    coop__list_init(&p->overflow);
    strncpy(p->name, name, sizeof p->name - 1);
    p->threads_max = threads;
    p->queue_limit = queue_limit;
}

/* In a forked child only the forking thread exists: forget the workers
 * (their records would describe threads of the parent) so the pools start
 * afresh if the child uses them. */
static void builtin_after_fork(void) {
    for (int i = 0; i < 3; i++) {
        coop_pool *p = &builtin[i];
        int tmax = p->threads_max, qmax = p->queue_limit;
        char name[sizeof p->name];
        memcpy(name, p->name, sizeof name);
        pool_init(p, name, tmax, qmax);
        p->builtin = 1;
    }
}

static void builtin_setup(void) {
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 1) ncpu = 1;
    if (ncpu > COOP_POOL_THREADS_MAX) ncpu = COOP_POOL_THREADS_MAX;
    pool_init(&builtin[COOP_POOL_CPU], "cpu", env_threads("COOP_POOL_CPU", (int)ncpu),
              COOP_POOL_QUEUE_DEFAULT);
    pool_init(&builtin[COOP_POOL_FS], "fs", env_threads("COOP_POOL_FS", 4), COOP_POOL_QUEUE_DEFAULT);
    pool_init(&builtin[COOP_POOL_DNS], "dns", env_threads("COOP_POOL_DNS", 4),
              COOP_POOL_QUEUE_DEFAULT);
    for (int i = 0; i < 3; i++) builtin[i].builtin = 1;
    pthread_atfork(NULL, NULL, builtin_after_fork);
}

coop_pool *coop_pool_builtin(int which) {
    if (which < COOP_POOL_CPU || which > COOP_POOL_DNS) return NULL;
    pthread_once(&builtin_once, builtin_setup);
    return &builtin[which];
}

/* ---- workers ---------------------------------------------------------- */

/* Move the oldest job waiting for a slot into the queue. Under mu. */
static void promote_waiting(coop_pool *p) {
    if ((int)p->nqueued >= p->queue_limit) return;
    coop__list *n = coop__list_shift(&p->overflow);
    if (!n) return;
    job *j = COOP_CONTAINER_OF(n, job, link);
    p->nwaiting--;
    j->state = JOB_QUEUED;
    coop__list_push(&p->queue, &j->link);
    p->nqueued++;
}

/* coop__loop_post still reads the loop after it has published the node
 * (to write the wake-up fd), and the completion may let the loop finish
 * and free itself. So a worker posts holding one of these locks (chosen by
 * loop address), and the completion takes that lock once before anything
 * else: the poster is out of coop__loop_post before the loop can end.
 * Striped so that unrelated loops rarely share a lock. */
#define L4(x) x, x, x, x
static pthread_mutex_t post_locks[16] = {L4(PTHREAD_MUTEX_INITIALIZER), L4(PTHREAD_MUTEX_INITIALIZER),
                                         L4(PTHREAD_MUTEX_INITIALIZER), L4(PTHREAD_MUTEX_INITIALIZER)};
#undef L4

static pthread_mutex_t *post_lock(const coop__loop *l) {
    return &post_locks[((uintptr_t)l >> 6) % 16];
}

/* Called on the loop when the completion post of a job runs. */
static void job_delivered(coop__post *post) {
    job *j = COOP_CONTAINER_OF(post, job, post);
    pthread_mutex_lock(post_lock(j->loop)); /* the worker has left coop__loop_post */
    pthread_mutex_unlock(post_lock(j->loop));
    if (j->detached) {
        /* Detached after the job had finished: the result comes here. */
        j->cleanup(j->arg, j->result);
        coop__free(j);
        return;
    }
    j->delivered = 1;
    if (j->parked) {
        coop__waiter *w = j->parked;
        j->parked = NULL;
        coop__unpark(w, 0);
    }
}

static void *worker_main(void *arg) {
    coop_pool *p = arg;
    worker_of = p;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (coop__list_empty(&p->queue) && !p->stopping && p->threads <= p->threads_max) {
            p->idle++;
            pthread_cond_wait(&p->work, &p->mu);
            p->idle--;
        }
        if (p->threads > p->threads_max || (p->stopping && coop__list_empty(&p->queue))) break;
        job *j = COOP_CONTAINER_OF(coop__list_shift(&p->queue), job, link);
        p->nqueued--;
        promote_waiting(p);
        j->state = JOB_RUNNING;
        p->nrunning++;
        pthread_mutex_unlock(&p->mu);

        intptr_t r = j->fn(j->arg);

        pthread_mutex_lock(&p->mu);
        p->nrunning--;
        p->completed++;
        j->result = r;
        if (j->detached) {
            /* The caller left while fn ran: nobody waits for the post. */
            p->ndetached_running--;
            pthread_mutex_unlock(&p->mu);
            j->cleanup(j->arg, r);
            coop__free(j);
            pthread_mutex_lock(&p->mu);
            continue;
        }
        j->state = JOB_DONE;
        coop__loop *l = j->loop;
        pthread_mutex_unlock(&p->mu);
        /* From here the task may return (and j vanish) as soon as the post
         * has run: j is not touched again. The task holds the loop, so the
         * post cannot fail with -ESHUTDOWN. */
        pthread_mutex_lock(post_lock(l));
        int rc = coop__loop_post(l, &j->post);
        pthread_mutex_unlock(post_lock(l));
        if (rc < 0) coop__fatal("coop_pool_call: completion post failed (%d)", rc);
        pthread_mutex_lock(&p->mu);
    }
    /* Exit: leave the slot for pthread_join by the freer or the next spawn. */
    p->threads--;
    for (int i = 0; i < COOP_POOL_THREADS_MAX; i++) {
        if (p->slot[i] == SLOT_LIVE && pthread_equal(p->tid[i], pthread_self())) {
            p->slot[i] = SLOT_EXITED;
            break;
        }
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Start one worker. Under mu. Returns 0 or -EAGAIN. Workers block every
 * signal so that process signals (SIGCHLD, SIGINT, the watchdog's probe)
 * go to threads that run loops. */
static int spawn_worker(coop_pool *p) {
    int i, free_slot = -1;
    for (i = 0; i < COOP_POOL_THREADS_MAX; i++) {
        if (p->slot[i] == SLOT_EXITED) {
            pthread_join(p->tid[i], NULL);
            p->slot[i] = SLOT_FREE;
        }
        if (p->slot[i] == SLOT_FREE && free_slot < 0) free_slot = i;
    }
    if (free_slot < 0) return -EAGAIN;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, (size_t)1 << 20);
    int rc = pthread_create(&p->tid[free_slot], &attr, worker_main, p);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) return -EAGAIN;
    p->slot[free_slot] = SLOT_LIVE;
    p->threads++;
    return 0;
}

/* Join every worker after telling them to stop. */
static void stop_workers(coop_pool *p, const char *who) {
    if (worker_of == p) coop__misuse("%s: called from a worker of pool \"%s\"", who, p->name);
    pthread_mutex_lock(&p->mu);
    size_t attached = p->nqueued + p->nwaiting;
    if (attached)
        coop__misuse("%s: %zu task(s) still wait for pool \"%s\"", who, attached, p->name);
    /* Running jobs whose callers still wait show up as running and not
     * detached: count them by walking is impossible (running jobs are not
     * listed), so keep a counter. */
    if (p->nrunning > p->ndetached_running)
        coop__misuse("%s: %zu task(s) still wait for pool \"%s\"", who,
                     p->nrunning - p->ndetached_running, p->name);
    p->stopping = 1;
    pthread_cond_broadcast(&p->work);
    /* Workers mark their slot EXITED under mu; take the list under mu and
     * join outside it (an exiting worker needs mu to say it exits). */
    unsigned char had[COOP_POOL_THREADS_MAX];
    memcpy(had, p->slot, sizeof had);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < COOP_POOL_THREADS_MAX; i++)
        if (had[i] != SLOT_FREE) pthread_join(p->tid[i], NULL);
    pthread_mutex_lock(&p->mu);
    memset(p->slot, SLOT_FREE, sizeof p->slot);
    p->stopping = 0;
    pthread_mutex_unlock(&p->mu);
}

/* ---- pool objects ----------------------------------------------------- */

int coop_pool_new(coop_pool **pool, const char *name, int threads, int queue_limit) {
    if (!pool || threads < 1 || threads > COOP_POOL_THREADS_MAX || queue_limit < 1) return -EINVAL;
    coop_pool *p = coop__malloc(sizeof *p);
    if (!p) return -ENOMEM;
    pool_init(p, name ? name : "pool", threads, queue_limit);
    *pool = p;
    return 0;
}

void coop_pool_free(coop_pool *pool) {
    if (!pool) return;
    if (pool->builtin) coop__misuse("coop_pool_free: \"%s\" is a built-in pool", pool->name);
    stop_workers(pool, "coop_pool_free");
    pthread_cond_destroy(&pool->work);
    pthread_mutex_destroy(&pool->mu);
    coop__free(pool);
}

void coop_pools_shutdown(void) {
    pthread_once(&builtin_once, builtin_setup);
    for (int i = 0; i < 3; i++) stop_workers(&builtin[i], "coop_pools_shutdown");
}

int coop_pool_configure(coop_pool *pool, int threads, int queue_limit) {
    if (!pool || threads < 0 || threads > COOP_POOL_THREADS_MAX || queue_limit < 0) return -EINVAL;
    pthread_mutex_lock(&pool->mu);
    if (threads) pool->threads_max = threads;
    if (queue_limit) pool->queue_limit = queue_limit;
    while (!coop__list_empty(&pool->overflow) && (int)pool->nqueued < pool->queue_limit)
        promote_waiting(pool);
    /* Wake idle workers: extra ones exit, the others take promoted jobs. */
    pthread_cond_broadcast(&pool->work);
    while ((int)pool->nqueued > pool->idle && pool->threads < pool->threads_max)
        if (spawn_worker(pool) < 0) break;
    pthread_mutex_unlock(&pool->mu);
    return 0;
}

const char *coop_pool_name(const coop_pool *pool) { return pool ? pool->name : "(null)"; }

int coop_pool_stats_get(coop_pool *pool, coop_pool_stats *st) {
    if (!pool || !st) return -EINVAL;
    pthread_mutex_lock(&pool->mu);
    st->threads_max = pool->threads_max;
    st->queue_limit = pool->queue_limit;
    st->threads = pool->threads;
    st->idle = pool->idle;
    st->queued = pool->nqueued;
    st->waiting = pool->nwaiting;
    st->running = pool->nrunning;
    st->completed = pool->completed;
    st->cancelled = pool->cancelled;
    pthread_mutex_unlock(&pool->mu);
    return 0;
}

/* ---- calling ---------------------------------------------------------- */

/* Decide what a cancellation means for j, on the loop. */
static int cancel_job(job *j) {
    coop_pool *p = j->pool;
    int outcome;
    pthread_mutex_lock(&p->mu);
    switch (j->state) {
    case JOB_WAITING:
        coop__list_remove(&j->link);
        p->nwaiting--;
        p->cancelled++;
        j->state = JOB_REMOVED;
        outcome = CANCEL_REMOVED;
        break;
    case JOB_QUEUED:
        coop__list_remove(&j->link);
        p->nqueued--;
        p->cancelled++;
        promote_waiting(p);
        j->state = JOB_REMOVED;
        outcome = CANCEL_REMOVED;
        break;
    default: /* JOB_RUNNING or JOB_DONE */
        if (j->heap) {
            j->detached = 1;
            if (j->state == JOB_RUNNING) p->ndetached_running++;
            outcome = CANCEL_DETACHED;
        } else {
            outcome = CANCEL_WAIT;
        }
        break;
    }
    pthread_mutex_unlock(&p->mu);
    return outcome;
}

static void job_on_cancel(coop__waiter *w) {
    caller *c = COOP_CONTAINER_OF(w, caller, w);
    c->j->parked = NULL;
    c->cancel = cancel_job(c->j); /* after this, a detached j may be gone */
}

/* Wait until the completion post has run. The park has no on_cancel, so
 * it ignores cancellation entirely (park.h): the wait is shielded. */
static void wait_delivered_shielded(job *j) {
    while (!j->delivered) {
        coop__waiter w = {.on_cancel = NULL, .what = "coop_pool_call (job running)"};
        j->parked = &w;
        coop__park(&w);
        j->parked = NULL;
    }
}

int coop_pool_call(coop_pool *pool, coop_work_fn fn, void *arg, intptr_t *result, unsigned flags,
                   coop_work_cleanup cleanup) {
    if (!fn || (flags & ~(COOP_OFFLOAD_TRY | COOP_OFFLOAD_DETACH)) ||
        ((flags & COOP_OFFLOAD_DETACH) && !cleanup))
        return -EINVAL;
    coop__loop *l = coop__loop_get();
    if (!l || !coop__task_current()) return -EPERM;
    int cause = coop__cancel_cause();
    if (cause) return cause;
    coop_pool *p = pool ? pool : coop_pool_builtin(COOP_POOL_CPU);

    job stack_job, *j = &stack_job;
    if (flags & COOP_OFFLOAD_DETACH) {
        j = coop__malloc(sizeof *j);
        if (!j) return -ENOMEM;
    }
    memset(j, 0, sizeof *j);
    j->fn = fn;
    j->arg = arg;
    j->heap = j != &stack_job;
    j->cleanup = cleanup;
    j->pool = p;
    j->loop = l;
    j->post.fn = job_delivered;
    caller c = {.w = {.on_cancel = job_on_cancel, .what = "coop_pool_call"}, .j = j,
                .cancel = CANCEL_NONE};

    pthread_mutex_lock(&p->mu);
    int full = (int)p->nqueued >= p->queue_limit;
    int rc = 0, wake = 0;
    if (full && (flags & COOP_OFFLOAD_TRY)) {
        rc = -EAGAIN;
    } else if ((int)p->nqueued + 1 > p->idle && p->threads < p->threads_max) {
        /* No idle worker for this job: start one (lazily, up to the limit). */
        if (spawn_worker(p) < 0 && p->threads == 0) rc = -EAGAIN;
    }
    if (rc == 0) {
        if (full || !coop__list_empty(&p->overflow)) {
            j->state = JOB_WAITING;
            coop__list_push(&p->overflow, &j->link);
            p->nwaiting++;
        } else {
            j->state = JOB_QUEUED;
            coop__list_push(&p->queue, &j->link);
            p->nqueued++;
            wake = p->idle > 0;
        }
    }
    pthread_mutex_unlock(&p->mu);
    /* Signal after unlocking: the woken worker does not block on mu at
     * once. No wake-up is lost: a worker re-checks the queue under mu
     * before it waits. */
    if (wake) pthread_cond_signal(&p->work);
    if (rc < 0) {
        if (j->heap) coop__free(j);
        return rc;
    }

    coop__loop_hold(l);
    j->parked = &c.w;
    int r = coop__park(&c.w);
    if (r < 0 && c.cancel == CANCEL_NONE) {
        /* Cancelled without on_cancel (the park returned before parking). */
        j->parked = NULL;
        c.cancel = cancel_job(j);
    }
    if (r >= 0) {
        /* Completed: the post unparked us (the result stands). */
        if (result) *result = j->result;
        coop__loop_release(l);
        if (j->heap) coop__free(j);
        return 0;
    }
    switch (c.cancel) {
    case CANCEL_REMOVED:
        if (j->heap) coop__free(j);
        break;
    case CANCEL_DETACHED:
        /* The worker (or the pending post) now owns j and calls cleanup:
         * j must not be touched any more. */
        break;
    default: /* CANCEL_WAIT: fn is running or done; wait for it, shielded */
        wait_delivered_shielded(j);
        if (result) *result = j->result;
        break;
    }
    coop__loop_release(l);
    return r;
}

int coop_to_thread(coop_work_fn fn, void *arg, intptr_t *result) {
    return coop_pool_call(NULL, fn, arg, result, 0, NULL);
}

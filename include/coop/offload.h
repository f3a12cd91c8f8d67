/*
 * coop/offload.h — the remedies for work that would freeze the loop:
 * thread pools (asyncio.to_thread / run_in_executor) and a process pool
 * (concurrent.futures.ProcessPoolExecutor). Included by <coop.h>.
 *
 * Thread pools. A pool is a bounded set of worker threads (started lazily,
 * joined when the pool is freed) fed by a FIFO queue. The calling task
 * suspends while its function runs on a worker; the result comes back
 * through the loop's thread-safe wake-up (no polling). Three pools are
 * built in so that one kind of slow work cannot starve another:
 *   "cpu" (the default: computation), "fs" (file calls), "dns" (name
 *   lookups) — a dns pool full of slow lookups never delays a file read.
 * Their sizes come from COOP_POOL_CPU / COOP_POOL_FS / COOP_POOL_DNS (thread
 * counts) when first used, or from coop_pool_configure.
 *
 * Cancellation of an offloaded call (see coop_pool_call for the exact
 * contract): a job still queued is removed and never runs; a running job
 * cannot be interrupted, so the caller either waits for it to end (the
 * default: the wait is shielded, the job's effect is done, the call returns
 * the cancellation cause) or, with COOP_OFFLOAD_DETACH, returns at once while
 * the job finishes in the background and hands its result to a cleanup
 * function.
 *
 * Process pool. Worker processes forked once and reused; a job is a
 * function of this program (valid in the child: same binary, no exec) that
 * turns input bytes into output bytes. A worker that crashes fails only its
 * own job (-ECHILD) and is replaced; cancelling a job kills its worker.
 */
#ifndef COOP_OFFLOAD_H
#define COOP_OFFLOAD_H

#include <stdint.h>
#include <sys/types.h>
#include "sched.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Thread pools
 * --------------------------------------------------------------------- */

typedef struct coop_pool coop_pool;

/* A function run on a worker thread. It may call only [any thread] API
 * (it runs on another thread, with no loop). Its return value is handed
 * back to the caller: any integer or pointer (by convention >= 0 or a
 * -errno, like a system call). */
typedef intptr_t (*coop_work_fn)(void *arg);

/* With COOP_OFFLOAD_DETACH: receives a detached job's arg and result once
 * the job has finished (free the result, close the fd it opened, ...). It
 * runs on the worker thread if the job was still running when the caller
 * detached, or on the caller's loop (as a callback) if the job had already
 * finished but its completion was not yet delivered. It must not suspend. */
typedef void (*coop_work_cleanup)(void *arg, intptr_t result);

/* Flags for coop_pool_call. */
#define COOP_OFFLOAD_TRY 1u    /* do not wait for a queue slot: -EAGAIN if full */
#define COOP_OFFLOAD_DETACH 2u /* on cancellation of a running job, return at
                                  once; the job's result goes to the cleanup */

/* The built-in pools. */
enum coop_pool_builtin {
    COOP_POOL_CPU = 0, /* "cpu": computation; default threads = CPU count */
    COOP_POOL_FS = 1,  /* "fs": file system calls; default 4 threads */
    COOP_POOL_DNS = 2, /* "dns": name resolution; default 4 threads */
};

/* Most worker threads one pool may have. */
#define COOP_POOL_THREADS_MAX 256

/* Default queue limit of a pool: jobs queued beyond the running ones. */
#define COOP_POOL_QUEUE_DEFAULT 1024

/* A built-in pool (process-wide, shared by every loop and thread), or NULL
 * if which is not an enum coop_pool_builtin. Never fails: the pool's
 * storage is static and its workers start on first use. [any thread] */
COOP_API coop_pool *coop_pool_builtin(int which);

/* Create a pool named name (copied, up to 31 bytes; for reports) with at
 * most threads workers (1..COOP_POOL_THREADS_MAX) and at most queue_limit
 * queued jobs (>= 1; jobs beyond it wait for a slot, see coop_pool_call).
 * No thread starts until the first job. Errors: -EINVAL (threads out of
 * range, queue_limit < 1, pool NULL), -ENOMEM. The caller owns *pool and
 * frees it with coop_pool_free. [any thread] */
COOP_API int coop_pool_new(coop_pool **pool, const char *name, int threads, int queue_limit);

/* Stop and join the pool's workers (jobs already running, including
 * detached ones, finish first; their cleanups run) and free it. Freeing a
 * pool that a task is still waiting on (a job queued or running for a task)
 * is misuse and aborts with a message. Built-in pools cannot be freed (use
 * coop_pools_shutdown). Must not be called from one of the pool's own
 * workers. [any thread] */
COOP_API void coop_pool_free(coop_pool *pool);

/* Change a pool's limits: threads (>= 1) and queue_limit (>= 1); 0 keeps
 * the current value. Extra idle workers exit; busy ones exit after their
 * job. Works on built-in pools too (overrides the environment). Errors:
 * -EINVAL (negative value, pool NULL). [any thread] */
COOP_API int coop_pool_configure(coop_pool *pool, int threads, int queue_limit);

/* The pool's name ("cpu", "fs", "dns" or the name given). [any thread] */
COOP_API const char *coop_pool_name(const coop_pool *pool);

/* A snapshot of a pool's state (for tests, dumps and monitoring). */
typedef struct coop_pool_stats {
    int threads_max;       /* configured thread limit */
    int queue_limit;       /* configured queue limit */
    int threads;           /* worker threads alive */
    int idle;              /* of which waiting for a job */
    size_t queued;         /* jobs in the queue, not yet started */
    size_t waiting;        /* jobs waiting for a queue slot (back-pressure) */
    size_t running;        /* jobs being run by a worker (detached included) */
    uint64_t completed;    /* jobs that ran to the end, since creation */
    uint64_t cancelled;    /* jobs removed from the queue by cancellation */
} coop_pool_stats;

/* Fill *st. Errors: -EINVAL (NULL argument). [any thread] */
COOP_API int coop_pool_stats_get(coop_pool *pool, coop_pool_stats *st);

/* Run fn(arg) on a worker of pool (NULL = the "cpu" pool) while the calling
 * task suspends; other tasks of the loop keep running. On success returns 0
 * and stores fn's return value in *result (result may be NULL).
 *
 * Back-pressure: when queue_limit jobs are already queued the job waits,
 * in FIFO order, for a queue slot while the task stays suspended (it is
 * counted in coop_pool_stats.waiting); with COOP_OFFLOAD_TRY the call
 * returns -EAGAIN at once instead and fn never runs.
 *
 * Cancellation (the task's scope is cancelled or its deadline passes):
 *  - job still queued or waiting for a slot: it is removed, fn never runs,
 *    the call returns -ECANCELED (or -ETIMEDOUT);
 *  - job running, default: fn cannot be interrupted, so the task keeps
 *    waiting (shielded) until fn returns; then the call returns the
 *    cancellation cause (-ECANCELED/-ETIMEDOUT) AND *result holds fn's
 *    return value: fn's effect happened, the caller must account for it;
 *  - job running, COOP_OFFLOAD_DETACH: the call returns the cause at once;
 *    fn finishes in the background and cleanup(arg, result) is called
 *    (see coop_work_cleanup for where). arg must therefore stay valid
 *    until cleanup runs (typically heap memory that cleanup frees).
 *    *result is not written.
 *  - the job finished but its completion had not yet reached the task: as
 *    for a running job (the default returns the cause with *result set;
 *    DETACH passes the result to cleanup on the loop).
 *
 * Errors: -EAGAIN (COOP_OFFLOAD_TRY and the queue is full; or no worker
 * thread could be started and none is alive), -ENOMEM (DETACH needs a heap
 * job record), -EINVAL (fn NULL; DETACH without cleanup; unknown flags),
 * -ECANCELED/-ETIMEDOUT (above), -EPERM (not in a task).
 * [checkpoint] [task] */
COOP_API int coop_pool_call(coop_pool *pool, coop_work_fn fn, void *arg, intptr_t *result,
                            unsigned flags, coop_work_cleanup cleanup);

/* asyncio.to_thread: coop_pool_call(NULL, fn, arg, result, 0, NULL) — run
 * fn(arg) on the "cpu" pool, waiting for it. [checkpoint] [task] */
COOP_API int coop_to_thread(coop_work_fn fn, void *arg, intptr_t *result);

/* Stop the built-in pools: join their workers (running jobs finish first).
 * They start again if used afterwards. Call it before exit when leak
 * checkers should see no thread, or before fork if the child should not
 * inherit idle pools' state. Tasks must not be waiting on a built-in pool
 * (misuse: abort). [any thread, not from a worker] */
COOP_API void coop_pools_shutdown(void);

/* ------------------------------------------------------------------------
 * Process pool
 * --------------------------------------------------------------------- */

typedef struct coop_procpool coop_procpool;

/* A job run in a worker process: read in_len bytes at in, write up to
 * out_cap bytes at out, return the number of bytes written (>= 0) or a
 * -errno that the caller receives as the call's result. It runs in a child
 * forked from this (possibly multi-threaded) process: it may use malloc
 * (glibc makes it fork-safe) and system calls, but no lock that another
 * thread of the parent might have held at fork time (stdio of a FILE shared
 * with other threads, user mutexes), and no coop API. */
typedef ssize_t (*coop_proc_fn)(const void *in, size_t in_len, void *out, size_t out_cap);

/* Default largest input or output of one job, in bytes. */
#define COOP_PROCPOOL_MSG_DEFAULT ((size_t)1 << 20)

/* Create a process pool of at most workers processes (>= 1) on the
 * calling thread's loop; jobs carry at most max_msg bytes each way (0 =
 * COOP_PROCPOOL_MSG_DEFAULT). Workers are forked on demand, then reused.
 * Errors: -EINVAL, -ENOMEM, -EPERM (no loop on this thread). The pool
 * belongs to this loop: use and free it only from its tasks. [loop] */
COOP_API int coop_procpool_new(coop_procpool **pool, int workers, size_t max_msg);

/* Kill every worker (SIGKILL), reap it (no zombie) and close its socket,
 * then free the pool. Freeing a pool that tasks still use is misuse
 * (abort). [loop] */
COOP_API void coop_procpool_free(coop_procpool *pool);

/* Run fn(in) in a worker process: waits for a free worker (forking one if
 * fewer than `workers` exist), sends the input, suspends until the output
 * comes back. Returns the output length (>= 0, bytes in out) or fn's own
 * negative result, or:
 *   -ECHILD     the worker died while running the job (crashed, killed,
 *               called exit): only this job fails; the worker is reaped
 *               and a fresh one is forked for the next job;
 *   -EMSGSIZE   in_len or out_cap exceeds the pool's max_msg, or fn
 *               returned more than out_cap;
 *   -ECANCELED / -ETIMEDOUT  cancelled: if the job was already sent, its
 *               worker is killed with SIGKILL (its effect may be partly
 *               done) and replaced; out is not written after the return;
 *   -EAGAIN     a worker could not be forked (fork failed);
 *   -ENOMEM, -EMFILE, -EINVAL (fn NULL), -EPERM (not in a task of the
 *               pool's loop).
 * [checkpoint] [task] */
COOP_API ssize_t coop_procpool_call(coop_procpool *pool, coop_proc_fn fn, const void *in,
                                    size_t in_len, void *out, size_t out_cap);

#ifdef __cplusplus
}
#endif
#endif

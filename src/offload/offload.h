/*
 * offload.h — private layout of a thread pool (the built-in pools are static
 * objects of this type) and internal hooks the tests use.
 */
#ifndef COOP_OFFLOAD_OFFLOAD_H
#define COOP_OFFLOAD_OFFLOAD_H

#include <pthread.h>
#include <sys/types.h>
#include "coop.h"
#include "util/list.h"

struct coop_pool {
    pthread_mutex_t mu;           /* guards everything below except name/builtin */
    pthread_cond_t work;          /* idle workers wait here for a job or stop */
    coop__list queue;             /* queued jobs, FIFO, at most queue_limit */
    coop__list overflow;          /* jobs waiting for a queue slot, FIFO */
    size_t nqueued;               /* length of queue */
    size_t nwaiting;              /* length of overflow */
    size_t nrunning;              /* jobs inside fn on a worker */
    size_t ndetached_running;     /* of which detached (nobody waits for them) */
    uint64_t completed;           /* jobs whose fn returned */
    uint64_t cancelled;           /* jobs removed before running */
    int threads_max;              /* worker limit */
    int queue_limit;              /* queue limit */
    int threads;                  /* live workers */
    int idle;                     /* workers blocked on `work` */
    int stopping;                 /* free/shutdown in progress: workers exit when idle */
    int builtin;                  /* static built-in pool (not freeable) */
    char name[32];                /* NUL-terminated */
    unsigned char slot[COOP_POOL_THREADS_MAX];  /* SLOT_* of tid[i] */
    pthread_t tid[COOP_POOL_THREADS_MAX];       /* worker thread ids */
};

/* Process pool: pid of worker i (0 if none) and number of worker slots. */
pid_t coop__procpool_worker_pid(const coop_procpool *pp, int i);
int coop__procpool_size(const coop_procpool *pp);

#endif

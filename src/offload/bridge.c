/*
 * bridge.c — threads and loops talking to each other, built on the loop's
 * thread-safe posting (coop__loop_post). Sections:
 *   1. remote waits: a task parked until another thread posts its wakeup
 *   2. coop_run_in_loop: run_coroutine_threadsafe
 *   3. coop_loop_thread: a loop kept alive on its own thread
 *   4. coop_mailbox: a bounded MPMC queue across loops and threads
 *
 * The hard rules of cross-thread wakeups:
 *  - a post node that lives on a task's stack must have been delivered
 *    before that task returns: a task whose wait is cancelled after another
 *    thread already posted its wakeup waits (shielded) for that post;
 *  - every task that waits for a post holds its loop (coop__loop_hold), so
 *    the loop neither reports a deadlock nor finishes while it is on its way;
 *  - coop__loop_post still reads the loop after publishing the node (to
 *    write the wake-up fd), so a post that lets a loop finish must not let it
 *    free itself before the poster is out: the poster posts under a mutex
 *    that the post's callback takes once before going on (poster_mu).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include "coop.h"
#include "coop/bridge.h"
#include "sched/park.h"
#include "util/alloc.h"
#include "util/misuse.h"

/* ======================================================================
 * 1. Remote waits
 * ==================================================================== */

/* A task waiting for a post from another thread. Lives on its stack. */
typedef struct rwait {
    coop__waiter w;     /* the park record */
    coop__post post;    /* the wakeup, posted by the other side (once) */
    coop__loop *loop;   /* the waiting task's loop */
    int parked;         /* loop thread only: a park on w is unresolved */
    int arrived;        /* loop thread only: post ran */
    pthread_mutex_t *poster_mu; /* held by the poster around its post; taken
                                   once on arrival (see the file comment) */
} rwait;

/* Runs on the waiter's loop: the wakeup arrived. */
static void rwait_arrive(coop__post *p) {
    rwait *rw = (rwait *)((char *)p - offsetof(rwait, post));
    if (rw->poster_mu) {
        pthread_mutex_lock(rw->poster_mu);
        pthread_mutex_unlock(rw->poster_mu);
    }
    rw->arrived = 1;
    if (rw->parked) {
        rw->parked = 0;
        coop__unpark(&rw->w, 0);
    }
}

/* The park was cancelled: the task wakes with the cause, so a post arriving
 * later must not unpark it again. */
static void rwait_cancelled(coop__waiter *w) {
    rwait *rw = (rwait *)((char *)w - offsetof(rwait, w));
    rw->parked = 0;
}

static void rwait_init(rwait *rw, const char *what) {
    memset(rw, 0, sizeof *rw);
    rw->w.what = what;
    rw->w.on_cancel = rwait_cancelled;
    rw->post.fn = rwait_arrive;
    rw->loop = coop__loop_get();
}

/* Park until the post arrives. Returns 0, or the cancellation cause — the
 * post may then still be on its way (see rwait_finish). */
static int rwait_park(rwait *rw) {
    if (rw->arrived) return 0;
    rw->parked = 1;
    int r = coop__park(&rw->w);
    rw->parked = 0;
    return r;
}

/* After a cancelled park whose post was (or will be) sent: wait for it,
 * shielded, so the node on this stack is not referenced after we return. */
static void rwait_finish(rwait *rw) {
    if (rw->arrived) return;
    coop_scope s;
    coop_scope_enter(&s, COOP_NEVER);
    coop_scope_shield(&s, 1);
    rw->w.on_cancel = NULL;
    while (!rw->arrived) rwait_park(rw);
    coop_scope_exit(&s);
}

/* Where a call comes from: a task (waits by parking), a plain thread
 * (blocks), or a loop callback (may do neither: -EPERM). */
static int caller_kind(void) {
    if (coop__task_current()) return 1;
    return coop__loop_get() ? -EPERM : 0;
}

/* ======================================================================
 * 2. coop_run_in_loop
 * ==================================================================== */

/* One call, shared by the caller and the target loop; freed by whoever
 * drops the last reference (caller, target task, a cancel post in flight). */
typedef struct rjob {
    coop__post start;        /* posted to the target: spawn the task */
    coop__post cancel;       /* posted to the target: cancel the task */
    coop_fn fn;              /* what to run, and its argument */
    void *arg;
    int result;              /* fn's return value (target writes before done) */
    int error;               /* the task could not be spawned (-ENOMEM) */
    coop_scope scope;        /* target only: the scope fn runs in */
    int in_scope;            /* target only: fn is running inside scope */
    int cancel_early;        /* target only: cancel arrived before fn started */
    rwait *waiter;           /* caller task's wait record, NULL for a thread */
    pthread_mutex_t mu;      /* thread caller: guards done */
    pthread_cond_t cv;       /* thread caller: signalled when done */
    int done;                /* thread caller: fn has returned */
    atomic_int refs;         /* references, see above */
} rjob;

static void rjob_unref(rjob *j) {
    if (atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) != 1) return;
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    coop__free(j);
}

/* On the target: fn has returned (or never started). Tell the caller. */
static void rjob_complete(rjob *j) {
    pthread_mutex_lock(&j->mu);
    if (j->waiter) {
        /* The caller's loop is held by the caller, so it is still alive. */
        coop__loop_post(j->waiter->loop, &j->waiter->post);
    } else {
        j->done = 1;
        pthread_cond_signal(&j->cv);
    }
    pthread_mutex_unlock(&j->mu);
    rjob_unref(j);
}

static int rjob_task(void *arg) {
    rjob *j = arg;
    coop_scope_enter(&j->scope, COOP_NEVER);
    j->in_scope = 1;
    if (j->cancel_early) coop_scope_cancel(&j->scope);
    j->result = j->fn(j->arg);
    j->in_scope = 0;
    coop_scope_exit(&j->scope);
    rjob_complete(j);
    return 0;
}

static void rjob_start(coop__post *p) {
    rjob *j = (rjob *)((char *)p - offsetof(rjob, start));
    pthread_mutex_lock(&j->mu); /* the poster has left coop__loop_post */
    pthread_mutex_unlock(&j->mu);
    int r = coop_spawn(NULL, "run_in_loop", rjob_task, j);
    if (r < 0) {
        j->error = r;
        rjob_complete(j);
    }
}

static void rjob_cancel(coop__post *p) {
    rjob *j = (rjob *)((char *)p - offsetof(rjob, cancel));
    pthread_mutex_lock(&j->mu); /* the poster has left coop__loop_post */
    pthread_mutex_unlock(&j->mu);
    if (j->in_scope)
        coop_scope_cancel(&j->scope);
    else
        j->cancel_early = 1; /* not started yet (or already over: harmless) */
    rjob_unref(j);
}

/* Post p to the target under j->mu (its callback takes j->mu first). */
static int post_locked(rjob *j, coop__loop *target, coop__post *p) {
    pthread_mutex_lock(&j->mu);
    int r = coop__loop_post(target, p);
    pthread_mutex_unlock(&j->mu);
    return r;
}

static int run_from_task(coop__loop *target, rjob *j) {
    rwait rw;
    rwait_init(&rw, "coop_run_in_loop");
    rw.poster_mu = &j->mu;
    j->waiter = &rw;
    coop__loop_hold(rw.loop);
    int r = post_locked(j, target, &j->start);
    if (r < 0) {
        coop__loop_release(rw.loop);
        rjob_unref(j); /* the target's reference: it will never run */
        return r;
    }
    r = rwait_park(&rw);
    if (r < 0) {
        /* Cancelled: cancel fn's task, then wait for it to return. */
        atomic_fetch_add_explicit(&j->refs, 1, memory_order_relaxed);
        if (post_locked(j, target, &j->cancel) < 0) rjob_unref(j);
        rwait_finish(&rw);
    }
    coop__loop_release(rw.loop);
    return r;
}

static int run_from_thread(coop__loop *target, rjob *j) {
    int r = post_locked(j, target, &j->start);
    if (r < 0) {
        rjob_unref(j);
        return r;
    }
    pthread_mutex_lock(&j->mu);
    while (!j->done) pthread_cond_wait(&j->cv, &j->mu);
    pthread_mutex_unlock(&j->mu);
    return 0;
}

int coop_run_in_loop(coop_loop *l, coop_fn fn, void *arg, int *result) {
    if (!l || !fn) return -EINVAL;
    int kind = caller_kind();
    if (kind < 0) return kind;
    if (kind) {
        /* A task already cancelled does not start fn at all. */
        int r = coop__checkpoint();
        if (r < 0) return r;
    }
    rjob *j = coop__calloc(1, sizeof *j);
    if (!j) return -ENOMEM;
    j->start.fn = rjob_start;
    j->cancel.fn = rjob_cancel;
    j->fn = fn;
    j->arg = arg;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    atomic_init(&j->refs, 2); /* the caller and the target */
    int r = kind ? run_from_task(l, j) : run_from_thread(l, j);
    if (r != -ESHUTDOWN) {
        if (r == 0 && j->error) r = j->error;
        if (result) *result = j->result;
    }
    rjob_unref(j);
    return r;
}

/* ======================================================================
 * 3. coop_loop_thread
 * ==================================================================== */

struct coop_loop_thread {
    pthread_t thread;       /* runs the loop */
    coop_options opts;      /* the loop's options */
    coop_loop *loop;        /* set by the keeper task once the loop runs */
    pthread_mutex_t mu;     /* guards started/start_error */
    pthread_cond_t cv;      /* signalled when started */
    int started;            /* the loop runs (or failed: start_error) */
    int start_error;        /* coop_run's error if the loop never ran */
    rwait *keeper;          /* the keeper task's wait; its post means stop */
};

/* The loop's first task: publish the loop, then hold it open until the
 * stop post arrives. */
static int keeper_main(void *arg) {
    coop_loop_thread *t = arg;
    rwait rw;
    rwait_init(&rw, "coop_loop_thread (idle)");
    rw.w.on_cancel = NULL; /* only stop ends the keeper */
    rw.poster_mu = &t->mu;
    coop__loop_hold(rw.loop);
    pthread_mutex_lock(&t->mu);
    t->loop = coop_loop_current();
    t->keeper = &rw;
    t->started = 1;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    while (!rw.arrived) rwait_park(&rw);
    coop__loop_release(rw.loop);
    return 0;
}

static void *loop_thread_main(void *arg) {
    coop_loop_thread *t = arg;
    int r = coop_run_opts(&t->opts, keeper_main, t);
    pthread_mutex_lock(&t->mu);
    if (!t->started) {
        t->start_error = r < 0 ? r : -EAGAIN;
        t->started = 1;
        pthread_cond_signal(&t->cv);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

int coop_loop_thread_start(coop_loop_thread **out, const coop_options *opts) {
    if (!out) return -EINVAL;
    *out = NULL;
    coop_loop_thread *t = coop__calloc(1, sizeof *t);
    if (!t) return -ENOMEM;
    if (opts)
        t->opts = *opts;
    else
        coop_options_init(&t->opts);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    /* The loop thread is a helper: asynchronous signals meant for the
     * program go to its other threads (a signal watcher created on the loop
     * thread still works: it blocks its signals itself). Faults, SIGABRT and
     * SIGURG (the watchdog's backtrace request) stay deliverable. */
    sigset_t mask, old;
    sigfillset(&mask);
    const int keep[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS, SIGURG};
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) sigdelset(&mask, keep[i]);
    pthread_sigmask(SIG_SETMASK, &mask, &old);
    int rc = pthread_create(&t->thread, NULL, loop_thread_main, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    int r = -rc;
    if (rc == 0) {
        pthread_mutex_lock(&t->mu);
        while (!t->started) pthread_cond_wait(&t->cv, &t->mu);
        r = t->start_error;
        pthread_mutex_unlock(&t->mu);
        if (r < 0) pthread_join(t->thread, NULL);
    }
    if (r < 0) {
        pthread_mutex_destroy(&t->mu);
        pthread_cond_destroy(&t->cv);
        coop__free(t);
        return r;
    }
    *out = t;
    return 0;
}

coop_loop *coop_loop_thread_loop(const coop_loop_thread *t) { return t->loop; }

int coop_loop_thread_stop(coop_loop_thread *t) {
    if (!t) return -EINVAL;
    /* The keeper holds the loop, so the post cannot find it finished; the
     * keeper takes t->mu on arrival, so the loop cannot end (and free
     * itself) before this thread is out of coop__loop_post. */
    pthread_mutex_lock(&t->mu);
    coop__loop_post(t->loop, &t->keeper->post);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    coop__free(t);
    return 0;
}

/* ======================================================================
 * 4. coop_mailbox
 * ==================================================================== */

/* A task queued on a mailbox. Lives on its stack. */
typedef struct mwait {
    rwait rw;                 /* how it is woken */
    struct mwait *prev, *next; /* links in the queue (under m->mu) */
    int linked;               /* in the queue (under m->mu) */
} mwait;

typedef struct mqueue {
    mwait *head, *tail;       /* FIFO of waiting tasks */
} mqueue;

struct coop_mailbox {
    pthread_mutex_t mu;       /* guards everything below */
    pthread_cond_t cv;        /* plain threads waiting (either side) */
    unsigned thread_waiters;  /* threads blocked on cv */
    size_t msg_size;          /* bytes per message */
    size_t capacity;          /* messages the ring holds */
    size_t head;              /* index of the oldest message */
    size_t count;             /* messages in the ring */
    int closed;               /* coop_mailbox_close was called */
    mqueue senders;           /* tasks waiting for room */
    mqueue receivers;         /* tasks waiting for a message */
    unsigned char *ring;      /* capacity * msg_size bytes */
};

static void mq_push(mqueue *q, mwait *x) {
    x->next = NULL;
    x->prev = q->tail;
    if (q->tail)
        q->tail->next = x;
    else
        q->head = x;
    q->tail = x;
    x->linked = 1;
}

static void mq_unlink(mqueue *q, mwait *x) {
    if (x->prev)
        x->prev->next = x->next;
    else
        q->head = x->next;
    if (x->next)
        x->next->prev = x->prev;
    else
        q->tail = x->prev;
    x->linked = 0;
}

/* Wake the first task of q (m->mu held). The post is sent under the lock;
 * the woken task's stack stays valid until the post has run (rwait_finish). */
static void mq_wake_one(mqueue *q) {
    mwait *x = q->head;
    if (!x) return;
    mq_unlink(q, x);
    coop__loop_post(x->rw.loop, &x->rw.post);
}

static void mq_wake_all(mqueue *q) {
    while (q->head) mq_wake_one(q);
}

/* The state changed in a way side q waits for: wake one task of q and the
 * blocked threads. m->mu held. */
static void notify(coop_mailbox *m, mqueue *q) {
    mq_wake_one(q);
    if (m->thread_waiters) pthread_cond_broadcast(&m->cv);
}

/* Wait on q until woken (m->mu held on entry and on return). Returns 0 to
 * retry, or the cancellation cause (the wait left no trace). */
static int mbox_wait(coop_mailbox *m, mqueue *q, int task, const char *what) {
    if (!task) {
        m->thread_waiters++;
        pthread_cond_wait(&m->cv, &m->mu);
        m->thread_waiters--;
        return 0;
    }
    mwait x;
    rwait_init(&x.rw, what);
    mq_push(q, &x);
    pthread_mutex_unlock(&m->mu);
    coop__loop_hold(x.rw.loop);
    int r = rwait_park(&x.rw);
    pthread_mutex_lock(&m->mu);
    if (r < 0) {
        if (x.linked) {
            mq_unlink(q, &x);
        } else {
            /* A waker chose us: wait for its post, then hand the wakeup
             * on, or another waiter could sleep next to a ready mailbox. */
            pthread_mutex_unlock(&m->mu);
            rwait_finish(&x.rw);
            pthread_mutex_lock(&m->mu);
            mq_wake_one(q);
        }
    }
    coop__loop_release(x.rw.loop);
    return r;
}

int coop_mailbox_new(coop_mailbox **out, size_t msg_size, size_t capacity) {
    if (!out) return -EINVAL;
    *out = NULL;
    if (msg_size == 0 || capacity == 0 || capacity > ((size_t)-1 / 2) / msg_size) return -EINVAL;
    coop_mailbox *m = coop__calloc(1, sizeof *m);
    if (!m) return -ENOMEM;
    m->ring = coop__malloc(capacity * msg_size);
    if (!m->ring) {
        coop__free(m);
        return -ENOMEM;
    }
    m->msg_size = msg_size;
    m->capacity = capacity;
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);
    *out = m;
    return 0;
}

void coop_mailbox_free(coop_mailbox *m) {
    if (!m) return;
    pthread_mutex_lock(&m->mu);
    int busy = m->senders.head || m->receivers.head || m->thread_waiters;
    pthread_mutex_unlock(&m->mu);
    if (busy) coop__misuse("coop_mailbox_free: tasks or threads still wait on the mailbox");
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cv);
    coop__free(m->ring);
    coop__free(m);
}

/* Send (wait != 0: waiting while full) with m->mu taken here. */
static int mbox_send(coop_mailbox *m, const void *msg, int wait) {
    int task = 0;
    if (wait) {
        task = caller_kind();
        if (task < 0) return task;
        if (task) {
            int r = coop__checkpoint();
            if (r < 0) return r;
        }
    }
    pthread_mutex_lock(&m->mu);
    int r;
    for (;;) {
        if (m->closed) {
            r = -EPIPE;
            break;
        }
        if (m->count < m->capacity) {
            size_t tail = (m->head + m->count) % m->capacity;
            memcpy(m->ring + tail * m->msg_size, msg, m->msg_size);
            m->count++;
            notify(m, &m->receivers);
            r = 0;
            break;
        }
        if (!wait) {
            r = -EAGAIN;
            break;
        }
        r = mbox_wait(m, &m->senders, task, "coop_mailbox_send");
        if (r < 0) break;
    }
    pthread_mutex_unlock(&m->mu);
    return r;
}

static int mbox_recv(coop_mailbox *m, void *msg, int wait) {
    int task = 0;
    if (wait) {
        task = caller_kind();
        if (task < 0) return task;
        if (task) {
            int r = coop__checkpoint();
            if (r < 0) return r;
        }
    }
    pthread_mutex_lock(&m->mu);
    int r;
    for (;;) {
        if (m->count > 0) {
            memcpy(msg, m->ring + m->head * m->msg_size, m->msg_size);
            m->head = (m->head + 1) % m->capacity;
            m->count--;
            notify(m, &m->senders);
            r = 0;
            break;
        }
        if (m->closed) {
            r = -EPIPE;
            break;
        }
        if (!wait) {
            r = -EAGAIN;
            break;
        }
        r = mbox_wait(m, &m->receivers, task, "coop_mailbox_recv");
        if (r < 0) break;
    }
    pthread_mutex_unlock(&m->mu);
    return r;
}

int coop_mailbox_send(coop_mailbox *m, const void *msg) { return mbox_send(m, msg, 1); }
int coop_mailbox_recv(coop_mailbox *m, void *msg) { return mbox_recv(m, msg, 1); }
int coop_mailbox_try_send(coop_mailbox *m, const void *msg) { return mbox_send(m, msg, 0); }
int coop_mailbox_try_recv(coop_mailbox *m, void *msg) { return mbox_recv(m, msg, 0); }

void coop_mailbox_close(coop_mailbox *m) {
    pthread_mutex_lock(&m->mu);
    m->closed = 1;
    mq_wake_all(&m->senders);
    mq_wake_all(&m->receivers);
    if (m->thread_waiters) pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
}

size_t coop_mailbox_count(coop_mailbox *m) {
    pthread_mutex_lock(&m->mu);
    size_t n = m->count;
    pthread_mutex_unlock(&m->mu);
    return n;
}

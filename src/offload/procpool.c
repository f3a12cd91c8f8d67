/*
 * procpool.c — the process pool: worker processes forked once and reused,
 * each serving one job at a time over a socketpair.
 *
 * Protocol (native byte order, same binary on both ends): the parent sends
 * a request header {fn, in_len, out_cap} and in_len input bytes; the worker
 * answers {result, out_len} and out_len output bytes. A function pointer is
 * valid in the child because the child is a fork of this very process (no
 * exec).
 *
 * Fork from a multi-threaded parent: we fork directly (no zygote) and keep
 * the child's start async-signal-safe: between fork() and the worker loop
 * the child makes only system calls (prctl, sigprocmask, dup2, close_range,
 * mmap, read, write). Its buffers are mmap'd in the child, so no allocator
 * lock inherited from another thread can be hit before the user's function
 * runs. The child keeps only fds 0, 1, 2 and its socket (moved to fd 3):
 * every other descriptor (the loop's epoll fd, eventfd, other sockets) is
 * closed before it reads its first job, so a worker never holds the loop's
 * fds even for a moment of its useful life.
 *
 * A pool belongs to the loop that created it; its sockets are waited on
 * through that loop (coop_read/coop_write). A worker that dies mid-job
 * fails that job with -ECHILD and is reaped; cancellation SIGKILLs the
 * worker. Reaping waits, in the task, on the worker's pidfd (readable once
 * the kernel has finished the process), then calls waitpid, which no
 * longer blocks; without pidfd_open (Linux < 5.3) or outside a task
 * (coop_procpool_free from a callback) waitpid blocks until the exit is
 * done, typically microseconds.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "offload/offload.h"
#include "sched/park.h"
#include "util/alloc.h"
#include "util/list.h"
#include "util/misuse.h"

typedef struct request {
    uint64_t fn;      /* coop_proc_fn, as an integer */
    uint64_t in_len;  /* input bytes that follow */
    uint64_t out_cap; /* capacity of the caller's output buffer */
} request;

typedef struct response {
    int64_t result;   /* fn's return value, or -EMSGSIZE */
    uint64_t out_len; /* output bytes that follow */
} response;

/* Inputs up to this size travel in the same write as the request header. */
#define SMALL_INPUT 2048

typedef struct worker {
    pid_t pid;  /* the worker process, 0 if none */
    int fd;     /* parent's end of its socketpair (nonblocking), -1 if none */
    int pidfd;  /* pidfd of the process (readable once it died), -1 if none */
    int busy;   /* a call is using it */
} worker;

typedef struct free_waiter {
    coop__list link; /* in pool->waiters */
    coop__waiter w;  /* unparked with the index of the worker handed over */
} free_waiter;

struct coop_procpool {
    coop__loop *loop;     /* owning loop */
    size_t max_msg;       /* largest input/output of a job */
    int nworkers;         /* worker slots */
    int users;            /* tasks inside coop_procpool_call */
    coop__list waiters;   /* free_waiter: tasks waiting for a worker, FIFO */
    worker w[];           /* nworkers slots */
};

/* ---- the child -------------------------------------------------------- */

/* read/write exactly n bytes, retrying on EINTR; 0 on success, -1 on EOF
 * or error. Async-signal-safe. */
static int child_io(int fd, void *buf, size_t n, int writing) {
    char *p = buf;
    while (n) {
        ssize_t k = writing ? write(fd, p, n) : read(fd, p, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static void close_other_fds(int keep_max) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)keep_max + 1, ~0u, 0) == 0) return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536) max = 65536;
    for (int fd = keep_max + 1; fd < max; fd++) close(fd);
}

__attribute__((noreturn)) static void child_main(int sock, pid_t parent, size_t max_msg) {
    /* Die with the parent: a worker must never outlive its pool's process. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (sock != 3) {
        if (dup2(sock, 3) < 0) _exit(127);
    }
    close_other_fds(3);
    /* The response header sits right before the output so that both go
     * out in one write (one wake-up of the parent). */
    char *in = mmap(NULL, max_msg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *resp = mmap(NULL, max_msg + sizeof(response), PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (in == MAP_FAILED || resp == MAP_FAILED) _exit(127);
    char *out = resp + sizeof(response);
    for (;;) {
        request rq;
        if (child_io(3, &rq, sizeof rq, 0) < 0) _exit(0); /* parent closed: done */
        if (rq.in_len > max_msg || child_io(3, in, rq.in_len, 0) < 0) _exit(127);
        size_t cap = rq.out_cap < max_msg ? rq.out_cap : max_msg;
        coop_proc_fn fn = (coop_proc_fn)(uintptr_t)rq.fn;
        ssize_t r = fn(in, rq.in_len, out, cap);
        response rs = {.result = r, .out_len = 0};
        if (r > (ssize_t)cap)
            rs.result = -EMSGSIZE;
        else if (r > 0)
            rs.out_len = (uint64_t)r;
        memcpy(resp, &rs, sizeof rs);
        if (child_io(3, resp, sizeof rs + rs.out_len, 1) < 0) _exit(127);
    }
}

/* ---- the parent ------------------------------------------------------- */

static int fork_worker(coop_procpool *pp, worker *wk) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return -errno;
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        return e == ENOMEM ? -ENOMEM : -EAGAIN;
    }
    if (pid == 0) child_main(sv[1], parent, pp->max_msg);
    close(sv[1]);
    int rc = coop_fd_nonblock(sv[0]);
    if (rc < 0) {
        close(sv[0]);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return rc;
    }
    wk->pid = pid;
    wk->fd = sv[0];
#ifdef SYS_pidfd_open
    /* A pidfd (close-on-exec by definition) becomes readable when the
     * worker is a zombie: lets a task wait for its death without blocking
     * the loop. Missing (old kernel): reaping blocks briefly instead. */
    wk->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#else
    wk->pidfd = -1;
#endif
    return 0;
}

/* Kill (if still alive), reap and forget a worker. Its socket is closed
 * through the loop so no stale event is delivered. From a task, the wait
 * for the kernel to finish the process (which can take milliseconds for a
 * worker forked from a large parent) suspends only that task, shielded
 * from cancellation; elsewhere, or without a pidfd, waitpid blocks. */
static void drop_worker(worker *wk) {
    if (wk->fd >= 0) coop_close(wk->fd);
    wk->fd = -1;
    if (wk->pid > 0) {
        kill(wk->pid, SIGKILL);
        if (wk->pidfd >= 0 && coop__task_current()) {
            coop_scope shield;
            coop_scope_enter(&shield, COOP_NEVER);
            coop_scope_shield(&shield, 1);
            coop_fd_wait(wk->pidfd, COOP_READABLE);
            coop_scope_exit(&shield);
        }
        while (waitpid(wk->pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    if (wk->pidfd >= 0) coop_close(wk->pidfd);
    wk->pidfd = -1;
    wk->pid = 0;
}

int coop_procpool_new(coop_procpool **pool, int workers, size_t max_msg) {
    if (!pool || workers < 1 || workers > 4096) return -EINVAL;
    coop__loop *l = coop__loop_get();
    if (!l) return -EPERM;
    coop_procpool *pp = coop__malloc(sizeof *pp + (size_t)workers * sizeof(worker));
    if (!pp) return -ENOMEM;
    pp->loop = l;
    pp->max_msg = max_msg ? max_msg : COOP_PROCPOOL_MSG_DEFAULT;
    pp->nworkers = workers;
    pp->users = 0;
    coop__list_init(&pp->waiters);
    for (int i = 0; i < workers; i++) pp->w[i] = (worker){.pid = 0, .fd = -1, .pidfd = -1, .busy = 0};
    *pool = pp;
    return 0;
}

void coop_procpool_free(coop_procpool *pool) {
    if (!pool) return;
    if (pool->users)
        coop__misuse("coop_procpool_free: %d task(s) still use the process pool", pool->users);
    for (int i = 0; i < pool->nworkers; i++) drop_worker(&pool->w[i]);
    coop__free(pool);
}

pid_t coop__procpool_worker_pid(const coop_procpool *pp, int i) {
    return i >= 0 && i < pp->nworkers ? pp->w[i].pid : 0;
}

int coop__procpool_size(const coop_procpool *pp) { return pp->nworkers; }

static void free_waiter_cancel(coop__waiter *w) {
    free_waiter *fw = COOP_CONTAINER_OF(w, free_waiter, w);
    coop__list_remove(&fw->link);
}

/* Get a worker for the calling task: an idle live one, else a free slot
 * (forked now), else wait for one to be released. Returns its index or
 * -errno. */
static int acquire(coop_procpool *pp) {
    int empty = -1;
    for (int i = 0; i < pp->nworkers; i++) {
        if (pp->w[i].busy) continue;
        if (pp->w[i].pid > 0) {
            pp->w[i].busy = 1;
            return i;
        }
        if (empty < 0) empty = i;
    }
    if (empty >= 0) {
        int rc = fork_worker(pp, &pp->w[empty]);
        if (rc < 0) return rc;
        pp->w[empty].busy = 1;
        return empty;
    }
    free_waiter fw = {.w = {.on_cancel = free_waiter_cancel, .what = "coop_procpool_call (worker)"}};
    coop__list_push(&pp->waiters, &fw.link);
    int r = coop__park(&fw.w);
    if (r < 0 && coop__list_linked(&fw.link)) coop__list_remove(&fw.link);
    return r; /* >= 0: a worker index handed over by release() */
}

/* Give worker i back: hand it to the first waiting task, if any. */
static void release(coop_procpool *pp, int i) {
    coop__list *n = coop__list_shift(&pp->waiters);
    if (n) {
        free_waiter *fw = COOP_CONTAINER_OF(n, free_waiter, link);
        coop__unpark(&fw->w, i); /* stays busy: ownership moves to the waiter */
        return;
    }
    pp->w[i].busy = 0;
}

/* Write or read exactly n bytes through the loop. 0, or -errno; end of file
 * is -ECHILD (the worker died). */
static int xfer(int fd, void *buf, size_t n, int writing) {
    char *p = buf;
    while (n) {
        ssize_t k = writing ? coop_write(fd, p, n) : coop_read(fd, p, n);
        if (k == 0) return -ECHILD;
        if (k < 0) return (k == -EPIPE || k == -ECONNRESET) ? -ECHILD : (int)k;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

ssize_t coop_procpool_call(coop_procpool *pool, coop_proc_fn fn, const void *in, size_t in_len,
                           void *out, size_t out_cap) {
    if (!pool || !fn || (in_len && !in) || (out_cap && !out)) return -EINVAL;
    if (coop__loop_get() != pool->loop || !coop__task_current()) return -EPERM;
    if (in_len > pool->max_msg) return -EMSGSIZE;
    int cause = coop__cancel_cause();
    if (cause) return cause;

    pool->users++;
    int i = acquire(pool);
    if (i < 0) {
        pool->users--;
        return i;
    }
    worker *wk = &pool->w[i];
    if (wk->pid == 0) {
        /* Handed a slot whose worker died: fork its replacement. */
        int rc = fork_worker(pool, wk);
        if (rc < 0) {
            release(pool, i);
            pool->users--;
            return rc;
        }
    }
    request rq = {.fn = (uint64_t)(uintptr_t)fn, .in_len = in_len,
                  .out_cap = out_cap < pool->max_msg ? out_cap : pool->max_msg};
    response rs;
    int rc;
    if (in_len <= SMALL_INPUT) {
        /* Header and input in one write: the worker wakes once. */
        unsigned char msg[sizeof rq + SMALL_INPUT];
        memcpy(msg, &rq, sizeof rq);
        if (in_len) memcpy(msg + sizeof rq, in, in_len);
        rc = xfer(wk->fd, msg, sizeof rq + in_len, 1);
    } else {
        rc = xfer(wk->fd, &rq, sizeof rq, 1);
        if (rc == 0) rc = xfer(wk->fd, (void *)(uintptr_t)in, in_len, 1);
    }
    if (rc == 0) rc = xfer(wk->fd, &rs, sizeof rs, 0);
    if (rc == 0 && rs.out_len > out_cap) rc = -EMSGSIZE; /* cannot happen with a sane child */
    if (rc == 0) rc = xfer(wk->fd, out, rs.out_len, 0);
    ssize_t ret;
    if (rc < 0) {
        /* Died, cancelled or failed mid-protocol: the stream is out of step,
         * so the worker cannot be reused. Kill and reap it; the slot gets a
         * fresh worker when next used. */
        drop_worker(wk);
        ret = rc;
    } else {
        ret = rs.result >= 0 ? (ssize_t)rs.out_len : (ssize_t)rs.result;
    }
    release(pool, i);
    pool->users--;
    return ret;
}

/*
 * fd.c — per-fd state and waiting for readiness.
 *
 * Each fd somebody waited on has a coop__fd (allocated on the first wait,
 * owned by the loop until coop_close/coop_forget) with a list of waiter
 * records that live on the waiting tasks' stacks. Readiness reported by the
 * backend is cached in f->ready and wakes every waiter of a matching event.
 * Closing through coop_close wakes the waiters with -EBADF and gives the fd
 * a new generation, so no stale event reaches a reused fd number.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#include "io/backend.h"
#include "sched/loop.h"
#include "util/alloc.h"
#include "util/misuse.h"

typedef struct fd_waiter {
    coop__waiter w;   /* parked on */
    coop__list node;  /* link in f->waiters */
    coop__fd *f;      /* the fd state (stable while we are linked) */
    unsigned events;  /* what this waiter wants */
} fd_waiter;

static coop__fd *fd_state(coop__loop *l, int fd, int create) {
    if (fd < l->nfds && l->fds[fd]) return l->fds[fd];
    if (!create) return NULL;
    if (fd >= l->nfds) {
        int n = l->nfds ? l->nfds : 64;
        while (n <= fd) n *= 2;
        coop__fd **t = coop__realloc(l->fds, (size_t)n * sizeof *t);
        if (!t) return NULL;
        for (int i = l->nfds; i < n; i++) t[i] = NULL;
        l->fds = t;
        l->nfds = n;
    }
    coop__fd *f = coop__malloc(sizeof *f);
    if (!f) return NULL;
    f->fd = fd;
    f->gen = ++l->fd_gen;
    f->ready = 0;
    f->registered = 0;
    f->poll_index = -1;
    coop__list_init(&f->waiters);
    l->fds[fd] = f;
    return f;
}

coop__fd *coop__io_lookup(coop__loop *l, int fd, uint32_t gen) {
    if (fd < 0 || fd >= l->nfds) return NULL;
    coop__fd *f = l->fds[fd];
    if (!f || (gen != UINT32_MAX && f->gen != gen)) return NULL;
    return f;
}

unsigned coop__io_interest(const coop__fd *f) {
    unsigned ev = 0;
    const coop__list *p;
    coop__list_each(p, &f->waiters) ev |= COOP_CONTAINER_OF(p, fd_waiter, node)->events;
    return ev;
}

static void waiter_unlink(coop__loop *l, fd_waiter *fw) {
    coop__list_remove(&fw->node);
    l->fd_waiters--;
    if (coop__list_empty(&fw->f->waiters)) l->backend->unwatch(l, fw->f);
}

void coop__io_ready(coop__loop *l, coop__fd *f, int events) {
    if (events > 0) f->ready |= (unsigned)events;
    coop__list *p = f->waiters.next;
    while (p != &f->waiters) {
        fd_waiter *fw = COOP_CONTAINER_OF(p, fd_waiter, node);
        p = p->next;
        if (events < 0) {
            waiter_unlink(l, fw);
            coop__unpark(&fw->w, events);
        } else if (fw->events & (unsigned)events) {
            waiter_unlink(l, fw);
            coop__unpark(&fw->w, (int)(fw->events & f->ready));
        }
    }
}

static void fd_wait_cancelled(coop__waiter *w) {
    fd_waiter *fw = COOP_CONTAINER_OF(w, fd_waiter, w);
    waiter_unlink(w->task->loop, fw);
}

/* Is fd really ready for events now? (verifies a cached edge) */
static unsigned poll_now(int fd, unsigned events) {
    struct pollfd p = {.fd = fd, .events = (short)((events & COOP_READABLE ? POLLIN : 0) |
                                                   (events & COOP_WRITABLE ? POLLOUT : 0))};
    if (poll(&p, 1, 0) <= 0) return 0;
    unsigned ev = 0;
    if (p.revents & (POLLIN | POLLERR | POLLHUP | POLLNVAL)) ev |= COOP_READABLE;
    if (p.revents & (POLLOUT | POLLERR | POLLHUP | POLLNVAL)) ev |= COOP_WRITABLE;
    return ev & events;
}

int coop__fd_wait(int fd, unsigned events, int edge) {
    coop__loop *l = coop__tls_loop;
    if (!l || !l->current) return -EPERM;
    if (fd < 0 || !(events & (COOP_READABLE | COOP_WRITABLE))) return -EINVAL;
    events &= COOP_READABLE | COOP_WRITABLE;
    int cause = coop__cancel_cause();
    if (cause) return cause;
    coop__fd *f = fd_state(l, fd, 1);
    if (!f) return -ENOMEM;
    if (edge) {
        f->ready &= ~events;
    } else if (f->ready & events) {
        /* A cached edge may be stale (the data was consumed since). */
        unsigned now = poll_now(fd, events);
        if (now) {
            int r = coop__checkpoint();
            return r < 0 ? r : (int)now;
        }
        f->ready &= ~events;
    }
    int r = l->backend->watch(l, f, events);
    if (r == -EPERM) return (int)events; /* regular file: always ready */
    if (r < 0) {
        if (r == -EBADF && coop__list_empty(&f->waiters)) coop_forget(fd);
        return r;
    }
    fd_waiter fw = {.w = {.on_cancel = fd_wait_cancelled,
                          .what = events == COOP_READABLE ? "fd wait (readable)" : "fd wait (writable)"},
                    .f = f,
                    .events = events};
    coop__list_push(&f->waiters, &fw.node);
    l->fd_waiters++;
    return coop__park(&fw.w);
}

int coop_fd_wait(int fd, unsigned events) { return coop__fd_wait(fd, events, 0); }

void coop__fd_drained(int fd, unsigned events) {
    coop__loop *l = coop__tls_loop;
    coop__fd *f = l ? coop__io_lookup(l, fd, UINT32_MAX) : NULL;
    if (f) f->ready &= ~events;
}

int coop_fd_nonblock(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) return -errno;
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return -errno;
    return 0;
}

void coop_forget(int fd) {
    coop__loop *l = coop__tls_loop;
    coop__fd *f = l ? coop__io_lookup(l, fd, UINT32_MAX) : NULL;
    if (!f) return;
    coop__io_ready(l, f, -EBADF);
    l->backend->forget(l, f);
    l->fds[fd] = NULL;
    coop__free(f);
}

int coop_close(int fd) {
    coop_forget(fd);
    /* Linux releases the fd even when close reports EINTR: never retry. */
    if (close(fd) < 0 && errno != EINTR) return -errno;
    return 0;
}

void coop__io_free_fds(coop__loop *l) {
    for (int i = 0; i < l->nfds; i++) {
        coop__fd *f = l->fds[i];
        if (!f) continue;
        if (!coop__list_empty(&f->waiters)) coop__fatal("loop ended with tasks waiting on fd %d", i);
        coop__free(f);
    }
    coop__free(l->fds);
    l->fds = NULL;
    l->nfds = 0;
}

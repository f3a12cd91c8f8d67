/*
 * epoll.c — the Linux backend. Each fd is added once, edge-triggered
 * (EPOLLET), for reading; EPOLLOUT joins (EPOLL_CTL_MOD) the first time a
 * task waits to write on it. So waiting costs an epoll_ctl only the first
 * time per fd and direction, and a server whose writes never block gets no
 * writable event per ACK that nobody waits for. Edge triggering is safe
 * because callers wait only after the operation returned EAGAIN (io/rw.c),
 * and coop_fd_wait re-checks cached readiness before waiting; adding an
 * event re-evaluates the fd, so an edge cannot fall between EAGAIN and
 * the registration.
 *
 * The event token is (generation << 32 | fd): an event fetched for an fd
 * that was closed and reused within the same epoll_wait batch is dropped.
 */
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "io/backend.h"
#include "sched/loop.h"
#include "util/alloc.h"
#include "util/misuse.h"

#define WAKE_TOKEN UINT64_MAX
#define MAX_EVENTS 256

typedef struct epoll_state {
    int epfd;                              /* the epoll instance */
    struct epoll_event events[MAX_EVENTS]; /* one epoll_wait's results */
} epoll_state;

static int ep_init(coop__loop *l) {
    epoll_state *s = coop__malloc(sizeof *s);
    if (!s) return -ENOMEM;
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (s->epfd < 0) {
        int r = -errno;
        coop__free(s);
        return r;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_TOKEN};
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, l->wake_fd, &ev) < 0) {
        int r = -errno;
        close(s->epfd);
        coop__free(s);
        return r;
    }
    l->backend_data = s;
    return 0;
}

static void ep_destroy(coop__loop *l) {
    epoll_state *s = l->backend_data;
    close(s->epfd);
    coop__free(s);
    l->backend_data = NULL;
}

static int ep_watch(coop__loop *l, coop__fd *f, unsigned events) {
    unsigned want = f->registered | COOP_READABLE | (events & COOP_WRITABLE);
    if (want == f->registered) return 0;
    epoll_state *s = l->backend_data;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET |
                                       (want & COOP_WRITABLE ? EPOLLOUT : 0),
                             .data.u64 = ((uint64_t)f->gen << 32) | (uint32_t)f->fd};
    int op = f->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
    if (epoll_ctl(s->epfd, op, f->fd, &ev) < 0) {
        /* EEXIST: the fd was registered and closed behind our back (a
         * dup keeps the registration alive); take it over. */
        if (errno != EEXIST || epoll_ctl(s->epfd, EPOLL_CTL_MOD, f->fd, &ev) < 0) return -errno;
    }
    f->registered = want;
    return 0;
}

static void ep_unwatch(coop__loop *l, coop__fd *f) {
    (void)l;
    (void)f; /* stays registered: the next wait costs no syscall */
}

static void ep_forget(coop__loop *l, coop__fd *f) {
    if (!f->registered) return;
    epoll_state *s = l->backend_data;
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, f->fd, NULL); /* fails harmlessly if already closed */
    f->registered = 0;
}

static void ep_poll(coop__loop *l, int64_t timeout_ns) {
    epoll_state *s = l->backend_data;
    int n = epoll_wait(s->epfd, s->events, MAX_EVENTS, coop__timeout_ms(timeout_ns));
    if (n < 0) {
        if (errno == EINTR) return;
        coop__fatal("epoll_wait: %d", errno);
    }
    for (int i = 0; i < n; i++) {
        struct epoll_event *e = &s->events[i];
        if (e->data.u64 == WAKE_TOKEN) {
            coop__loop_wake_drain(l);
            continue;
        }
        coop__fd *f = coop__io_lookup(l, (int)(uint32_t)e->data.u64, (uint32_t)(e->data.u64 >> 32));
        if (!f) continue;
        int ev = 0;
        if (e->events & (EPOLLIN | EPOLLRDHUP | EPOLLPRI)) ev |= COOP_READABLE;
        if (e->events & EPOLLOUT) ev |= COOP_WRITABLE;
        if (e->events & (EPOLLERR | EPOLLHUP)) ev |= COOP_READABLE | COOP_WRITABLE;
        coop__io_ready(l, f, ev);
    }
}

const coop__backend coop__backend_epoll = {"epoll", ep_init, ep_destroy, ep_watch,
                                           ep_unwatch, ep_forget, ep_poll};

/*
 * poll.c — the portable backend, on poll(2). It watches only fds that have
 * waiters (level-triggered, so an fd nobody waits for must not be in the
 * set or poll would return at once forever). The pollfd array is rebuilt
 * from the watch array on each poll: O(n) per poll, which poll(2) is
 * anyway. Slot 0 is always the loop's wake-up fd.
 */
#include <errno.h>
#include <poll.h>
#include "io/backend.h"
#include "sched/loop.h"
#include "util/alloc.h"
#include "util/misuse.h"

typedef struct poll_state {
    coop__fd **watch;      /* fds with waiters; f->poll_index is the index */
    size_t nwatch, cap;    /* used, allocated (watch and pfds + 1) */
    struct pollfd *pfds;   /* rebuilt per poll: [0] wake fd, then watch[] */
} poll_state;

static int pl_init(coop__loop *l) {
    poll_state *s = coop__calloc(1, sizeof *s);
    if (!s) return -ENOMEM;
    l->backend_data = s;
    return 0;
}

static void pl_destroy(coop__loop *l) {
    poll_state *s = l->backend_data;
    coop__free(s->watch);
    coop__free(s->pfds);
    coop__free(s);
    l->backend_data = NULL;
}

static int pl_watch(coop__loop *l, coop__fd *f, unsigned events) {
    (void)events; /* the set is rebuilt from the waiters' events on each poll */
    poll_state *s = l->backend_data;
    if (f->poll_index >= 0) return 0;
    if (s->nwatch == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        coop__fd **w = coop__realloc(s->watch, cap * sizeof *w);
        if (!w) return -ENOMEM;
        s->watch = w;
        struct pollfd *p = coop__realloc(s->pfds, (cap + 1) * sizeof *p);
        if (!p) return -ENOMEM;
        s->pfds = p;
        s->cap = cap;
    }
    f->poll_index = (int)s->nwatch;
    s->watch[s->nwatch++] = f;
    return 0;
}

static void pl_unwatch(coop__loop *l, coop__fd *f) {
    poll_state *s = l->backend_data;
    if (f->poll_index < 0) return;
    coop__fd *last = s->watch[--s->nwatch];
    s->watch[f->poll_index] = last;
    last->poll_index = f->poll_index;
    f->poll_index = -1;
}

static void pl_forget(coop__loop *l, coop__fd *f) { pl_unwatch(l, f); }

/* Union of the events f's waiters want. */
static short interest(const coop__fd *f) {
    unsigned ev = coop__io_interest(f);
    short e = 0;
    if (ev & COOP_READABLE) e |= POLLIN;
    if (ev & COOP_WRITABLE) e |= POLLOUT;
    return e;
}

static void pl_poll(coop__loop *l, int64_t timeout_ns) {
    poll_state *s = l->backend_data;
    struct pollfd wake_only;
    struct pollfd *p = s->pfds ? s->pfds : &wake_only;
    size_t n = s->nwatch;
    p[0] = (struct pollfd){.fd = l->wake_fd, .events = POLLIN};
    for (size_t i = 0; i < n; i++) p[i + 1] = (struct pollfd){.fd = s->watch[i]->fd, .events = interest(s->watch[i])};
    int r = poll(p, (nfds_t)(n + 1), coop__timeout_ms(timeout_ns));
    if (r < 0) {
        if (errno == EINTR) return;
        coop__fatal("poll: %d", errno);
    }
    if (r == 0) return;
    if (p[0].revents) coop__loop_wake_drain(l);
    /* Waking waiters changes the watch array (swap-remove): collect first. */
    for (size_t i = 0; i < n; i++) {
        short re = p[i + 1].revents;
        if (!re) continue;
        coop__fd *f = coop__io_lookup(l, p[i + 1].fd, UINT32_MAX);
        if (!f) continue;
        if (re & POLLNVAL) {
            coop__io_ready(l, f, -EBADF);
            continue;
        }
        int ev = 0;
        if (re & (POLLIN | POLLPRI)) ev |= COOP_READABLE;
        if (re & POLLOUT) ev |= COOP_WRITABLE;
        if (re & (POLLERR | POLLHUP)) ev |= COOP_READABLE | COOP_WRITABLE;
        coop__io_ready(l, f, ev);
    }
}

const coop__backend coop__backend_poll = {"poll", pl_init, pl_destroy, pl_watch,
                                          pl_unwatch, pl_forget, pl_poll};

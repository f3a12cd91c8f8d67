/*
 * backend.h — the I/O backend ops table and the per-fd state (internal).
 *
 * A backend tells the loop which fds became readable or writable; it knows
 * nothing of tasks. Each backend is a file of static functions behind this
 * table: epoll.c (Linux; edge-triggered, each fd registered once) and
 * poll.c (portable; level-triggered, the set rebuilt from the fds that have
 * waiters). Both pass the whole suite (make test-poll).
 */
#ifndef COOP_IO_BACKEND_H
#define COOP_IO_BACKEND_H

#include <stdint.h>
#include "sched/park.h"
#include "util/list.h"

/* Per-fd state, allocated on the first wait and freed by coop_close or
 * coop_forget (or at loop end). */
typedef struct coop__fd {
    int fd;              /* the descriptor */
    uint32_t gen;        /* loop-unique generation: filters stale events */
    unsigned ready;      /* cached readiness (COOP_READABLE|COOP_WRITABLE) */
    unsigned registered; /* epoll: events in the interest list (0: not added) */
    int poll_index;      /* poll: index in the watch array, -1 if absent */
    coop__list waiters;  /* fd_waiter records of parked tasks */
} coop__fd;

typedef struct coop__backend {
    const char *name;
    int (*init)(coop__loop *l);      /* create state, watch the wake-up fd */
    void (*destroy)(coop__loop *l);
    /* A task is about to wait for events on f: make sure they are watched.
     * Returns 0, -EPERM (fd type cannot be polled: always ready), or
     * -errno. Called on every wait: must be cheap when nothing changes. */
    int (*watch)(coop__loop *l, coop__fd *f, unsigned events);
    /* The last waiter left f. */
    void (*unwatch)(coop__loop *l, coop__fd *f);
    /* f is being closed or forgotten: drop it entirely. */
    void (*forget)(coop__loop *l, coop__fd *f);
    /* Wait up to timeout_ns (-1: no limit, 0: don't block) and report
     * events through coop__io_ready / coop__loop_wake_drain. */
    void (*poll)(coop__loop *l, int64_t timeout_ns);
} coop__backend;

extern const coop__backend coop__backend_epoll;
extern const coop__backend coop__backend_poll;

/* Backend -> loop: events (COOP_READABLE|COOP_WRITABLE) on f; a negative
 * value wakes every waiter with that error (POLLNVAL -> -EBADF). */
void coop__io_ready(coop__loop *l, coop__fd *f, int events);
/* The fd for generation-checked lookups from an epoll token. */
coop__fd *coop__io_lookup(coop__loop *l, int fd, uint32_t gen);
/* The wake-up fd fired. */
void coop__loop_wake_drain(coop__loop *l);
/* Union of the events f's waiters want (poll backend). */
unsigned coop__io_interest(const coop__fd *f);
/* Park the running task until fd has one of events. With edge = 1 the
 * cached readiness for events is discarded first: the caller just got
 * EAGAIN, so only a new edge may wake it (io/rw.c). Returns the ready
 * events or -errno. [checkpoint] */
int coop__fd_wait(int fd, unsigned events, int edge);
/* The caller read less than it asked for (or wrote less than it offered):
 * the kernel buffer is drained (full), so the cached readiness for events
 * is stale. Clearing it lets the next call skip a read that would only
 * return EAGAIN. */
void coop__fd_drained(int fd, unsigned events);
/* Teardown: free all per-fd state. */
void coop__io_free_fds(coop__loop *l);

/* Milliseconds for poll/epoll_wait, rounded up so timers never fire early. */
static inline int coop__timeout_ms(int64_t ns) {
    if (ns < 0) return -1;
    int64_t ms = (ns + 999999) / 1000000;
    return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

#endif

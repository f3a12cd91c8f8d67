/*
 * loop.c — coop_run and the loop iteration, step by step as written in
 * docs/design.md:
 *   1. run the batch: every task that was ready when the iteration began,
 *      FIFO (park.c switches between them directly);
 *   2. poll the I/O backend — without blocking if anything is ready, else
 *      until the next timer; skipped entirely when no fd is waited on and
 *      tasks are ready;
 *   3. fire expired timers and deadlines (and call_soon callbacks);
 *   4. run work posted from other threads.
 * The loop ends when no task is left and nothing can start one (no timer,
 * no posted callback, no hold). If tasks are left but nothing can ever wake
 * them, that is a deadlock: the loop names every parked task and aborts,
 * rather than hang.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "io/backend.h"
#include "sched/loop.h"
#include "util/alloc.h"
#include "util/misuse.h"

#define POSTS_CLOSED ((coop__post *)(uintptr_t)1)

void coop_options_init(coop_options *o) {
    memset(o, 0, sizeof *o);
    o->stack_size = COOP_STACK_DEFAULT;
    o->backend = COOP_BACKEND_AUTO;
}

/* ---- thread-safe posting ---------------------------------------------------- */

int coop__loop_post(coop__loop *l, coop__post *p) {
    /* Once p is published the loop may run it and finish; counting
     * ourselves in keeps the loop's memory alive until we are done with
     * the wake-up below. */
    atomic_fetch_add(&l->posters, 1);
    coop__post *head = atomic_load(&l->posts);
    do {
        if (head == POSTS_CLOSED) {
            atomic_fetch_sub(&l->posters, 1);
            return -ESHUTDOWN;
        }
        p->next = head;
    } while (!atomic_compare_exchange_weak(&l->posts, &head, p));
    /* Only the first poster since the loop last drained the wake-up fd
     * writes to it: the loop clears wake_sent before it takes the list. */
    if (!atomic_exchange(&l->wake_sent, 1)) {
        uint64_t one = 1;
        ssize_t n;
        do n = write(l->wake_wfd, &one, sizeof one);
        while (n < 0 && errno == EINTR);
    }
    atomic_fetch_sub(&l->posters, 1);
    return 0;
}

void coop__loop_wake_drain(coop__loop *l) {
    uint64_t v;
    while (read(l->wake_fd, &v, sizeof v) > 0) {
    }
    atomic_store(&l->wake_sent, 0);
}

static int posts_pending(coop__loop *l) {
    coop__post *h = atomic_load_explicit(&l->posts, memory_order_relaxed);
    return h != NULL && h != POSTS_CLOSED;
}

static void run_posts(coop__loop *l) {
    if (!posts_pending(l)) return;
    coop__post *p = atomic_exchange(&l->posts, NULL);
    coop__post *fifo = NULL; /* the list is LIFO: reverse it */
    while (p) {
        coop__post *next = p->next;
        p->next = fifo;
        fifo = p;
        p = next;
    }
    while (fifo) {
        coop__post *next = fifo->next;
        fifo->fn(fifo);
        fifo = next;
    }
}

typedef struct user_post {
    coop__post p; /* queued node */
    coop_cb cb;   /* user callback */
    void *arg;    /* its argument */
} user_post;

static void user_post_run(coop__post *p) {
    user_post *u = COOP_CONTAINER_OF(p, user_post, p);
    coop_cb cb = u->cb;
    void *arg = u->arg;
    coop__free(u);
    cb(arg);
}

int coop_call_soon_threadsafe(coop_loop *l, coop_cb cb, void *arg) {
    if (!l || !cb) return -EINVAL;
    user_post *u = coop__malloc(sizeof *u);
    if (!u) return -ENOMEM;
    u->p.fn = user_post_run;
    u->cb = cb;
    u->arg = arg;
    int r = coop__loop_post(l, &u->p);
    if (r < 0) coop__free(u);
    return r;
}

coop_loop *coop_loop_current(void) { return coop__tls_loop; }

void coop__loop_hold(coop__loop *l) { l->holds++; }

void coop__loop_release(coop__loop *l) {
    if (l->holds == 0) coop__misuse("coop__loop_release without a matching hold");
    l->holds--;
}

/* ---- deadlock report ------------------------------------------------------------- */

static void report_task(coop__task *t, const char *what, void *arg) {
    (void)arg;
    fprintf(stderr, "coop:   task '%s' parked in %s\n", t->name, what ? what : "(unknown)");
}

__attribute__((noreturn, cold)) static void deadlock(coop__loop *l) {
    fprintf(stderr,
            "coop: deadlock: all %zu task(s) are parked and nothing can wake them "
            "(no timer, no fd wait, no pending work from other threads):\n",
            l->ntasks);
    coop__loop_each_task(l, report_task, NULL);
    coop__fatal("deadlock");
}

/* ---- the iteration (steps 2-4; step 1 is coop__sched_run_batch) ------------------- */

static void poll_io(coop__loop *l, int64_t timeout) {
    l->polls++;
    if (timeout == 0) {
        l->backend->poll(l, 0);
        return;
    }
    int64_t t0 = coop__monotonic_ns(); /* blocking: account the idle time (loop utilisation) */
    l->backend->poll(l, timeout);
    int64_t idle = coop__monotonic_ns() - t0;
    l->idle_ns += idle;
    l->iter_start += idle; /* an iteration's length excludes its wait */
}

static void iterate(coop__loop *l) {
    l->iterations++;
    coop__clock_invalidate(l);
    /* Statistics: the span since the previous full iteration began is how
     * long that one took (steps 2-4 and the batch, waiting excluded). One
     * vDSO clock read; iterations of a pure yield loop never come here. */
    int64_t start = coop__monotonic_ns();
    if (l->iter_start && start - l->iter_start > l->iter_max_ns) l->iter_max_ns = start - l->iter_start;
    l->iter_start = start;

    /* Step 2: poll. timeout: 0 = don't block, -1 = no deadline. */
    int64_t timeout = 0, next = COOP_NEVER;
    if (!l->ready_head && !posts_pending(l)) {
        next = coop__timer_next(l);
        if (next == COOP_NEVER) {
            timeout = -1;
        } else {
            int64_t now = coop__loop_now(l);
            timeout = next <= now ? 0 : next - now;
        }
    }
    if (timeout != 0 && l->timers.virtual_clock && l->holds == 0) {
        /* Virtual time: look at I/O without blocking; if nothing is ready,
         * every task is blocked, so time jumps to the next deadline. */
        if (l->fd_waiters > 0) poll_io(l, 0);
        if (!l->ready_head && !posts_pending(l)) {
            if (next == COOP_NEVER) {
                if (l->fd_waiters == 0 && l->ntasks > 0) deadlock(l);
                if (l->fd_waiters > 0) poll_io(l, -1);
            } else {
                coop__clock_jump(l, next);
            }
        }
    } else if (timeout != 0) {
        if (timeout < 0 && l->fd_waiters == 0 && l->holds == 0 && l->ntasks > 0) deadlock(l);
        poll_io(l, timeout);
        coop__clock_invalidate(l); /* we slept: read the clock again */
    } else if (l->fd_waiters > 0) {
        poll_io(l, 0);
    }

    /* Step 3: timers, deadlines, call_soon. */
    coop__timers_run(l);

    /* Step 4: work posted from other threads. */
    run_posts(l);

    l->batch_last = l->ready_tail;
}

static int loop_alive(coop__loop *l) {
    if (l->ntasks > 0 || l->timers.heap.count > 0 || l->holds > 0 || l->ready_head) return 1;
    /* Close the post list; if a post slipped in, run it first. */
    coop__post *expected = NULL;
    return !atomic_compare_exchange_strong(&l->posts, &expected, POSTS_CLOSED);
}

/* ---- setup and teardown ------------------------------------------------------------ */

static const coop__backend *choose_backend(int which) {
    const char *env = getenv("COOP_BACKEND");
    if (which == COOP_BACKEND_AUTO && env) {
        if (strcmp(env, "poll") == 0) which = COOP_BACKEND_POLL;
        else if (strcmp(env, "epoll") == 0) which = COOP_BACKEND_EPOLL;
    }
#ifdef __linux__
    if (which != COOP_BACKEND_POLL) return &coop__backend_epoll;
#endif
    return &coop__backend_poll;
}

static void loop_free(coop__loop *l) {
    if (l->backend_data) l->backend->destroy(l);
    coop__io_free_fds(l);
    if (l->wake_fd >= 0) close(l->wake_fd);
    if (l->wake_wfd >= 0 && l->wake_wfd != l->wake_fd) close(l->wake_wfd);
    if (l->stacks) coop__stack_pool_free(l->stacks);
    coop__free(l->slots);
    coop__free(l);
}

static int loop_new(const coop_options *o, coop__loop **out) {
    coop__loop *l = coop__calloc(1, sizeof *l);
    if (!l) return -ENOMEM;
    l->wake_fd = l->wake_wfd = -1;
    coop__list_init(&l->tasks);
    coop__timers_init(&l->timers, o->virtual_clock);
    l->stack_size = o->stack_size ? o->stack_size : COOP_STACK_DEFAULT;
    if (l->stack_size < COOP_STACK_MIN) l->stack_size = COOP_STACK_MIN;
    atomic_init(&l->posts, NULL);
    atomic_init(&l->wake_sent, 0);
    atomic_init(&l->posters, 0);
    int r = coop__stack_pool_new(&l->stacks);
    if (r < 0) goto fail;
    l->wake_fd = l->wake_wfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->wake_fd < 0) {
        r = -errno;
        goto fail;
    }
    l->backend = choose_backend(o->backend);
    r = l->backend->init(l);
    if (r < 0) goto fail;
    *out = l;
    return 0;
fail:
    loop_free(l);
    return r;
}

int coop_run_opts(const coop_options *opts, coop_fn fn, void *arg) {
    coop_options defaults;
    if (!opts) {
        coop_options_init(&defaults);
        opts = &defaults;
    }
    if (!fn) return -EINVAL;
    if (coop__tls_loop) return -EBUSY;
    coop__loop *l = NULL;
    int r = loop_new(opts, &l);
    if (r < 0) return r;
    coop__fiber_make_thread(&l->thread_fiber);
    l->started_ns = coop__monotonic_ns();
    coop__tls_loop = l;
    coop__watchdog_loop_begin(l);
    coop_task_id main_id;
    coop_spawn_opts so = {"main", 0};
    r = coop__task_spawn(l, &so, fn, arg, NULL, NULL, 1, &main_id);
    if (r == 0) {
        for (;;) {
            coop__sched_run_batch(l);
            if (!loop_alive(l)) break;
            iterate(l);
        }
        coop__slot *s = coop__slot_lookup(l, main_id);
        r = s->result;
        coop__slot_free(l, (uint32_t)((main_id & 0xffffffffu) - 1));
    }
    coop__watchdog_loop_end(l);
    coop__tls_loop = NULL;
    while (atomic_load(&l->posters) > 0) sched_yield(); /* a poster is finishing its wake-up */
    loop_free(l);
    return r;
}

int coop_run(coop_fn fn, void *arg) { return coop_run_opts(NULL, fn, arg); }

/*
 * loop.h — the private layout of a loop and of a task, shared by the core
 * layers (sched, time, io, scope). Nothing outside src/{sched,time,io,scope}
 * includes this: other subsystems use src/sched/park.h.
 *
 * Ownership: the loop owns its tasks, its stack pool, its backend and the
 * task-id slots. A task record lives at the top of the task's own stack, so
 * a parked task costs the pages its stack touched and nothing else; its
 * result outlives the stack in its slot until joined.
 */
#ifndef COOP_SCHED_LOOP_H
#define COOP_SCHED_LOOP_H

#include <stdatomic.h>
#include <stdint.h>
#include "core/fiber.h"
#include "core/stack.h"
#include "sched/park.h"
#include "time/timer.h"
#include "scope/scope.h"
#include "util/list.h"

struct coop__backend;

/* A task's slot in the loop's id table: it holds what must outlive the
 * task's stack (the result, the joiner) and the generation that makes ids
 * safe to use after the task is gone. */
typedef struct coop__slot {
    coop__task *task;      /* the live task, NULL once it finished */
    uint32_t gen;          /* bumped each time the slot is reused */
    uint32_t next_free;    /* free-list link (index + 1; 0 = end) */
    int result;            /* the task's result once finished */
    uint8_t in_use;        /* slot allocated (task alive or result unjoined) */
    uint8_t joinable;      /* a handle is out (not detached, not joined) */
    uint8_t done;          /* the task finished */
    coop__waiter *joiner;  /* the task waiting in coop_join, or NULL */
} coop__slot;

struct coop__task {
    coop__fiber fiber;       /* own execution context and stack */
    coop__fiber *resume;     /* fiber to switch to when this task runs: its own,
                                or a generator/greenlet running on its behalf */
    void *coro;              /* src/gen: the generator/greenlet owning *resume,
                                NULL while the task runs its own code */
    coop__loop *loop;        /* owning loop */
    coop__task *next_ready;  /* ready-queue link */
    coop__waiter *parked;    /* waiter while PARKED, else NULL */
    coop__scope *scope;      /* innermost cancel scope (root_scope at least) */
    coop__scope root_scope;  /* cancelled by coop_cancel */
    struct coop__nursery *nursery; /* nursery the task belongs to, or NULL */
    coop__list all;          /* link in loop->tasks */
    coop__stack stack;       /* the stack this record lives on */
    coop_fn fn;              /* body */
    void *arg;               /* body argument */
    uint32_t slot;           /* index in loop->slots */
    int state;               /* enum coop_task_state */
    int budget;              /* checkpoints left before a forced yield */
    int atomic_depth;        /* nesting of coop_atomic_begin */
    const char *atomic_what; /* outermost atomic section's label */
    char name[32];           /* NUL-terminated, truncated copy */
};

struct coop_loop {
    /* ---- scheduling ---- */
    coop__task *current;        /* running task; NULL in callbacks/thread fiber */
    coop__task *ready_head;     /* FIFO of READY tasks */
    coop__task *ready_tail;
    size_t nready;              /* length of the ready FIFO */
    size_t batch_left;          /* tasks of this iteration's batch still to run */
    coop__task *dying;          /* finished task whose stack is released after
                                   the switch away from it */
    coop__fiber thread_fiber;   /* the stack coop_run was called on */
    coop__list tasks;           /* all unfinished tasks (dumps, deadlock report) */
    size_t ntasks;              /* unfinished tasks */
    size_t cancelled_scopes;    /* entered scopes with a cause set: while 0,
                                   no checkpoint needs to walk scopes */
    coop__stack_pool *stacks;   /* stack pool */
    size_t stack_size;          /* default stack size */

    /* ---- task ids ---- */
    coop__slot *slots;          /* id table, grown by doubling */
    uint32_t nslots;            /* capacity */
    uint32_t free_slot;         /* free-list head (index + 1; 0 = none) */

    /* ---- time ---- */
    coop__timers timers;        /* timer heap and clock */

    /* ---- I/O ---- */
    const struct coop__backend *backend; /* ops table */
    void *backend_data;         /* backend state */
    struct coop__fd **fds;      /* per-fd state by fd number (NULL = none) */
    int nfds;                   /* capacity of fds */
    size_t fd_waiters;          /* tasks parked on fds */
    uint32_t fd_gen;            /* generation for stale-event filtering */

    /* ---- thread-safe posting ---- */
    _Atomic(coop__post *) posts; /* LIFO pushed by any thread; CLOSED when shut */
    atomic_int wake_sent;       /* an eventfd wake-up is in flight */
    atomic_int posters;         /* threads inside coop__loop_post: teardown
                                   waits for them before freeing the loop */
    int wake_fd;                /* eventfd (or pipe read end) */
    int wake_wfd;               /* write end (== wake_fd for eventfd) */
    size_t holds;               /* coop__loop_hold count */

    /* ---- statistics, read by the watchdog thread ---- */
    _Atomic uint64_t switches;  /* task switch-ins (single writer: plain store) */
    _Atomic(coop__task *) running; /* task now running, for the watchdog */
    uint64_t iterations;        /* loop iterations */
    uint64_t polls;             /* backend poll calls (syscalls) */
};

/* The loop of the calling thread (thread-local). */
/* initial-exec: one %fs-relative load, not a __tls_get_addr call, in the
 * shared library too (coop is linked at start-up, not dlopen'ed late). */
extern _Thread_local coop__loop *coop__tls_loop __attribute__((tls_model("initial-exec")));

/* Scheduler internals (park.c) used by loop.c, task.c and time/io/scope. */
void coop__ready_push(coop__loop *l, coop__task *t);
void coop__sched_cancel_parked(coop__task *t, int cause);
void coop__sched_after_switch(coop__loop *l);
/* Thread fiber: run the current batch. */
void coop__sched_run_batch(coop__loop *l);
/* A finished task leaves for good (its stack is released after the switch). */
__attribute__((noreturn)) void coop__sched_exit(coop__loop *l, coop__task *self);

/* The cancellation cause for t's checkpoints: a scope walk only when some
 * scope of the loop is cancelled at all. */
static inline int coop__task_cause(const coop__loop *l, const coop__task *t) {
    return l->cancelled_scopes ? coop__scope_effective(t->scope) : 0;
}

/* Task creation (task.c), used by coop_run and nurseries. */
int coop__task_spawn(coop__loop *l, const coop_spawn_opts *opts, coop_fn fn, void *arg,
                     struct coop__nursery *nursery, coop__scope *parent_scope, int joinable,
                     coop_task_id *id);
coop__slot *coop__slot_lookup(coop__loop *l, coop_task_id id);
void coop__slot_free(coop__loop *l, uint32_t idx);

/* Task-exit notification to the nursery (scope/nursery.c). */
void coop__nursery_child_done(struct coop__nursery *n, coop__task *t, int result);

#endif

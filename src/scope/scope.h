/*
 * scope.h — cancel scopes and nurseries (internal layout).
 *
 * Scopes form a tree. Within a task they nest strictly (the innermost is
 * task->scope); a nursery's scope is also the parent of its children's
 * root scopes, which is how cancellation crosses from a task to the tasks
 * it started. A scope is "effectively cancelled" for a checkpoint when it
 * or an ancestor is cancelled, stopping the walk at the first shielded
 * scope (whose own cancellation still counts).
 */
#ifndef COOP_SCOPE_SCOPE_H
#define COOP_SCOPE_SCOPE_H

#include <stdint.h>
#include "time/timer.h"
#include "util/list.h"

typedef struct coop__scope {
    coop__task *task;            /* task that entered the scope */
    struct coop__scope *parent;  /* enclosing scope (maybe another task's) */
    coop__list children;         /* scopes whose parent is this one */
    coop__list sibling;          /* link in parent->children */
    coop__timer deadline_timer;  /* fires the deadline */
    int64_t deadline;            /* absolute, COOP_NEVER = none */
    int cause;                   /* 0, -ECANCELED or -ETIMEDOUT once cancelled */
    uint8_t shield;              /* outer cancellation does not reach inside */
    uint8_t entered;             /* between enter and exit */
} coop__scope;

typedef struct coop__nursery {
    coop__scope scope;           /* the nursery is a cancel scope */
    size_t live;                 /* children not finished yet */
    int first_error;             /* first child failure, 0 if none */
    int closed;                  /* coop_nursery_close has returned */
    coop__waiter *closer;        /* the owner waiting in close, or NULL */
} coop__nursery;

/* Enter/exit a scope for task t (used for task root scopes too). */
void coop__scope_enter(coop__task *t, coop__scope *s, coop__scope *parent, int64_t deadline);
void coop__scope_exit(coop__task *t, coop__scope *s);
/* Cancel s with cause and wake the parked tasks it reaches. */
void coop__scope_cancel(coop__scope *s, int cause);
/* The cause that applies to checkpoints of a task whose innermost scope is s. */
int coop__scope_effective(const coop__scope *s);

#endif

/*
 * actor.c — actors: a task that owns state and a bounded mailbox and
 * handles one message at a time; send with back-pressure, ask with a
 * deadline, failure reported to a supervisor callback.
 *
 * The mailbox is a ring of entries. Senders that find it full wait in a
 * FIFO of records on their own stacks; when the actor takes an entry it
 * moves the first waiting sender's message into the freed slot before
 * waking it, so a woken send has completed ("once unparked, the result
 * stands"). An ask is an entry carrying a record on the asker's stack; an
 * ask that times out or is cancelled while its entry is queued turns the
 * entry into a tombstone (the message is never handled), and one that
 * leaves while its message is being handled is detached, so the actor
 * never writes into a stack frame that is gone. Why not a coop_chan: a
 * channel cannot take back a queued element, and that is what makes a
 * timed-out ask leave no trace with its record on the asker's stack (no
 * allocation per ask). Not done: priorities, selective receive.
 */
#include "coop.h"
#include "sched/park.h"
#include "util/alloc.h"
#include "util/list.h"
#include "util/misuse.h"
#include <errno.h>
#include <string.h>

#define DEFAULT_CAPACITY 64

enum ask_state {
    ASK_WAITING_SLOT = 0, /* its sender record waits for room in the mailbox */
    ASK_QUEUED = 1,       /* its entry is in the ring */
    ASK_HANDLING = 2,     /* the handler is running on its message */
    ASK_DONE = 3,         /* result and reply delivered */
    ASK_ABANDONED = 4,    /* the asker left (timeout/cancel); nothing is written */
};

typedef struct ask_rec ask_rec;

typedef struct entry {
    void *msg;    /* the message */
    ask_rec *ask; /* the asker's record, or NULL for a send */
    int tomb;     /* 1: an abandoned ask; skipped unread */
} entry;

struct ask_rec {
    coop__waiter w;    /* the asker parks here for the reply */
    coop_actor *actor; /* the actor asked */
    entry *slot;       /* its ring entry while ASK_QUEUED */
    int state;         /* enum ask_state */
    int parked;        /* the asker is parked on w */
    int result;        /* the handler's result once ASK_DONE */
    void *reply;       /* the handler's reply once ASK_DONE */
};

typedef struct sender {
    coop__waiter w;  /* parked here while the mailbox is full */
    coop__list link; /* in actor->senders */
    void *msg;       /* what to queue */
    ask_rec *ask;    /* or NULL */
} sender;

struct coop_actor {
    coop_actor_opts opts;    /* copied at creation (name points to name[]) */
    char name[32];           /* the actor's name */
    entry *ring;             /* capacity entries */
    size_t cap, head, count; /* ring geometry: count entries from head */
    coop__list senders;      /* blocked senders, FIFO */
    coop__waiter *recv_w;    /* the actor parked for mail, or NULL */
    ask_rec *current;        /* the ask whose message is being handled, or NULL */
    coop_task_id task;       /* the actor's task (joined by coop_actor_free) */
    int closed;              /* no more sends */
    int failed;              /* the error that killed it, or 0 */
};

void coop_actor_opts_init(coop_actor_opts *o) {
    memset(o, 0, sizeof *o);
    o->capacity = DEFAULT_CAPACITY;
}

/* ---- the ring ---------------------------------------------------------- */

static entry *ring_push(coop_actor *a, void *msg, ask_rec *ask) {
    entry *e = &a->ring[(a->head + a->count) % a->cap];
    a->count++;
    e->msg = msg;
    e->ask = ask;
    e->tomb = 0;
    if (ask) {
        ask->state = ASK_QUEUED;
        ask->slot = e;
    }
    return e;
}

static entry ring_pop(coop_actor *a) {
    entry e = a->ring[a->head];
    a->head = (a->head + 1) % a->cap;
    a->count--;
    return e;
}

static void wake_receiver(coop_actor *a, int result) {
    coop__waiter *w = a->recv_w;
    if (w) {
        a->recv_w = NULL;
        coop__unpark(w, result);
    }
}

/* Move the first blocked sender into the ring (there is room). */
static void admit_sender(coop_actor *a) {
    if (coop__list_empty(&a->senders) || a->count == a->cap) return;
    sender *s = COOP_CONTAINER_OF(a->senders.next, sender, link);
    coop__list_remove(&s->link);
    ring_push(a, s->msg, s->ask);
    coop__unpark(&s->w, 0);
}

static void wake_all_senders(coop_actor *a, int result) {
    while (!coop__list_empty(&a->senders)) {
        sender *s = COOP_CONTAINER_OF(a->senders.next, sender, link);
        coop__list_remove(&s->link);
        coop__unpark(&s->w, result);
    }
}

/* ---- asks -------------------------------------------------------------- */

static void ask_complete(ask_rec *k, int result, void *reply) {
    k->result = result;
    k->reply = reply;
    k->state = ASK_DONE;
    if (k->parked) {
        k->parked = 0;
        coop__unpark(&k->w, result);
    }
}

/* The asker leaves before its answer: make sure nothing refers to k. */
static void ask_abandon(ask_rec *k) {
    if (k->state == ASK_QUEUED) {
        k->slot->tomb = 1;
        k->slot->ask = NULL;
    } else if (k->state == ASK_HANDLING) {
        k->actor->current = NULL;
    }
    k->state = ASK_ABANDONED;
    k->parked = 0;
}

static void ask_on_cancel(coop__waiter *w) {
    ask_abandon(COOP_CONTAINER_OF(w, ask_rec, w));
}

static void sender_on_cancel(coop__waiter *w) {
    coop__list_remove(&COOP_CONTAINER_OF(w, sender, w)->link);
}

static void recv_on_cancel(coop__waiter *w) {
    (void)w; /* the actor's own task was cancelled; it is the only receiver */
}

/* Queue msg (with ask k or NULL), waiting for room. 0 or an error. */
static int put(coop_actor *a, void *msg, ask_rec *k) {
    int r = coop__checkpoint();
    if (r < 0) return r;
    if (a->closed) return -EPIPE;
    if (a->count < a->cap && coop__list_empty(&a->senders)) {
        ring_push(a, msg, k);
        wake_receiver(a, 0);
        return 0;
    }
    sender s = {.w = {.on_cancel = sender_on_cancel, .what = "coop_actor_send (mailbox full)"},
                .msg = msg,
                .ask = k};
    coop__list_push(&a->senders, &s.link);
    r = coop__park(&s.w);
    /* Park's early return (already cancelled) leaves s linked. */
    if (coop__list_linked(&s.link)) coop__list_remove(&s.link);
    return r;
}

int coop_actor_send(coop_actor *a, void *msg) {
    if (!a) return -EINVAL;
    if (!coop__task_current()) return -EPERM;
    return put(a, msg, NULL);
}

static int ask_wait(coop_actor *a, void *msg, void **reply) {
    ask_rec k = {.w = {.on_cancel = ask_on_cancel, .what = "coop_actor_ask"}, .actor = a};
    k.state = ASK_WAITING_SLOT;
    int r = put(a, msg, &k);
    if (r < 0) return r;
    if (k.state != ASK_DONE) {
        k.parked = 1;
        r = coop__park(&k.w);
        if (k.state != ASK_DONE) { /* cancelled: on_cancel, or park's early return */
            if (k.state != ASK_ABANDONED) ask_abandon(&k);
            return r;
        }
    }
    if (k.result >= 0 && reply) *reply = k.reply;
    return k.result;
}

int coop_actor_ask(coop_actor *a, void *msg, int64_t deadline, void **reply) {
    if (!a) return -EINVAL;
    if (!coop__task_current()) return -EPERM;
    if (deadline == COOP_NEVER) return ask_wait(a, msg, reply);
    coop_scope s;
    coop_scope_enter(&s, deadline);
    int r = ask_wait(a, msg, reply);
    coop_scope_exit(&s); /* its deadline surfaced as r = -ETIMEDOUT already */
    return r;
}

/* ---- the actor's task -------------------------------------------------- */

/* Take the next live entry, waiting for mail. -EPIPE when closed and
 * drained; -ECANCELED/-ETIMEDOUT if the actor's task is cancelled. */
static int take(coop_actor *a, entry *out) {
    for (;;) {
        while (a->count > 0) {
            entry e = ring_pop(a);
            admit_sender(a);
            if (e.tomb) continue;
            *out = e;
            return 0;
        }
        if (a->closed) return -EPIPE;
        coop__waiter w = {.on_cancel = recv_on_cancel, .what = "coop_actor (waiting for mail)"};
        a->recv_w = &w;
        int r = coop__park(&w);
        if (a->recv_w == &w) a->recv_w = NULL;
        if (r < 0 && r != -EPIPE) return r;
    }
}

static void fail(coop_actor *a, int err) {
    a->failed = err;
    a->closed = 1;
    wake_all_senders(a, -EPIPE);
    while (a->count > 0) {
        entry e = ring_pop(a);
        if (e.tomb) continue;
        if (e.ask)
            ask_complete(e.ask, err, NULL);
        else if (a->opts.discard)
            a->opts.discard(a->opts.state, e.msg);
    }
    if (a->opts.on_failure) a->opts.on_failure(a->opts.supervisor, a->name, err);
}

static int actor_main(void *p) {
    coop_actor *a = p;
    for (;;) {
        entry e;
        int r = take(a, &e);
        if (r == -EPIPE) return 0;
        if (r < 0) {
            fail(a, r);
            return r;
        }
        if (e.ask) {
            e.ask->state = ASK_HANDLING;
            a->current = e.ask;
        }
        void *reply = NULL;
        int hr = a->opts.handler(a->opts.state, e.msg, &reply);
        if (a->current) {
            ask_rec *k = a->current;
            a->current = NULL;
            ask_complete(k, hr, reply);
        }
        if (hr < 0) {
            fail(a, hr);
            return hr;
        }
    }
}

/* ---- lifetime ---------------------------------------------------------- */

int coop_actor_new(coop_actor **out, const coop_actor_opts *opts) {
    if (!out || !opts || !opts->handler) return -EINVAL;
    if (!coop__loop_get()) return -EPERM;
    coop_actor *a = coop__calloc(1, sizeof *a);
    if (!a) return -ENOMEM;
    a->opts = *opts;
    a->cap = opts->capacity ? opts->capacity : DEFAULT_CAPACITY;
    const char *name = opts->name ? opts->name : "actor";
    size_t n = strnlen(name, sizeof a->name - 1);
    memcpy(a->name, name, n);
    a->name[n] = '\0';
    a->opts.name = a->name;
    coop__list_init(&a->senders);
    a->ring = coop__calloc(a->cap, sizeof *a->ring);
    if (!a->ring) {
        coop__free(a);
        return -ENOMEM;
    }
    int r = coop_spawn(&a->task, a->name, actor_main, a);
    if (r < 0) {
        coop__free(a->ring);
        coop__free(a);
        return r;
    }
    *out = a;
    return 0;
}

void coop_actor_close(coop_actor *a) {
    if (!a || a->closed) return;
    a->closed = 1;
    wake_all_senders(a, -EPIPE);
    if (a->count == 0) wake_receiver(a, -EPIPE);
}

int coop_actor_free(coop_actor *a) {
    if (!a) return 0;
    if (!coop__task_current()) coop__misuse("coop_actor_free('%s') outside a task", a->name);
    coop_actor_close(a);
    /* The actor always ends first: a shielded wait cannot be cut short. */
    coop_scope s;
    coop_scope_enter(&s, COOP_NEVER);
    coop_scope_shield(&s, 1);
    int result = 0;
    int r = coop_join(a->task, &result);
    coop_scope_exit(&s);
    if (r < 0)
        coop__misuse("coop_actor_free('%s'): joining the actor failed: %s", a->name,
                     coop_strerror(r));
    coop__free(a->ring);
    coop__free(a);
    return result;
}

const char *coop_actor_name(const coop_actor *a) {
    return a ? a->name : NULL;
}

/*
 * coop/gen.h — generators (Python's yield), greenlets (explicit switching)
 * and actors (a task with a mailbox). Included by <coop.h>.
 *
 * Generators and greenlets are coroutines with their own stack that the
 * loop never schedules by itself: they run only when their consumer
 * resumes (or switches to) them, and while they run they are part of the
 * consumer's task. So a generator or greenlet body may call any suspending
 * coop function (sleep, I/O, channels): the whole task is parked, the loop
 * runs other tasks, and when the wait completes the loop resumes the body
 * where it suspended (asynchronous generators for free). Their bodies run
 * on the thread that created them; they are not thread-safe.
 *
 * Values passed in and out are `void *` (no copy: ownership is whatever the
 * two sides agree on; pass small integers with (void *)(intptr_t)n).
 */
#ifndef COOP_GEN_H
#define COOP_GEN_H

#include "sched.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Generators
 *
 *   Python                         coop
 *   def gen(arg): ...              int body(coop_gen *g, void *arg, void **ret)
 *   g = gen(arg)                   coop_gen_new(&g, body, arg, 0)
 *   next(g)                        coop_gen_next(g, &v)
 *   g.send(x)                      coop_gen_send(g, x, &v)
 *   g.throw(E)                     coop_gen_throw(g, -EIO, &v)
 *   g.close()                      coop_gen_close(g)
 *   x = yield v                    coop_gen_yield(g, v, &x)
 *   r = yield from sub             coop_gen_yield_from(g, sub, &r)
 *   return r  (StopIteration(r))   *ret = r; return 0;   (next -> COOP_GEN_DONE, v = r)
 *   raise E                        return -EIO;          (next -> -EIO)
 * --------------------------------------------------------------------- */

typedef struct coop_gen coop_gen;

/* The body of a generator. It runs on the generator's own stack the first
 * time the generator is resumed. It finishes by returning: >= 0 means the
 * generator is exhausted normally and *ret (NULL unless set) is its return
 * value, handed to the consumer with COOP_GEN_DONE; < 0 means it failed
 * ("raised") with that error, which the resuming call returns. */
typedef int (*coop_gen_fn)(coop_gen *g, void *arg, void **ret);

/* Returned (> 0) by next/send/throw when the body finished normally: the
 * value out-parameter then holds the body's return value (NULL on every
 * later call, like a second StopIteration). */
#define COOP_GEN_DONE 1

/* What coop_gen_yield returns inside the body when the consumer closes the
 * generator (Python's GeneratorExit). It is -ECANCELED on purpose: the body
 * reacts as to cancellation — clean up and return (returning this code, or
 * any value >= 0, is a clean close). */
#define COOP_GEN_EXIT (-ECANCELED)

/* Create a generator that will run body(g, arg, &ret) on a stack of
 * stack_size bytes (0 = COOP_STACK_DEFAULT). Nothing runs until the first
 * next/send. Stacks come from a per-thread pool. Errors: -EINVAL (body or
 * out NULL), -ENOMEM. Does not suspend. Must be freed with coop_gen_free,
 * on the same thread. [any thread] */
COOP_API int coop_gen_new(coop_gen **out, coop_gen_fn body, void *arg, size_t stack_size);

/* Resume g until it yields (returns 0, *value = the yielded value) or
 * finishes (returns COOP_GEN_DONE, *value = its return value) or fails
 * (returns the body's negative result). next is send(g, NULL). send of a
 * non-NULL value to a generator that has not started is -EINVAL (Python's
 * TypeError). Errors: -EBUSY (g is running: resumed from inside its own
 * body or from a task while it is parked in another), -EINVAL (g or value
 * NULL), -EPERM (wrong thread). value may be NULL. [checkpoint] only if the
 * body suspends; [loop] */
COOP_API int coop_gen_next(coop_gen *g, void **value);
COOP_API int coop_gen_send(coop_gen *g, void *in, void **value);

/* Inject error err (< 0) at the yield where g is suspended: that
 * coop_gen_yield returns err inside the body, which may handle it and yield
 * again (throw returns 0 with the value), finish (COOP_GEN_DONE) or return
 * an error (propagated here). A generator that has not started finishes at
 * once without running, and throw returns err; so does throw on a finished
 * generator. Errors as for send, plus -EINVAL (err >= 0). [checkpoint] only
 * if the body suspends; [loop] */
COOP_API int coop_gen_throw(coop_gen *g, int err, void **value);

/* Close g: inject COOP_GEN_EXIT at its yield so that the body's cleanup
 * runs. Returns 0 if the body finished (returning COOP_GEN_EXIT or a value
 * >= 0) or had not started or already finished; the body's error if it
 * returned another error; -EPROTO if the body yielded again instead of
 * finishing (Python's RuntimeError "generator ignored GeneratorExit"): g is
 * then suspended at that new yield. -EBUSY if g is running. [checkpoint]
 * only if the cleanup suspends; [loop] */
COOP_API int coop_gen_close(coop_gen *g);

/* Free g. A generator suspended at a yield is closed first (like Python's
 * garbage collector), and its result is returned: if the body refuses to
 * finish (-EPROTO) its remaining frames are discarded without running and
 * g is freed anyway. Freeing a running generator aborts (misuse). NULL is
 * a no-op. [checkpoint] only if the cleanup suspends; [loop] */
COOP_API int coop_gen_free(coop_gen *g);

/* Inside g's body: hand value to the consumer and suspend g until it is
 * resumed again. Returns 0 when resumed by next/send (*sent = the value
 * sent, NULL for next; sent may be NULL), or the error injected by throw,
 * or COOP_GEN_EXIT when g is being closed. -EPERM if not called from g's
 * own body (outside any generator, or from another coroutine). Not a
 * checkpoint: the consumer runs next, no other task. */
COOP_API int coop_gen_yield(coop_gen *g, void *value, void **sent);

/* Inside g's body: delegate to generator sub until it finishes (Python's
 * `yield from`): every value sub yields goes to g's consumer, every send,
 * throw and close of g passes through to sub. Returns 0 with *result = sub's
 * return value when sub finishes, or sub's error, or COOP_GEN_EXIT when g
 * was closed (sub is closed first). -EPERM as coop_gen_yield; -EBUSY if sub
 * is running. sub stays owned by the caller (free it). */
COOP_API int coop_gen_yield_from(coop_gen *g, coop_gen *sub, void **result);

/* 1 if g has finished (returned, failed, closed or thrown into before
 * starting), else 0. [any thread] */
COOP_API int coop_gen_done(const coop_gen *g);

/* ------------------------------------------------------------------------
 * Greenlets
 *
 *   Python (greenlet)               coop
 *   g = greenlet(run, parent)       coop_greenlet_new(&g, run, parent, 0)
 *   g.switch(x)                     coop_greenlet_switch(g, x, &received)
 *   g.throw(E)                      coop_greenlet_throw(g, -EIO, &received)
 *   g.dead / bool(g)                coop_greenlet_dead(g) / coop_greenlet_started(g)
 *   getcurrent()                    coop_greenlet_current()
 *   g.parent                        coop_greenlet_parent(g)
 *
 * Greenlets form groups: the context that creates the first greenlet with
 * no parent (a task's own code, or a generator body) becomes the group's
 * root greenlet, which has no body of its own. Switches stay within a
 * group, and so within one task: switching to a greenlet of another
 * group is -EPERM (greenlet's "cannot switch to a different thread").
 * --------------------------------------------------------------------- */

typedef struct coop_greenlet coop_greenlet;

/* The body of a greenlet: first is the value of the first switch into it.
 * Its return (result >= 0 with *ret, or an error < 0) goes to its parent:
 * the parent's pending switch returns it (0 with *received = *ret, or the
 * error). */
typedef int (*coop_greenlet_fn)(void *first, void **ret);

/* What a greenlet's pending switch returns when it is freed while alive
 * (greenlet's GreenletExit): it must clean up and return. */
#define COOP_GREENLET_EXIT (-ECANCELED)

/* Create a greenlet that will run fn on a stack of stack_size bytes (0 =
 * COOP_STACK_DEFAULT) when first switched to. parent NULL = the current
 * greenlet (or the root of a new group). Errors: -EINVAL (out or fn NULL),
 * -EPERM (parent belongs to another group), -ENOMEM. [loop] */
COOP_API int coop_greenlet_new(coop_greenlet **out, coop_greenlet_fn fn, coop_greenlet *parent,
                               size_t stack_size);

/* Switch to target, passing value: target's pending switch returns it (or,
 * if target has not started, its body starts with first = value). The
 * calling greenlet suspends until something switches back to it, and this
 * call returns what arrives: 0 and *received = the value, or an error thrown
 * into it (coop_greenlet_throw) or returned by a child that died. A dead
 * target stands for its nearest live ancestor. Switching to yourself
 * returns value at once. Errors: -EPERM (target in another group, or no
 * greenlet is current and target's group root is elsewhere), -EINVAL
 * (target NULL). received may be NULL. Not a checkpoint in itself. [loop] */
COOP_API int coop_greenlet_switch(coop_greenlet *target, void *value, void **received);

/* Switch to target and make its pending switch return err (< 0). If target
 * has not started it dies at once without running and err goes to its
 * parent. Errors as for switch, and -EINVAL (err >= 0). [loop] */
COOP_API int coop_greenlet_throw(coop_greenlet *target, int err, void **received);

/* The greenlet running now: a greenlet, or the root of the current group
 * while the group exists; NULL in a context that has no greenlet group.
 * [loop] */
COOP_API coop_greenlet *coop_greenlet_current(void);

/* g's parent (NULL for a root). [loop] */
COOP_API coop_greenlet *coop_greenlet_parent(const coop_greenlet *g);

/* 1 if g's body has returned (or it was thrown into before starting). */
COOP_API int coop_greenlet_dead(const coop_greenlet *g);
/* 1 if g has been switched to at least once (roots always). */
COOP_API int coop_greenlet_started(const coop_greenlet *g);

/* Free g (the handle from coop_greenlet_new). If g is alive and suspended,
 * COOP_GREENLET_EXIT is thrown into it with the caller as its temporary
 * parent, so its cleanup runs; returns 0 if it then died cleanly (returned
 * >= 0 or COOP_GREENLET_EXIT), its error, or -EPROTO if it switched away
 * instead of dying (its frames are then discarded). The memory of a parent
 * lives on while children reference it. Freeing the running greenlet, or
 * the last greenlet of a group from outside the group's root context,
 * aborts (misuse). NULL is a no-op. [loop] */
COOP_API int coop_greenlet_free(coop_greenlet *g);

/* ------------------------------------------------------------------------
 * Actors
 *
 * An actor is a task that owns some state and a bounded mailbox, and
 * handles one message at a time with handler(state, msg, &reply): nothing
 * else touches the state, so it needs no lock. send() is fire-and-forget
 * with back-pressure (it suspends while the mailbox is full); ask() is a
 * request/reply with a deadline. A handler that returns < 0 kills the
 * actor: its supervisor callback is told the actor's name and the error,
 * waiting askers get the error, later sends get -EPIPE.
 * --------------------------------------------------------------------- */

typedef struct coop_actor coop_actor;

/* Handle one message. *reply (NULL unless set) goes to an asker; the result
 * also goes to an asker (ask returns it). A result < 0 kills the actor. May
 * suspend (it runs in the actor's task). */
typedef int (*coop_actor_fn)(void *state, void *msg, void **reply);

typedef struct coop_actor_opts {
    const char *name;      /* task and report name, copied (31 bytes); NULL = "actor" */
    coop_actor_fn handler; /* required */
    void *state;           /* passed to handler; owned by the caller */
    size_t capacity;       /* mailbox slots; 0 = 64 */
    /* Called in the actor's task when the handler fails (may suspend, e.g.
     * to forward the report to a supervising actor or channel). */
    void (*on_failure)(void *supervisor, const char *name, int err);
    void *supervisor; /* first argument of on_failure */
    /* Called for each message that will never be handled (the actor
     * failed, or was freed with messages queued after a failure): frees
     * what send() handed over. NULL: messages are dropped. */
    void (*discard)(void *state, void *msg);
} coop_actor_opts;

/* Fill *o with defaults (all zero, capacity 64). [any thread] */
COOP_API void coop_actor_opts_init(coop_actor_opts *o);

/* Create an actor and start its task in the current loop. Errors: -EINVAL
 * (out, opts or handler NULL), -ENOMEM, -EPERM (no loop). Does not suspend.
 * [loop] */
COOP_API int coop_actor_new(coop_actor **out, const coop_actor_opts *opts);

/* Put msg in a's mailbox, suspending while it is full (back-pressure).
 * Ownership of msg passes to the actor on success only. Errors: -EPIPE (a
 * was closed or has failed), -ECANCELED/-ETIMEDOUT (msg was not queued),
 * -EINVAL, -EPERM. [checkpoint] [task] */
COOP_API int coop_actor_send(coop_actor *a, void *msg);

/* Send msg and wait for the handler's result and reply, until deadline
 * (absolute; COOP_NEVER: none). Returns the handler's result (>= 0 with
 * *reply set, reply may be NULL) or its error (the actor died of it), or
 * -ETIMEDOUT (the deadline passed: if msg was still queued it is removed
 * and never handled, else the handler's late reply is dropped), -EPIPE,
 * -ECANCELED, -EINVAL, -EPERM. [checkpoint] [task] */
COOP_API int coop_actor_ask(coop_actor *a, void *msg, int64_t deadline, void **reply);

/* Close a's mailbox: later sends get -EPIPE, blocked senders wake with
 * -EPIPE; the actor handles what is queued, then its task ends.
 * Idempotent. Does not suspend. [loop] */
COOP_API void coop_actor_close(coop_actor *a);

/* Close a, wait for its task to finish, and free it. Returns 0, or the
 * error that killed the actor. Senders blocked on a full mailbox are woken
 * with -EPIPE by the close; queued asks are answered before the actor ends.
 * Using a after this call is a use after free. Aborts outside a task.
 * [checkpoint, but not cancellable: the actor always ends first] [task] */
COOP_API int coop_actor_free(coop_actor *a);

/* a's name. [loop] */
COOP_API const char *coop_actor_name(const coop_actor *a);

#ifdef __cplusplus
}
#endif
#endif

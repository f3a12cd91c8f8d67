/*
 * gen.c — tour sections 30-33: generators (send, close, a generator that
 * sleeps), greenlets ping-ponging, an actor answering asks, and an atomic
 * section catching a checkpoint that would break the seed's transfer().
 */
#include "tour.h"
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define V(n) ((void *)(intptr_t)(n))
#define N(p) ((long)(intptr_t)(p))

/* ---- 30: generators ----------------------------------------------------- */

static int cleanup_ran;

/* Python:
 *   def averager():
 *       total = n = 0
 *       try:
 *           while True:
 *               total += yield (total / n if n else 0); n += 1
 *       finally: print("cleanup")                                         */
static int averager(coop_gen *g, void *arg, void **ret) {
    (void)arg, (void)ret;
    long total = 0, n = 0;
    for (;;) {
        void *in;
        int r = coop_gen_yield(g, V(n ? total / n : 0), &in);
        if (r < 0) { /* close() arrives here as COOP_GEN_EXIT */
            tour_show("averager: yield returned %s: cleaning up after %ld values",
                      r == COOP_GEN_EXIT ? "COOP_GEN_EXIT (-ECANCELED)" : coop_strerror(r), n);
            cleanup_ran = 1;
            return r;
        }
        total += N(in);
        n++;
    }
}

static int heartbeats;
static int heartbeat(void *arg) {
    (void)arg;
    for (int i = 0; i < 6; i++, heartbeats++)
        coop_sleep(COOP_MS(20));
    return 0;
}

/* An asynchronous generator: it sleeps between values, which suspends the
 * task that consumes it, so the heartbeat task keeps running. */
static int ticks_gen(coop_gen *g, void *arg, void **ret) {
    (void)arg;
    for (int i = 1; i <= 3; i++) {
        int r = coop_sleep(COOP_MS(40));
        if (r < 0) return r;
        if ((r = coop_gen_yield(g, V(i), NULL)) < 0) return r;
    }
    *ret = V(99);
    return 0;
}

static int generators_main(void *arg) {
    (void)arg;
    coop_gen *g;
    int r = coop_gen_new(&g, averager, NULL, 0);
    if (r < 0) return r;
    void *v;
    coop_gen_next(g, &v); /* prime: run to the first yield */
    long inputs[] = {10, 30, 50};
    for (int i = 0; i < 3; i++) {
        coop_gen_send(g, V(inputs[i]), &v);
        tour_show("send(%ld) -> running average %ld", inputs[i], N(v));
    }
    tour_check(N(v) == 30, "the average of 10, 30, 50 is 30");
    r = coop_gen_close(g);
    tour_check(r == 0 && cleanup_ran && coop_gen_done(g),
               "close() ran the cleanup and finished it");
    coop_gen_free(g);

    tour_say("A generator whose body sleeps suspends its consumer's task, not the loop:");
    coop_task_id hb;
    coop_spawn(&hb, "heartbeat", heartbeat, NULL);
    if ((r = coop_gen_new(&g, ticks_gen, NULL, 0)) < 0) return r;
    double t0 = tour_ms();
    while ((r = coop_gen_next(g, &v)) == 0)
        tour_show("got %ld at %3.0f ms (heartbeats so far: %d)", N(v), tour_ms() - t0, heartbeats);
    tour_show("exhausted: COOP_GEN_DONE with return value %ld", N(v));
    tour_check(r == COOP_GEN_DONE && N(v) == 99, "exhaustion reports the return value");
    tour_check(heartbeats >= 4, "the heartbeat ran while the generator slept");
    coop_gen_free(g);
    coop_join(hb, NULL);
    return 0;
}

TOUR_SECTION(tour_generators, 30, "generators",
             "Generators: yield, send, close, and a generator that sleeps") {
    tour_say("Python's generators, in C: the body runs on its own stack and yields values;");
    tour_say(
        "send() resumes it with a value, close() makes its pending yield return COOP_GEN_EXIT.");
    return coop_run(generators_main, NULL);
}

/* ---- 31: greenlets ------------------------------------------------------ */

static coop_greenlet *ping, *pong;
static char rally[128];

static int player(void *first, void **ret) {
    coop_greenlet *me = coop_greenlet_current();
    coop_greenlet *other = me == ping ? pong : ping;
    const char *name = me == ping ? "ping" : "pong";
    void *ball = first;
    while (N(ball) < 6) {
        tour_show("%s hits ball %ld", name, N(ball));
        snprintf(rally + strlen(rally), sizeof rally - strlen(rally), "%s%s", *rally ? "," : "",
                 name);
        int r = coop_greenlet_switch(other, V(N(ball) + 1), &ball);
        if (r < 0) return r;
    }
    *ret = V(N(ball)); /* finishing hands the result to the parent (the task) */
    return 0;
}

static int napper(void *first, void **ret) {
    (void)first;
    double t0 = tour_ms();
    coop_sleep(COOP_MS(100)); /* parks the whole task: the loop runs others */
    *ret = V((long)(tour_ms() - t0));
    return 0;
}

static int greenlets_main(void *arg) {
    (void)arg;
    int r = coop_greenlet_new(&ping, player, NULL, 0);
    if (r == 0) r = coop_greenlet_new(&pong, player, NULL, 0);
    if (r < 0) return r;
    void *result;
    r = coop_greenlet_switch(ping, V(1), &result);
    tour_show("rally: %s; the finishing greenlet returned %ld to its parent", rally, N(result));
    tour_check(r == 0 && strcmp(rally, "ping,pong,ping,pong,ping") == 0,
               "control moved exactly where each switch said");
    tour_check(coop_greenlet_dead(ping) != coop_greenlet_dead(pong),
               "one finished, the other is still suspended in its switch");
    coop_greenlet_free(ping); /* a live greenlet is killed with COOP_GREENLET_EXIT */
    coop_greenlet_free(pong);

    tour_say("A greenlet that calls coop_sleep parks its task on the loop (gevent's idea):");
    heartbeats = 0;
    coop_task_id hb;
    coop_spawn(&hb, "heartbeat", heartbeat, NULL);
    coop_greenlet *g;
    if ((r = coop_greenlet_new(&g, napper, NULL, 0)) < 0) return r;
    coop_greenlet_switch(g, NULL, &result);
    tour_show("the greenlet slept %ld ms; meanwhile %d heartbeats ran", N(result), heartbeats);
    tour_check(heartbeats >= 2, "other tasks ran while the greenlet slept");
    coop_greenlet_free(g);
    coop_join(hb, NULL);
    return 0;
}

TOUR_SECTION(tour_greenlets, 31, "greenlets",
             "Greenlets: explicit switches, parents, and sleeping greenlets") {
    tour_say(
        "greenlet.switch(x) in C: coop_greenlet_switch(g, x, &received). No scheduler decides;");
    tour_say("each switch names where control goes. A finished greenlet returns to its parent.");
    return coop_run(greenlets_main, NULL);
}

/* ---- 32: actors --------------------------------------------------------- */

typedef struct bank {
    long balance; /* only the actor's task touches it: no lock */
} bank;

typedef struct op {
    char kind;   /* 'd' deposit, 'w' withdraw, 'b' balance, 's' slow audit */
    long amount; /* for d and w */
} op;

static int bank_handler(void *state, void *msg, void **reply) {
    bank *b = state;
    op *o = msg;
    switch (o->kind) {
    case 'd':
        b->balance += o->amount;
        break;
    case 'w':
        if (o->amount > b->balance) return -EAGAIN; /* kills the actor: the supervisor hears */
        b->balance -= o->amount;
        break;
    case 's':
        coop_sleep(COOP_MS(200));
        break;
    }
    *reply = V(b->balance);
    return 0;
}

static char failure_report[96];
static void supervisor(void *arg, const char *name, int err) {
    (void)arg;
    snprintf(failure_report, sizeof failure_report, "actor '%s' failed: %s", name,
             coop_strerror(err));
    tour_show("supervisor: %s", failure_report);
}

static int actors_main(void *arg) {
    (void)arg;
    bank b = {0};
    coop_actor_opts o;
    coop_actor_opts_init(&o);
    o.name = "bank";
    o.handler = bank_handler;
    o.state = &b;
    o.capacity = 4;
    o.on_failure = supervisor;
    coop_actor *a;
    int r = coop_actor_new(&a, &o);
    if (r < 0) return r;
    op deposits[5] = {{'d', 10}, {'d', 20}, {'d', 30}, {'d', 40}, {'d', 50}};
    for (int i = 0; i < 5; i++)
        coop_actor_send(a, &deposits[i]); /* fire and forget */
    op q = {'b', 0};
    void *reply;
    r = coop_actor_ask(a, &q, coop_after(COOP_SEC(1)), &reply);
    tour_show("ask(balance) -> %ld (the deposits were handled first: one mailbox, in order)",
              N(reply));
    tour_check(r == 0 && N(reply) == 150, "ask sees every earlier send");

    op slow = {'s', 0};
    double t0 = tour_ms();
    r = coop_actor_ask(a, &slow, coop_after(COOP_MS(50)), &reply);
    tour_show("ask(slow audit) with a 50 ms deadline -> %s after %.0f ms", coop_strerror(r),
              tour_ms() - t0);
    tour_check(r == -ETIMEDOUT, "ask has a deadline");

    op overdraw = {'w', 1000};
    r = coop_actor_ask(a, &overdraw, COOP_NEVER, &reply);
    tour_check(r == -EAGAIN && strstr(failure_report, "'bank'") != NULL,
               "a failing handler kills the actor and its supervisor is told who and why");
    r = coop_actor_send(a, &q);
    tour_show("send to the dead actor -> %s", coop_strerror(r));
    coop_actor_free(a);
    return 0;
}

TOUR_SECTION(tour_actors, 32, "actors",
             "Actors: a task with a mailbox; send, ask with a deadline, supervision") {
    tour_say("The actor owns its state; others only send it messages. The mailbox is bounded:");
    tour_say(
        "send suspends when it is full (back-pressure); ask waits for the reply, with a deadline.");
    return coop_run(actors_main, NULL);
}

/* ---- 33: atomic sections ------------------------------------------------ */

typedef struct account {
    long balance; /* money */
} account;

static account alice = {100}, bob = {0};

static void transfer(account *from, account *to, long amount) {
    coop_atomic_begin("transfer");
    long balance = from->balance;
    from->balance = balance - amount;
    to->balance += amount;
    coop_atomic_end();
}

static void transfer_dangerous(account *from, account *to, long amount) {
    coop_atomic_begin("transfer_dangerous");
    long balance = from->balance;
    coop_sleep(COOP_MS(1)); /* await some_io_operation(): other tasks may run here */
    from->balance = balance - amount;
    to->balance += amount;
    coop_atomic_end();
}

static int teller(void *arg) {
    for (int i = 0; i < 5; i++)
        ((void (*)(account *, account *, long))arg)(&alice, &bob, 10);
    return 0;
}

static int tellers_main(void *arg) {
    coop_task_id t1, t2;
    coop_spawn(&t1, "teller-1", teller, arg);
    coop_spawn(&t2, "teller-2", teller, arg);
    coop_join(t1, NULL);
    coop_join(t2, NULL);
    return 0;
}

TOUR_SECTION(tour_atomic, 33, "atomic",
             "Atomic sections: making 'no checkpoint here' a checked claim") {
    tour_say("transfer() is atomic only because nothing in it can suspend. coop_atomic_begin/end");
    tour_say("states that claim; two tellers moving 10 five times each:");
    int r = coop_run(tellers_main, (void *)transfer);
    tour_show("alice %ld + bob %ld = %ld", alice.balance, bob.balance, alice.balance + bob.balance);
    tour_check(r == 0 && alice.balance == 0 && bob.balance == 100, "no money lost or made");

    tour_say(
        "transfer_dangerous() sleeps in the middle. Inside its atomic section that checkpoint");
    tour_say("aborts at once, naming task, section and call (run in a child process):");
    int p[2];
    if (pipe(p) != 0) return -errno;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return -errno;
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 2);
        alice.balance = 100, bob.balance = 0;
        coop_run(tellers_main, (void *)transfer_dangerous);
        _exit(0);
    }
    close(p[1]);
    char msg[512] = {0};
    size_t n = 0;
    ssize_t k;
    while (n + 1 < sizeof msg && (k = read(p[0], msg + n, sizeof msg - 1 - n)) > 0)
        n += (size_t)k;
    close(p[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    char *nl = strchr(msg, '\n');
    if (nl) *nl = '\0';
    tour_show("child died of %s: %s", WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "(no signal)",
              msg);
    tour_check(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "the child aborted");
    tour_check(strstr(msg, "teller-1") && strstr(msg, "transfer_dangerous") &&
                   strstr(msg, "coop_sleep"),
               "the message names the task, the section and the checkpoint");
    tour_say("Without the section the race is silent: the test suite shows money lost that way.");
    return 0;
}

/*
 * core.c — tour sections 10-19: tasks interleaving at checkpoints, the
 * seed's transfer examples, sleeping with timeouts and cancellation, and a
 * nursery. Each section is a real coop program that checks what it claims.
 */
#include <string.h>
#include "tour.h"

/* ---- 10: tasks interleave only at checkpoints ------------------------------ */

static char trace[64];
static int ntrace;

static int worker(void *arg) {
    char id = *(const char *)arg;
    for (int i = 0; i < 3; i++) {
        trace[ntrace++] = id; /* runs atomically up to the next checkpoint */
        coop_yield();         /* the `await asyncio.sleep(0)` of coop */
    }
    return 0;
}

static int tasks_main(void *arg) {
    (void)arg;
    coop_task_id t[3];
    static const char ids[] = "ABC";
    for (int i = 0; i < 3; i++) coop_spawn(&t[i], "worker", worker, (void *)&ids[i]);
    tour_say("spawned A, B, C; spawning never switches, so none has run yet (trace: \"%s\")", trace);
    for (int i = 0; i < 3; i++) coop_join(t[i], NULL);
    return 0;
}

TOUR_SECTION(tour_tasks, 10, "tasks", "Tasks run until they reach a checkpoint") {
    tour_say("Three tasks each append their letter three times, yielding after each.");
    tour_say("The loop runs the ready tasks in FIFO order, one turn each per iteration:");
    if (coop_run(tasks_main, NULL) != 0) return 1;
    tour_show("trace: %s", trace);
    tour_check(strcmp(trace, "ABCABCABC") == 0, "round-robin interleaving at each yield");
    tour_say("No lock anywhere: between two checkpoints a task owns all shared state.");
    return 0;
}

/* ---- 11: the seed's transfer examples ------------------------------------------ */

typedef struct account {
    long balance;
} account;
static account alice, bob;

typedef struct transfer_job {
    account *src, *dst;
    long amount;
} transfer_job;

static int transfer(void *arg) {
    transfer_job *j = arg;
    for (int i = 0; i < 100; i++) {
        coop_atomic_begin("transfer"); /* documents, and checks, that nothing here suspends */
        long balance = j->src->balance;
        j->src->balance = balance - j->amount;
        j->dst->balance += j->amount;
        coop_atomic_end();
        coop_yield(); /* the checkpoint sits between transfers */
    }
    return 0;
}

static int transfer_dangerous(void *arg) {
    transfer_job *j = arg;
    for (int i = 0; i < 100; i++) {
        long balance = j->src->balance;
        coop_sleep(0); /* `await some_io_operation()` in the middle */
        j->src->balance = balance - j->amount;
        j->dst->balance += j->amount;
    }
    return 0;
}

static int bank_main(void *arg) {
    coop_fn fn = (coop_fn)arg;
    alice.balance = bob.balance = 10000;
    transfer_job ab = {&alice, &bob, 30}, ba = {&bob, &alice, 20};
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    coop_nursery_spawn(&n, NULL, "alice->bob", fn, &ab);
    coop_nursery_spawn(&n, NULL, "bob->alice", fn, &ba);
    coop_nursery_spawn(&n, NULL, "alice->bob#2", fn, &ab);
    return coop_nursery_close(&n);
}

TOUR_SECTION(tour_transfer, 11, "transfer", "transfer() keeps the books; transfer_dangerous() does not") {
    tour_say("Three tasks move money between two accounts, 100 transfers each.");
    if (coop_run(bank_main, (void *)transfer) != 0) return 1;
    long safe = alice.balance + bob.balance;
    tour_show("transfer:           alice %ld + bob %ld = %ld", alice.balance, bob.balance, safe);
    tour_check(safe == 20000, "no checkpoint inside the update: the total is kept");
    if (coop_run(bank_main, (void *)transfer_dangerous) != 0) return 1;
    long lost = alice.balance + bob.balance;
    tour_show("transfer_dangerous: alice %ld + bob %ld = %ld", alice.balance, bob.balance, lost);
    tour_check(lost != 20000, "a checkpoint between read and write loses updates");
    tour_say("Each task read a balance, let the others run, then wrote back a stale value.");
    tour_say("The loss is deterministic: the same interleaving on every run.");
    tour_say("coop_atomic_begin/end around the safe version would abort at once, naming the");
    tour_say("task and the call, if anyone ever added a checkpoint inside it.");
    return 0;
}

/* ---- 12: time, timeouts and cancellation ---------------------------------------- */

static int slow_fetch(void *arg) {
    (void)arg;
    return coop_sleep(COOP_MS(300)); /* pretend I/O */
}

static int forever(void *arg) {
    (void)arg;
    int r = coop_sleep(COOP_SEC(3600));
    tour_show("the hour-long sleeper woke after %.0f ms with %s", tour_ms(), coop_strerror(r));
    return r;
}

static int time_main(void *arg) {
    (void)arg;
    int64_t t0 = coop_now();
    coop_sleep(COOP_MS(20));
    tour_show("coop_sleep(20 ms) took %.1f ms", (double)(coop_now() - t0) / 1e6);

    /* trio's move_on_after / asyncio.timeout: a cancel scope with a deadline. */
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(50)));
    coop_task_id t;
    coop_spawn(&t, "slow-fetch", slow_fetch, NULL);
    int r = coop_join(t, NULL);
    int cause = coop_scope_exit(&s);
    tour_show("join of a 300 ms fetch inside a 50 ms scope: %s", coop_strerror(r));
    tour_check(r == -ETIMEDOUT && cause == -ETIMEDOUT, "the deadline cancelled the wait");
    coop_join(t, &r); /* the fetch itself was not in the scope: it finishes */
    tour_show("the fetch task itself was not inside the scope; it finished with %d", r);

    coop_task_id f;
    coop_spawn(&f, "sleeper", forever, NULL);
    coop_sleep(COOP_MS(10));
    coop_cancel(f); /* asyncio's task.cancel(): cancels the task's root scope */
    coop_join(f, &r);
    tour_check(r == -ECANCELED, "coop_cancel wakes a parked task with -ECANCELED");
    return 0;
}

TOUR_SECTION(tour_time, 12, "time", "Sleeping, deadlines and cancellation") {
    tour_say("A cancel scope with a deadline makes every checkpoint inside it fail with");
    tour_say("-ETIMEDOUT once the deadline passes (trio's move_on_after, asyncio.timeout).");
    return coop_run(time_main, NULL);
}

/* ---- 13: a nursery --------------------------------------------------------------- */

static int finished_children;

static int child_ok(void *arg) {
    int r = coop_sleep(COOP_MS((intptr_t)arg));
    if (r == 0) finished_children++;
    tour_show("child sleeping %3ld ms: %s", (long)(intptr_t)arg, r == 0 ? "done" : coop_strerror(r));
    return r;
}

static int child_fails(void *arg) {
    coop_sleep(COOP_MS((intptr_t)arg));
    tour_show("child failing after %ld ms with -EIO", (long)(intptr_t)arg);
    return -EIO;
}

static int nursery_main(void *arg) {
    (void)arg;
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    coop_nursery_spawn(&n, NULL, "fast", child_ok, (void *)10);
    coop_nursery_spawn(&n, NULL, "failing", child_fails, (void *)30);
    coop_nursery_spawn(&n, NULL, "slow", child_ok, (void *)500);
    coop_nursery_spawn(&n, NULL, "slower", child_ok, (void *)900);
    int r = coop_nursery_close(&n);
    tour_show("coop_nursery_close returned %s after %.0f ms", coop_strerror(r), tour_ms());
    tour_check(r == -EIO, "the first failure is what the nursery reports");
    tour_check(finished_children == 1, "the failure cancelled the slow siblings");
    tour_check(tour_ms() < 400, "nobody waited for the cancelled children's sleeps");
    return 0;
}

TOUR_SECTION(tour_nursery, 13, "nursery", "A nursery: children cannot outlive it, a failure cancels the rest") {
    tour_say("trio's nursery: close waits for every child; the first child that fails");
    tour_say("cancels its siblings, and close returns that error.");
    return coop_run(nursery_main, NULL);
}

/*
 * table.c — tour section 90: coop's task switch and spawn costs against OS
 * threads, measured live in the same run (the seed's "no kernel overhead
 * for switching" claim, in numbers). Best of several rounds, so a noisy
 * machine inflates nothing but the threads' own figures.
 */
#include <pthread.h>
#include <time.h>
#include "tour.h"

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ---- coop -------------------------------------------------------------------- */

enum { SWITCHES = 200000, SPAWNS = 20000, THREAD_SWITCHES = 20000, THREAD_SPAWNS = 2000 };

static int yielder(void *arg) {
    (void)arg;
    for (int i = 0; i < SWITCHES / 2; i++) coop_yield();
    return 0;
}
static int nothing(void *arg) {
    (void)arg;
    return 0;
}
static double coop_switch_ns, coop_spawn_ns;
static int coop_main(void *arg) {
    (void)arg;
    double t0 = now_ns();
    coop_task_id a, b;
    coop_spawn(&a, "ping", yielder, NULL);
    coop_spawn(&b, "pong", yielder, NULL);
    coop_join(a, NULL);
    coop_join(b, NULL);
    coop_switch_ns = (now_ns() - t0) / SWITCHES;
    t0 = now_ns();
    for (int i = 0; i < SPAWNS; i++) {
        coop_task_id t;
        coop_spawn(&t, "nothing", nothing, NULL);
        coop_join(t, NULL);
    }
    coop_spawn_ns = (now_ns() - t0) / SPAWNS;
    return 0;
}

/* ---- OS threads ------------------------------------------------------------------ */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int turn;

static void *pingpong(void *arg) {
    int me = (int)(intptr_t)arg;
    for (int i = 0; i < THREAD_SWITCHES / 2; i++) {
        pthread_mutex_lock(&mu);
        while (turn != me) pthread_cond_wait(&cv, &mu);
        turn = !me;
        pthread_cond_signal(&cv);
        pthread_mutex_unlock(&mu);
    }
    return NULL;
}
static void *thread_nothing(void *arg) { return arg; }

static double thread_switch(void) {
    pthread_t a, b;
    turn = 0;
    double t0 = now_ns();
    pthread_create(&a, NULL, pingpong, (void *)0);
    pthread_create(&b, NULL, pingpong, (void *)1);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    return (now_ns() - t0) / THREAD_SWITCHES;
}

static double thread_spawn(void) {
    double t0 = now_ns();
    for (int i = 0; i < THREAD_SPAWNS; i++) {
        pthread_t t;
        pthread_create(&t, NULL, thread_nothing, NULL);
        pthread_join(t, NULL);
    }
    return (now_ns() - t0) / THREAD_SPAWNS;
}

static double min(double a, double b) { return a < b ? a : b; }

TOUR_SECTION(tour_table, 90, "table", "The costs, measured now: coop tasks against OS threads") {
    double cs = 1e18, cp = 1e18, ts = 1e18, tp = 1e18;
    for (int round = 0; round < 3; round++) {
        if (coop_run(coop_main, NULL) != 0) return 1;
        cs = min(cs, coop_switch_ns);
        cp = min(cp, coop_spawn_ns);
        ts = min(ts, thread_switch());
        tp = min(tp, thread_spawn());
    }
    tour_say("%-34s %12s %12s %9s", "", "coop task", "OS thread", "ratio");
    tour_say("%-34s %9.1f ns %9.1f ns %8.0fx", "switch (yield / condvar hand-off)", cs, ts, ts / cs);
    tour_say("%-34s %9.1f ns %9.1f ns %8.0fx", "spawn + run + join", cp, tp, tp / cp);
    tour_say("(best of 3 rounds on this machine; `make bench` has the full comparison)");
    tour_check(cs < ts, "a coop switch is cheaper than an OS thread switch");
    tour_check(cp < tp, "spawning a coop task is cheaper than spawning a thread");
    return 0;
}

/*
 * pthread.c — the OS-thread baselines that coop's scheduler is compared
 * with: what the same job costs when every task is a kernel thread.
 *   spawn+run+join     pthread_create + pthread_join of a thread that returns
 *   yield, 2 tasks     a hand-off between two threads, once with a mutex and
 *                      condition variable, once with a bare futex word
 *   1000 x sleep 1 ms  1000 threads created, each sleeping 1 ms, all joined
 *   parked task memory resident memory of 1000 threads blocked on a condvar
 * The hand-offs cross cores when two are free, as they would in a program.
 * Kernel memory of a thread (its 16 KiB kernel stack, task_struct) is not in
 * VmRSS, so the memory figure flatters threads. Under callgrind (instruction
 * mode) nothing is reported: these costs are in the kernel, which callgrind
 * does not see.
 */
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "bench.h"

static void check(int rc, const char *what) {
    if (rc != 0) bench_fail("%s: %s", what, strerror(rc));
}

/* ---- spawn+run+join --------------------------------------------------- */

static void *trivial(void *arg) { return arg; }

static void bench_spawn(void) {
    long n = bench_iters(3000, 0);
    bench_sampler s = {0};
    while (bench_more(&s)) {
        int64_t t0 = bench_now_ns();
        for (long i = 0; i < n; i++) {
            pthread_t t;
            check(pthread_create(&t, NULL, trivial, NULL), "pthread_create");
            check(pthread_join(t, NULL), "pthread_join");
        }
        bench_sample(&s, (double)(bench_now_ns() - t0) / (double)n);
    }
    bench_row("spawn+run+join", "pthread", bench_sampler_median(&s), "ns/task");
}

/* ---- yield, 2 tasks ---------------------------------------------------- */

/* Run fn(a) and fn(b) on two new threads until both return: ns elapsed. */
static int64_t run_pair(void *(*fn)(void *), void *a, void *b) {
    pthread_t ta, tb;
    int64_t t0 = bench_now_ns();
    check(pthread_create(&ta, NULL, fn, a), "pthread_create");
    check(pthread_create(&tb, NULL, fn, b), "pthread_create");
    check(pthread_join(ta, NULL), "pthread_join");
    check(pthread_join(tb, NULL), "pthread_join");
    return bench_now_ns() - t0;
}

/* Two threads take turns: each waits until `turn` names it, then passes the
 * turn to the other. One pass is one switch. The condvar version reads and
 * writes turn under mu; the futex version uses turn as the futex word. */
typedef struct pingpong {
    pthread_mutex_t mu;  /* condvar version: protects turn */
    pthread_cond_t cond; /* condvar version: signalled when turn changes */
    _Atomic int turn;    /* 0 or 1: whose turn it is */
    long passes;         /* passes each thread makes */
} pingpong;

typedef struct player {
    pingpong *game; /* shared state */
    int me;         /* 0 or 1 */
} player;

static void *condvar_player(void *arg) {
    player *p = arg;
    pingpong *g = p->game;
    pthread_mutex_lock(&g->mu);
    for (long i = 0; i < g->passes; i++) {
        while (g->turn != p->me) pthread_cond_wait(&g->cond, &g->mu);
        g->turn = !p->me;
        pthread_cond_signal(&g->cond);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

static void futex_wait(_Atomic int *word, int value) {
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
}

static void futex_wake(_Atomic int *word) {
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *futex_player(void *arg) {
    player *p = arg;
    pingpong *g = p->game;
    for (long i = 0; i < g->passes; i++) {
        int t;
        while ((t = atomic_load_explicit(&g->turn, memory_order_acquire)) != p->me) futex_wait(&g->turn, t);
        atomic_store_explicit(&g->turn, !p->me, memory_order_release);
        futex_wake(&g->turn);
    }
    return NULL;
}

/* One run of a hand-off: ns per switch. */
static double pingpong_run(void *(*fn)(void *), long passes) {
    pingpong g = {.turn = 0, .passes = passes};
    pthread_mutex_init(&g.mu, NULL);
    pthread_cond_init(&g.cond, NULL);
    player a = {&g, 0}, b = {&g, 1};
    double ns = (double)run_pair(fn, &a, &b) / (double)(2 * passes);
    pthread_cond_destroy(&g.cond);
    pthread_mutex_destroy(&g.mu);
    return ns;
}

static void bench_pingpong(void) {
    long passes = bench_iters(10000, 0);
    bench_sampler cv = {0}, fx = {0};
    while (bench_more(&cv)) {
        bench_sample(&cv, pingpong_run(condvar_player, passes));
        bench_sample(&fx, pingpong_run(futex_player, passes));
    }
    bench_row("yield, 2 tasks", "pthread condvar", bench_sampler_median(&cv), "ns/yield");
    bench_row("yield, 2 tasks", "pthread futex", bench_sampler_median(&fx), "ns/yield");
}

/* ---- many sleeping threads -------------------------------------------- */

enum { SLEEPERS = 1000 };

static void *sleep_1ms(void *arg) {
    struct timespec ts = {0, 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    return arg;
}

static void bench_sleepers(pthread_t *threads) {
    bench_sampler s = {0};
    while (bench_more(&s)) {
        int64_t t0 = bench_now_ns();
        for (int i = 0; i < SLEEPERS; i++) check(pthread_create(&threads[i], NULL, sleep_1ms, NULL), "pthread_create");
        for (int i = 0; i < SLEEPERS; i++) check(pthread_join(threads[i], NULL), "pthread_join");
        bench_sample(&s, (double)(bench_now_ns() - t0) / 1e6);
    }
    bench_row("1000 x sleep 1 ms", "pthread", bench_sampler_median(&s), "ms");
}

/* Threads parked on a condition variable until released. */
typedef struct parking {
    pthread_mutex_t mu;  /* protects parked and released */
    pthread_cond_t cond; /* broadcast on release; signalled as threads park */
    int parked;          /* threads waiting so far */
    int released;        /* set to let them go */
} parking;

static void *park_thread(void *arg) {
    parking *p = arg;
    pthread_mutex_lock(&p->mu);
    p->parked++;
    pthread_cond_broadcast(&p->cond);
    while (!p->released) pthread_cond_wait(&p->cond, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static void bench_parked_memory(pthread_t *threads) {
    parking p = {.parked = 0, .released = 0};
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cond, NULL);
    long before = bench_resident_kib();
    for (int i = 0; i < SLEEPERS; i++) check(pthread_create(&threads[i], NULL, park_thread, &p), "pthread_create");
    pthread_mutex_lock(&p.mu);
    while (p.parked < SLEEPERS) pthread_cond_wait(&p.cond, &p.mu);
    pthread_mutex_unlock(&p.mu);
    long after = bench_resident_kib();
    pthread_mutex_lock(&p.mu);
    p.released = 1;
    pthread_cond_broadcast(&p.cond);
    pthread_mutex_unlock(&p.mu);
    for (int i = 0; i < SLEEPERS; i++) check(pthread_join(threads[i], NULL), "pthread_join");
    pthread_cond_destroy(&p.cond);
    pthread_mutex_destroy(&p.mu);
    if (before < 0 || after < 0) {
        bench_skip("parked task memory", "pthread", "no /proc/self/status");
        return;
    }
    bench_row("parked task memory", "pthread", (double)(after - before) / SLEEPERS, "KiB/task");
}

int main(void) {
    if (bench_instr_mode()) return 0; /* the costs are in the kernel */
    static pthread_t threads[SLEEPERS];
    /* Memory first: glibc caches the stacks of joined threads, and reusing
     * their touched pages would hide part of the cost. */
    if (bench_selected("parked task memory")) bench_parked_memory(threads);
    if (bench_selected("spawn+run+join")) bench_spawn();
    if (bench_selected("yield, 2 tasks")) bench_pingpong();
    if (bench_selected("1000 x sleep 1 ms")) bench_sleepers(threads);
    return 0;
}

/*
 * Tests of src/core/stack: the per-loop pool of task stacks — sizes,
 * reuse without syscalls, staggered tops, MADV_FREE past the high-water
 * mark, the guard-page budget and the canary of unguarded stacks, and the
 * overflow reports (guard page and canary) naming the task.
 */
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include "core/fiber.h"
#include "core/stack.h"
#include "test.h"
#include "util/alloc.h"
#ifdef COOP_VALGRIND
#include <valgrind/valgrind.h>
#define UNDER_VALGRIND() RUNNING_ON_VALGRIND
#else
#define UNDER_VALGRIND() 0
#endif
#ifdef COOP_TSAN
#define COOP_TSAN_BUILD 1
#else
#define COOP_TSAN_BUILD 0
#endif

static coop__stack_stats stats_of(coop__stack_pool *pool) {
    coop__stack_stats st;
    coop__stack_pool_stats(pool, &st);
    return st;
}

TEST(stack_get_rounds_up_to_pages_and_the_minimum) {
    coop__stack_pool *pool;
    CHECK_ERR(coop__stack_pool_new(&pool), 0);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    coop__stack a, b;
    CHECK_ERR(coop__stack_get(pool, 1, &a), 0);
    CHECK_EQ(a.size, COOP_STACK_MIN);
    CHECK((size_t)((char *)a.hi - (char *)a.lo) >= COOP_STACK_MIN);
    CHECK_ERR(coop__stack_get(pool, 3 * COOP_STACK_MIN + 1, &b), 0);
    CHECK_EQ(b.size, (3 * COOP_STACK_MIN + 1 + page - 1) / page * page);
    CHECK((size_t)((char *)b.hi - (char *)b.lo) >= b.size);
    CHECK_EQ((uintptr_t)b.hi % 64, 0);
    /* The whole usable range is writable. */
    memset(b.lo, 0xab, (size_t)((char *)b.hi - (char *)b.lo));
    coop__stack_put(pool, &a);
    coop__stack_put(pool, &b);
    coop__stack_pool_free(pool);
}

TEST(stack_get_reuses_pooled_stacks_without_mapping) {
    coop__stack_pool *pool;
    CHECK_ERR(coop__stack_pool_new(&pool), 0);
    coop__stack s[8];
    for (int i = 0; i < 8; i++) CHECK_ERR(coop__stack_get(pool, 64 * 1024, &s[i]), 0);
    coop__stack_stats before = stats_of(pool);
    CHECK_EQ(before.live, 8);
    for (int round = 0; round < 100; round++) {
        for (int i = 0; i < 8; i++) coop__stack_put(pool, &s[i]);
        for (int i = 0; i < 8; i++) CHECK_ERR(coop__stack_get(pool, 64 * 1024, &s[i]), 0);
    }
    coop__stack_stats after = stats_of(pool);
    CHECK_EQ(after.maps, before.maps);
    CHECK_EQ(after.guarded + after.unguarded, before.guarded + before.unguarded);
    CHECK_EQ(after.released, 0);
    for (int i = 0; i < 8; i++) coop__stack_put(pool, &s[i]);
    CHECK_EQ(stats_of(pool).live, 0);
    coop__stack_pool_free(pool);
}

TEST(stack_put_then_get_returns_the_most_recent_stack) {
    coop__stack_pool *pool;
    CHECK_ERR(coop__stack_pool_new(&pool), 0);
    coop__stack a, b, c;
    CHECK_ERR(coop__stack_get(pool, 0, &a), 0);
    CHECK_ERR(coop__stack_get(pool, 0, &b), 0);
    void *b_lo = b.lo;
    coop__stack_put(pool, &a);
    coop__stack_put(pool, &b);
    CHECK_ERR(coop__stack_get(pool, 0, &c), 0); /* LIFO: b is still warm in cache */
    CHECK(c.lo == b_lo);
    coop__stack_put(pool, &c);
    coop__stack_pool_free(pool);
}

TEST(stack_pool_reports_enomem_and_leaks_nothing) {
    coop__stack_pool *pool;
    coop__alloc_fail_at(1);
    CHECK_ERR(coop__stack_pool_new(&pool), -ENOMEM);
    CHECK_ERR(coop__stack_pool_new(&pool), 0);
    coop__stack s;
    coop__alloc_fail_at(1); /* the size class record */
    CHECK_ERR(coop__stack_get(pool, 0, &s), -ENOMEM);
    coop__alloc_fail_at(2); /* the chunk's slot records */
    CHECK_ERR(coop__stack_get(pool, 0, &s), -ENOMEM);
    coop__alloc_fail_at(0);
    CHECK_EQ(stats_of(pool).maps, 0);
    CHECK_EQ(stats_of(pool).live, 0);
    CHECK_ERR(coop__stack_get(pool, 0, &s), 0);
    coop__stack_put(pool, &s);
    CHECK_ERR(coop__stack_get(pool, (size_t)1 << 50, &s), -ENOMEM); /* absurd size */
    coop__stack_pool_free(pool);
}

TEST(stack_tops_are_staggered_by_cache_lines) {
    coop__stack_pool *pool;
    CHECK_ERR(coop__stack_pool_new(&pool), 0);
    enum { N = 16 };
    coop__stack s[N];
    int seen[64] = {0};
    for (int i = 0; i < N; i++) {
        CHECK_ERR(coop__stack_get(pool, 64 * 1024, &s[i]), 0);
        seen[((uintptr_t)s[i].hi / 64) % 64]++;
    }
    /* N stacks land on N distinct L1 sets (offsets within a page). */
    int distinct = 0;
    for (int i = 0; i < 64; i++) distinct += seen[i] > 0;
    CHECK_EQ(distinct, N);
    for (int i = 0; i < N; i++) coop__stack_put(pool, &s[i]);
    coop__stack_pool_free(pool);
}

TEST(stack_pool_keeps_sizes_apart) {
    coop__stack_pool *pool;
    CHECK_ERR(coop__stack_pool_new(&pool), 0);
    coop__stack small, big, again;
    CHECK_ERR(coop__stack_get(pool, 32 * 1024, &small), 0);
    CHECK_ERR(coop__stack_get(pool, 256 * 1024, &big), 0);
    coop__stack_put(pool, &small);
    CHECK_ERR(coop__stack_get(pool, 256 * 1024, &again), 0);
    CHECK_EQ(again.size, 256 * 1024);
    CHECK((size_t)((char *)again.hi - (char *)again.lo) >= 256 * 1024);
    coop__stack_put(pool, &again);
    coop__stack_put(pool, &big);
    coop__stack_pool_free(pool);
}

/* Gets n stacks with their top page touched, puts them back in order. */
static void get_touch_put(coop__stack_pool *pool, coop__stack *s, int n) {
    for (int i = 0; i < n; i++) CHECK_ERR(coop__stack_get(pool, 64 * 1024, &s[i]), 0);
    for (int i = 0; i < n; i++) {
        memset((char *)s[i].hi - 4096, 1, 4096);
        coop__stack_put(pool, &s[i]);
    }
}

TEST(stack_put_past_high_water_releases_the_surplus_in_batches) {
    coop__stack_pool *pool;
    CHECK_ERR(coop__stack_pool_new(&pool), 0);
    coop__stack_pool_set_high_water(pool, 4);
    enum { N = 4 + 2 * 32 + 5 };
    coop__stack s[N];
    get_touch_put(pool, s, N);
    coop__stack_stats st = stats_of(pool);
    CHECK_EQ(st.pooled, N);
    CHECK_EQ(st.released, 2 * 32); /* 5 wait for the next batch */
    /* Neighbours go in one call: far fewer calls than stacks. */
    if (st.release_calls < 2 || st.release_calls > 8) /* runs break at chunk ends */
        test__fail(__FILE__, __LINE__, "%lu madvise calls for 64 stacks", st.release_calls);
    /* Released stacks are handed out again (after the others), still
     * usable, without new mappings. */
    get_touch_put(pool, s, N);
    CHECK_EQ(stats_of(pool).maps, st.maps);
    coop__stack_pool_free(pool);
}

TEST(stack_guards_stay_within_the_budget) {
    coop__stack_use_guard_regions(0);
    coop__stack_set_guard_budget(2 * 5); /* five guards */
    coop__stack_pool *pool;
    CHECK_ERR(coop__stack_pool_new(&pool), 0);
    coop__stack s[20];
    for (int i = 0; i < 20; i++) CHECK_ERR(coop__stack_get(pool, 0, &s[i]), 0);
    CHECK_EQ(stats_of(pool).guarded, 5);
    CHECK_EQ(stats_of(pool).unguarded, 15);
    CHECK_EQ(coop__stack_guard_budget_used(), 10);
    for (int i = 0; i < 20; i++) coop__stack_put(pool, &s[i]);
    coop__stack_pool_free(pool);
    CHECK_EQ(coop__stack_guard_budget_used(), 0);
    coop__stack_set_guard_budget(-1);
}

TEST(stack_budget_is_shared_by_pools) {
    coop__stack_use_guard_regions(0);
    coop__stack_set_guard_budget(2 * 3);
    coop__stack_pool *p1, *p2;
    CHECK_ERR(coop__stack_pool_new(&p1), 0);
    CHECK_ERR(coop__stack_pool_new(&p2), 0);
    coop__stack a[2], b[2];
    for (int i = 0; i < 2; i++) CHECK_ERR(coop__stack_get(p1, 0, &a[i]), 0);
    for (int i = 0; i < 2; i++) CHECK_ERR(coop__stack_get(p2, 0, &b[i]), 0);
    CHECK_EQ(stats_of(p1).guarded, 2);
    CHECK_EQ(stats_of(p2).guarded, 1);
    for (int i = 0; i < 2; i++) coop__stack_put(p1, &a[i]);
    coop__stack_pool_free(p1);
    CHECK_EQ(coop__stack_guard_budget_used(), 2);
    for (int i = 0; i < 2; i++) coop__stack_put(p2, &b[i]);
    coop__stack_pool_free(p2);
    coop__stack_set_guard_budget(-1);
}

static int count_maps(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    CHECK(f != NULL);
    int lines = 0, c;
    while ((c = fgetc(f)) != EOF) lines += c == '\n';
    fclose(f);
    return lines;
}

/* Gets n stacks of 64 KiB, checks the pool's counters, puts them back. */
static coop__stack_stats carve(int n, int *maps_after) {
    coop__stack_pool *pool;
    CHECK_ERR(coop__stack_pool_new(&pool), 0);
    coop__stack *s = malloc((size_t)n * sizeof *s);
    CHECK(s != NULL);
    /* Pages are not touched and nothing is released: this is about map
     * entries, and page faults are slow on some virtual machines. */
    coop__stack_pool_set_high_water(pool, (unsigned)n);
    for (int i = 0; i < n; i++) {
        int err = coop__stack_get(pool, 64 * 1024, &s[i]);
        if (err) test__fail(__FILE__, __LINE__, "stack %d: %s", i, strerror(-err));
    }
    coop__stack_stats st = stats_of(pool);
    CHECK_EQ(st.live, n);
    CHECK(st.maps < 200);
    *maps_after = count_maps();
    for (int i = 0; i < n; i++) coop__stack_put(pool, &s[i]);
    free(s);
    coop__stack_pool_free(pool);
    return st;
}

/* mprotect guards with the default budget (half of vm.max_map_count) and
 * 100,000 stacks: more than the guards can cover, and still no ENOMEM
 * from the map count. */
TEST_TIMEOUT(stack_pool_carves_100k_stacks_past_the_guard_budget, 20) {
    int n = 100000;
    coop__stack_use_guard_regions(0);
    if (UNDER_VALGRIND()) {
        /* Valgrind tracks at most ~30000 mappings itself: prove the same
         * logic with a small budget instead. */
        n = 20000;
        coop__stack_set_guard_budget(2000);
    }
    int maps;
    coop__stack_stats st = carve(n, &maps);
    CHECK(st.unguarded > 0);
    CHECK(st.guarded > 0);
    CHECK(maps < 65530);
    CHECK_EQ(coop__stack_guard_budget_used(), 0);
}

/* Guard regions (Linux 6.13+) cost no map entry: every stack is guarded. */
TEST_TIMEOUT(stack_guard_regions_guard_every_stack_without_mappings, 20) {
    if (!coop__stack_use_guard_regions(1)) {
        fprintf(stderr, "  (kernel without MADV_GUARD_INSTALL: nothing to test)\n");
        return;
    }
    int n = UNDER_VALGRIND() ? 20000 : 100000;
    int maps_before = count_maps(), maps;
    coop__stack_stats st = carve(n, &maps);
    CHECK_EQ(st.guarded, n);
    CHECK_EQ(st.unguarded, 0);
    /* TSan maps shadow memory of its own for every mapping. */
    if (!COOP_TSAN_BUILD) CHECK(maps - maps_before < 200);
    CHECK_EQ(coop__stack_guard_budget_used(), 0);
}

/* ---- overflow reports --------------------------------------------------- */

/* Runs child() in a forked process with stderr captured; returns its wait
 * status and fills msg. */
static int run_child_capturing(void (*child)(void), char *msg, size_t cap) {
    int fds[2];
    CHECK(pipe(fds) == 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        child();
        _exit(0);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    char sink[256];
    /* Drain everything (a child writing into a closed pipe would die of
     * SIGPIPE instead of what the test expects); keep the first cap-1. */
    while ((n = read(fds[0], len + 1 < cap ? msg + len : sink,
                     len + 1 < cap ? cap - 1 - len : sizeof sink)) > 0)
        if (len + 1 < cap) len += (size_t)n;
    msg[len] = 0;
    close(fds[0]);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    return st;
}

static coop__fiber thread_fiber, task_fiber;

static volatile long depth_wanted = 1000000; /* far beyond 64 KiB */

__attribute__((noinline)) static int recurse(long depth, volatile char *prev) {
    volatile char frame[512];
    frame[0] = prev ? prev[0] : 1;
    if (depth == 0) return frame[0];
    return recurse(depth - 1, frame) + frame[1];
}

static void overflowing_entry(void *arg) {
    (void)arg;
    recurse(depth_wanted, NULL);
}

/* A task named "deep-thinker" on a 64 KiB stack from a fresh pool
 * recurses without end. */
static void overflow_in_task(void) {
    coop__stack_pool *pool;
    coop__stack s;
    if (coop__stack_pool_new(&pool) || coop__stack_get(pool, 64 * 1024, &s)) _exit(3);
    coop__stack_set_name(&s, "deep-thinker");
    coop__fiber_make_thread(&thread_fiber);
    coop__fiber_make(&task_fiber, s.lo, s.hi, overflowing_entry, NULL);
    coop__fiber_switch(&thread_fiber, &task_fiber);
}

/* Runs child, which must die by SIGABRT after reporting an overflow of the
 * 64 KiB stack of the task called name. */
static void expect_overflow_report(void (*child)(void), const char *name) {
    char msg[512], want[128];
    int st = run_child_capturing(child, msg, sizeof msg);
    CHECK(WIFSIGNALED(st));
    CHECK_EQ(WTERMSIG(st), SIGABRT);
    snprintf(want, sizeof want, "coop: stack overflow in task '%s' (stack size 65536 bytes)", name);
    if (!strstr(msg, want)) test__fail(__FILE__, __LINE__, "unexpected message: %s", msg);
}

static void overflow_mprotect_child(void) {
    coop__stack_use_guard_regions(0);
    overflow_in_task();
}

TEST(stack_overflow_into_a_guard_region_names_the_task) {
    if (!coop__stack_use_guard_regions(1)) {
        fprintf(stderr, "  (kernel without MADV_GUARD_INSTALL: nothing to test)\n");
        return;
    }
    expect_overflow_report(overflow_in_task, "deep-thinker"); /* inherits the setting */
}

TEST(stack_overflow_into_the_guard_names_the_task) {
    expect_overflow_report(overflow_mprotect_child, "deep-thinker");
}

/* A stack released (in a batch with its neighbours) keeps its guard. */
static void released_overflow_child(void) {
    coop__stack_pool *pool;
    coop__stack s[40];
    if (coop__stack_pool_new(&pool)) _exit(3);
    coop__stack_pool_set_high_water(pool, 0);
    get_touch_put(pool, s, 40); /* 32 released, 8 pending */
    if (stats_of(pool).released != 32) _exit(4);
    for (int i = 0; i < 40; i++) /* the last 32 handed out are the released ones */
        if (coop__stack_get(pool, 64 * 1024, &s[i])) _exit(5);
    coop__stack_set_name(&s[39], "released");
    coop__fiber_make_thread(&thread_fiber);
    coop__fiber_make(&task_fiber, s[39].lo, s[39].hi, overflowing_entry, NULL);
    coop__fiber_switch(&thread_fiber, &task_fiber);
}

static void released_overflow_mprotect_child(void) {
    coop__stack_use_guard_regions(0);
    released_overflow_child();
}

TEST(stack_released_in_a_batch_keeps_its_guard) {
    expect_overflow_report(released_overflow_mprotect_child, "released");
    if (coop__stack_use_guard_regions(1)) expect_overflow_report(released_overflow_child, "released");
}

/* An unguarded stack whose task recurses ~1 KiB past the bottom, then
 * returns and finishes normally: only the canary can tell. */
static char *overflow_limit;

__attribute__((noinline)) static int recurse_below(volatile char *prev) {
    volatile char frame[256];
    memset((char *)frame, 0x77, sizeof frame);
    frame[0] = prev ? prev[1] : 0;
    if ((char *)frame > overflow_limit) return recurse_below(frame) + frame[1];
    return frame[0];
}

static void shallow_overflow_entry(void *arg) {
    (void)arg;
    recurse_below(NULL);
    coop__fiber_switch_last(&task_fiber, &thread_fiber);
}

static void canary_child(void) {
    coop__stack_use_guard_regions(0);
    coop__stack_set_guard_budget(0);
    coop__stack_pool *pool;
    coop__stack s;
    if (coop__stack_pool_new(&pool) || coop__stack_get(pool, 64 * 1024, &s)) _exit(3);
    coop__stack_set_name(&s, "sloppy");
    overflow_limit = (char *)s.lo - 1024;
    coop__fiber_make_thread(&thread_fiber);
    coop__fiber_make(&task_fiber, s.lo, s.hi, shallow_overflow_entry, NULL);
    coop__fiber_switch(&thread_fiber, &task_fiber);
    coop__fiber_release(&task_fiber);
    coop__stack_put(pool, &s);
}

TEST(stack_put_detects_an_overflowed_canary) { expect_overflow_report(canary_child, "sloppy"); }

TEST(stack_check_passes_an_intact_stack_used_to_the_bottom) {
    coop__stack_use_guard_regions(0);
    coop__stack_set_guard_budget(0);
    coop__stack_pool *pool;
    CHECK_ERR(coop__stack_pool_new(&pool), 0);
    coop__stack s;
    CHECK_ERR(coop__stack_get(pool, 0, &s), 0);
    memset(s.lo, 0x5a, (size_t)((char *)s.hi - (char *)s.lo));
    coop__stack_check(&s);
    coop__stack_put(pool, &s);
    coop__stack_pool_free(pool);
}

static void segv_child(void) {
    coop__stack_pool *pool;
    if (coop__stack_pool_new(&pool)) _exit(3);
    if (UNDER_VALGRIND()) raise(SIGSEGV); /* a real fault would count as an error */
    volatile int *volatile bad = (int *)16;
    *bad = 1; /* a fault that is not a stack overflow */
}

TEST(stack_fault_handler_leaves_other_faults_alone) {
    char msg[512];
    int st = run_child_capturing(segv_child, msg, sizeof msg);
#if defined(COOP_ASAN) || defined(COOP_TSAN)
    /* The sanitizer's own handler was there first: it reports and exits. */
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) != 0);
#else
    CHECK(WIFSIGNALED(st));
    CHECK_EQ(WTERMSIG(st), SIGSEGV);
#endif
    CHECK(strstr(msg, "stack overflow") == NULL);
}

static void earlier_handler(int sig) {
    (void)sig;
    static const char m[] = "earlier handler ran\n";
    write(2, m, sizeof m - 1);
    _exit(7);
}

static void chained_child(void) {
    signal(SIGSEGV, earlier_handler);
    segv_child();
}

TEST(stack_fault_handler_chains_to_the_previous_handler) {
    char msg[512];
    int st = run_child_capturing(chained_child, msg, sizeof msg);
    CHECK(WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 7);
    CHECK(strstr(msg, "earlier handler ran") != NULL);
}

/* ---- reuse after a task ended inside its frames ----------------------------- */

static coop__stack reuse_stack;

__attribute__((noinline)) static void end_inside_frames(int depth) {
    volatile char buf[256]; /* ASan puts redzones around it */
    buf[0] = (char)depth;
    if (depth > 0) end_inside_frames(depth - 1);
    else coop__fiber_switch_last(&task_fiber, &thread_fiber); /* frames never return */
    (void)buf[0];
}

static void ending_entry(void *arg) {
    (void)arg;
    end_inside_frames(50);
}

TEST(stack_reused_after_a_task_ended_inside_its_frames_is_addressable) {
    coop__stack_pool *pool;
    CHECK_ERR(coop__stack_pool_new(&pool), 0);
    CHECK_ERR(coop__stack_get(pool, 64 * 1024, &reuse_stack), 0);
    void *lo = reuse_stack.lo;
    coop__fiber_make_thread(&thread_fiber);
    coop__fiber_make(&task_fiber, reuse_stack.lo, reuse_stack.hi, ending_entry, NULL);
    coop__fiber_switch(&thread_fiber, &task_fiber);
    coop__fiber_release(&task_fiber);
    coop__stack_put(pool, &reuse_stack);
    CHECK_ERR(coop__stack_get(pool, 64 * 1024, &reuse_stack), 0);
    CHECK(reuse_stack.lo == lo);
    /* Under ASan this would report the dead frames' redzones. */
    memset(reuse_stack.lo, 0, (size_t)((char *)reuse_stack.hi - (char *)reuse_stack.lo));
    coop__stack_put(pool, &reuse_stack);
    coop__stack_pool_free(pool);
}

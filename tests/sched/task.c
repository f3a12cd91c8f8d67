/* Tasks: spawn, run order, join, detach, ids, names, states. */
#include "test.h"

static int add_one(void *arg) { return *(int *)arg + 1; }

static int main_returns(void *arg) {
    (void)arg;
    return 42;
}

TEST(run_returns_main_result) { CHECK_EQ(test_run(main_returns, NULL), 42); }

static int join_body(void *arg) {
    (void)arg;
    int v = 1, res = 0;
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "adder", add_one, &v));
    CHECK_OK(coop_join(t, &res));
    CHECK_EQ(res, 2);
    return 0;
}
TEST(task_join_returns_result) { CHECK_EQ(test_run(join_body, NULL), 0); }

static int trace[16], ntrace;
static int tracer(void *arg) {
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < 3; i++) {
        trace[ntrace++] = id * 10 + i;
        CHECK_OK(coop_yield());
    }
    return 0;
}
static int interleave_body(void *arg) {
    (void)arg;
    coop_task_id a, b;
    CHECK_OK(coop_spawn(&a, "a", tracer, (void *)1));
    CHECK_OK(coop_spawn(&b, "b", tracer, (void *)2));
    CHECK_EQ(ntrace, 0); /* spawning never switches */
    CHECK_OK(coop_join(a, NULL));
    CHECK_OK(coop_join(b, NULL));
    return 0;
}
TEST(task_yield_interleaves_fifo) {
    CHECK_EQ(test_run(interleave_body, NULL), 0);
    int want[] = {10, 20, 11, 21, 12, 22};
    CHECK_EQ(ntrace, 6);
    for (int i = 0; i < 6; i++) CHECK_EQ(trace[i], want[i]);
}

static int join_self(void *arg) {
    (void)arg;
    CHECK_ERR(coop_join(coop_self(), NULL), -EDEADLK);
    return 0;
}
TEST(task_join_main_itself_is_edeadlk) { CHECK_EQ(test_run(join_self, NULL), 0); }

static coop_task_id self_id;
static int joins_itself(void *arg) {
    (void)arg;
    return coop_join(self_id, NULL);
}
static int join_self_body(void *arg) {
    (void)arg;
    int r;
    CHECK_OK(coop_spawn(&self_id, "selfish", joins_itself, NULL));
    CHECK_OK(coop_join(self_id, &r));
    CHECK_ERR(r, -EDEADLK);
    return 0;
}
TEST(task_join_self_is_edeadlk) { CHECK_EQ(test_run(join_self_body, NULL), 0); }

static int twice_body(void *arg) {
    (void)arg;
    int v = 1;
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "x", add_one, &v));
    CHECK_OK(coop_join(t, NULL));
    CHECK_ERR(coop_join(t, NULL), -ESRCH);
    CHECK_ERR(coop_detach(t), -ESRCH);
    CHECK_ERR(coop_task_state(t), -ESRCH);
    CHECK(coop_task_name(t) == NULL);
    CHECK_ERR(coop_join(0, NULL), -ESRCH);
    CHECK_ERR(coop_join(0xdeadbeef00000007ull, NULL), -ESRCH);
    return 0;
}
TEST(task_join_twice_is_esrch) { CHECK_EQ(test_run(twice_body, NULL), 0); }

static coop_task_id target;
static int second_joiner(void *arg) {
    (void)arg;
    return coop_join(target, NULL);
}
static int sleeper(void *arg) {
    (void)arg;
    return coop_sleep(COOP_MS(10));
}
static int busy_body(void *arg) {
    (void)arg;
    coop_task_id j;
    CHECK_OK(coop_spawn(&target, "sleeper", sleeper, NULL));
    CHECK_OK(coop_spawn(&j, "joiner2", second_joiner, NULL));
    CHECK_OK(coop_yield()); /* joiner2 starts waiting */
    CHECK_ERR(coop_join(target, NULL), -EBUSY);
    int r;
    CHECK_OK(coop_join(j, &r));
    CHECK_EQ(r, 0);
    return 0;
}
TEST(task_join_concurrent_is_ebusy) { CHECK_EQ(test_run(busy_body, NULL), 0); }

static int detach_body(void *arg) {
    (void)arg;
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "sleeper", sleeper, NULL));
    CHECK_OK(coop_detach(t));
    CHECK_ERR(coop_join(t, NULL), -ESRCH);
    CHECK_EQ(coop_task_state(t), COOP_TASK_READY); /* still queryable while alive */
    return 0;
}
TEST(task_detached_runs_to_end_and_loop_waits_for_it) { CHECK_EQ(test_run(detach_body, NULL), 0); }

static int names_body(void *arg) {
    (void)arg;
    coop_task_id t;
    CHECK_STR(coop_task_name(coop_self()), "main");
    CHECK_EQ(coop_task_state(coop_self()), COOP_TASK_RUNNING);
    CHECK_OK(coop_spawn(&t, "a-very-long-task-name-that-is-truncated", sleeper, NULL));
    CHECK_STR(coop_task_name(t), "a-very-long-task-name-that-is-t");
    CHECK_EQ(coop_task_state(t), COOP_TASK_READY);
    CHECK_EQ(coop_task_count(), 2);
    CHECK_OK(coop_yield());
    CHECK_EQ(coop_task_state(t), COOP_TASK_PARKED);
    CHECK_OK(coop_join(t, NULL));
    CHECK_EQ(coop_task_count(), 1);
    return 0;
}
TEST(task_names_and_states) { CHECK_EQ(test_run(names_body, NULL), 0); }

TEST(task_calls_outside_loop_are_eperm) {
    CHECK_ERR(coop_yield(), -EPERM);
    CHECK_ERR(coop_sleep(1), -EPERM);
    CHECK_ERR(coop_spawn(NULL, "x", add_one, NULL), -EPERM);
    CHECK_ERR(coop_join(1, NULL), -EPERM);
    CHECK(coop_self() == 0);
    CHECK_EQ(coop_task_count(), 0);
}

static int nested_run(void *arg) {
    (void)arg;
    CHECK_ERR(coop_run(main_returns, NULL), -EBUSY);
    CHECK_ERR(coop_spawn(NULL, "x", NULL, NULL), -EINVAL);
    return 0;
}
TEST(run_inside_a_loop_is_ebusy) { CHECK_EQ(test_run(nested_run, NULL), 0); }

static int spawner_count;
static int leaf(void *arg) {
    (void)arg;
    spawner_count++;
    return 0;
}
static int many_body(void *arg) {
    (void)arg;
    for (int i = 0; i < 10000; i++) CHECK_OK(coop_spawn(NULL, "leaf", leaf, NULL));
    return 0;
}
TEST(task_ten_thousand_detached) {
    spawner_count = 0;
    CHECK_EQ(test_run(many_body, NULL), 0);
    CHECK_EQ(spawner_count, 10000);
}

static int fail_alloc_body(void *arg) {
    (void)arg;
    /* Make the next allocation fail at every spawn: spawns succeed until
     * one needs memory (the id table grows), which must fail cleanly. */
    coop_task_id ids[200];
    int n = 0, r = 0;
    for (; n < 200; n++) {
        coop__alloc_fail_at(1);
        r = coop_spawn(&ids[n], "s", sleeper, NULL);
        coop__alloc_fail_at(0);
        if (r < 0) break;
    }
    CHECK_ERR(r, -ENOMEM);
    CHECK_EQ(coop_task_count(), (size_t)n + 1);
    for (int i = 0; i < n; i++) CHECK_OK(coop_join(ids[i], NULL));
    return 0;
}
TEST(task_spawn_reports_enomem_and_loses_nothing) { CHECK_EQ(test_run(fail_alloc_body, NULL), 0); }

#include "sched/loop.h"
static int pinger(void *arg) {
    (void)arg;
    for (int i = 0; i < 1000; i++) CHECK_OK(coop_yield());
    return 0;
}
static int no_syscall_body(void *arg) {
    (void)arg;
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "ping", pinger, NULL));
    uint64_t polls = coop__loop_get()->polls;
    pinger(NULL);
    CHECK_OK(coop_join(t, NULL));
    CHECK_EQ(coop__loop_get()->polls, polls); /* no fd waited on: no poll at all */
    return 0;
}
TEST(yield_makes_no_poll_syscall_without_fd_waits) { CHECK_EQ(test_run_real(no_syscall_body, NULL), 0); }

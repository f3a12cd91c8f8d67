/* Work posted from other threads (call_soon_threadsafe), holds, deadlock. */
#include <pthread.h>
#include <unistd.h>
#include "test.h"
#include "sched/park.h"
#include "util/list.h"

static coop_loop *target_loop;
static int received;
static void bump(void *arg) { received += (int)(intptr_t)arg; }

static void *poster(void *arg) {
    (void)arg;
    for (int i = 0; i < 1000; i++) CHECK_OK(coop_call_soon_threadsafe(target_loop, bump, (void *)1));
    return NULL;
}

typedef struct hold_job {
    coop__post p;
    coop__waiter w;
} hold_job;

static void job_done(coop__post *p) {
    hold_job *j = COOP_CONTAINER_OF(p, hold_job, p);
    coop__unpark(&j->w, 7);
}
static void *worker(void *arg) {
    hold_job *j = arg;
    usleep(20000);
    CHECK_OK(coop__loop_post(target_loop, &j->p));
    return NULL;
}
static int post_body(void *arg) {
    (void)arg;
    target_loop = coop_loop_current();
    CHECK(target_loop != NULL);
    pthread_t th[4];
    for (int i = 0; i < 4; i++) CHECK_OK(-pthread_create(&th[i], NULL, poster, NULL));
    while (received < 4000) CHECK_OK(coop_sleep(COOP_MS(1)));
    for (int i = 0; i < 4; i++) pthread_join(th[i], NULL);
    /* A task parked on work another thread will finish: the hold keeps the
     * loop from calling it a deadlock, and the post wakes it. */
    hold_job j = {.p = {.fn = job_done}, .w = {.on_cancel = NULL, .what = "test job"}};
    pthread_t w;
    coop__loop_hold(target_loop);
    CHECK_OK(-pthread_create(&w, NULL, worker, &j));
    CHECK_EQ(coop__park(&j.w), 7);
    coop__loop_release(target_loop);
    pthread_join(w, NULL);
    return 0;
}
TEST(posts_from_threads_all_arrive) {
    CHECK_EQ(test_run_real(post_body, NULL), 0);
    CHECK_EQ(received, 4000);
}
TEST(posts_from_threads_all_arrive_on_virtual_clock) {
    received = 0;
    CHECK_EQ(test_run(post_body, NULL), 0);
    CHECK_EQ(received, 4000);
}

TEST(post_with_null_loop_or_callback_is_einval) {
    CHECK_ERR(coop_call_soon_threadsafe(NULL, bump, NULL), -EINVAL);
}

static int stuck(void *arg) {
    (void)arg;
    coop__waiter w = {.on_cancel = NULL, .what = "a wait nobody ends"};
    return coop__park(&w);
}
static int deadlock_body(void *arg) {
    (void)arg;
    CHECK_OK(coop_spawn(NULL, "stuck-one", stuck, NULL));
    return stuck(NULL);
}
static void run_deadlock(void) { test_run(deadlock_body, NULL); }
static void run_deadlock_real(void) { test_run_real(deadlock_body, NULL); }
TEST(deadlock_is_reported_with_task_names) {
    test_expect_abort(run_deadlock, "task 'stuck-one' parked in a wait nobody ends");
    test_expect_abort(run_deadlock_real, "deadlock: all 2 task(s) are parked");
}

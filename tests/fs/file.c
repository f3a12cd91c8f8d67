/*
 * Single file calls on the "fs" pool: open/write/pread/fstat/fsync/close
 * round trip, errors, close-on-exec, the loop running while a call blocks
 * (a FIFO open with no writer), and the cancellation rule: a call still
 * queued is withdrawn with nothing done, a running call's result stands
 * (its buffer is filled before the call returns, never after), close always
 * runs. Pool waits hold the loop, so deadlines use the real clock.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test.h"

static char dir[64];

static void make_dir(void) {
    strcpy(dir, "/tmp/coop-fs-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
}

static void remove_dir(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ(system(cmd), 0);
}

static void path_in_dir(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "%s/%s", dir, name);
}

static int body_roundtrip(void *arg) {
    (void)arg;
    char path[128];
    path_in_dir(path, sizeof path, "a.txt");
    int fd = coop_fs_open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    CHECK_ERR(coop_fs_write(fd, "hello, ", 7), 7);
    CHECK_ERR(coop_fs_pwrite(fd, "world", 5, 7), 5);
    CHECK_ERR(coop_fs_fsync(fd), 0);
    struct stat st;
    CHECK_ERR(coop_fs_fstat(fd, &st), 0);
    CHECK_EQ(st.st_size, 12);
    char buf[32] = {0};
    CHECK_ERR(coop_fs_pread(fd, buf, sizeof buf, 0), 12);
    CHECK_STR(buf, "hello, world");
    memset(buf, 0, sizeof buf);
    CHECK_ERR(coop_fs_read(fd, buf, sizeof buf), 5); /* pwrite left the offset at 7 */
    CHECK_STR(buf, "world");
    CHECK_ERR(coop_fs_read(fd, buf, sizeof buf), 0);
    CHECK_ERR(coop_fs_close(fd), 0);
    CHECK_ERR(coop_fs_stat(path, &st), 0);
    char path2[128];
    path_in_dir(path2, sizeof path2, "b.txt");
    CHECK_ERR(coop_fs_rename(path, path2), 0);
    CHECK_ERR(coop_fs_stat(path, &st), -ENOENT);
    CHECK_ERR(coop_fs_unlink(path2), 0);
    coop_pools_shutdown();
    return 0;
}
TEST(fs_open_write_read_stat_close_round_trip) {
    make_dir();
    CHECK_ERR(test_run(body_roundtrip, NULL), 0);
    remove_dir();
}

static int body_errors(void *arg) {
    (void)arg;
    struct stat st;
    CHECK_ERR(coop_fs_open("/nonexistent/x", O_RDONLY, 0), -ENOENT);
    CHECK_ERR(coop_fs_stat("/nonexistent/x", &st), -ENOENT);
    CHECK_ERR(coop_fs_open("/", O_WRONLY, 0), -EISDIR);
    char buf[4];
    CHECK_ERR(coop_fs_read(12345, buf, sizeof buf), -EBADF);
    CHECK_ERR(coop_fs_close(12345), -EBADF);
    CHECK_ERR(coop_fs_open(NULL, O_RDONLY, 0), -EINVAL);
    CHECK_ERR(coop_fs_stat("/", NULL), -EINVAL);
    coop_pools_shutdown();
    return 0;
}
TEST(fs_errors_are_negative_errno) {
    CHECK_ERR(test_run(body_errors, NULL), 0);
    char buf[4];
    CHECK_ERR(coop_fs_read(0, buf, sizeof buf), -EPERM); /* not in a task */
}

/* ---- a call that blocks: opening or reading a FIFO --------------------- */

static char fifo[128];
static atomic_int writer_delay_ms;

static void *fifo_writer(void *arg) {
    (void)arg;
    usleep((useconds_t)atomic_load(&writer_delay_ms) * 1000);
    int fd = open(fifo, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = write(fd, "hello", 5);
        (void)n;
        close(fd);
    }
    return NULL;
}

static int ticks;
static int ticker(void *arg) {
    (void)arg;
    while (coop_sleep(COOP_MS(2)) == 0) ticks++;
    return 0;
}

static int body_blocking_open(void *arg) {
    (void)arg;
    coop_task_id t;
    CHECK_ERR(coop_spawn(&t, "ticker", ticker, NULL), 0);
    pthread_t th;
    atomic_store(&writer_delay_ms, 60);
    CHECK_EQ(pthread_create(&th, NULL, fifo_writer, NULL), 0);
    ticks = 0;
    int fd = coop_fs_open(fifo, O_RDONLY, 0); /* blocks a worker ~60 ms */
    CHECK(fd >= 0);
    CHECK(ticks >= 10); /* ...not the loop */
    char buf[8] = {0};
    CHECK_ERR(coop_fs_read(fd, buf, 5), 5);
    CHECK_STR(buf, "hello");
    CHECK_ERR(coop_fs_close(fd), 0);
    pthread_join(th, NULL);
    coop_cancel(t);
    CHECK_ERR(coop_join(t, NULL), 0);
    coop_pools_shutdown();
    return 0;
}
TEST(fs_blocking_call_blocks_a_worker_not_the_loop) {
    make_dir();
    path_in_dir(fifo, sizeof fifo, "fifo");
    CHECK_EQ(mkfifo(fifo, 0600), 0);
    CHECK_ERR(test_run_real(body_blocking_open, NULL), 0);
    remove_dir();
}

static int body_running_result_stands(void *arg) {
    (void)arg;
    /* O_RDWR on a FIFO opens at once; the read then blocks until the
     * writer thread writes, 60 ms later, after the 10 ms deadline. */
    int fd = coop_fs_open(fifo, O_RDWR, 0);
    CHECK(fd >= 0);
    pthread_t th;
    atomic_store(&writer_delay_ms, 60);
    CHECK_EQ(pthread_create(&th, NULL, fifo_writer, NULL), 0);
    char buf[8] = {0};
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(10)));
    CHECK_ERR(coop_fs_read(fd, buf, 5), 5); /* it ran: the result stands */
    CHECK_STR(buf, "hello");
    CHECK_ERR(coop_yield(), -ETIMEDOUT); /* the next checkpoint reports it */
    CHECK_ERR(coop_fs_close(fd), 0);     /* close always runs */
    CHECK_ERR(coop_scope_exit(&s), -ETIMEDOUT);
    pthread_join(th, NULL);
    coop_pools_shutdown();
    return 0;
}
TEST(fs_cancelled_running_call_waits_and_its_result_stands) {
    make_dir();
    path_in_dir(fifo, sizeof fifo, "fifo");
    CHECK_EQ(mkfifo(fifo, 0600), 0);
    CHECK_ERR(test_run_real(body_running_result_stands, NULL), 0);
    remove_dir();
}

static int blocked_reader(void *arg) {
    int fd = *(int *)arg;
    char c;
    return (int)coop_fs_read(fd, &c, 1);
}

static int body_withdrawn(void *arg) {
    (void)arg;
    CHECK_ERR(coop_pool_configure(coop_pool_builtin(COOP_POOL_FS), 1, 0), 0);
    int fd = coop_fs_open(fifo, O_RDWR, 0);
    CHECK(fd >= 0);
    coop_task_id t;
    CHECK_ERR(coop_spawn(&t, "reader", blocked_reader, &fd), 0); /* occupies the one worker */
    CHECK_ERR(coop_sleep(COOP_MS(10)), 0);
    char path[128];
    path_in_dir(path, sizeof path, "never");
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(10)));
    CHECK_ERR(coop_fs_open(path, O_CREAT | O_WRONLY, 0644), -ETIMEDOUT); /* withdrawn */
    coop_scope_exit(&s);
    CHECK_EQ(access(path, F_OK), -1); /* it never ran */
    CHECK_EQ(write(fd, "x", 1), 1);   /* free the worker */
    int r;
    CHECK_ERR(coop_join(t, &r), 0);
    CHECK_EQ(r, 1);
    CHECK_ERR(coop_fs_close(fd), 0);
    coop_pools_shutdown();
    return 0;
}
TEST(fs_cancelled_queued_call_is_withdrawn_with_nothing_done) {
    make_dir();
    path_in_dir(fifo, sizeof fifo, "fifo");
    CHECK_EQ(mkfifo(fifo, 0600), 0);
    CHECK_ERR(test_run_real(body_withdrawn, NULL), 0);
    remove_dir();
}

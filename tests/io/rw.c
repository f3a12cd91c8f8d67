/* coop_read/write/accept/connect: suspend on EAGAIN, cancel cleanly. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "test.h"

static int sv[2];

static int echo_peer(void *arg) {
    (void)arg;
    char buf[64];
    ssize_t n = coop_read(sv[1], buf, sizeof buf);
    CHECK(n > 0);
    CHECK_EQ(coop_write(sv[1], buf, (size_t)n), n);
    return 0;
}
static int rw_body(void *arg) {
    (void)arg;
    CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "echo", echo_peer, NULL));
    char buf[16] = {0};
    CHECK_EQ(coop_write(sv[0], "hello", 5), 5);
    CHECK_EQ(coop_read(sv[0], buf, sizeof buf), 5);
    CHECK_STR(buf, "hello");
    CHECK_OK(coop_join(t, NULL));
    CHECK_OK(coop_close(sv[0]));
    CHECK_OK(coop_close(sv[1]));
    return 0;
}
TEST(read_write_round_trip_between_tasks) { CHECK_EQ(test_run(rw_body, NULL), 0); }

static int cancel_read_body(void *arg) {
    (void)arg;
    CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
    char buf[8] = "unset";
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(10)));
    CHECK_ERR(coop_read(sv[0], buf, sizeof buf), -ETIMEDOUT);
    coop_scope_exit(&s);
    CHECK_STR(buf, "unset");
    /* Data sent afterwards is still there for the next read: nothing was consumed. */
    CHECK_EQ(write(sv[1], "abc", 3), 3);
    CHECK_EQ(coop_read(sv[0], buf, 3), 3);
    CHECK_OK(coop_close(sv[0]));
    CHECK_OK(coop_close(sv[1]));
    return 0;
}
TEST(read_cancelled_transfers_nothing) { CHECK_EQ(test_run(cancel_read_body, NULL), 0); }

static int pressure_body(void *arg) {
    (void)arg;
    CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
    static char big[1 << 20];
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(10)));
    ssize_t total = 0, n;
    while ((n = coop_write(sv[0], big, sizeof big)) > 0) total += n;
    CHECK_ERR(n, -ETIMEDOUT); /* the buffer filled up and nobody reads */
    coop_scope_exit(&s);
    CHECK(total > 0);
    CHECK_OK(coop_close(sv[0]));
    CHECK_OK(coop_close(sv[1]));
    return 0;
}
TEST(write_suspends_when_buffer_is_full) { CHECK_EQ(test_run(pressure_body, NULL), 0); }

static int epipe_body(void *arg) {
    (void)arg;
    CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
    CHECK_OK(coop_close(sv[1]));
    CHECK_ERR(coop_write(sv[0], "x", 1), -EPIPE); /* no SIGPIPE */
    char c;
    CHECK_EQ(coop_read(sv[0], &c, 1), 0);
    CHECK_OK(coop_close(sv[0]));
    return 0;
}
TEST(write_to_closed_peer_is_epipe_not_sigpipe) { CHECK_EQ(test_run(epipe_body, NULL), 0); }

static int listener;
static struct sockaddr_in addr;
static int server(void *arg) {
    (void)arg;
    int c = coop_accept(listener, NULL, NULL);
    CHECK(c >= 0);
    CHECK(fcntl(c, F_GETFL) & O_NONBLOCK);
    CHECK(fcntl(c, F_GETFD) & FD_CLOEXEC);
    char buf[4];
    CHECK_EQ(coop_read(c, buf, 4), 4);
    CHECK_EQ(coop_write(c, buf, 4), 4);
    CHECK_OK(coop_close(c));
    return 0;
}
static int tcp_body(void *arg) {
    (void)arg;
    listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    CHECK(listener >= 0);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    CHECK_OK(bind(listener, (struct sockaddr *)&addr, sizeof addr));
    CHECK_OK(listen(listener, 16));
    CHECK_OK(getsockname(listener, (struct sockaddr *)&addr, &len));
    coop_task_id s;
    CHECK_OK(coop_spawn(&s, "server", server, NULL));
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    CHECK_OK(coop_connect(fd, (struct sockaddr *)&addr, sizeof addr));
    CHECK_EQ(coop_write(fd, "ping", 4), 4);
    char buf[5] = {0};
    CHECK_EQ(coop_read(fd, buf, 4), 4);
    CHECK_STR(buf, "ping");
    CHECK_OK(coop_join(s, NULL));
    CHECK_OK(coop_close(fd));
    CHECK_OK(coop_close(listener));
    return 0;
}
TEST(accept_and_connect_over_loopback) { CHECK_EQ(test_run_real(tcp_body, NULL), 0); }

static int refused_body(void *arg) {
    (void)arg;
    /* Bind a port, close it: connecting there is refused. */
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    CHECK_OK(bind(s, (struct sockaddr *)&a, sizeof a));
    CHECK_OK(getsockname(s, (struct sockaddr *)&a, &len));
    close(s);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    CHECK_ERR(coop_connect(fd, (struct sockaddr *)&a, sizeof a), -ECONNREFUSED);
    CHECK_OK(coop_close(fd));
    return 0;
}
TEST(connect_refused_is_econnrefused) { CHECK_EQ(test_run_real(refused_body, NULL), 0); }

static long other_turns;
static int other_task(void *arg) {
    (void)arg;
    while (coop_yield() == 0) other_turns++;
    return 0;
}
static int busy_reader_body(void *arg) {
    (void)arg;
    /* Reads that never have to wait still pass checkpoints: the budget
     * makes the reader yield now and then, so others keep running. */
    CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv));
    static char chunk[4096];
    for (int i = 0; i < 16; i++) CHECK_EQ(write(sv[1], chunk, sizeof chunk), (ssize_t)sizeof chunk);
    coop_task_id o;
    CHECK_OK(coop_spawn(&o, "other", other_task, NULL));
    char c;
    for (int i = 0; i < 16 * 4096; i++) CHECK_EQ(coop_read(sv[0], &c, 1), 1);
    CHECK(other_turns >= 16 * 4096 / 128);
    CHECK_OK(coop_cancel(o));
    CHECK_OK(coop_join(o, NULL));
    CHECK_OK(coop_close(sv[0]));
    CHECK_OK(coop_close(sv[1]));
    return 0;
}
TEST(always_ready_io_still_lets_others_run) { CHECK_EQ(test_run(busy_reader_body, NULL), 0); }

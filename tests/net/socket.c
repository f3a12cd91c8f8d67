/*
 * socket.c — tests of src/net/socket.c and sockio.c: addresses, TCP over
 * IPv4 and IPv6, Unix stream and datagram sockets, UDP, exact reads, whole
 * writes, sendfile, resets without SIGPIPE, and cancellation/deadlines.
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test.h"

TEST(sockaddr_parse_takes_numeric_hosts_only) {
    coop_sockaddr a;
    char buf[64];
    CHECK_OK(coop_sockaddr_parse(&a, "127.0.0.1", 80));
    CHECK_EQ(coop_sockaddr_format(&a, buf, sizeof buf), 12);
    CHECK_STR(buf, "127.0.0.1:80");
    CHECK_OK(coop_sockaddr_parse(&a, "[::1]", 443));
    coop_sockaddr_format(&a, buf, sizeof buf);
    CHECK_STR(buf, "[::1]:443");
    CHECK_OK(coop_sockaddr_parse(&a, NULL, 0));
    coop_sockaddr_format(&a, buf, sizeof buf);
    CHECK_STR(buf, "0.0.0.0:0");
    CHECK_ERR(coop_sockaddr_parse(&a, "localhost", 80), -EINVAL);
    CHECK_ERR(coop_sockaddr_parse(&a, "127.0.0.1", 65536), -EINVAL);
    CHECK_ERR(coop_sockaddr_parse(&a, "[::1", 1), -EINVAL);
}

/* A listener plus the numbers a test body needs. */
typedef struct pair {
    int lfd;         /* listening socket */
    int port;        /* its port */
    const char *host; /* where it listens */
} pair;

static int echo_once(void *arg) {
    pair *p = arg;
    int fd = coop_sock_accept(p->lfd, NULL);
    if (fd < 0) return fd;
    char buf[64];
    ssize_t n = coop_sock_read(fd, buf, sizeof buf);
    if (n > 0) coop_sock_write_all(fd, buf, (size_t)n, NULL);
    coop_close(fd);
    return n < 0 ? (int)n : 0;
}

static int tcp_roundtrip_body(void *arg) {
    pair *p = arg;
    p->lfd = CHECK_OK(coop_tcp_listen(p->host, 0, NULL));
    p->port = CHECK_OK(coop_sock_port(p->lfd));
    CHECK(p->port > 0);
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "echo", echo_once, p));
    int fd = CHECK_OK(coop_tcp_connect(p->host, p->port));
    CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
    CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    CHECK_OK(coop_sock_write_all(fd, "ping", 4, NULL));
    char buf[8];
    size_t done = 99;
    CHECK_EQ(coop_sock_read_exact(fd, buf, 4, &done), 4);
    CHECK_EQ(done, 4);
    CHECK(memcmp(buf, "ping", 4) == 0);
    CHECK_EQ(coop_sock_read_exact(fd, buf, 4, &done), 0); /* the peer closed */
    CHECK_EQ(done, 0);
    int r;
    CHECK_OK(coop_join(t, &r));
    CHECK_EQ(r, 0);
    coop_close(fd);
    coop_close(p->lfd);
    return 0;
}

TEST(tcp_ipv4_connect_accept_roundtrip) {
    pair p = {.host = "127.0.0.1"};
    CHECK_EQ(test_run(tcp_roundtrip_body, &p), 0);
}

TEST(tcp_ipv6_connect_accept_roundtrip) {
    pair p = {.host = "::1"};
    CHECK_EQ(test_run(tcp_roundtrip_body, &p), 0);
}

static int refused_body(void *arg) {
    (void)arg;
    /* Find a port nobody listens on: bind one, close it. */
    int lfd = CHECK_OK(coop_tcp_listen("127.0.0.1", 0, NULL));
    int port = coop_sock_port(lfd);
    coop_close(lfd);
    CHECK_ERR(coop_tcp_connect("127.0.0.1", port), -ECONNREFUSED);
    CHECK_ERR(coop_tcp_connect("127.0.0.1", 70000), -EINVAL);
    return 0;
}

TEST(tcp_connect_refused_leaves_no_fd) { CHECK_EQ(test_run(refused_body, NULL), 0); }

static int localhost_body(void *arg) {
    pair *p = arg;
    /* Only IPv4 listens: "localhost" tries ::1 first, then 127.0.0.1. */
    p->lfd = CHECK_OK(coop_tcp_listen("127.0.0.1", 0, NULL));
    p->port = coop_sock_port(p->lfd);
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "echo", echo_once, p));
    int fd = CHECK_OK(coop_tcp_connect("localhost", p->port));
    CHECK_OK(coop_sock_write_all(fd, "x", 1, NULL));
    char c;
    CHECK_EQ(coop_sock_read(fd, &c, 1), 1);
    CHECK_OK(coop_join(t, NULL));
    coop_close(fd);
    coop_close(p->lfd);
    return 0;
}

TEST(tcp_connect_localhost_tries_each_address) {
    pair p = {0};
    CHECK_EQ(test_run(localhost_body, &p), 0);
}

/* A name for 127.0.0.1 other than "localhost" from /etc/hosts (resolved
 * from the file: no query leaves the machine), or NULL. */
static const char *hosts_name(char *buf, size_t size) {
    FILE *f = fopen("/etc/hosts", "r");
    if (!f) return NULL;
    char line[512];
    const char *found = NULL;
    while (!found && fgets(line, sizeof line, f)) {
        char ip[64], name[256];
        if (sscanf(line, "%63s %255s", ip, name) == 2 && strcmp(ip, "127.0.0.1") == 0 &&
            strcmp(name, "localhost") != 0 && strlen(name) < size) {
            strcpy(buf, name);
            found = buf;
        }
    }
    fclose(f);
    return found;
}

typedef struct named {
    pair p;           /* the listener */
    const char *name; /* the name to connect to */
} named;

static int resolver_body(void *arg) {
    named *n = arg;
    n->p.lfd = CHECK_OK(coop_tcp_listen("127.0.0.1", 0, NULL));
    n->p.port = coop_sock_port(n->p.lfd);
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "echo", echo_once, &n->p));
    int fd = CHECK_OK(coop_tcp_connect(n->name, n->p.port));
    CHECK_OK(coop_sock_write_all(fd, "r", 1, NULL));
    char c;
    CHECK_EQ(coop_sock_read(fd, &c, 1), 1);
    CHECK_OK(coop_join(t, NULL));
    coop_close(fd);
    coop_close(n->p.lfd);
    coop_pools_shutdown(); /* the resolver's pool threads end with the test */
    return 0;
}

TEST(tcp_connect_resolves_names_with_the_resolver) {
    char buf[256];
    named n = {.name = hosts_name(buf, sizeof buf)};
    if (!n.name) {
        printf("  (skipped: /etc/hosts has no second name for 127.0.0.1)\n");
        return;
    }
    CHECK_EQ(test_run(resolver_body, &n), 0);
}

static int unix_body(void *arg) {
    const char *path = arg;
    pair p;
    p.lfd = CHECK_OK(coop_unix_listen(path, 0));
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "echo", echo_once, &p));
    int fd = CHECK_OK(coop_unix_connect(path));
    CHECK_EQ(coop_sock_write(fd, "unix", 4), 4);
    char buf[8];
    CHECK_EQ(coop_sock_read_exact(fd, buf, 4, NULL), 4);
    CHECK(memcmp(buf, "unix", 4) == 0);
    CHECK_OK(coop_join(t, NULL));
    coop_close(fd);
    coop_close(p.lfd);
    return 0;
}

TEST(unix_stream_roundtrip_in_filesystem_and_abstract) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/coop-test-%d.sock", (int)getpid());
    CHECK_EQ(test_run(unix_body, path), 0);
    CHECK_EQ(test_run(unix_body, path), 0); /* a stale socket file is replaced */
    unlink(path);
    snprintf(path, sizeof path, "@coop-test-%d", (int)getpid());
    CHECK_EQ(test_run(unix_body, path), 0);
}

static int dgram_body(void *arg) {
    int unix_ = arg != NULL;
    char path[64];
    snprintf(path, sizeof path, "@coop-dgram-%d", (int)getpid());
    int a = CHECK_OK(unix_ ? coop_unix_dgram(path) : coop_udp_bind("127.0.0.1", 0));
    int b = CHECK_OK(unix_ ? coop_unix_dgram(NULL) : coop_udp_bind("127.0.0.1", 0));
    coop_sockaddr to;
    to.len = sizeof to.ss;
    CHECK(getsockname(a, (struct sockaddr *)&to.ss, &to.len) == 0);
    CHECK_EQ(coop_sock_sendto(b, "one", 3, &to), 3);
    CHECK_EQ(coop_sock_sendto(b, "two!", 4, &to), 4);
    char buf[16];
    coop_sockaddr from;
    CHECK_EQ(coop_sock_recvfrom(a, buf, sizeof buf, &from), 3);
    CHECK(memcmp(buf, "one", 3) == 0);
    CHECK_EQ(coop_sock_recvfrom(a, buf, 2, NULL), 2); /* truncated datagram */
    if (!unix_) { /* reply to the sender's address */
        CHECK_EQ(coop_sock_sendto(a, "back", 4, &from), 4);
        CHECK_EQ(coop_sock_recvfrom(b, buf, sizeof buf, NULL), 4);
    }
    coop_close(a);
    coop_close(b);
    return 0;
}

TEST(udp_sendto_recvfrom_roundtrip) { CHECK_EQ(test_run(dgram_body, NULL), 0); }
TEST(unix_dgram_sendto_recvfrom_roundtrip) { CHECK_EQ(test_run(dgram_body, "unix"), 0); }

/* A socketpair of nonblocking close-on-exec stream sockets. */
static void spair(int sv[2]) {
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
}

static int reset_body(void *arg) {
    (void)arg;
    int sv[2];
    spair(sv);
    coop_close(sv[1]);
    /* No SIGPIPE (the test would die of it): an error instead. */
    CHECK_ERR(coop_sock_write(sv[0], "x", 1), -EPIPE);
    size_t done = 7;
    CHECK_ERR(coop_sock_write_all(sv[0], "xy", 2, &done), -EPIPE);
    CHECK_EQ(done, 0);
    coop_close(sv[0]);
    return 0;
}

TEST(sock_write_to_closed_peer_is_epipe_not_sigpipe) {
    signal(SIGPIPE, SIG_DFL);
    CHECK_EQ(test_run(reset_body, NULL), 0);
}

static int deadline_body(void *arg) {
    (void)arg;
    int sv[2];
    spair(sv);
    coop_scope s;
    char buf[4];
    int64_t t0 = coop_now();
    coop_scope_enter(&s, coop_after(COOP_SEC(5)));
    CHECK_ERR(coop_sock_read(sv[0], buf, sizeof buf), -ETIMEDOUT);
    CHECK_ERR(coop_scope_exit(&s), -ETIMEDOUT);
    CHECK(coop_now() - t0 >= COOP_SEC(5));
    /* A cancelled read_exact reports how far it got. */
    CHECK_EQ(write(sv[1], "ab", 2), 2);
    size_t done = 0;
    coop_scope_enter(&s, coop_after(COOP_SEC(1)));
    CHECK_ERR(coop_sock_read_exact(sv[0], buf, 4, &done), -ETIMEDOUT);
    coop_scope_exit(&s);
    CHECK_EQ(done, 2);
    CHECK(memcmp(buf, "ab", 2) == 0);
    /* A cancelled scope fails the call even when data is ready. */
    CHECK_EQ(write(sv[1], "cd", 2), 2);
    coop_scope_enter(&s, COOP_NEVER);
    coop_scope_cancel(&s);
    CHECK_ERR(coop_sock_read(sv[0], buf, sizeof buf), -ECANCELED);
    coop_scope_exit(&s);
    CHECK_EQ(coop_sock_read(sv[0], buf, sizeof buf), 2); /* nothing was consumed */
    coop_close(sv[0]);
    coop_close(sv[1]);
    return 0;
}

TEST(sock_read_obeys_deadlines_and_cancel) { CHECK_EQ(test_run(deadline_body, NULL), 0); }

static int accept_cancel_body(void *arg) {
    (void)arg;
    int lfd = CHECK_OK(coop_tcp_listen("127.0.0.1", 0, NULL));
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(100)));
    CHECK_ERR(coop_sock_accept(lfd, NULL), -ETIMEDOUT);
    coop_scope_exit(&s);
    coop_close(lfd);
    return 0;
}

TEST(sock_accept_times_out) { CHECK_EQ(test_run(accept_cancel_body, NULL), 0); }

static int fill_reader(void *arg) {
    int fd = *(int *)arg;
    char buf[8192]; /* task stacks are 64 KiB (less under ASan) */
    size_t total = 0;
    for (;;) {
        ssize_t n = coop_sock_read(fd, buf, sizeof buf);
        if (n <= 0) break;
        total += (size_t)n;
    }
    return (int)total;
}

static int big_write_body(void *arg) {
    (void)arg;
    int sv[2];
    spair(sv);
    enum { SIZE = 4 << 20 };
    char *data = malloc(SIZE);
    memset(data, 'z', SIZE);
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "reader", fill_reader, &sv[1]));
    size_t done = 0;
    CHECK_OK(coop_sock_write_all(sv[0], data, SIZE, &done)); /* suspends many times */
    CHECK_EQ(done, SIZE);
    coop_sock_shutdown(sv[0], SHUT_WR);
    int total;
    CHECK_OK(coop_join(t, &total));
    CHECK_EQ(total, SIZE);
    free(data);
    coop_close(sv[0]);
    coop_close(sv[1]);
    return 0;
}

TEST(sock_write_all_writes_past_the_socket_buffer) { CHECK_EQ(test_run(big_write_body, NULL), 0); }

static int sendfile_body(void *arg) {
    (void)arg;
    char path[] = "/tmp/coop-sendfile-XXXXXX";
    int file = mkstemp(path);
    CHECK(file >= 0);
    unlink(path);
    enum { SIZE = 300000 };
    char *data = malloc(SIZE);
    for (int i = 0; i < SIZE; i++) data[i] = (char)(i % 253);
    CHECK_EQ(write(file, data, SIZE), SIZE);
    int sv[2];
    spair(sv);
    coop_task_id t;
    CHECK_OK(coop_spawn(&t, "reader", fill_reader, &sv[1]));
    off_t off = 1000;
    CHECK_EQ(coop_sock_sendfile(sv[0], file, &off, SIZE), SIZE - 1000); /* stops at EOF */
    CHECK_EQ(off, SIZE);
    coop_sock_shutdown(sv[0], SHUT_WR);
    int total;
    CHECK_OK(coop_join(t, &total));
    CHECK_EQ(total, SIZE - 1000);
    free(data);
    close(file);
    coop_close(sv[0]);
    coop_close(sv[1]);
    return 0;
}

TEST(sock_sendfile_sends_the_file_from_an_offset) { CHECK_EQ(test_run(sendfile_body, NULL), 0); }

static int listen_opts_body(void *arg) {
    (void)arg;
    coop_listen_opts o = {.backlog = 8, .reuseport = 1};
    int a = CHECK_OK(coop_tcp_listen("127.0.0.1", 0, &o));
    int port = coop_sock_port(a);
    int b = CHECK_OK(coop_tcp_listen("127.0.0.1", port, &o)); /* SO_REUSEPORT shares it */
    CHECK_ERR(coop_tcp_listen("127.0.0.1", port, NULL), -EADDRINUSE);
    CHECK_ERR(coop_tcp_listen("no-such-name", 0, NULL), -EINVAL);
    coop_close(a);
    coop_close(b);
    return 0;
}

TEST(tcp_listen_reuseport_shares_a_port) { CHECK_EQ(test_run(listen_opts_body, NULL), 0); }

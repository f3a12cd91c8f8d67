/*
 * http_example.c — examples/http_server driven by curl and by hand-made
 * clients: exact bytes of replies, keep-alive, pipelining, bodies, and bad
 * input (malformed, oversized, slow, reset, fd flood, a signal mid-request).
 * After each test the server must stop cleanly on SIGTERM (exit 0: under
 * the sanitizers this includes the leak check).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "child.h"

static const char hello_reply[] = "HTTP/1.1 200 OK\r\nServer: coop\r\nContent-Type: text/plain\r\n"
                                  "Content-Length: 14\r\n\r\nHello, World!\n";

static void url(char *buf, size_t size, const child *c, const char *path) {
    snprintf(buf, size, "http://127.0.0.1:%d%s", c->port, path);
}

TEST_TIMEOUT(http_example_get_reply_is_exact, 30) {
    child c;
    child_start(&c, "http_server", (const char *[]){"0", NULL});
    char u[128], out[4096];
    url(u, sizeof u, &c, "/");
    CHECK_EQ(run_cmd((const char *[]){"curl", "-s", "-i", u, NULL}, NULL, out, sizeof out, NULL, 0, 10), 0);
    CHECK_STR(out, hello_reply);
    CHECK_CLEAN_STOP(&c);
}

TEST_TIMEOUT(http_example_post_body_is_echoed, 30) {
    child c;
    child_start(&c, "http_server", (const char *[]){"0", NULL});
    char u[128], out[70000], body[65537];
    url(u, sizeof u, &c, "/echo");
    for (size_t i = 0; i < sizeof body - 1; i++) body[i] = (char)('a' + i % 26);
    body[sizeof body - 1] = '\0';
    CHECK_EQ(run_cmd((const char *[]){"curl", "-s", "--data-binary", "@-", u, NULL}, body, out,
                     sizeof out, NULL, 0, 10), 0);
    CHECK_STR(out, body);
    CHECK_CLEAN_STOP(&c);
}

TEST_TIMEOUT(http_example_keeps_connection_alive, 30) {
    child c;
    child_start(&c, "http_server", (const char *[]){"0", NULL});
    char u[128], out[4096];
    url(u, sizeof u, &c, "/");
    CHECK_EQ(run_cmd((const char *[]){"curl", "-s", "-w", "%{num_connects} ", "-o",
                                      "/dev/null", u, "-o", "/dev/null", u, "-o",
                                      "/dev/null", u, NULL},
                     NULL, out, sizeof out, NULL, 0, 10), 0);
    CHECK_STR(out, "1 0 0 "); /* three requests, one connection */
    CHECK_CLEAN_STOP(&c);
}

TEST_TIMEOUT(http_example_answers_pipelined_requests_in_order, 30) {
    child c;
    child_start(&c, "http_server", (const char *[]){"0", NULL});
    int fd = client_connect(c.port);
    client_send(fd, "GET /delay?ms=50 HTTP/1.1\r\nHost: x\r\n\r\n"
                    "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde"
                    "GET /missing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    char buf[4096];
    client_read_all(fd, buf, sizeof buf);
    close(fd);
    CHECK_STR(buf, "HTTP/1.1 200 OK\r\nServer: coop\r\nContent-Type: text/plain\r\n"
                   "Content-Length: 12\r\n\r\nslept 50 ms\n"
                   "HTTP/1.1 200 OK\r\nServer: coop\r\nContent-Type: application/octet-stream\r\n"
                   "Content-Length: 5\r\n\r\nabcde"
                   "HTTP/1.1 404 Not Found\r\nServer: coop\r\nContent-Type: text/plain\r\n"
                   "Content-Length: 10\r\nConnection: close\r\n\r\nnot found\n");
    CHECK_CLEAN_STOP(&c);
}

TEST_TIMEOUT(http_example_malformed_request_gets_400_and_close, 30) {
    child c;
    child_start(&c, "http_server", (const char *[]){"0", NULL});
    const char *bad[] = {"GARBAGE\r\n\r\n", "GET / HTTP/1.1\r\n\r\n" /* no Host */,
                         "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
                         "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
                         "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int fd = client_connect(c.port);
        client_send(fd, bad[i]);
        char buf[1024];
        client_read_all(fd, buf, sizeof buf); /* returns at EOF: the server closed */
        close(fd);
        CHECK_STR(buf, "HTTP/1.1 400 Bad Request\r\nServer: coop\r\nContent-Type: text/plain\r\n"
                       "Content-Length: 12\r\nConnection: close\r\n\r\nBad Request\n");
    }
    CHECK_CLEAN_STOP(&c);
}

TEST_TIMEOUT(http_example_oversized_headers_get_431_and_close, 30) {
    child c;
    child_start(&c, "http_server", (const char *[]){"0", NULL});
    static char big[40000];
    memcpy(big, "X-Big: ", 7);
    memset(big + 7, 'a', sizeof big - 8);
    char u[128], out[256], hdr[sizeof big + 1];
    snprintf(hdr, sizeof hdr, "%s", big);
    url(u, sizeof u, &c, "/");
    CHECK_EQ(run_cmd((const char *[]){"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H",
                                      hdr, u, NULL},
                     NULL, out, sizeof out, NULL, 0, 10), 0);
    CHECK_STR(out, "431");
    /* The server closed that connection and still serves others. */
    CHECK_EQ(run_cmd((const char *[]){"curl", "-s", u, NULL}, NULL, out, sizeof out, NULL, 0, 10), 0);
    CHECK_STR(out, "Hello, World!\n");
    CHECK_CLEAN_STOP(&c);
}

/* A client trickling one byte a second neither blocks others nor lives past
 * the server's timeout. */
TEST_TIMEOUT(http_example_slow_client_is_cut_off_and_blocks_nobody, 30) {
    child c;
    child_start(&c, "http_server", (const char *[]){"0", "--timeout-ms", "2500", NULL});
    int slow = client_connect(c.port);
    const char *req = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    double start = now_s();
    char u[128], out[256];
    url(u, sizeof u, &c, "/");
    int closed = 0;
    for (int i = 0; i < 5 && !closed; i++) {
        if (send(slow, req + i, 1, MSG_NOSIGNAL) != 1) closed = 1;
        /* Meanwhile a normal client is answered at once. */
        double t0 = now_s();
        CHECK_EQ(run_cmd((const char *[]){"curl", "-s", u, NULL}, NULL, out, sizeof out, NULL, 0, 5), 0);
        CHECK_STR(out, "Hello, World!\n");
        CHECK(now_s() - t0 < 1.0);
        struct pollfd pf = {slow, POLLIN, 0};
        if (poll(&pf, 1, 1000) == 1) {
            char b[16];
            closed = recv(slow, b, sizeof b, 0) <= 0;
        }
    }
    double took = now_s() - start;
    CHECK(closed);                     /* the server hung up on the trickle */
    CHECK(took > 2.0 && took < 4.9);   /* ... at its 2.5 s timeout */
    close(slow);
    CHECK_CLEAN_STOP(&c);
}

/* Clients that reset mid-request leak nothing in the server. */
TEST_TIMEOUT(http_example_survives_resets_without_leaking_fds, 30) {
    child c;
    child_start(&c, "http_server", (const char *[]){"0", NULL});
    char u[128], out[256];
    url(u, sizeof u, &c, "/");
    CHECK_EQ(run_cmd((const char *[]){"curl", "-s", u, NULL}, NULL, out, sizeof out, NULL, 0, 5), 0);
    usleep(100 * 1000);
    int fds_before = fd_count(c.pid);
    for (int i = 0; i < 50; i++) {
        int fd = client_connect(c.port);
        client_send(fd, i % 2 ? "GET / HTTP/1.1\r\nHo" : "POST /echo HTTP/1.1\r\nHost: x\r\n"
                                                         "Content-Length: 100000\r\n\r\npartial");
        struct linger lg = {1, 0}; /* close with RST */
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fd);
    }
    CHECK_EQ(run_cmd((const char *[]){"curl", "-s", u, NULL}, NULL, out, sizeof out, NULL, 0, 5), 0);
    CHECK_STR(out, "Hello, World!\n");
    int fds_after = -1;
    for (int i = 0; i < 500 && fds_after != fds_before; i++) { /* handlers finish (slowly under valgrind) */
        usleep(20 * 1000);
        fds_after = fd_count(c.pid);
    }
    CHECK_EQ(fds_after, fds_before);
    CHECK_CLEAN_STOP(&c);
}

/* More connections than the server has fds: it sheds the excess without
 * spinning, keeps the ones it holds, and serves again once they go. */
TEST_TIMEOUT(http_example_fd_flood_sheds_without_spinning, 30) {
    if (test_under_valgrind()) test_skip("valgrind reserves fds of its own and virtualises RLIMIT_NOFILE");
    child c;
    child_start_limited(&c, "http_server", (const char *[]){"0", NULL}, 32);
    enum { FLOOD = 80 };
    int fds[FLOOD];
    for (int i = 0; i < FLOOD; i++) fds[i] = client_connect(c.port);
    usleep(200 * 1000);
    double cpu0 = cpu_seconds(c.pid);
    usleep(1000 * 1000); /* the flood stands: a spinning accept loop burns this second */
    double cpu = cpu_seconds(c.pid) - cpu0;
    CHECK(cpu >= 0 && cpu < 0.2);
    int shed = 0; /* connections the server closed at once */
    for (int i = 0; i < FLOOD; i++) {
        struct pollfd pf = {fds[i], POLLIN, 0};
        if (poll(&pf, 1, 0) == 1) shed++;
        close(fds[i]);
    }
    CHECK(shed > 0);
    char u[128], out[256];
    url(u, sizeof u, &c, "/");
    int ok = 0;
    for (int i = 0; i < 50 && !ok; i++) { /* as held fds are freed, service resumes */
        ok = run_cmd((const char *[]){"curl", "-s", u, NULL}, NULL, out, sizeof out, NULL, 0, 5) == 0 &&
             strcmp(out, "Hello, World!\n") == 0;
        if (!ok) usleep(50 * 1000);
    }
    CHECK(ok);
    CHECK_CLEAN_STOP(&c);
}

/* SIGTERM during a request: the reply still goes out, then a clean exit. */
TEST_TIMEOUT(http_example_sigterm_lets_requests_finish, 30) {
    child c;
    child_start(&c, "http_server", (const char *[]){"0", NULL});
    int fd = client_connect(c.port);
    client_send(fd, "GET /delay?ms=400 HTTP/1.1\r\nHost: x\r\n\r\n");
    usleep(100 * 1000);
    kill(c.pid, SIGTERM);
    char buf[512];
    client_read_n(fd, buf, 96);
    close(fd);
    CHECK(strstr(buf, "slept 400 ms\n") != NULL);
    int st = wait_bounded(c.pid, 5);
    CHECK(st != -1 && WIFEXITED(st));
    CHECK_EQ(WEXITSTATUS(st), 0);
    close(c.out);
}

TEST_TIMEOUT(http_example_serves_ipv6, 30) {
    child c;
    child_start(&c, "http_server", (const char *[]){"0", "::1", NULL});
    char u[128], out[256];
    snprintf(u, sizeof u, "http://[::1]:%d/", c.port);
    CHECK_EQ(run_cmd((const char *[]){"curl", "-s", "-g", u, NULL}, NULL, out, sizeof out, NULL, 0, 10), 0);
    CHECK_STR(out, "Hello, World!\n");
    CHECK_CLEAN_STOP(&c);
}

/* examples/http_client: concurrency limit and total deadline. */
TEST_TIMEOUT(http_client_example_fetches_with_limit_and_deadline, 30) {
    child c;
    child_start(&c, "http_server", (const char *[]){"0", NULL});
    char client[4096], u1[128], u2[128], u3[128], u4[128], out[1024], expect[1024];
    example_path("http_client", client, sizeof client);
    url(u1, sizeof u1, &c, "/");
    url(u2, sizeof u2, &c, "/delay?ms=300");
    url(u3, sizeof u3, &c, "/delay?ms=300");
    url(u4, sizeof u4, &c, "/delay?ms=5000");
    double t0 = now_s();
    int rc = run_cmd((const char *[]){client, "-c", "3", "-t", "1000", u1, u2, u3, u4, NULL}, NULL,
                     out, sizeof out, NULL, 0, 10);
    double took = now_s() - t0;
    CHECK_EQ(rc, 1); /* one fetch missed the deadline */
    snprintf(expect, sizeof expect, "200 14 %s\n200 13 %s\n200 13 %s\nERROR ETIMEDOUT %s\n", u1, u2,
             u3, u4);
    CHECK_STR(out, expect);
    CHECK(took > 0.9 && took < 3.0); /* concurrent: 300 ms each in parallel, cut at 1 s */
    CHECK_CLEAN_STOP(&c);
}

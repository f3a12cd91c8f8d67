/*
 * resp_example.c — examples/resp_server driven by redis-cli and a short,
 * bounded redis-benchmark run, plus hand-made clients for the inline form,
 * pipelining and protocol errors; and examples/echo_server round trips.
 */
#include "child.h"

static int cli(const child *c, const char *const *args, char *out, size_t size) {
    char port[16];
    snprintf(port, sizeof port, "%d", c->port);
    const char *argv[16] = {"redis-cli", "-h", "127.0.0.1", "-p", port};
    int n = 5;
    for (int i = 0; args[i] && n < 15; i++) argv[n++] = args[i];
    argv[n] = NULL;
    return run_cmd(argv, NULL, out, size, NULL, 0, 10);
}

#define CLI_IS(c, expect, ...)                                                   \
    do {                                                                         \
        char out_[1024];                                                         \
        CHECK_EQ(cli(c, (const char *[]){__VA_ARGS__, NULL}, out_, sizeof out_), 0); \
        CHECK_STR(out_, expect);                                                 \
    } while (0)

TEST_TIMEOUT(resp_example_answers_redis_cli, 30) {
    child c;
    child_start(&c, "resp_server", (const char *[]){"0", NULL});
    CLI_IS(&c, "PONG\n", "ping");
    CLI_IS(&c, "hello world\n", "ping", "hello world");
    CLI_IS(&c, "a\r\nb\n", "echo", "a\r\nb");
    CLI_IS(&c, "\n", "get", "greeting"); /* nil prints as an empty line */
    CLI_IS(&c, "OK\n", "set", "greeting", "hello");
    CLI_IS(&c, "hello\n", "get", "greeting");
    CLI_IS(&c, "1\n", "incr", "counter");
    CLI_IS(&c, "2\n", "incr", "counter");
    /* redis-cli prints an error reply with an extra newline */
    CLI_IS(&c, "ERR value is not an integer or out of range\n\n", "incr", "greeting");
    CLI_IS(&c, "2\n", "exists", "greeting", "counter", "nothing");
    CLI_IS(&c, "2\n", "del", "greeting", "counter", "nothing");
    CLI_IS(&c, "0\n", "exists", "greeting");
    CLI_IS(&c, "ERR unknown command 'frobnicate', with args beginning with: 'x' \n\n", "frobnicate",
           "x");
    CLI_IS(&c, "ERR wrong number of arguments for 'get' command\n\n", "get");
    CHECK_CLEAN_STOP(&c);
}

TEST_TIMEOUT(resp_example_inline_and_pipelined_commands, 30) {
    child c;
    child_start(&c, "resp_server", (const char *[]){"0", NULL});
    int fd = client_connect(c.port);
    /* Inline and multibulk mixed, all in one write. */
    const char *req = "PING\r\nSET k 41\r\n*2\r\n$4\r\nINCR\r\n$1\r\nk\r\n"
                      "*2\r\n$3\r\nGET\r\n$1\r\nk\r\nECHO  spaced  \r\n*1\r\n$4\r\nQUIT\r\n";
    const char *want = "+PONG\r\n+OK\r\n:42\r\n$2\r\n42\r\n$6\r\nspaced\r\n+OK\r\n";
    client_send(fd, req);
    char buf[256];
    client_read_all(fd, buf, sizeof buf); /* QUIT closes */
    close(fd);
    CHECK_STR(buf, want);
    CHECK_CLEAN_STOP(&c);
}

TEST_TIMEOUT(resp_example_command_split_across_writes, 30) {
    child c;
    child_start(&c, "resp_server", (const char *[]){"0", NULL});
    int fd = client_connect(c.port);
    const char *req = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
    for (const char *p = req; *p; p++) {
        char one[2] = {*p, 0};
        client_send(fd, one);
        usleep(1000);
    }
    char buf[64];
    client_read_n(fd, buf, 5);
    close(fd);
    CHECK_STR(buf, "+OK\r\n");
    CLI_IS(&c, "value\n", "get", "key");
    CHECK_CLEAN_STOP(&c);
}

TEST_TIMEOUT(resp_example_protocol_error_closes, 30) {
    child c;
    child_start(&c, "resp_server", (const char *[]){"0", NULL});
    int fd = client_connect(c.port);
    client_send(fd, "*1\r\n$x\r\n");
    char buf[256];
    client_read_all(fd, buf, sizeof buf);
    close(fd);
    CHECK_STR(buf, "-ERR Protocol error: invalid bulk length\r\n");
    CLI_IS(&c, "PONG\n", "ping"); /* the server is still up */
    CHECK_CLEAN_STOP(&c);
}

static void benchmark(const child *c, const char *pipeline) {
    char port[16], out[8192];
    snprintf(port, sizeof port, "%d", c->port);
    int rc = run_cmd((const char *[]){"redis-benchmark", "-h", "127.0.0.1", "-p", port, "-t",
                                      "ping,set,get", "-n", "2000", "-c", "10", "-P", pipeline,
                                      "-q", NULL},
                     NULL, out, sizeof out, NULL, 0, 60);
    CHECK_EQ(rc, 0);
    const char *tests[] = {"PING_INLINE: ", "PING_MBULK: ", "SET: ", "GET: "};
    for (int i = 0; i < 4; i++) {
        const char *line = strstr(out, tests[i]);
        if (!line) test__fail(__FILE__, __LINE__, "no result for %s in:\n%s", tests[i], out);
        /* -q prints the final line after the progress lines (\r-separated) */
        CHECK(strstr(line, "requests per second") != NULL);
    }
}

TEST_TIMEOUT(resp_example_survives_redis_benchmark, 60) {
    child c;
    child_start(&c, "resp_server", (const char *[]){"0", NULL});
    benchmark(&c, "1");
    benchmark(&c, "16");
    CLI_IS(&c, "PONG\n", "ping");
    CHECK_CLEAN_STOP(&c);
}

TEST_TIMEOUT(echo_example_round_trips_a_megabyte, 30) {
    child c;
    child_start(&c, "echo_server", (const char *[]){"0", NULL});
    int fd = client_connect(c.port);
    enum { SIZE = 1 << 20 };
    char *out = malloc(SIZE), *in = malloc(SIZE + 1);
    for (int i = 0; i < SIZE; i++) out[i] = (char)(i * 7 + i / 251);
    /* Write and read interleaved, so neither side's buffers fill up. */
    size_t sent = 0, got = 0;
    while (got < SIZE) {
        struct pollfd pf = {fd, POLLIN | (sent < SIZE ? POLLOUT : 0), 0};
        CHECK(poll(&pf, 1, 5000) == 1);
        if ((pf.revents & POLLOUT) && sent < SIZE) {
            ssize_t n = send(fd, out + sent, SIZE - sent > 65536 ? 65536 : SIZE - sent,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) sent += (size_t)n;
        }
        if (pf.revents & POLLIN) {
            ssize_t n = recv(fd, in + got, SIZE - got, MSG_DONTWAIT);
            CHECK(n > 0);
            got += (size_t)n;
        }
    }
    close(fd);
    CHECK(memcmp(in, out, SIZE) == 0);
    free(in);
    free(out);
    CHECK_CLEAN_STOP(&c);
}

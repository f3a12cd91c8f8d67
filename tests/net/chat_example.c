/*
 * chat_example.c — examples/chat_server with three real TCP clients: a line
 * reaches every other client (not the sender), joins and leaves are
 * announced, and an over-long line is refused without dropping its sender.
 */
#include "child.h"

/* Read one line (through "\n") byte by byte; NUL-terminates. */
static const char *read_line(int fd, char *buf, size_t size) {
    size_t len = 0;
    while (len < size - 1) {
        ssize_t n = recv(fd, buf + len, 1, 0);
        if (n <= 0) break;
        if (buf[len++] == '\n') break;
    }
    buf[len] = '\0';
    return buf;
}

/* Nothing more arrives on fd within 200 ms. */
static int quiet(int fd) {
    struct pollfd pf = {fd, POLLIN, 0};
    return poll(&pf, 1, 200) == 0;
}

TEST_TIMEOUT(chat_example_relays_lines_to_the_others, 30) {
    child c;
    child_start(&c, "chat_server", (const char *[]){"0", NULL});
    char line[2048];
    int a = client_connect(c.port);
    CHECK_STR(read_line(a, line, sizeof line), "* you are guest1\n");
    int b = client_connect(c.port);
    CHECK_STR(read_line(b, line, sizeof line), "* you are guest2\n");
    CHECK_STR(read_line(a, line, sizeof line), "* guest2 joined\n");
    int d = client_connect(c.port);
    CHECK_STR(read_line(d, line, sizeof line), "* you are guest3\n");
    CHECK_STR(read_line(a, line, sizeof line), "* guest3 joined\n");
    CHECK_STR(read_line(b, line, sizeof line), "* guest3 joined\n");

    client_send(a, "hello\nhow are you?\n");
    CHECK_STR(read_line(b, line, sizeof line), "guest1: hello\n");
    CHECK_STR(read_line(b, line, sizeof line), "guest1: how are you?\n");
    CHECK_STR(read_line(d, line, sizeof line), "guest1: hello\n");
    CHECK_STR(read_line(d, line, sizeof line), "guest1: how are you?\n");
    CHECK(quiet(a)); /* the sender does not get its own lines */

    client_send(b, "fine\n");
    CHECK_STR(read_line(a, line, sizeof line), "guest2: fine\n");
    CHECK_STR(read_line(d, line, sizeof line), "guest2: fine\n");

    close(d);
    CHECK_STR(read_line(a, line, sizeof line), "* guest3 left\n");
    CHECK_STR(read_line(b, line, sizeof line), "* guest3 left\n");
    close(a);
    close(b);
    CHECK_CLEAN_STOP(&c);
}

TEST_TIMEOUT(chat_example_refuses_an_overlong_line, 30) {
    child c;
    child_start(&c, "chat_server", (const char *[]){"0", NULL});
    char line[4096];
    int a = client_connect(c.port);
    read_line(a, line, sizeof line);
    int b = client_connect(c.port);
    read_line(b, line, sizeof line);
    read_line(a, line, sizeof line);
    static char big[3000];
    memset(big, 'x', sizeof big - 1);
    client_send(a, big); /* no newline within 1024 bytes */
    CHECK_STR(read_line(a, line, sizeof line), "* line too long (max 1024 bytes)\n");
    client_send(a, "\nshort\n"); /* a stays connected and can go on */
    CHECK_STR(read_line(b, line, sizeof line), "guest1: short\n");
    close(a);
    close(b);
    CHECK_CLEAN_STOP(&c);
}

/*
 * epoll_http.c — the baseline for bench/net.sh: a minimal hand-written
 * HTTP/1.1 keep-alive server on raw epoll, single-threaded, the way one
 * writes it without any library: level-triggered, one read per readiness
 * event, every complete request ("\r\n\r\n") in the buffer answered with
 * the same bytes as examples/http_server's GET /, one write per batch.
 * It does no header validation at all: it is the floor, not a server.
 *
 *   epoll_http PORT    (0: any free port, printed on stdout)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char reply[] = "HTTP/1.1 200 OK\r\nServer: coop\r\nContent-Type: text/plain\r\n"
                            "Content-Length: 14\r\n\r\nHello, World!\n";

typedef struct conn {
    int fd;          /* the socket */
    size_t len;      /* bytes in buf */
    char buf[8192];  /* unparsed input */
} conn;

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

static void drop(int ep, conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

static void on_readable(int ep, conn *c) {
    ssize_t n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
    if (n <= 0) return drop(ep, c);
    c->len += (size_t)n;
    char out[64 * 1024];
    size_t olen = 0, used = 0;
    const char *end;
    while ((end = memmem(c->buf + used, c->len - used, "\r\n\r\n", 4)) != NULL) {
        used = (size_t)(end - c->buf) + 4;
        if (olen + sizeof reply - 1 > sizeof out) break;
        memcpy(out + olen, reply, sizeof reply - 1);
        olen += sizeof reply - 1;
    }
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
    if (c->len == sizeof c->buf) return drop(ep, c); /* header too large */
    /* Replies are small and the client waits for them: a short write means
     * a misbehaving client, dropped (a real server would buffer). */
    if (olen && send(c->fd, out, olen, MSG_NOSIGNAL) != (ssize_t)olen) drop(ep, c);
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 0;
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, SOMAXCONN) < 0) {
        perror("listen");
        return 1;
    }
    getsockname(lfd, (struct sockaddr *)&a, &alen);
    printf("%d\n", ntohs(a.sin_port));
    fflush(stdout);
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    struct epoll_event evs[256];
    while (!stop) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (c) {
                on_readable(ep, c);
                continue;
            }
            int fd;
            while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                c = malloc(sizeof *c);
                c->fd = fd;
                c->len = 0;
                struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
            }
        }
    }
    return 0;
}

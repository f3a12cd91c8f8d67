/*
 * sockio.c — I/O on socket fds that suspends the task instead of the
 * thread: read, write, read exactly n, write all, sendfile, datagrams,
 * shutdown.
 *
 * The pattern of every call: a checkpoint first (a cancelled scope fails the
 * call before any byte moves, even when data is ready: cancellation is
 * level-triggered), then try the syscall, and only on EAGAIN wait for
 * readiness (coop__fd_wait in edge mode: the cached readiness is stale
 * right after EAGAIN, and skipping it saves a poll(2)) and try again. Sends always carry
 * MSG_NOSIGNAL. The loops over partial transfers report how far they got
 * through an out-parameter, because a failure or cancellation in the middle
 * of a record leaves the byte stream at a position the caller must know.
 */
#include <errno.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>
#include "net/net.h"

int coop__net_again(int fd, unsigned events) {
    int e = errno;
    if (e == EINTR) return 0;
    if (e != EAGAIN && e != EWOULDBLOCK) return -e;
    int w = coop__fd_wait(fd, events, 1);
    return w < 0 ? w : 0;
}

ssize_t coop__net_read_some(int fd, void *buf, size_t n) {
    for (;;) {
        ssize_t r = read(fd, buf, n);
        if (r >= 0) return r;
        int e = coop__net_again(fd, COOP_READABLE);
        if (e < 0) return e;
    }
}

ssize_t coop__net_send_once(int fd, const void *buf, size_t n, int *is_sock) {
    for (;;) {
        ssize_t r;
        if (*is_sock != 0) {
            r = send(fd, buf, n, MSG_NOSIGNAL);
            if (r < 0 && errno == ENOTSOCK) {
                *is_sock = 0;
                continue;
            }
            if (r >= 0) *is_sock = 1;
        } else {
            r = write(fd, buf, n); /* a pipe: SIGPIPE is the caller's to ignore */
        }
        if (r >= 0) return r;
        int e = errno;
        if (e == EINTR) continue;
        return e == EWOULDBLOCK ? -EAGAIN : -e;
    }
}

ssize_t coop__net_write_some(int fd, const void *buf, size_t n, int *is_sock) {
    for (;;) {
        ssize_t r = coop__net_send_once(fd, buf, n, is_sock);
        if (r != -EAGAIN) return r;
        int w = coop__fd_wait(fd, COOP_WRITABLE, 1);
        if (w < 0) return w;
    }
}

ssize_t coop_sock_read(int fd, void *buf, size_t n) {
    int c = coop__checkpoint();
    if (c < 0) return c;
    return coop__net_read_some(fd, buf, n);
}

ssize_t coop_sock_write(int fd, const void *buf, size_t n) {
    int c = coop__checkpoint();
    if (c < 0) return c;
    int is_sock = -1;
    return coop__net_write_some(fd, buf, n, &is_sock);
}

ssize_t coop_sock_read_exact(int fd, void *buf, size_t n, size_t *done) {
    size_t got = 0;
    ssize_t r = 0;
    while (got < n) {
        r = coop__checkpoint();
        if (r < 0) break;
        r = coop__net_read_some(fd, (char *)buf + got, n - got);
        if (r <= 0) break;
        got += (size_t)r;
    }
    if (done) *done = got;
    if (r < 0) return r;
    return (ssize_t)got; /* n, or short at end of file */
}

int coop_sock_write_all(int fd, const void *buf, size_t n, size_t *done) {
    size_t put = 0;
    ssize_t r = 0;
    int is_sock = -1;
    while (put < n) {
        r = coop__checkpoint();
        if (r < 0) break;
        r = coop__net_write_some(fd, (const char *)buf + put, n - put, &is_sock);
        if (r < 0) break;
        put += (size_t)r;
    }
    if (done) *done = put;
    return r < 0 ? (int)r : 0;
}

ssize_t coop_sock_sendfile(int sock, int file, off_t *offset, size_t count) {
    size_t sent = 0;
    int err = 0;
    while (sent < count) {
        err = coop__checkpoint();
        if (err < 0) break;
        ssize_t r = sendfile(sock, file, offset, count - sent);
        if (r > 0) {
            sent += (size_t)r;
            continue;
        }
        if (r == 0) break; /* end of the file */
        err = -errno;
        if (err == -EINTR) continue;
        if (err != -EAGAIN) break;
        err = coop__fd_wait(sock, COOP_WRITABLE, 1);
        if (err < 0) break;
        err = 0;
    }
    if (sent > 0 || err == 0) return (ssize_t)sent;
    return err;
}

ssize_t coop_sock_sendto(int fd, const void *buf, size_t n, const coop_sockaddr *to) {
    int c = coop__checkpoint();
    if (c < 0) return c;
    for (;;) {
        ssize_t r = sendto(fd, buf, n, MSG_NOSIGNAL, to ? (const struct sockaddr *)&to->ss : NULL,
                           to ? to->len : 0);
        if (r >= 0) return r;
        int e = coop__net_again(fd, COOP_WRITABLE);
        if (e < 0) return e;
    }
}

ssize_t coop_sock_recvfrom(int fd, void *buf, size_t n, coop_sockaddr *from) {
    int c = coop__checkpoint();
    if (c < 0) return c;
    for (;;) {
        coop_sockaddr tmp;
        coop_sockaddr *f = from ? from : &tmp;
        f->len = sizeof f->ss;
        ssize_t r = recvfrom(fd, buf, n, 0, (struct sockaddr *)&f->ss, &f->len);
        if (r >= 0) return r;
        int e = coop__net_again(fd, COOP_READABLE);
        if (e < 0) return e;
    }
}

int coop_sock_shutdown(int fd, int how) { return shutdown(fd, how) < 0 ? -errno : 0; }

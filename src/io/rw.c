/*
 * rw.c — read, write, accept and connect that suspend the task instead of
 * the thread. Each is a checkpoint first (cancellation is delivered before
 * anything happens, so a cancelled call transferred nothing), then tries
 * the operation, and waits for a new readiness edge only after EAGAIN.
 */
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>
#include "io/backend.h"
#include "coop.h"

ssize_t coop_read(int fd, void *buf, size_t n) {
    int r = coop__checkpoint();
    if (r < 0) return r;
    for (;;) {
        ssize_t k = read(fd, buf, n);
        if (k >= 0) return k;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -errno;
        r = coop__fd_wait(fd, COOP_READABLE, 1);
        if (r < 0) return r;
    }
}

ssize_t coop_write(int fd, const void *buf, size_t n) {
    int r = coop__checkpoint();
    if (r < 0) return r;
    int sock = 1;
    for (;;) {
        /* send(MSG_NOSIGNAL) on sockets: a reset peer is -EPIPE, not SIGPIPE. */
        ssize_t k = sock ? send(fd, buf, n, MSG_NOSIGNAL) : write(fd, buf, n);
        if (k >= 0) return k;
        if (errno == ENOTSOCK && sock) {
            sock = 0;
            continue;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -errno;
        r = coop__fd_wait(fd, COOP_WRITABLE, 1);
        if (r < 0) return r;
    }
}

int coop_accept(int fd, struct sockaddr *addr, socklen_t *len) {
    int r = coop__checkpoint();
    if (r < 0) return r;
    for (;;) {
        int c = accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c >= 0) return c;
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -errno;
        r = coop__fd_wait(fd, COOP_READABLE, 1);
        if (r < 0) return r;
    }
}

int coop_connect(int fd, const struct sockaddr *addr, socklen_t len) {
    int r = coop__checkpoint();
    if (r < 0) return r;
    if (connect(fd, addr, len) == 0) return 0;
    /* EINTR: the connection goes on asynchronously, as with EINPROGRESS. */
    if (errno != EINPROGRESS && errno != EINTR) return -errno;
    r = coop__fd_wait(fd, COOP_WRITABLE, 1);
    if (r < 0) return r;
    int err = 0;
    socklen_t sl = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0) return -errno;
    return -err;
}

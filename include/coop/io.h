/*
 * coop/io.h — waiting for file descriptors, and the basic nonblocking calls
 * that suspend the calling task instead of the thread. Included by <coop.h>.
 *
 * The loop keeps per-fd state (registered once with the backend). An fd that
 * was waited on must be closed with coop_close, or released with coop_forget
 * before a plain close(): this is what guarantees that no stale event is
 * ever delivered when the number is reused. All calls here expect
 * O_NONBLOCK descriptors (coop_fd_nonblock sets it); sockets made by coop
 * are nonblocking and close-on-exec already.
 */
#ifndef COOP_IO_H
#define COOP_IO_H

#include <sys/types.h>
#include <sys/socket.h>
#include "sched.h"

#ifdef __cplusplus
extern "C" {
#endif

#define COOP_READABLE 1u
#define COOP_WRITABLE 2u

/* Wait until fd is readable and/or writable (events: COOP_READABLE |
 * COOP_WRITABLE). Returns the mask of ready events (> 0; error and hang-up
 * conditions report as both), or -EBADF (fd closed with coop_close while
 * waiting, or not a valid fd), -EINVAL (events 0, fd < 0), -ENOMEM,
 * -ECANCELED/-ETIMEDOUT, -EPERM. Several tasks may wait on one fd: all
 * waiters of an event wake when it fires. [checkpoint] [task] */
COOP_API int coop_fd_wait(int fd, unsigned events);

/* Set O_NONBLOCK on fd. Returns 0 or -errno. [any thread] */
COOP_API int coop_fd_nonblock(int fd);

/* Close fd: waiters on it wake with -EBADF, its state is dropped, then
 * close(2). Returns 0 or the -errno of close (the fd is released anyway).
 * Does not suspend. [loop] */
COOP_API int coop_close(int fd);

/* Drop the loop's state for fd without closing it (for an fd you will close
 * or hand over yourself). Waiters wake with -EBADF. [loop] */
COOP_API void coop_forget(int fd);

/* read(2)/write(2) that suspend until the fd is ready. Return the byte count
 * (0 = end of file for read; a write may be partial), or -errno
 * (-ECANCELED/-ETIMEDOUT with nothing transferred, -EBADF ...). Writes to
 * sockets use send(MSG_NOSIGNAL): a reset peer is -EPIPE, never SIGPIPE.
 * [checkpoint] [task] */
COOP_API ssize_t coop_read(int fd, void *buf, size_t n);
COOP_API ssize_t coop_write(int fd, const void *buf, size_t n);

/* accept4(2) returning a nonblocking, close-on-exec socket; suspends until a
 * connection arrives. addr/len may be NULL. Returns the new fd or -errno.
 * [checkpoint] [task] */
COOP_API int coop_accept(int fd, struct sockaddr *addr, socklen_t *len);

/* connect(2) on a nonblocking socket; suspends until the connection is
 * established or fails. Returns 0 or -errno (-ECONNREFUSED, -ETIMEDOUT ...).
 * If cancelled the socket is left half-connected: close it. [checkpoint]
 * [task] */
COOP_API int coop_connect(int fd, const struct sockaddr *addr, socklen_t len);

#ifdef __cplusplus
}
#endif
#endif

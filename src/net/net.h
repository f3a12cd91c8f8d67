/*
 * net.h — internals shared by the files of src/net: socket creation, name
 * connection, and the suspend-until-ready I/O step every call is built on.
 */
#ifndef COOP_NET_NET_H
#define COOP_NET_NET_H

#include <sys/types.h>
#include "coop.h"
#include "io/backend.h" /* coop__fd_wait: wait for a new edge after EAGAIN */
#include "io/backend.h" /* coop__fd_wait, coop__fd_drained */
#include "sched/park.h"
#include "util/alloc.h"

/* socket(2) with SOCK_NONBLOCK | SOCK_CLOEXEC; returns the fd or -errno. */
int coop__net_socket(int family, int type);

/* Connect to a host that is not a numeric address: "localhost" without the
 * resolver, other names through coop_dns_resolve, each address in turn
 * (resolve.c). */
int coop__net_connect_name(const char *host, int port);

/* A syscall on fd just failed (errno set): returns 0 to try it again
 * (EINTR; or EAGAIN and fd became ready for events), else the -errno to
 * report (the error itself, or the wait's cancellation). */
int coop__net_again(int fd, unsigned events);

/* One read(2) that suspends until fd is readable: the count, 0 at EOF or
 * -errno. No checkpoint of its own (callers put one first). */
ssize_t coop__net_read_some(int fd, void *buf, size_t n);

/* One send(MSG_NOSIGNAL) (write(2) when fd is not a socket) without
 * waiting: the count, -EAGAIN when it would block, or -errno. */
ssize_t coop__net_send_once(int fd, const void *buf, size_t n, int *is_sock);

/* One send(MSG_NOSIGNAL) (write(2) when fd is not a socket) that suspends
 * until fd is writable: the count (>= 1 when n >= 1) or -errno. *is_sock
 * caches whether fd is a socket: -1 unknown, 0 no, 1 yes. */
ssize_t coop__net_write_some(int fd, const void *buf, size_t n, int *is_sock);


/* A read just returned fewer bytes than asked: the socket's receive queue
 * is empty now. Drop the loop's cached "readable" edge for fd, so that the
 * next wait parks at once instead of poll(2)ing a stale edge, and the
 * caller may wait before reading (saving the read that would return
 * EAGAIN). Safe: any data that arrives from now on raises a new edge.
 * This reaches into the io layer's per-fd state (see the report to the
 * core: an io function "coop__fd_drained(fd, events)" would own it). */
static inline void coop__net_drained(int fd) { coop__fd_drained(fd, COOP_READABLE); }

#endif

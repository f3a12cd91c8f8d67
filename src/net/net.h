/*
 * net.h — internals shared by the files of src/net: socket creation, name
 * connection, and the suspend-until-ready I/O step every call is built on.
 */
#ifndef COOP_NET_NET_H
#define COOP_NET_NET_H

#include <sys/types.h>
#include "coop.h"
#include "sched/park.h"

/* socket(2) with SOCK_NONBLOCK | SOCK_CLOEXEC; returns the fd or -errno. */
int coop__net_socket(int family, int type);

/* Connect to a host that is not a numeric address: "localhost" without the
 * resolver, other names through it, each address in turn (resolve.c). */
int coop__net_connect_name(const char *host, int port);

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

#endif

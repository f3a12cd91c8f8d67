/*
 * socket.c — making sockets: numeric addresses, TCP listen/connect/accept,
 * Unix stream and datagram sockets, UDP.
 *
 * Every socket is created with SOCK_NONBLOCK | SOCK_CLOEXEC in the same
 * syscall (no window where a fork+exec elsewhere inherits it). Nothing here
 * resolves names except coop_tcp_connect, which hands names other than
 * "localhost" to the resolver (resolve.c). Connecting and accepting suspend
 * only after EAGAIN (coop__net_again); no fd is left open on any failure
 * path.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "net/net.h"

/* ---- addresses --------------------------------------------------------- */

int coop_sockaddr_parse(coop_sockaddr *out, const char *host, int port) {
    if (!out || port < 0 || port > 65535) return -EINVAL;
    memset(out, 0, sizeof *out);
    if (!host || !*host) host = "0.0.0.0";
    struct sockaddr_in *in4 = (struct sockaddr_in *)&out->ss;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        out->len = sizeof *in4;
        return 0;
    }
    /* IPv6, optionally in brackets as in URLs ("[::1]"). */
    char buf[INET6_ADDRSTRLEN + 2];
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        if (n - 2 >= sizeof buf) return -EINVAL;
        memcpy(buf, host + 1, n - 2);
        buf[n - 2] = '\0';
        host = buf;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&out->ss;
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        out->len = sizeof *in6;
        return 0;
    }
    return -EINVAL;
}

int coop_sockaddr_format(const coop_sockaddr *a, char *buf, size_t size) {
    char ip[INET6_ADDRSTRLEN];
    switch (a->ss.ss_family) {
    case AF_INET: {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)&a->ss;
        inet_ntop(AF_INET, &in4->sin_addr, ip, sizeof ip);
        return snprintf(buf, size, "%s:%u", ip, ntohs(in4->sin_port));
    }
    case AF_INET6: {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
        return snprintf(buf, size, "[%s]:%u", ip, ntohs(in6->sin6_port));
    }
    case AF_UNIX: {
        const struct sockaddr_un *un = (const struct sockaddr_un *)&a->ss;
        size_t plen = a->len > offsetof(struct sockaddr_un, sun_path)
                          ? a->len - offsetof(struct sockaddr_un, sun_path)
                          : 0;
        if (plen > 0 && un->sun_path[0] == '\0') /* abstract: shown with '@' */
            return snprintf(buf, size, "@%.*s", (int)plen - 1, un->sun_path + 1);
        return snprintf(buf, size, "%.*s", (int)strnlen(un->sun_path, plen), un->sun_path);
    }
    default:
        if (size) buf[0] = '\0';
        return -EAFNOSUPPORT;
    }
}

int coop_sock_port(int fd) {
    coop_sockaddr a;
    a.len = sizeof a.ss;
    if (getsockname(fd, (struct sockaddr *)&a.ss, &a.len) < 0) return -errno;
    if (a.ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&a.ss)->sin_port);
    if (a.ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&a.ss)->sin6_port);
    return -EAFNOSUPPORT;
}

/* Fill a Unix address for path ('@' = abstract namespace). */
static int unix_addr(coop_sockaddr *a, const char *path) {
    struct sockaddr_un *un = (struct sockaddr_un *)&a->ss;
    size_t n = path ? strlen(path) : 0;
    if (!path || n == 0) return -EINVAL;
    if (n >= sizeof un->sun_path) return -ENAMETOOLONG;
    memset(a, 0, sizeof *a);
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, n);
    if (path[0] == '@') {
        un->sun_path[0] = '\0';
        a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        a->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    return 0;
}

/* ---- making sockets ---------------------------------------------------- */

int coop__net_socket(int family, int type) {
    int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    return fd < 0 ? -errno : fd;
}

/* Close fd keeping errno-free -err as the result (failure paths). */
static int fail_close(int fd, int err) {
    close(fd); /* never waited on yet: no loop state to drop */
    return err;
}

int coop_tcp_listen(const char *host, int port, const coop_listen_opts *opts) {
    coop_sockaddr a;
    int r = coop_sockaddr_parse(&a, host, port);
    if (r < 0) return r;
    int fd = coop__net_socket(a.ss.ss_family, SOCK_STREAM);
    if (fd < 0) return fd;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        return fail_close(fd, -errno);
    if (opts && opts->reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
        return fail_close(fd, -errno);
    if (a.ss.ss_family == AF_INET6) {
        int v6only = opts && opts->v6only;
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only) < 0)
            return fail_close(fd, -errno);
    }
    if (bind(fd, (struct sockaddr *)&a.ss, a.len) < 0) return fail_close(fd, -errno);
    int backlog = opts && opts->backlog > 0 ? opts->backlog : SOMAXCONN;
    if (listen(fd, backlog) < 0) return fail_close(fd, -errno);
    return fd;
}

int coop_unix_listen(const char *path, int backlog) {
    coop_sockaddr a;
    int r = unix_addr(&a, path);
    if (r < 0) return r;
    int fd = coop__net_socket(AF_UNIX, SOCK_STREAM);
    if (fd < 0) return fd;
    struct stat st;
    /* A stale socket file from an earlier run would make bind fail; replace
     * it, but never remove anything that is not a socket. */
    if (path[0] != '@' && stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) unlink(path);
    if (bind(fd, (struct sockaddr *)&a.ss, a.len) < 0) return fail_close(fd, -errno);
    if (listen(fd, backlog > 0 ? backlog : SOMAXCONN) < 0) return fail_close(fd, -errno);
    return fd;
}

int coop_udp_bind(const char *host, int port) {
    coop_sockaddr a;
    int r = coop_sockaddr_parse(&a, host, port);
    if (r < 0) return r;
    int fd = coop__net_socket(a.ss.ss_family, SOCK_DGRAM);
    if (fd < 0) return fd;
    if (bind(fd, (struct sockaddr *)&a.ss, a.len) < 0) return fail_close(fd, -errno);
    return fd;
}

int coop_unix_dgram(const char *path) {
    coop_sockaddr a;
    if (path) {
        int r = unix_addr(&a, path);
        if (r < 0) return r;
    }
    int fd = coop__net_socket(AF_UNIX, SOCK_DGRAM);
    if (fd < 0 || !path) return fd;
    struct stat st;
    if (path[0] != '@' && stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) unlink(path);
    if (bind(fd, (struct sockaddr *)&a.ss, a.len) < 0) return fail_close(fd, -errno);
    return fd;
}

/* ---- connecting and accepting ------------------------------------------ */

int coop_sock_connect(const coop_sockaddr *a) {
    if (!a || a->len == 0) return -EINVAL;
    int c = coop__checkpoint();
    if (c < 0) return c;
    int fd = coop__net_socket(a->ss.ss_family, SOCK_STREAM);
    if (fd < 0) return fd;
    if (a->ss.ss_family == AF_INET || a->ss.ss_family == AF_INET6) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    int r = coop_connect(fd, (const struct sockaddr *)&a->ss, a->len);
    if (r < 0) {
        coop_close(fd);
        return r;
    }
    return fd;
}

int coop_unix_connect(const char *path) {
    coop_sockaddr a;
    int r = unix_addr(&a, path);
    if (r < 0) return r;
    return coop_sock_connect(&a);
}

int coop_tcp_connect(const char *host, int port) {
    coop_sockaddr a;
    if (port < 0 || port > 65535 || !host) return -EINVAL;
    if (coop_sockaddr_parse(&a, host, port) == 0) return coop_sock_connect(&a);
    return coop__net_connect_name(host, port);
}

int coop_sock_accept(int listen_fd, coop_sockaddr *peer) {
    int c = coop__checkpoint();
    if (c < 0) return c;
    for (;;) {
        coop_sockaddr tmp;
        coop_sockaddr *p = peer ? peer : &tmp;
        p->len = sizeof p->ss;
        int fd = accept4(listen_fd, (struct sockaddr *)&p->ss, &p->len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) return fd;
        int e = errno, r;
        /* Errors of the new connection itself (it died in the backlog):
         * Linux passes them through accept(2); they are not the listener's,
         * and each consumed its backlog entry, so retrying cannot spin. */
        if (e == EINTR || e == ECONNABORTED || e == EPROTO || e == ENETDOWN || e == ENOPROTOOPT ||
            e == EHOSTDOWN || e == ENONET || e == EHOSTUNREACH || e == ENETUNREACH)
            continue;
        if ((r = coop__net_again(listen_fd, COOP_READABLE)) < 0) return r;
    }
}

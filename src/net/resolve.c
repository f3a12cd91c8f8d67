/*
 * resolve.c — connecting to a host given by name: each address of the name
 * is tried in turn until one connects (the error of the last attempt is
 * returned), as asyncio's open_connection and trio's open_tcp_stream do
 * (without the happy-eyeballs race: attempts are sequential, so a deadline
 * on the caller's scope bounds the whole walk).
 *
 * "localhost" is answered here without the resolver (::1, then 127.0.0.1):
 * it is the name tests and examples use, and it must not cost a trip to
 * the resolver's thread pool. Other names go to coop_dns_resolve (dns.c,
 * getaddrinfo on the "dns" pool). Numeric addresses never reach this file.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "net/net.h"

/* Try addrs[0..n) in order; returns a connected fd or the last error.
 * Cancellation stops the walk at once (it is not a reason to try the next
 * address), and so does running out of memory or fds. */
static int connect_each(const coop_sockaddr *addrs, int n) {
    int err = -ENOENT;
    for (int i = 0; i < n; i++) {
        int fd = coop_sock_connect(&addrs[i]);
        if (fd >= 0) return fd;
        err = fd;
        if (err == -ECANCELED || err == -ENOMEM || err == -EPERM || err == -EMFILE ||
            err == -ENFILE)
            break;
        if (err == -ETIMEDOUT && coop__cancel_cause() != 0) break;
    }
    return err;
}

int coop__net_connect_name(const char *host, int port) {
    if (strcasecmp(host, "localhost") == 0) {
        coop_sockaddr a[2];
        coop_sockaddr_parse(&a[0], "::1", port);
        coop_sockaddr_parse(&a[1], "127.0.0.1", port);
        return connect_each(a, 2);
    }
    char service[8];
    snprintf(service, sizeof service, "%d", port);
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    coop_addr *list;
    int n = coop_dns_resolve(host, service, &hints, &list);
    if (n < 0) return n;
    /* Addresses in getaddrinfo's order (RFC 6724: preferred first). */
    coop_sockaddr stack_addrs[8];
    coop_sockaddr *addrs = n <= 8 ? stack_addrs : coop__malloc((size_t)n * sizeof *addrs);
    if (!addrs) {
        coop_dns_free(list);
        return -ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        memcpy(&addrs[i].ss, &list[i].addr, list[i].len);
        addrs[i].len = list[i].len;
    }
    coop_dns_free(list);
    int r = connect_each(addrs, n);
    if (addrs != stack_addrs) coop__free(addrs);
    return r;
}

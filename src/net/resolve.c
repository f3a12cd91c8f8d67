/*
 * resolve.c — connecting to a host given by name: each address of the name
 * is tried in turn until one connects (the error of the last attempt is
 * returned), as asyncio's open_connection and trio's open_tcp_stream do
 * (without the happy-eyeballs race: attempts are sequential).
 *
 * "localhost" is answered here without the resolver (::1, then 127.0.0.1):
 * it is the one name the tests and examples use, and it must not cost a
 * trip to the resolver's thread pool. Other names go to the DNS resolver
 * of include/coop/dns.h when it is built in; without it they fail with
 * -EAFNOSUPPORT (numeric addresses never reach this file).
 */
#include <errno.h>
#include <strings.h>
#include "net/net.h"

/* Try addrs[0..n) in order; returns a connected fd or the last error.
 * Cancellation stops the walk at once (it is not a reason to try the next
 * address). */
static int connect_each(const coop_sockaddr *addrs, int n) {
    int err = -ENOENT;
    for (int i = 0; i < n; i++) {
        int fd = coop_sock_connect(&addrs[i]);
        if (fd >= 0) return fd;
        err = fd;
        if (err == -ECANCELED || err == -ENOMEM || err == -EPERM) break;
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
    return -EAFNOSUPPORT;
}

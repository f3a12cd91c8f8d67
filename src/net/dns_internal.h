/*
 * dns_internal.h — the test seam of the resolver: the getaddrinfo that the
 * "dns" pool workers call. Tests point it at a slow or failing fake to
 * exercise deadlines, abandonment and error mapping without a network.
 */
#ifndef COOP_NET_DNS_INTERNAL_H
#define COOP_NET_DNS_INTERNAL_H

#include <netdb.h>

typedef int (*coop__getaddrinfo_fn)(const char *node, const char *service,
                                    const struct addrinfo *hints, struct addrinfo **res);

/* getaddrinfo by default. Set it only while no lookup runs. */
extern coop__getaddrinfo_fn coop__dns_getaddrinfo;

#endif

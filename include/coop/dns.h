/*
 * coop/dns.h — name resolution without blocking the loop: getaddrinfo(3)
 * runs on the "dns" thread pool while the calling task waits, bounded by
 * the caller's cancel scopes (a deadline is how you set a lookup timeout).
 *
 * An abandoned lookup (its wait cancelled, or its deadline passed) does not
 * hold the caller back: the call returns the cause at once, and the lookup
 * goes on in a background task of the loop ("dns") that frees its result
 * when getaddrinfo returns. getaddrinfo itself cannot be interrupted, so
 * the loop (coop_run) ends only once abandoned lookups have returned — at
 * most the resolver's own timeout (resolv.conf: timeout x attempts).
 *
 * getaddrinfo errors map to negative errno values:
 *   EAI_NONAME     -> -ENOENT       name (or service) does not exist
 *   EAI_NODATA,
 *   EAI_ADDRFAMILY -> -ENODATA      the name exists but has no address (of
 *                                   the requested family)
 *   EAI_AGAIN      -> -EAGAIN       temporary failure: try again later
 *   EAI_FAIL       -> -EIO          permanent failure of the name server
 *   EAI_SERVICE    -> -ESRCH        service unknown for this socket type
 *   EAI_FAMILY     -> -EAFNOSUPPORT address family not supported
 *   EAI_SOCKTYPE   -> -ESOCKTNOSUPPORT socket type not supported
 *   EAI_BADFLAGS   -> -EINVAL       bad hints
 *   EAI_MEMORY     -> -ENOMEM
 *   EAI_OVERFLOW   -> -EOVERFLOW
 *   EAI_SYSTEM     -> -errno of the failing system call
 *   anything else  -> -EIO
 */
#ifndef COOP_DNS_H
#define COOP_DNS_H

#include <netdb.h>
#include <sys/socket.h>
#include "sched.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One resolved address, ready for socket(2) + coop_connect. */
typedef struct coop_addr {
    struct sockaddr_storage addr; /* the address, port included */
    socklen_t len;                /* bytes of addr in use */
    int family;                   /* AF_INET or AF_INET6 (socket's domain) */
    int socktype;                 /* SOCK_STREAM, SOCK_DGRAM ... */
    int protocol;                 /* IPPROTO_TCP ... */
} coop_addr;

/* Resolve host and service ("80", "http", or NULL for port 0; host NULL
 * means the local/wildcard address as getaddrinfo defines it) with the
 * given hints (NULL: AF_UNSPEC, SOCK_STREAM, no flags — AI_ADDRCONFIG is
 * not implied, so "localhost" resolves on a machine with no network). On
 * success returns the number of addresses (> 0) and *out is an array of
 * them in getaddrinfo's order (preferred first), owned by the caller:
 * release it with coop_dns_free. Errors: the mapping above, -EINVAL (host
 * and service both NULL, out NULL, or a name longer than 1024 bytes),
 * -ENOMEM, -EAGAIN (no pool thread could be started), -ECANCELED /
 * -ETIMEDOUT (the lookup was abandoned, see above), -EPERM (not in a
 * task). [checkpoint] [task] */
COOP_API int coop_dns_resolve(const char *host, const char *service,
                              const struct addrinfo *hints, coop_addr **out);

/* Free an array returned by coop_dns_resolve (NULL is ignored). [any thread] */
COOP_API void coop_dns_free(coop_addr *list);

/* The gevent-style drop-in: getaddrinfo(3) with its own signature and
 * results (0 or an EAI_* code; *res freed with freeaddrinfo), except that
 * only the calling task waits. Cancellation (or a deadline) returns
 * EAI_SYSTEM with errno set to ECANCELED / ETIMEDOUT (set just before the
 * return: nothing suspends in between); not in a task: EAI_SYSTEM, EPERM.
 * [checkpoint] [task] */
COOP_API int coop_getaddrinfo(const char *node, const char *service,
                              const struct addrinfo *hints, struct addrinfo **res);

/* The -errno for a getaddrinfo error code (the table above); sys_errno is
 * the errno that accompanied EAI_SYSTEM. [any thread] */
COOP_API int coop_dns_error(int eai, int sys_errno);

#ifdef __cplusplus
}
#endif
#endif

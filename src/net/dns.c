/*
 * dns.c — getaddrinfo on the "dns" pool, abandonable by the caller.
 *
 * Each lookup is a heap job driven by a detached background task of the
 * caller's loop: the task runs getaddrinfo on a pool worker (coop_pool_call,
 * not cancelled: nobody cancels the background task) and then either hands
 * the result to the caller, who is parked on a waiter, or — if the caller
 * has gone (cancelled, deadline) — frees it. Caller and background task are
 * on the same loop thread, so "has the caller gone" is a plain pointer that
 * the caller's on_cancel clears: no lock, no race, and the caller never
 * waits for a lookup it abandoned.
 *
 * Why not COOP_OFFLOAD_DETACH: after a cancelled DETACH call the caller
 * cannot tell a job removed from the queue (its arg is the caller's to
 * free) from a detached one (the cleanup frees it), so ownership of the
 * job would be ambiguous. The background task keeps ownership simple.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include "coop.h"
#include "coop/dns.h"
#include "net/dns_internal.h"
#include "sched/park.h"
#include "util/alloc.h"

/* The lookup function; tests replace it to make lookups slow or failing. */
coop__getaddrinfo_fn coop__dns_getaddrinfo = getaddrinfo;

#define NAME_MAX_LEN 1024

typedef struct dns_job {
    const char *host;          /* copy of the caller's host (in this block), or NULL */
    const char *service;       /* copy of the service, or NULL */
    struct addrinfo hints;     /* copy of the hints */
    struct addrinfo *res;      /* getaddrinfo's result (libc-owned) */
    int gai;                   /* getaddrinfo's return code */
    int sys_errno;             /* errno after EAI_SYSTEM (worker thread) */
    int error;                 /* coop_pool_call failed (-EAGAIN ...) */
    coop__waiter *waiter;      /* the parked caller; NULL once it has gone */
} dns_job;

int coop_dns_error(int eai, int sys_errno) {
    switch (eai) {
    case 0: return 0;
    case EAI_NONAME: return -ENOENT;
#ifdef EAI_NODATA
    case EAI_NODATA: return -ENODATA;
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY: return -ENODATA;
#endif
    case EAI_AGAIN: return -EAGAIN;
    case EAI_FAIL: return -EIO;
    case EAI_SERVICE: return -ESRCH;
    case EAI_FAMILY: return -EAFNOSUPPORT;
    case EAI_SOCKTYPE: return -ESOCKTNOSUPPORT;
    case EAI_BADFLAGS: return -EINVAL;
    case EAI_MEMORY: return -ENOMEM;
    case EAI_OVERFLOW: return -EOVERFLOW;
    case EAI_SYSTEM: return sys_errno > 0 ? -sys_errno : -EIO;
    default: return -EIO;
    }
}

/* On a pool worker. */
static intptr_t lookup_on_worker(void *arg) {
    dns_job *j = arg;
    errno = 0;
    j->gai = coop__dns_getaddrinfo(j->host, j->service, &j->hints, &j->res);
    j->sys_errno = errno;
    return 0;
}

static void job_free(dns_job *j) {
    if (j->res) freeaddrinfo(j->res);
    coop__free(j);
}

/* The background task: run the lookup, deliver or discard the result. */
static int lookup_task(void *arg) {
    dns_job *j = arg;
    int r = coop_pool_call(coop_pool_builtin(COOP_POOL_DNS), lookup_on_worker, j, NULL, 0, NULL);
    if (r < 0) j->error = r;
    if (j->waiter)
        coop__unpark(j->waiter, 0);
    else
        job_free(j); /* abandoned: nobody wants the result */
    return 0;
}

/* The caller's park record, with the job it waits for. */
typedef struct dns_wait {
    coop__waiter w; /* parked on until the background task delivers */
    dns_job *job;   /* the lookup */
} dns_wait;

/* The caller's wait was cancelled: it leaves, the task cleans up. */
static void caller_gone(coop__waiter *w) {
    dns_wait *dw = (dns_wait *)((char *)w - offsetof(dns_wait, w));
    dw->job->waiter = NULL;
}

/* Run one lookup for the calling task (hints not NULL). On success returns 0 and *jobp is
 * the finished job (caller frees with job_free); else -errno. */
static int run_lookup(const char *host, const char *service, const struct addrinfo *hints,
                      dns_job **jobp) {
    if (!coop__task_current()) return -EPERM;
    if (!host && !service) return -EINVAL;
    size_t hl = host ? strnlen(host, NAME_MAX_LEN + 1) : 0;
    size_t sl = service ? strnlen(service, NAME_MAX_LEN + 1) : 0;
    if (hl > NAME_MAX_LEN || sl > NAME_MAX_LEN) return -EINVAL;
    int r = coop__checkpoint();
    if (r < 0) return r;
    dns_job *j = coop__calloc(1, sizeof *j + hl + 1 + sl + 1);
    if (!j) return -ENOMEM;
    char *names = (char *)(j + 1);
    if (host) j->host = memcpy(names, host, hl + 1);
    if (service) j->service = memcpy(names + hl + 1, service, sl + 1);
    j->hints.ai_flags = hints->ai_flags;
    j->hints.ai_family = hints->ai_family;
    j->hints.ai_socktype = hints->ai_socktype;
    j->hints.ai_protocol = hints->ai_protocol;
    r = coop_spawn(NULL, "dns", lookup_task, j);
    if (r < 0) {
        coop__free(j);
        return r;
    }
    dns_wait dw;
    memset(&dw, 0, sizeof dw);
    dw.job = j;
    dw.w.what = "coop_dns_resolve";
    dw.w.on_cancel = caller_gone;
    j->waiter = &dw.w;
    r = coop__park(&dw.w);
    if (r < 0) {
        /* Abandoned (also when the park returned before parking). */
        j->waiter = NULL;
        return r;
    }
    if (j->error) {
        r = j->error;
        job_free(j);
        return r;
    }
    *jobp = j;
    return 0;
}

int coop_dns_resolve(const char *host, const char *service, const struct addrinfo *hints,
                     coop_addr **out) {
    if (!out) return -EINVAL;
    *out = NULL;
    struct addrinfo stream_any = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    dns_job *j;
    int r = run_lookup(host, service, hints ? hints : &stream_any, &j);
    if (r < 0) return r;
    if (j->gai != 0) {
        r = coop_dns_error(j->gai, j->sys_errno);
        job_free(j);
        return r;
    }
    size_t n = 0;
    for (struct addrinfo *ai = j->res; ai; ai = ai->ai_next)
        if (ai->ai_addrlen <= sizeof(struct sockaddr_storage)) n++;
    coop_addr *list = n ? coop__calloc(n, sizeof *list) : NULL;
    if (!list) {
        job_free(j);
        return n ? -ENOMEM : -ENODATA;
    }
    size_t i = 0;
    for (struct addrinfo *ai = j->res; ai; ai = ai->ai_next) {
        if (ai->ai_addrlen > sizeof(struct sockaddr_storage)) continue;
        memcpy(&list[i].addr, ai->ai_addr, ai->ai_addrlen);
        list[i].len = ai->ai_addrlen;
        list[i].family = ai->ai_family;
        list[i].socktype = ai->ai_socktype;
        list[i].protocol = ai->ai_protocol;
        i++;
    }
    job_free(j);
    *out = list;
    return (int)n;
}

void coop_dns_free(coop_addr *list) { coop__free(list); }

int coop_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                     struct addrinfo **res) {
    /* getaddrinfo's own default for NULL hints. */
    struct addrinfo dflt = {.ai_family = AF_UNSPEC, .ai_flags = AI_V4MAPPED | AI_ADDRCONFIG};
    *res = NULL;
    dns_job *j;
    int r = run_lookup(node, service, hints ? hints : &dflt, &j);
    if (r < 0) {
        if (r == -EINVAL && !node && !service) return EAI_NONAME; /* as getaddrinfo */
        if (r == -ENOMEM) return EAI_MEMORY;
        if (r == -EAGAIN) return EAI_AGAIN;
        errno = -r;
        return EAI_SYSTEM;
    }
    int gai = j->gai;
    if (gai == EAI_SYSTEM) errno = j->sys_errno;
    *res = j->res; /* the caller frees it with freeaddrinfo */
    j->res = NULL;
    job_free(j);
    return gai;
}

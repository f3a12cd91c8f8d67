/*
 * DNS: localhost and numeric hosts resolve (no external network is used:
 * invalid names are ones glibc rejects without asking a server), errors
 * map to -errno, a deadline abandons a slow lookup at once while the lookup
 * finishes in the background and is freed, lookups run concurrently while
 * the loop keeps ticking, the getaddrinfo drop-in, allocation failures.
 * Lookups wait on a pool thread (the loop is held), so the virtual clock
 * does not advance: tests with deadlines use the real clock.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#include "coop/dns.h"
#include "net/dns_internal.h"
#include "test.h"
#include "util/alloc.h"

static int is_loopback(const coop_addr *a, int port) {
    if (a->family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&a->addr;
        return a->len == sizeof *in && ntohl(in->sin_addr.s_addr) == INADDR_LOOPBACK &&
               ntohs(in->sin_port) == port;
    }
    if (a->family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->addr;
        return a->len == sizeof *in6 && IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) &&
               ntohs(in6->sin6_port) == port;
    }
    return 0;
}

static int body_localhost(void *arg) {
    (void)arg;
    coop_addr *list;
    int n = coop_dns_resolve("localhost", "8080", NULL, &list);
    CHECK(n > 0);
    for (int i = 0; i < n; i++) {
        CHECK(is_loopback(&list[i], 8080));
        CHECK_EQ(list[i].socktype, SOCK_STREAM);
    }
    coop_dns_free(list);
    coop_pools_shutdown();
    return 0;
}
TEST(dns_resolves_localhost) { CHECK_ERR(test_run(body_localhost, NULL), 0); }

static int body_numeric(void *arg) {
    (void)arg;
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_DGRAM};
    coop_addr *list;
    CHECK_ERR(coop_dns_resolve("127.0.0.1", "53", &hints, &list), 1);
    CHECK(is_loopback(&list[0], 53));
    CHECK_EQ(list[0].socktype, SOCK_DGRAM);
    coop_dns_free(list);
    CHECK_ERR(coop_dns_resolve("::1", "9", &hints, &list), 1);
    CHECK_EQ(list[0].family, AF_INET6);
    CHECK(is_loopback(&list[0], 9));
    coop_dns_free(list);
    /* host NULL: the wildcard address (for bind) with AI_PASSIVE. */
    hints.ai_flags |= AI_PASSIVE;
    hints.ai_family = AF_INET;
    CHECK_ERR(coop_dns_resolve(NULL, "7000", &hints, &list), 1);
    CHECK_EQ(((struct sockaddr_in *)&list[0].addr)->sin_addr.s_addr, htonl(INADDR_ANY));
    coop_dns_free(list);
    coop_pools_shutdown();
    return 0;
}
TEST(dns_resolves_numeric_hosts_and_the_wildcard) { CHECK_ERR(test_run(body_numeric, NULL), 0); }

static int body_invalid(void *arg) {
    (void)arg;
    coop_addr *list = (coop_addr *)1;
    CHECK_ERR(coop_dns_resolve("bad..name", "80", NULL, &list), -ENOENT);
    CHECK(list == NULL);
    struct addrinfo numeric = {.ai_flags = AI_NUMERICHOST};
    CHECK_ERR(coop_dns_resolve("localhost", "80", &numeric, &list), -ENOENT);
    CHECK_ERR(coop_dns_resolve("localhost", "no-such-service-xyz", NULL, &list), -ESRCH);
    struct addrinfo bad_family = {.ai_family = 12345};
    CHECK_ERR(coop_dns_resolve("localhost", "80", &bad_family, &list), -EAFNOSUPPORT);
    CHECK_ERR(coop_dns_resolve(NULL, NULL, NULL, &list), -EINVAL);
    CHECK_ERR(coop_dns_resolve("localhost", "80", NULL, NULL), -EINVAL);
    char longname[1100];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK_ERR(coop_dns_resolve(longname, "80", NULL, &list), -EINVAL);
    coop_pools_shutdown();
    return 0;
}
TEST(dns_invalid_names_map_to_errno) { CHECK_ERR(test_run(body_invalid, NULL), 0); }

/* ---- the fake resolver ---------------------------------------------------- */

static atomic_int fake_code, fake_errno, fake_delay_ms, fake_finished;

static int fake_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                            struct addrinfo **res) {
    if (atomic_load(&fake_delay_ms)) usleep((useconds_t)atomic_load(&fake_delay_ms) * 1000);
    int r;
    if (atomic_load(&fake_code)) {
        errno = atomic_load(&fake_errno);
        r = atomic_load(&fake_code);
    } else {
        r = getaddrinfo(node, service, hints, res);
    }
    atomic_fetch_add(&fake_finished, 1);
    return r;
}

static int body_mapping(void *arg) {
    (void)arg;
    coop__dns_getaddrinfo = fake_getaddrinfo;
    static const struct {
        int eai, sys, expect;
    } table[] = {
        {EAI_AGAIN, 0, -EAGAIN},     {EAI_FAIL, 0, -EIO},         {EAI_MEMORY, 0, -ENOMEM},
        {EAI_SYSTEM, EMFILE, -EMFILE}, {EAI_NODATA, 0, -ENODATA}, {EAI_SOCKTYPE, 0, -ESOCKTNOSUPPORT},
        {EAI_BADFLAGS, 0, -EINVAL},  {EAI_OVERFLOW, 0, -EOVERFLOW}, {-12345, 0, -EIO},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        atomic_store(&fake_code, table[i].eai);
        atomic_store(&fake_errno, table[i].sys);
        coop_addr *list;
        CHECK_ERR(coop_dns_resolve("localhost", "80", NULL, &list), table[i].expect);
        CHECK_ERR(coop_dns_error(table[i].eai, table[i].sys), table[i].expect);
    }
    /* The drop-in passes the code through, with errno for EAI_SYSTEM. */
    atomic_store(&fake_code, EAI_SYSTEM);
    atomic_store(&fake_errno, EMFILE);
    struct addrinfo *res;
    CHECK_EQ(coop_getaddrinfo("localhost", "80", NULL, &res), EAI_SYSTEM);
    CHECK_EQ(errno, EMFILE);
    atomic_store(&fake_code, 0);
    coop__dns_getaddrinfo = getaddrinfo;
    coop_pools_shutdown();
    return 0;
}
TEST(dns_maps_every_getaddrinfo_error) { CHECK_ERR(test_run(body_mapping, NULL), 0); }

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int body_abandon(void *arg) {
    (void)arg;
    coop__dns_getaddrinfo = fake_getaddrinfo;
    atomic_store(&fake_delay_ms, 300);
    coop_scope s;
    coop_scope_enter(&s, coop_after(COOP_MS(20)));
    coop_addr *list = (coop_addr *)1;
    double t0 = now_ms();
    CHECK_ERR(coop_dns_resolve("localhost", "80", NULL, &list), -ETIMEDOUT);
    double waited = now_ms() - t0;
    coop_scope_exit(&s);
    CHECK(list == NULL);
    CHECK(waited < 200); /* did not wait for the 300 ms lookup */
    CHECK_EQ(atomic_load(&fake_finished), 0);
    /* The drop-in reports the abandonment through errno. */
    coop_scope_enter(&s, coop_after(COOP_MS(10)));
    struct addrinfo *res;
    CHECK_EQ(coop_getaddrinfo("localhost", "80", NULL, &res), EAI_SYSTEM);
    CHECK_EQ(errno, ETIMEDOUT);
    coop_scope_exit(&s);
    return 0; /* the loop ends once the abandoned lookups have returned */
}
TEST(dns_deadline_abandons_a_slow_lookup_which_is_freed_in_the_background) {
    CHECK_ERR(test_run_real(body_abandon, NULL), 0);
    CHECK_EQ(atomic_load(&fake_finished), 2); /* both lookups ran to the end */
    atomic_store(&fake_delay_ms, 0);
    coop__dns_getaddrinfo = getaddrinfo;
    coop_pools_shutdown();
}

static int ticks;
static int ticker(void *arg) {
    (void)arg;
    while (coop_sleep(COOP_MS(2)) == 0) ticks++;
    return 0;
}
static int one_lookup(void *arg) {
    (void)arg;
    coop_addr *list;
    int n = coop_dns_resolve("localhost", "443", NULL, &list);
    if (n < 0) return n;
    coop_dns_free(list);
    return 0;
}
static int body_concurrent(void *arg) {
    (void)arg;
    coop__dns_getaddrinfo = fake_getaddrinfo;
    atomic_store(&fake_delay_ms, 20);
    coop_task_id tick;
    CHECK_ERR(coop_spawn(&tick, "ticker", ticker, NULL), 0);
    double t0 = now_ms();
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    for (int i = 0; i < 16; i++) CHECK_ERR(coop_nursery_spawn(&n, NULL, "lookup", one_lookup, NULL), 0);
    CHECK_ERR(coop_nursery_close(&n), 0);
    double took = now_ms() - t0;
    /* 16 lookups of 20 ms on the 4 "dns" threads: about 80 ms, not 320. */
    CHECK(took < 250);
    CHECK(ticks > 5);
    coop_cancel(tick);
    CHECK_ERR(coop_join(tick, NULL), 0);
    atomic_store(&fake_delay_ms, 0);
    coop__dns_getaddrinfo = getaddrinfo;
    coop_pools_shutdown();
    return 0;
}
TEST(dns_lookups_run_concurrently_while_the_loop_ticks) {
    CHECK_ERR(test_run_real(body_concurrent, NULL), 0);
}

static int body_dropin(void *arg) {
    (void)arg;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    CHECK_EQ(coop_getaddrinfo("localhost", "80", &hints, &res), 0);
    CHECK(res != NULL);
    freeaddrinfo(res);
    CHECK_EQ(coop_getaddrinfo("bad..name", "80", &hints, &res), EAI_NONAME);
    CHECK(res == NULL);
    coop_pools_shutdown();
    return 0;
}
TEST(dns_getaddrinfo_dropin_behaves_like_getaddrinfo) { CHECK_ERR(test_run(body_dropin, NULL), 0); }

static int body_nomem(void *arg) {
    (void)arg;
    for (long k = 1; k <= 4; k++) {
        coop_addr *list = NULL;
        coop__alloc_fail_at(k);
        int r = coop_dns_resolve("127.0.0.1", "80", NULL, &list);
        coop__alloc_fail_at(0);
        if (r > 0) {
            coop_dns_free(list);
        } else {
            CHECK_ERR(r, -ENOMEM);
            CHECK(list == NULL);
        }
    }
    coop_pools_shutdown();
    return 0;
}
TEST(dns_fails_cleanly_when_allocations_fail) { CHECK_ERR(test_run(body_nomem, NULL), 0); }

TEST(dns_outside_a_task_is_eperm) {
    coop_addr *list;
    CHECK_ERR(coop_dns_resolve("localhost", "80", NULL, &list), -EPERM);
}

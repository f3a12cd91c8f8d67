/*
 * net.c — tour sections 60-61: networking.
 *   60 an HTTP server running as one task among others, fetched from
 *      concurrently by client tasks of the same loop (asyncio's
 *      start_server and open_connection in one program);
 *   61 a thousand concurrent connections, both ends in this process, and
 *      the thread count of the process does not move: a connection costs a
 *      task (a lazily committed stack) and an fd, not a thread.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "tour.h"

/* ---- 60: a server and its clients in one loop ------------------------- */

/* A task that runs a server until it is shut down. */
static int serve(void *srv) { return coop_server_serve(srv); }

static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n";

/* The per-connection handler: keep-alive requests, one reply each. The
 * whole HTTP example (examples/http_server.c) does the same with parsing
 * and error handling; here the shape is what matters. */
static int http_handler(int fd, void *arg) {
    int *served = arg;
    coop_stream *s;
    int r = coop_stream_new(&s, fd, NULL);
    if (r < 0) return r;
    const char *head;
    while ((r = (int)coop_stream_read_until(s, "\r\n\r\n", 4, &head)) > 0) {
        coop_stream_write(s, reply, sizeof reply - 1);
        (*served)++;
        if (coop_stream_buffered(s) == 0 && (r = coop_stream_flush(s)) < 0) break;
    }
    coop_stream_free(s);
    return r;
}

typedef struct http_demo {
    int port;            /* where the server listens */
    int served;          /* requests the server answered */
    int fetched;         /* replies the clients received */
    int clients_running; /* client tasks in progress now */
    int max_clients;     /* the most that were in progress at once */
} http_demo;

/* A client task: 10 requests over one keep-alive connection. */
static int client(void *arg) {
    http_demo *d = arg;
    d->clients_running++;
    if (d->clients_running > d->max_clients) d->max_clients = d->clients_running;
    int fd = coop_tcp_connect("127.0.0.1", d->port), r = fd < 0 ? fd : 0;
    coop_stream *s = NULL;
    if (r == 0) r = coop_stream_new(&s, fd, NULL);
    for (int i = 0; r == 0 && i < 10; i++) {
        const char *rec;
        coop_stream_printf(s, "GET /%d HTTP/1.1\r\nHost: tour\r\n\r\n", i);
        if ((r = coop_stream_flush(s)) < 0) break;
        ssize_t n = coop_stream_read_until(s, "hello\n", 6, &rec);
        if (n <= 0) r = n < 0 ? (int)n : -EPIPE;
        else d->fetched++;
    }
    coop_stream_free(s);
    if (fd >= 0) coop_close(fd);
    d->clients_running--;
    return r;
}

static int http_main(void *arg) {
    http_demo *d = arg;
    int lfd = coop_tcp_listen("127.0.0.1", 0, NULL);
    if (lfd < 0) return lfd;
    d->port = coop_sock_port(lfd);
    coop_server *srv;
    int r = coop_server_new(&srv, lfd, http_handler, &d->served, NULL);
    if (r < 0) return coop_close(lfd), r;
    tour_say("A server task listens on 127.0.0.1:%d; 50 client tasks of the same loop", d->port);
    tour_say("each send 10 keep-alive requests. Every read that would block suspends");
    tour_say("just that task; the loop runs whichever task's socket is ready.");
    coop_nursery n;
    coop_nursery_open(&n, coop_after(COOP_SEC(10)));
    coop_nursery_spawn(&n, NULL, "server", serve, srv);
    coop_nursery clients;
    coop_nursery_open(&clients, COOP_NEVER);
    for (int i = 0; i < 50; i++) coop_nursery_spawn(&clients, NULL, "client", client, d);
    r = coop_nursery_close(&clients);
    coop_server_stats st;
    coop_server_stats_get(srv, &st);
    coop_server_shutdown(srv, COOP_SEC(1)); /* stop accepting, let handlers end */
    int rn = coop_nursery_close(&n);
    coop_server_free(srv);
    coop_close(lfd);
    tour_show("%d replies fetched, %d requests served over %llu connections", d->fetched,
              d->served, (unsigned long long)st.accepted);
    tour_show("up to %d client tasks were mid-conversation at the same time", d->max_clients);
    tour_check(r == 0 && rn == 0, "every client and the server finished cleanly");
    tour_check(d->fetched == 500 && d->served == 500, "500 requests, 500 replies");
    tour_check(d->max_clients > 1, "the clients really ran concurrently");
    return 0;
}

TOUR_SECTION(tour_http, 60, "net-http", "An HTTP server and 50 clients as tasks of one loop") {
    http_demo d = {0};
    double t0 = tour_ms();
    int r = coop_run(http_main, &d);
    tour_show("took %.0f ms", tour_ms() - t0);
    return r;
}

/* ---- 61: a thousand connections, one thread ----------------------------- */

enum { CONNS = 1000 };

typedef struct crowd {
    int port;            /* the server's port */
    int connected;       /* client connections established */
    int held;            /* server handlers holding a connection */
    int threads_before;  /* Threads: of /proc/self/status before */
    int threads_during;  /* ... with every connection open */
    long rss_before_kb;  /* VmRSS before */
    long rss_during_kb;  /* ... with every connection open */
    coop_scope *release; /* cancelled when the crowd may go */
} crowd;

/* A line of /proc/self/status, as a number. */
static long status_field(const char *name) {
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t n = strlen(name);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, name, n) == 0 && line[n] == ':') v = atol(line + n + 1);
    fclose(f);
    return v;
}

/* Server side: hold the connection until the client hangs up. */
static int holder(int fd, void *arg) {
    crowd *c = arg;
    char b;
    c->held++;
    ssize_t r = coop_sock_read(fd, &b, 1); /* 0 when the client closes */
    c->held--;
    return r < 0 ? (int)r : 0;
}

/* Client side: connect, then wait (with the others) to be released. */
static int member(void *arg) {
    crowd *c = arg;
    int fd = coop_tcp_connect("127.0.0.1", c->port);
    if (fd < 0) return fd;
    c->connected++;
    coop_sleep(COOP_NEVER); /* until the nursery is cancelled */
    coop_close(fd);
    return 0;
}

static int crowd_main(void *arg) {
    crowd *c = arg;
    coop_listen_opts lo = {.backlog = 2048};
    int lfd = coop_tcp_listen("127.0.0.1", 0, &lo);
    if (lfd < 0) return lfd;
    c->port = coop_sock_port(lfd);
    coop_server *srv;
    coop_server_opts so = {.stack_size = 16 * 1024};
    int r = coop_server_new(&srv, lfd, holder, c, &so);
    if (r < 0) return coop_close(lfd), r;
    c->threads_before = (int)status_field("Threads");
    c->rss_before_kb = status_field("VmRSS");
    coop_nursery server;
    coop_nursery_open(&server, coop_after(COOP_SEC(20)));
    coop_nursery_spawn(&server, NULL, "server", serve, srv);
    coop_nursery members;
    coop_nursery_open(&members, coop_after(COOP_SEC(15)));
    coop_spawn_opts mo = {.name = "member", .stack_size = 16 * 1024};
    for (int i = 0; i < CONNS; i++) coop_nursery_spawn_with(&members, NULL, &mo, member, c);
    while (c->held < CONNS || c->connected < CONNS)
        if (coop_sleep(COOP_MS(5)) < 0) break;
    c->threads_during = (int)status_field("Threads");
    c->rss_during_kb = status_field("VmRSS");
    tour_show("%d client tasks connected, %d server tasks holding their connections", c->connected,
              c->held);
    coop_nursery_cancel(&members); /* everyone hangs up */
    coop_nursery_close(&members);
    while (c->held > 0 && coop_sleep(COOP_MS(5)) == 0) {}
    coop_server_shutdown(srv, COOP_SEC(1));
    coop_nursery_close(&server);
    coop_server_free(srv);
    coop_close(lfd);
    return 0;
}

TOUR_SECTION(tour_crowd, 61, "net-1000", "1,000 concurrent connections cost one thread") {
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < rl.rlim_max) { /* the soft limit is often 1024: raise it */
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    tour_say("Both ends of 1,000 TCP connections live in this process: 2,000 sockets,");
    tour_say("2,000 tasks. The fd limit is %llu.", (unsigned long long)rl.rlim_cur);
    if (rl.rlim_cur < 2100) {
        tour_say("That is below the 2,100 this needs, and the hard limit cannot be raised");
        tour_say("without privileges: skipping (run `ulimit -Hn 4096` first to see it).");
        return 0;
    }
    crowd c = {0};
    double t0 = tour_ms();
    int r = coop_run(crowd_main, &c);
    if (r < 0) return r;
    tour_show("threads in the process: %d before, %d with 2,000 tasks on 2,000 sockets",
              c.threads_before, c.threads_during);
    tour_show("resident memory grew by %ld KiB: about %ld bytes per connection (both ends)",
              c.rss_during_kb - c.rss_before_kb,
              (c.rss_during_kb - c.rss_before_kb) * 1024 / CONNS);
    tour_show("set up and torn down in %.0f ms", tour_ms() - t0);
    tour_check(c.connected == CONNS && c.threads_during <= c.threads_before,
               "1,000 connections, not one thread more");
    return 0;
}

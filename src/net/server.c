/*
 * server.c — asyncio.start_server / trio.serve_tcp: accept connections and
 * run one handler task per connection inside a nursery owned by
 * coop_server_serve, so no handler outlives the serve call.
 *
 * Shape of serve: nursery { accept scope { accept loop } ; grace scope
 * { wait until no handler runs } ; cancel the rest }. coop_server_shutdown
 * cancels the accept scope (stop accepting) and sets the grace deadline;
 * when it passes, the nursery is cancelled and every handler's checkpoints
 * fail with -ECANCELED. A handler's failure is counted, never propagated:
 * one bad connection must not take the server down (a nursery would cancel
 * the siblings of a failing child, so the connection task always returns 0).
 *
 * The fd limit: accept(2) failing with EMFILE leaves the connection in the
 * backlog, the listening fd stays readable, and a naive loop spins at 100%
 * CPU. We keep one spare fd; at EMFILE it is closed, the pending connection
 * accepted and closed at once (the client sees an orderly close rather than
 * a hang), and the spare reopened. If even that fails the loop sleeps 10 ms.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <sys/socket.h>
#include <unistd.h>
#include "net/net.h"
#include "util/alloc.h"
#include "util/misuse.h"

/* How long the accept loop pauses when the fd limit leaves it nothing to do
 * but retry (the spare could not be used). */
#define EMFILE_BACKOFF COOP_MS(10)

struct coop_server {
    int listen_fd;            /* the listening socket (not owned) */
    coop_conn_fn fn;          /* the handler */
    void *arg;                /* its argument */
    coop_server_opts opts;    /* options, defaults filled in */
    int spare_fd;             /* reserve fd for the EMFILE strategy, -1 if lost */
    int serving;              /* inside coop_server_serve */
    int stopping;             /* coop_server_shutdown was called */
    int64_t grace_deadline;   /* when the handlers get cancelled after shutdown */
    coop_scope *accept_scope; /* serve's accept scope while it runs, else NULL */
    coop_scope *grace_scope;  /* serve's grace scope while it waits, else NULL */
    coop__waiter *waiter;     /* serve parked for a handler to end, else NULL */
    coop_server_stats stats;  /* counters */
};

/* What a connection task is started with (one allocation per connection). */
typedef struct conn {
    coop_server *srv; /* its server */
    int fd;           /* the accepted socket, closed by the task */
} conn;

int coop_server_new(coop_server **out, int listen_fd, coop_conn_fn fn, void *arg,
                    const coop_server_opts *opts) {
    if (!out || !fn || listen_fd < 0) return -EINVAL;
    coop_server *srv = coop__calloc(1, sizeof *srv);
    if (!srv) return -ENOMEM;
    srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (srv->spare_fd < 0) {
        int e = -errno;
        coop__free(srv);
        return e;
    }
    srv->listen_fd = listen_fd;
    srv->fn = fn;
    srv->arg = arg;
    if (opts) srv->opts = *opts;
    srv->grace_deadline = COOP_NEVER;
    *out = srv;
    return 0;
}

void coop_server_free(coop_server *srv) {
    if (!srv) return;
    if (srv->serving) coop__misuse("coop_server_free: the server is still serving");
    if (srv->spare_fd >= 0) close(srv->spare_fd);
    coop__free(srv);
}

void coop_server_stats_get(const coop_server *srv, coop_server_stats *out) { *out = srv->stats; }

void coop_server_shutdown(coop_server *srv, int64_t grace_ns) {
    int64_t deadline = coop_after(grace_ns < 0 ? 0 : grace_ns);
    if (srv->stopping && deadline >= srv->grace_deadline) return;
    srv->stopping = 1;
    srv->grace_deadline = deadline;
    if (srv->accept_scope) coop_scope_cancel(srv->accept_scope);
    if (srv->grace_scope) coop_scope_set_deadline(srv->grace_scope, deadline);
}

/* Wake serve if it waits for a handler to end. */
static void wake_serve(coop_server *srv) {
    coop__waiter *w = srv->waiter;
    if (!w) return;
    srv->waiter = NULL;
    coop__unpark(w, 0);
}

static int conn_main(void *arg) {
    conn *c = arg;
    coop_server *srv = c->srv;
    int fd = c->fd;
    coop__free(c);
    coop_scope deadline;
    coop_scope_enter(&deadline,
                     srv->opts.conn_timeout > 0 ? coop_after(srv->opts.conn_timeout) : COOP_NEVER);
    int r = srv->fn(fd, srv->arg);
    coop_scope_exit(&deadline);
    coop_close(fd);
    if (r < 0) srv->stats.failed++;
    srv->stats.active--;
    wake_serve(srv);
    return 0;
}

/* The waiter serve parks on, with a way back to its server. */
typedef struct serve_wait {
    coop__waiter w;   /* the park record */
    coop_server *srv; /* whose `waiter` field points at w while parked */
} serve_wait;

static void serve_wait_cancel(coop__waiter *w) {
    serve_wait *sw = (serve_wait *)((char *)w - offsetof(serve_wait, w));
    if (sw->srv->waiter == w) sw->srv->waiter = NULL;
}

/* Park until a handler ends (or cancellation). */
static int wait_for_handler(coop_server *srv) {
    serve_wait sw = {.w = {.on_cancel = serve_wait_cancel, .what = "coop_server_serve"},
                     .srv = srv};
    srv->waiter = &sw.w;
    int r = coop__park(&sw.w);
    if (srv->waiter == &sw.w) srv->waiter = NULL; /* returned without parking */
    return r;
}

/* At the fd limit: shed one pending connection with the spare fd, or pause.
 * Returns 0 or the cancellation of the pause. */
static int shed_one(coop_server *srv) {
    if (srv->spare_fd >= 0) {
        close(srv->spare_fd);
        srv->spare_fd = -1;
        int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) {
            close(fd);
            srv->stats.shed++;
        }
        srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) return 0;
    }
    return coop_sleep(EMFILE_BACKOFF);
}

/* The accept loop: returns why it stopped (a cancellation or a listening
 * socket error). */
static int accept_loop(coop_server *srv, coop_nursery *n) {
    coop_spawn_opts so = {.name = "conn", .stack_size = srv->opts.stack_size};
    for (;;) {
        int r;
        while (srv->opts.max_conns && srv->stats.active >= srv->opts.max_conns)
            if ((r = wait_for_handler(srv)) < 0) return r;
        int fd = coop_sock_accept(srv->listen_fd, NULL);
        if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
            if ((r = shed_one(srv)) < 0) return r;
            continue;
        }
        if (fd < 0) return fd;
        if (srv->opts.nodelay) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        conn *c = coop__malloc(sizeof *c);
        if (c) {
            c->srv = srv;
            c->fd = fd;
            if (coop_nursery_spawn_with(n, NULL, &so, conn_main, c) == 0) {
                srv->stats.accepted++;
                srv->stats.active++;
                continue;
            }
            coop__free(c);
        }
        close(fd); /* no memory for the task: drop the connection */
        srv->stats.failed++;
        if ((r = coop_sleep(EMFILE_BACKOFF)) < 0) return r;
    }
}

int coop_server_serve(coop_server *srv) {
    if (srv->serving) return -EBUSY;
    int c = coop__checkpoint();
    if (c < 0) return c;
    srv->serving = 1;
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);

    int why = 0;
    if (!srv->stopping) {
        coop_scope accept_scope;
        coop_scope_enter(&accept_scope, COOP_NEVER);
        srv->accept_scope = &accept_scope;
        why = accept_loop(srv, &n);
        srv->accept_scope = NULL;
        coop_scope_exit(&accept_scope);
    }

    int result = 0;
    if (srv->stopping) {
        /* Graceful: let the handlers finish until the grace deadline. */
        coop_scope grace;
        coop_scope_enter(&grace, srv->grace_deadline);
        srv->grace_scope = &grace;
        while (srv->stats.active > 0 && wait_for_handler(srv) == 0) {}
        srv->grace_scope = NULL;
        coop_scope_exit(&grace);
    } else if (why != -ECANCELED && why != -ETIMEDOUT) {
        result = why; /* the listening socket failed */
    }
    coop_nursery_cancel(&n);
    int closed = coop_nursery_close(&n);
    srv->serving = 0;
    if (result == 0 && closed < 0) result = closed;
    if (result == 0 && !srv->stopping && why < 0) result = why;
    return result;
}

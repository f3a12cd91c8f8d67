/*
 * serve_main.h — the part every server example shares: parse
 * "PORT [HOST] [--timeout-ms N]", listen (port 0 = ephemeral), print the
 * bound port on stdout (tests read it), serve with coop_server, and shut
 * down gracefully on SIGTERM/SIGINT.
 *
 * Signals: SIGTERM and SIGINT are blocked in every thread and read from a
 * signalfd, which an ordinary task waits on with coop_fd_wait — so the
 * shutdown runs as plain task code at a checkpoint, never inside a signal
 * handler. SIGPIPE needs nothing: every socket write uses MSG_NOSIGNAL.
 */
#ifndef EXAMPLES_SERVE_MAIN_H
#define EXAMPLES_SERVE_MAIN_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "coop.h"

/* What main() hands to the loop. */
typedef struct serve_config {
    const char *name;       /* program name for messages */
    const char *host;       /* numeric listen address */
    int port;               /* 0 = ephemeral */
    int64_t timeout;        /* per-request idle timeout the handler applies */
    int64_t grace;          /* how long running connections get at shutdown */
    coop_conn_fn handler;   /* per-connection handler */
    void *arg;              /* its argument */
    coop_server_opts opts;  /* server options */
    int sigfd;              /* signalfd of SIGTERM/SIGINT */
    coop_server *srv;       /* the server, while serving */
} serve_config;

/* Wait for SIGTERM/SIGINT, then shut the server down gracefully. */
static int serve_signal_task(void *arg) {
    serve_config *cfg = arg;
    for (;;) {
        int r = coop_fd_wait(cfg->sigfd, COOP_READABLE);
        if (r < 0) return r == -ECANCELED ? 0 : r;
        struct signalfd_siginfo si;
        if (read(cfg->sigfd, &si, sizeof si) == (ssize_t)sizeof si) break;
    }
    coop_server_shutdown(cfg->srv, cfg->grace);
    return 0;
}

static int serve_main_task(void *arg) {
    serve_config *cfg = arg;
    int lfd = coop_tcp_listen(cfg->host, cfg->port, NULL);
    if (lfd < 0) {
        fprintf(stderr, "%s: listen on %s:%d: %s\n", cfg->name, cfg->host, cfg->port,
                coop_strerror(lfd));
        return lfd;
    }
    int r = coop_server_new(&cfg->srv, lfd, cfg->handler, cfg->arg, &cfg->opts);
    if (r < 0) {
        coop_close(lfd);
        return r;
    }
    printf("%d\n", coop_sock_port(lfd));
    fflush(stdout);

    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    coop_nursery_spawn(&n, NULL, "signals", serve_signal_task, cfg);
    r = coop_server_serve(cfg->srv);
    coop_nursery_cancel(&n); /* the signal task, if no signal came */
    coop_nursery_close(&n);

    coop_server_stats st;
    coop_server_stats_get(cfg->srv, &st);
    fprintf(stderr, "%s: stopped: %llu connection(s), %llu shed at the fd limit\n", cfg->name,
            (unsigned long long)st.accepted, (unsigned long long)st.shed);
    coop_server_free(cfg->srv);
    coop_close(lfd);
    return r;
}

/* Parse the command line, run the server; returns main()'s exit status. */
static int serve_main(int argc, char **argv, serve_config *cfg) {
    cfg->name = argv[0];
    cfg->host = "127.0.0.1";
    if (!cfg->timeout) cfg->timeout = COOP_SEC(10);
    if (!cfg->grace) cfg->grace = COOP_SEC(2);
    int positional = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--timeout-ms") == 0 && i + 1 < argc)
            cfg->timeout = COOP_MS(atoll(argv[++i]));
        else if (positional == 0 && (positional = 1))
            cfg->port = atoi(argv[i]);
        else if (positional == 1 && (positional = 2))
            cfg->host = argv[i];
        else
            positional = 3;
    }
    if (positional == 0 || positional == 3) {
        fprintf(stderr, "usage: %s PORT [HOST] [--timeout-ms N]   (PORT 0 = any free port)\n",
                argv[0]);
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    cfg->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (cfg->sigfd < 0) {
        perror("signalfd");
        return 1;
    }
    int r = coop_run(serve_main_task, cfg);
    close(cfg->sigfd);
    return r < 0 ? 1 : 0;
}

#endif

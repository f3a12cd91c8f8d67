/*
 * echo_server.c — the TCP echo server: every byte a client sends comes
 * back. asyncio's start_server(handle_echo) with one task per connection.
 *
 *   echo_server PORT [HOST]        (PORT 0: any free port, printed on stdout)
 *   printf 'hi\n' | nc 127.0.0.1 PORT
 *
 * Each connection runs in its own task; a read that waits suspends only
 * that task. A client that stays silent for --timeout-ms (default 10 s) is
 * dropped. SIGTERM/SIGINT stop accepting and give live connections 2 s.
 */
#include "serve_main.h"

static int echo(int fd, void *arg) {
    serve_config *cfg = arg;
    char buf[16384];
    for (;;) {
        coop_scope idle; /* a deadline on the wait for the next bytes */
        coop_scope_enter(&idle, coop_after(cfg->timeout));
        ssize_t n = coop_sock_read(fd, buf, sizeof buf);
        coop_scope_exit(&idle);
        if (n <= 0) return (int)n; /* 0: the client closed; < 0: error/timeout */
        int r = coop_sock_write_all(fd, buf, (size_t)n, NULL);
        if (r < 0) return r;
    }
}

int main(int argc, char **argv) {
    static serve_config cfg;
    cfg.handler = echo;
    cfg.arg = &cfg;
    cfg.opts.nodelay = 1;
    return serve_main(argc, argv, &cfg);
}

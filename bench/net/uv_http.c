/*
 * uv_http.c — the libuv baseline for bench/net.sh: the same minimal
 * keep-alive HTTP server as epoll_http.c (every "\r\n\r\n" answered with
 * examples/http_server's GET / reply, no validation) written the libuv way:
 * uv_read_start callbacks, replies sent with uv_try_write and, if the
 * socket cannot take them at once, uv_write.
 *
 *   uv_http PORT    (0: any free port, printed on stdout)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static const char reply[] = "HTTP/1.1 200 OK\r\nServer: coop\r\nContent-Type: text/plain\r\n"
                            "Content-Length: 14\r\n\r\nHello, World!\n";

typedef struct conn {
    uv_tcp_t tcp;    /* the connection (first: the handle is the conn) */
    size_t len;      /* bytes in buf */
    char buf[8192];  /* unparsed input */
} conn;

typedef struct wreq {
    uv_write_t req;  /* the pending write */
    char data[];     /* its bytes */
} wreq;

static uv_loop_t *loop;

static void on_close(uv_handle_t *h) { free(h); }
static void on_written(uv_write_t *req, int status) {
    (void)status;
    free(req);
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
    (void)hint;
    conn *c = (conn *)h;
    *b = uv_buf_init(c->buf + c->len, (unsigned)(sizeof c->buf - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
    (void)b;
    conn *c = (conn *)s;
    if (n < 0) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    c->len += (size_t)n;
    char out[64 * 1024];
    size_t olen = 0, used = 0;
    const char *end;
    while ((end = memmem(c->buf + used, c->len - used, "\r\n\r\n", 4)) != NULL) {
        used = (size_t)(end - c->buf) + 4;
        if (olen + sizeof reply - 1 > sizeof out) break;
        memcpy(out + olen, reply, sizeof reply - 1);
        olen += sizeof reply - 1;
    }
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
    if (c->len == sizeof c->buf) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    if (!olen) return;
    uv_buf_t ob = uv_buf_init(out, (unsigned)olen);
    int w = uv_try_write(s, &ob, 1);
    if (w < 0) w = 0;
    if ((size_t)w < olen) { /* queue the rest */
        wreq *r = malloc(sizeof *r + olen - (size_t)w);
        memcpy(r->data, out + w, olen - (size_t)w);
        uv_buf_t rb = uv_buf_init(r->data, (unsigned)(olen - (size_t)w));
        uv_write(&r->req, s, &rb, 1, on_written);
    }
}

static void on_connection(uv_stream_t *server, int status) {
    if (status < 0) return;
    conn *c = malloc(sizeof *c);
    c->len = 0;
    uv_tcp_init(loop, &c->tcp);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
        uv_close((uv_handle_t *)&c->tcp, on_close);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_signal(uv_signal_t *h, int sig) {
    (void)sig;
    uv_stop(h->loop);
}

int main(int argc, char **argv) {
    loop = uv_default_loop();
    uv_tcp_t server;
    uv_tcp_init(loop, &server);
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", argc > 1 ? atoi(argv[1]) : 0, &a);
    if (uv_tcp_bind(&server, (struct sockaddr *)&a, 0) < 0 ||
        uv_listen((uv_stream_t *)&server, SOMAXCONN, on_connection) < 0) {
        fprintf(stderr, "uv_http: cannot listen\n");
        return 1;
    }
    int alen = sizeof a;
    uv_tcp_getsockname(&server, (struct sockaddr *)&a, &alen);
    printf("%d\n", ntohs(a.sin_port));
    fflush(stdout);
    uv_signal_t sig;
    uv_signal_init(loop, &sig);
    uv_signal_start(&sig, on_signal, SIGTERM);
    uv_run(loop, UV_RUN_DEFAULT);
    return 0;
}

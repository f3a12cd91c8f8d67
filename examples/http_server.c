/*
 * http_server.c — an HTTP/1.1 server: keep-alive, pipelined requests
 * answered in order, Content-Length bodies, and the defensive answers a
 * real server owes: malformed request -> 400, header block over 8 KiB ->
 * 431, chunked request bodies -> 501, each followed by a close.
 *
 *   http_server PORT [HOST] [--timeout-ms N]
 *   curl http://127.0.0.1:PORT/            -> "Hello, World!\n"
 *   curl -d data http://127.0.0.1:PORT/echo -> the body back
 *   curl http://127.0.0.1:PORT/delay?ms=200 -> answers after 200 ms
 *
 * One task per connection reads requests with a coop_stream: the header
 * block is one read_until("\r\n\r\n"), parsed in place inside the stream's
 * buffer. Replies are buffered and flushed only when no further pipelined
 * request is already buffered, so a pipeline of N requests costs one write.
 * A connection idle (or trickling a request, or in one request) for
 * --timeout-ms (default 10 s) is closed.
 */
#include <ctype.h>
#include <strings.h>
#include "serve_main.h"

#define MAX_HEAD 8192 /* request line + headers; more is 431 */

static const char hello[] = "Hello, World!\n";

/* What the parser extracts from a request head. */
typedef struct request {
    const char *method;  /* not NUL-terminated: method_len bytes */
    size_t method_len;
    const char *target;  /* the request target, target_len bytes */
    size_t target_len;
    int http10;          /* HTTP/1.0 (closes unless keep-alive is asked) */
    int keep_alive;      /* the connection stays open after the reply */
    int has_host;        /* a Host header was present */
    int chunked;         /* Transfer-Encoding present */
    long long length;    /* Content-Length, 0 if absent */
} request;

/* RFC 9110 token characters, as a table: the parser checks every byte of
 * every method and header name. */
static unsigned char tchar[256];

static void init_tchar(void) {
    for (int c = 0; c < 256; c++) tchar[c] = isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int is_tchar(int c) { return tchar[c]; }

static int header_is(const char *name, size_t len, const char *want) {
    return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

/* Does a comma-separated header value contain token (case-insensitive)? */
static int value_has(const char *v, size_t len, const char *token) {
    size_t tl = strlen(token);
    for (size_t i = 0; i + tl <= len; i++)
        if (strncasecmp(v + i, token, tl) == 0) return 1;
    return 0;
}

/* Parse head[0..n) (ending in "\r\n\r\n"). Returns 0 or -1 if malformed. */
static int parse_request(const char *head, size_t n, request *rq) {
    memset(rq, 0, sizeof *rq);
    const char *end = head + n - 2; /* the final empty line */
    const char *p = head;
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol || eol == p || eol[-1] != '\r') return -1;
    /* request-line = method SP request-target SP HTTP-version */
    const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
    if (!sp1 || sp1 == p) return -1;
    for (const char *c = p; c < sp1; c++)
        if (!is_tchar((unsigned char)*c)) return -1;
    const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
    if (!sp2 || sp2 == sp1 + 1) return -1;
    rq->method = p;
    rq->method_len = (size_t)(sp1 - p);
    rq->target = sp1 + 1;
    rq->target_len = (size_t)(sp2 - sp1 - 1);
    if (rq->target[0] != '/' && !(rq->target_len == 1 && rq->target[0] == '*')) return -1;
    for (const char *c = rq->target; c < sp2; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f) return -1;
    size_t vlen = (size_t)(eol - 1 - (sp2 + 1));
    if (vlen != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0) return -1;
    if (sp2[8] == '0')
        rq->http10 = 1;
    else if (sp2[8] != '1')
        return -1;
    rq->keep_alive = !rq->http10;
    int seen_length = 0;
    /* header-field = field-name ":" OWS field-value OWS CRLF */
    for (p = eol + 1; p < end; p = eol + 1) {
        eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol || eol[-1] != '\r') return -1;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon || colon == p) return -1;
        for (const char *c = p; c < colon; c++)
            if (!is_tchar((unsigned char)*c)) return -1; /* also: no space before ':' */
        const char *v = colon + 1, *ve = eol - 1;
        while (v < ve && (*v == ' ' || *v == '\t')) v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
        size_t nl = (size_t)(colon - p), vl = (size_t)(ve - v);
        for (const char *c = v; c < ve; c++)
            if ((*c < ' ' && *c != '\t') || *c == 0x7f) return -1;
        if (header_is(p, nl, "content-length")) {
            if (vl == 0 || vl > 15) return -1;
            long long len = 0;
            for (size_t i = 0; i < vl; i++) {
                if (!isdigit((unsigned char)v[i])) return -1;
                len = len * 10 + (v[i] - '0');
            }
            if (seen_length && len != rq->length) return -1; /* conflicting lengths */
            seen_length = 1;
            rq->length = len;
        } else if (header_is(p, nl, "transfer-encoding")) {
            rq->chunked = 1;
        } else if (header_is(p, nl, "host")) {
            rq->has_host = 1;
        } else if (header_is(p, nl, "connection")) {
            if (value_has(v, vl, "close")) rq->keep_alive = 0;
            else if (value_has(v, vl, "keep-alive")) rq->keep_alive = 1;
        }
    }
    if (!rq->http10 && !rq->has_host) return -1; /* RFC 9112 3.2 */
    if (rq->chunked && seen_length) return -1;   /* request smuggling shape */
    return 0;
}

/* Send an error reply, then close politely: stop sending, and read what the
 * client still sends for up to a second, so that our reply is not destroyed
 * by a reset for unread data (the "lingering close" of real servers). */
static int fail(coop_stream *s, int status, const char *reason) {
    coop_stream_printf(s,
                       "HTTP/1.1 %d %s\r\nServer: coop\r\nContent-Type: text/plain\r\n"
                       "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
                       status, reason, strlen(reason) + 1, reason);
    if (coop_stream_flush(s) < 0) return -1;
    coop_sock_shutdown(coop_stream_fd(s), SHUT_WR);
    coop_scope linger;
    coop_scope_enter(&linger, coop_after(COOP_SEC(1)));
    char sink[4096];
    while (coop_stream_read(s, sink, sizeof sink) > 0) {}
    coop_scope_exit(&linger);
    return 0;
}

/* The reply to GET / on a keep-alive connection, built once: the hot path
 * of a benchmark is one memcpy into the stream's buffer. */
static char hello_reply[256];
static size_t hello_reply_len;

static void reply(coop_stream *s, const request *rq, int status, const char *reason,
                  const char *body, size_t len) {
    if (body == hello && rq->keep_alive && rq->method[0] == 'G') {
        coop_stream_write(s, hello_reply, hello_reply_len);
        return;
    }
    coop_stream_printf(s, "HTTP/1.1 %d %s\r\nServer: coop\r\nContent-Type: text/plain\r\n"
                          "Content-Length: %zu\r\n%s\r\n",
                       status, reason, len, rq->keep_alive ? "" : "Connection: close\r\n");
    if (!(rq->method_len == 4 && memcmp(rq->method, "HEAD", 4) == 0)) coop_stream_write(s, body, len);
}

/* Skip (discard) or echo back a request body of rq->length bytes. */
static int pass_body(coop_stream *s, const request *rq, int echo) {
    char buf[16384];
    long long left = rq->length;
    while (left > 0) {
        ssize_t n = coop_stream_read(s, buf, left < (long long)sizeof buf ? (size_t)left : sizeof buf);
        if (n <= 0) return n == 0 ? -1 : (int)n;
        left -= n;
        if (echo) {
            if (coop_stream_write(s, buf, (size_t)n) < 0) return -1;
            if (coop_stream_drain(s) < 0) return -1; /* back-pressure on large bodies */
        }
    }
    return 0;
}

static int target_is(const request *rq, const char *path) {
    size_t n = strlen(path);
    return rq->target_len >= n && memcmp(rq->target, path, n) == 0 &&
           (rq->target_len == n || rq->target[n] == '?');
}

/* Answer one parsed request; returns < 0 to close the connection. */
static int route(coop_stream *s, const request *rq) {
    int get = (rq->method_len == 3 && memcmp(rq->method, "GET", 3) == 0) ||
              (rq->method_len == 4 && memcmp(rq->method, "HEAD", 4) == 0);
    int post = rq->method_len == 4 && memcmp(rq->method, "POST", 4) == 0;
    if (post && target_is(rq, "/echo")) {
        coop_stream_printf(s, "HTTP/1.1 200 OK\r\nServer: coop\r\nContent-Type: "
                              "application/octet-stream\r\nContent-Length: %lld\r\n%s\r\n",
                           rq->length, rq->keep_alive ? "" : "Connection: close\r\n");
        return pass_body(s, rq, 1);
    }
    if (pass_body(s, rq, 0) < 0) return -1;
    if (get && target_is(rq, "/")) {
        reply(s, rq, 200, "OK", hello, sizeof hello - 1);
    } else if (get && target_is(rq, "/delay")) {
        const char *q = memchr(rq->target, '?', rq->target_len);
        long ms = q && strncmp(q, "?ms=", 4) == 0 ? atol(q + 4) : 100;
        if (ms < 0 || ms > 60000) ms = 100; /* more than --timeout-ms is cut off */
        if (coop_stream_flush(s) < 0 || coop_sleep(COOP_MS(ms)) < 0) return -1;
        char body[64];
        int n = snprintf(body, sizeof body, "slept %ld ms\n", ms);
        reply(s, rq, 200, "OK", body, (size_t)n);
    } else if (get || post) {
        reply(s, rq, 404, "Not Found", "not found\n", 10);
    } else {
        reply(s, rq, 405, "Method Not Allowed", "method not allowed\n", 19);
    }
    return 0;
}

/* Serve requests until the connection ends. Runs inside the connection's
 * timeout scope `limit`: each request (waiting for its head, reading its
 * body, replying) must be done within the timeout of the previous one.
 * The deadline moves only when less than half of it is left, so a busy
 * connection re-arms its timer once per half-timeout instead of once per
 * request (a timer costs a heap insertion and removal). */
static int serve_connection(coop_stream *s, coop_scope *limit, int64_t timeout) {
    for (;;) {
        const char *head;
        ssize_t n = coop_stream_read_until(s, "\r\n\r\n", 4, &head);
        if (n == 0) return 0; /* the client closed between requests */
        if (n == -EMSGSIZE) return fail(s, 431, "Request Header Fields Too Large");
        if (n == -ENODATA && coop_stream_buffered(s) > 0) return fail(s, 400, "Bad Request");
        if (n < 0) return (int)n; /* reset, or the timeout: just close */
        request rq;
        if (parse_request(head, (size_t)n, &rq) < 0) return fail(s, 400, "Bad Request");
        if (rq.chunked) return fail(s, 501, "Not Implemented");
        if (route(s, &rq) < 0) return -1;
        /* Flush unless the next pipelined request is already here. */
        if (!rq.keep_alive || coop_stream_buffered(s) == 0 ||
            coop_stream_pending(s) > 64 * 1024) {
            int r = coop_stream_flush(s);
            if (r < 0) return r;
        }
        if (!rq.keep_alive) return 0;
        int64_t now = coop_now();
        if (coop_scope_deadline(limit) - now < timeout / 2)
            coop_scope_set_deadline(limit, now + timeout);
    }
}

static int http_connection(int fd, void *arg) {
    serve_config *cfg = arg;
    coop_stream *s;
    coop_stream_opts so = {.max_record = MAX_HEAD};
    int r = coop_stream_new(&s, fd, &so);
    if (r < 0) return r;
    coop_scope limit;
    coop_scope_enter(&limit, coop_after(cfg->timeout));
    r = serve_connection(s, &limit, cfg->timeout);
    coop_scope_exit(&limit);
    coop_stream_free(s);
    return r;
}

int main(int argc, char **argv) {
    static serve_config cfg;
    init_tchar();
    hello_reply_len = (size_t)snprintf(hello_reply, sizeof hello_reply,
                                       "HTTP/1.1 200 OK\r\nServer: coop\r\nContent-Type: "
                                       "text/plain\r\nContent-Length: %zu\r\n\r\n%s",
                                       sizeof hello - 1, hello);
    cfg.handler = http_connection;
    cfg.arg = &cfg;
    cfg.opts.nodelay = 1;
    return serve_main(argc, argv, &cfg);
}

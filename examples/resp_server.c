/*
 * resp_server.c — a server speaking the Redis protocol (RESP2), enough for
 * redis-cli and redis-benchmark: PING, ECHO, SET, GET, DEL, EXISTS, INCR
 * (plus QUIT, CONFIG GET and COMMAND so the stock clients start cleanly),
 * in both the multibulk and the inline request forms, pipelined.
 *
 *   resp_server PORT [HOST]
 *   redis-cli -p PORT set greeting hello ; redis-cli -p PORT get greeting
 *
 * The keyspace is one hash table shared by every connection task, with no
 * lock: each command runs from parse to reply without a checkpoint, so no
 * other task can see it half-done (the seed's transfer() in a real server).
 * Commands are parsed in place in the stream's read buffer (peek), as many
 * as are buffered, and the replies to a whole pipeline go out in one flush.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <strings.h>
#include "serve_main.h"

#define MAX_ARGS 1024                  /* arguments of one command */
#define MAX_QUERY ((size_t)1024 * 1024) /* largest command, bytes */

/* ---- the keyspace: chained hash table, doubling at load factor 1 ---- */

typedef struct entry {
    struct entry *next; /* chain */
    uint64_t hash;      /* of the key */
    size_t klen, vlen;  /* key and value lengths */
    char *val;          /* value (malloc'd) */
    char key[];         /* key bytes */
} entry;

static struct {
    entry **slots; /* power-of-two buckets */
    size_t mask;   /* buckets - 1 */
    size_t count;  /* keys */
} db;

static uint64_t hash(const char *p, size_t n) { /* FNV-1a */
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

static entry **find(const char *k, size_t n, uint64_t h) {
    entry **e = &db.slots[h & db.mask];
    while (*e && ((*e)->hash != h || (*e)->klen != n || memcmp((*e)->key, k, n) != 0))
        e = &(*e)->next;
    return e;
}

static int grow(void) {
    size_t nb = (db.mask + 1) * 2;
    entry **slots = calloc(nb, sizeof *slots);
    if (!slots) return -1;
    for (size_t i = 0; i <= db.mask; i++)
        for (entry *e = db.slots[i], *next; e; e = next) {
            next = e->next;
            e->next = slots[e->hash & (nb - 1)];
            slots[e->hash & (nb - 1)] = e;
        }
    free(db.slots);
    db.slots = slots;
    db.mask = nb - 1;
    return 0;
}

/* Store a copy of v under k; returns 0 or -1 (no memory). */
static int db_set(const char *k, size_t kl, const char *v, size_t vl) {
    uint64_t h = hash(k, kl);
    entry **at = find(k, kl, h);
    char *copy = malloc(vl ? vl : 1);
    if (!copy) return -1;
    memcpy(copy, v, vl);
    if (*at) {
        free((*at)->val);
        (*at)->val = copy;
        (*at)->vlen = vl;
        return 0;
    }
    entry *e = malloc(sizeof *e + kl);
    if (!e) {
        free(copy);
        return -1;
    }
    e->next = NULL;
    e->hash = h;
    e->klen = kl;
    e->vlen = vl;
    e->val = copy;
    memcpy(e->key, k, kl);
    *at = e;
    if (++db.count > db.mask + 1) grow(); /* a failed grow only slows lookups */
    return 0;
}

static entry *db_get(const char *k, size_t kl) { return *find(k, kl, hash(k, kl)); }

static int db_del(const char *k, size_t kl) {
    entry **at = find(k, kl, hash(k, kl));
    entry *e = *at;
    if (!e) return 0;
    *at = e->next;
    free(e->val);
    free(e);
    db.count--;
    return 1;
}

/* ---- parsing: one command from buf[0..n) ---- */

typedef struct command {
    int argc;                  /* arguments, the name included */
    const char *argv[MAX_ARGS]; /* pointers into the stream's buffer */
    size_t len[MAX_ARGS];      /* their lengths */
} command;

/* Parse a decimal number (optionally negative) of n bytes; -1 = bad. */
static int parse_ll(const char *p, size_t n, long long *out) {
    int neg = n > 0 && *p == '-';
    if (neg) p++, n--;
    if (n == 0 || n > 18) return -1;
    long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i])) return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = neg ? -v : v;
    return 0;
}

/* Returns the bytes the command used (> 0), 0 if incomplete, or -1 with
 * *err set for a protocol error. */
static long parse(const char *p, size_t n, command *c, const char **err) {
    const char *end = p + n, *q = p;
    c->argc = 0;
    if (n == 0) return 0;
    if (*p != '*') { /* inline: words separated by spaces, ending in \n */
        const char *eol = memchr(p, '\n', n);
        if (!eol) return 0;
        const char *e = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
        for (q = p; q < e;) {
            while (q < e && (*q == ' ' || *q == '\t')) q++;
            if (q == e) break;
            const char *w = q;
            while (q < e && *q != ' ' && *q != '\t') q++;
            if (c->argc == MAX_ARGS) return *err = "too many arguments", -1;
            c->argv[c->argc] = w;
            c->len[c->argc++] = (size_t)(q - w);
        }
        return (long)(eol + 1 - p);
    }
    /* multibulk: *N\r\n then N times $LEN\r\nBYTES\r\n */
    const char *eol = memchr(q, '\r', (size_t)(end - q));
    if (!eol || eol + 1 >= end) return 0;
    long long argc;
    if (eol[1] != '\n' || parse_ll(q + 1, (size_t)(eol - q - 1), &argc) < 0 || argc > MAX_ARGS)
        return *err = "invalid multibulk length", -1;
    q = eol + 2;
    for (long long i = 0; i < argc; i++) {
        if (q >= end) return 0;
        if (*q != '$') return *err = "expected '$'", -1;
        eol = memchr(q, '\r', (size_t)(end - q));
        if (!eol || eol + 1 >= end) return 0;
        long long len;
        if (eol[1] != '\n' || parse_ll(q + 1, (size_t)(eol - q - 1), &len) < 0 || len < 0 ||
            (size_t)len > MAX_QUERY)
            return *err = "invalid bulk length", -1;
        q = eol + 2;
        if ((size_t)(end - q) < (size_t)len + 2) return 0;
        if (q[len] != '\r' || q[len + 1] != '\n') return *err = "bulk not followed by CRLF", -1;
        c->argv[c->argc] = q;
        c->len[c->argc++] = (size_t)len;
        q += len + 2;
    }
    return (long)(q - p);
}

/* ---- commands ---- */

/* Append "<prefix><v>\r\n" (":42\r\n", "$5\r\n"): replies are mostly
 * numbers and lengths, and printf would cost more than the command. */
static void number_line(coop_stream *s, char prefix, long long v) {
    char buf[24], *p = buf + sizeof buf;
    unsigned long long u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
    *--p = '\n';
    *--p = '\r';
    do *--p = (char)('0' + u % 10); while ((u /= 10) != 0);
    if (v < 0) *--p = '-';
    *--p = prefix;
    coop_stream_write(s, p, (size_t)(buf + sizeof buf - p));
}

static void bulk(coop_stream *s, const char *p, size_t n) {
    number_line(s, '$', (long long)n);
    coop_stream_write(s, p, n);
    coop_stream_write(s, "\r\n", 2);
}

static int is(const command *c, const char *name) {
    return c->len[0] == strlen(name) && strncasecmp(c->argv[0], name, c->len[0]) == 0;
}

static void wrong_args(coop_stream *s, const command *c) {
    coop_stream_printf(s, "-ERR wrong number of arguments for '%.*s' command\r\n",
                       (int)c->len[0], c->argv[0]);
}

/* Execute c, appending the reply; returns 1 to close after replying.
 * Nothing here suspends: each command is atomic for the other tasks. */
static int execute(coop_stream *s, const command *c) {
    int argc = c->argc;
    if (is(c, "PING")) {
        if (argc == 1) coop_stream_write(s, "+PONG\r\n", 7);
        else if (argc == 2) bulk(s, c->argv[1], c->len[1]);
        else wrong_args(s, c);
    } else if (is(c, "ECHO")) {
        if (argc == 2) bulk(s, c->argv[1], c->len[1]);
        else wrong_args(s, c);
    } else if (is(c, "SET")) {
        if (argc != 3) wrong_args(s, c);
        else if (db_set(c->argv[1], c->len[1], c->argv[2], c->len[2]) < 0)
            coop_stream_write(s, "-OOM out of memory\r\n", 20);
        else coop_stream_write(s, "+OK\r\n", 5);
    } else if (is(c, "GET")) {
        entry *e = argc == 2 ? db_get(c->argv[1], c->len[1]) : NULL;
        if (argc != 2) wrong_args(s, c);
        else if (e) bulk(s, e->val, e->vlen);
        else coop_stream_write(s, "$-1\r\n", 5);
    } else if (is(c, "DEL") || is(c, "EXISTS")) {
        int del = is(c, "DEL"), n = 0;
        if (argc < 2) return wrong_args(s, c), 0;
        for (int i = 1; i < argc; i++)
            n += del ? db_del(c->argv[i], c->len[i]) : db_get(c->argv[i], c->len[i]) != NULL;
        number_line(s, ':', n);
    } else if (is(c, "INCR")) {
        if (argc != 2) return wrong_args(s, c), 0;
        entry *e = db_get(c->argv[1], c->len[1]);
        long long v = 0;
        if (e && (parse_ll(e->val, e->vlen, &v) < 0 || v == LLONG_MAX)) {
            coop_stream_write(s, "-ERR value is not an integer or out of range\r\n", 46);
            return 0;
        }
        char num[24];
        int n = snprintf(num, sizeof num, "%lld", v + 1);
        if (db_set(c->argv[1], c->len[1], num, (size_t)n) < 0)
            coop_stream_write(s, "-OOM out of memory\r\n", 20);
        else number_line(s, ':', v + 1);
    } else if (is(c, "QUIT")) {
        coop_stream_write(s, "+OK\r\n", 5);
        return 1;
    } else if (is(c, "CONFIG") && argc == 3 && c->len[1] == 3 &&
               strncasecmp(c->argv[1], "GET", 3) == 0) {
        /* redis-benchmark asks for "save" and "appendonly" at start. */
        coop_stream_write(s, "*2\r\n", 4);
        bulk(s, c->argv[2], c->len[2]);
        if (c->len[2] == 10 && strncasecmp(c->argv[2], "appendonly", 10) == 0) bulk(s, "no", 2);
        else bulk(s, "", 0);
    } else if (is(c, "COMMAND")) {
        coop_stream_write(s, "*0\r\n", 4); /* redis-cli's startup probe */
    } else {
        /* Redis's own wording, so clients and tests see the same bytes. */
        coop_stream_printf(s, "-ERR unknown command '%.*s', with args beginning with: ",
                           (int)(c->len[0] > 128 ? 128 : c->len[0]), c->argv[0]);
        for (int i = 1; i < argc; i++)
            coop_stream_printf(s, "'%.*s' ", (int)(c->len[i] > 128 ? 128 : c->len[i]), c->argv[i]);
        coop_stream_write(s, "\r\n", 2);
    }
    return 0;
}

static int resp_connection(int fd, void *arg) {
    (void)arg;
    coop_stream *s;
    coop_stream_opts so = {.max_record = MAX_QUERY + 64};
    int r = coop_stream_new(&s, fd, &so);
    if (r < 0) return r;
    command *c = malloc(sizeof *c); /* 24 KiB: kept off the task's stack */
    if (!c) {
        coop_stream_free(s);
        return -ENOMEM;
    }
    size_t want = 1; /* bytes to wait for before parsing again */
    for (;;) {
        const char *buf;
        ssize_t have = coop_stream_peek(s, want, &buf);
        if (have < (ssize_t)want) { /* end of file or error */
            r = have < 0 ? (int)have : 0;
            break;
        }
        const char *err = NULL;
        long used = parse(buf, (size_t)have, c, &err);
        if (used < 0) {
            coop_stream_printf(s, "-ERR Protocol error: %s\r\n", err);
            coop_stream_flush(s);
            r = -EPROTO;
            break;
        }
        if (used == 0) { /* incomplete: flush replies so far, read more */
            if ((size_t)have >= so.max_record) {
                coop_stream_write(s, "-ERR Protocol error: command too long\r\n", 39);
                coop_stream_flush(s);
                r = -EMSGSIZE;
                break;
            }
            if (coop_stream_pending(s) && (r = coop_stream_flush(s)) < 0) break;
            want = (size_t)have + 1;
            continue;
        }
        int quit = c->argc > 0 && execute(s, c);
        coop_stream_consume(s, (size_t)used);
        want = 1;
        if (quit || coop_stream_buffered(s) == 0 || coop_stream_pending(s) > 64 * 1024) {
            if ((r = coop_stream_flush(s)) < 0 || quit) break;
        }
    }
    free(c);
    coop_stream_free(s);
    return r;
}

int main(int argc, char **argv) {
    static serve_config cfg;
    db.slots = calloc(1024, sizeof *db.slots);
    db.mask = 1023;
    cfg.handler = resp_connection;
    cfg.opts.nodelay = 1;
    int r = serve_main(argc, argv, &cfg);
    for (size_t i = 0; i <= db.mask; i++)
        while (db.slots[i]) db_del(db.slots[i]->key, db.slots[i]->klen);
    free(db.slots);
    return r;
}

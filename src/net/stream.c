/*
 * stream.c — buffered streams over one fd: asyncio's StreamReader and
 * StreamWriter.
 *
 * Read side: one contiguous buffer [rbuf + rstart, rbuf + rend) that grows
 * by doubling up to max_record bytes and is compacted (memmove to the
 * front) only inside fill(), i.e. only when a call has to read more. So a
 * record handed out as a pointer into the buffer stays valid until the next
 * call on the reading side, and pipelined records are parsed in place with
 * no copy. The only suspension is the read in fill(): a cancelled record
 * call has consumed nothing.
 *
 * Write side: writes append to [wbuf + wstart, wbuf + wend); flush sends from
 * wstart. A real write error is sticky (werr); a cancellation is not (the
 * unsent tail stays buffered).
 *
 * Invariants: rstart <= rend <= rcap; wstart <= wend <= wcap; at most one
 * task inside the read side and one inside the write side (checked).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "net/net.h"
#include "util/alloc.h"
#include "util/misuse.h"

#define DEFAULT_MAX_RECORD ((size_t)64 * 1024)
#define DEFAULT_HIGH_WATER ((size_t)64 * 1024)
#define DEFAULT_LOW_WATER ((size_t)16 * 1024)
#define INITIAL_RBUF ((size_t)8 * 1024)

struct coop_stream {
    int fd;            /* the fd (not owned) */
    int is_sock;       /* -1 unknown, 0 not a socket (write(2)), 1 socket (send) */
    int eof;           /* a read returned 0: the peer will send nothing more */
    int werr;          /* sticky write error (< 0), 0 if none */
    int reading;       /* a task is suspended in the read side (misuse guard) */
    int drained;       /* the last read was short: the socket was empty, so
                          the next fill waits for readiness before reading */
    int writing;       /* a task is suspended in the write side (misuse guard) */
    char *rbuf;        /* read buffer (NULL until the first read) */
    size_t rcap;       /* its capacity */
    size_t rstart;     /* first unconsumed byte */
    size_t rend;       /* one past the last received byte */
    char *wbuf;        /* write buffer (NULL until the first write) */
    size_t wcap;       /* its capacity */
    size_t wstart;     /* first unsent byte */
    size_t wend;       /* one past the last buffered byte */
    size_t max_record; /* largest record a call may wait for */
    size_t high_water; /* drain starts sending above this */
    size_t low_water;  /* ... and stops at or below this */
};

int coop_stream_new(coop_stream **out, int fd, const coop_stream_opts *opts) {
    coop_stream_opts o = {0, 0, 0};
    if (opts) o = *opts;
    if (!o.max_record) o.max_record = DEFAULT_MAX_RECORD;
    if (!o.high_water) o.high_water = DEFAULT_HIGH_WATER;
    if (!o.low_water) o.low_water = o.high_water < DEFAULT_LOW_WATER ? o.high_water : DEFAULT_LOW_WATER;
    if (!out || fd < 0 || o.low_water > o.high_water) return -EINVAL;
    coop_stream *s = coop__calloc(1, sizeof *s);
    if (!s) return -ENOMEM;
    s->fd = fd;
    s->is_sock = -1;
    s->max_record = o.max_record;
    s->high_water = o.high_water;
    s->low_water = o.low_water;
    *out = s;
    return 0;
}

void coop_stream_free(coop_stream *s) {
    if (!s) return;
    if (s->reading || s->writing)
        coop__misuse("coop_stream_free: a task is still %s the stream",
                     s->reading ? "reading from" : "writing to");
    coop__free(s->rbuf);
    coop__free(s->wbuf);
    coop__free(s);
}

int coop_stream_fd(const coop_stream *s) { return s->fd; }
size_t coop_stream_buffered(const coop_stream *s) { return s->rend - s->rstart; }
size_t coop_stream_pending(const coop_stream *s) { return s->wend - s->wstart; }

/* ---- read side ----------------------------------------------------------- */

/* Make room for at least `want` buffered bytes (want <= max(max_record,
 * INITIAL_RBUF)) plus one more byte of free space, then read once. Returns
 * the count (0 = end of file, recorded in eof) or -errno. */
static ssize_t fill(coop_stream *s, size_t want) {
    if (s->reading) coop__misuse("coop_stream: two tasks read from one stream at once");
    size_t have = s->rend - s->rstart;
    if (s->rstart > 0 && (have == 0 || s->rend == s->rcap)) { /* compact */
        memmove(s->rbuf, s->rbuf + s->rstart, have);
        s->rstart = 0;
        s->rend = have;
    }
    if (want < have + 1) want = have + 1;
    if (s->rcap < want || s->rend == s->rcap) {
        size_t cap = s->rcap ? s->rcap : INITIAL_RBUF;
        while (cap < want || cap <= s->rend) cap *= 2;
        char *nb = coop__realloc(s->rbuf, cap);
        if (!nb) return -ENOMEM;
        s->rbuf = nb;
        s->rcap = cap;
    }
    s->reading = 1;
    size_t room = s->rcap - s->rend;
    ssize_t r = 0;
    if (s->drained) { /* a read now would be EAGAIN: wait first */
        r = coop_fd_wait(s->fd, COOP_READABLE);
        s->drained = 0;
    }
    if (r >= 0) r = coop__net_read_some(s->fd, s->rbuf + s->rend, room);
    s->reading = 0;
    if (r > 0) {
        s->rend += (size_t)r;
        if ((size_t)r < room) { /* short: the queue is empty */
            s->drained = 1;
            coop__net_drained(s->fd);
        }
    }
    if (r == 0) s->eof = 1;
    return r;
}

ssize_t coop_stream_read(coop_stream *s, void *buf, size_t n) {
    int c = coop__checkpoint();
    if (c < 0) return c;
    if (n == 0) return 0;
    size_t have = s->rend - s->rstart;
    if (have == 0) {
        if (s->eof) return 0;
        if (n >= INITIAL_RBUF) { /* large read into an empty buffer: no copy */
            if (s->reading) coop__misuse("coop_stream: two tasks read from one stream at once");
            s->reading = 1;
            ssize_t r = coop__net_read_some(s->fd, buf, n);
            s->reading = 0;
            if (r == 0) s->eof = 1;
            return r;
        }
        ssize_t r = fill(s, 0);
        if (r <= 0) return r;
        have = s->rend - s->rstart;
    }
    if (n > have) n = have;
    memcpy(buf, s->rbuf + s->rstart, n);
    s->rstart += n;
    return (ssize_t)n;
}

/* First occurrence of delim (dlen >= 1) in p[0..n), or NULL. memchr on the
 * first byte, then compare the rest: for the short delimiters of network
 * protocols this beats glibc's general memmem by a wide margin. */
static const char *find_delim(const char *p, size_t n, const char *delim, size_t dlen) {
    const char *end = p + n;
    while (n >= dlen) {
        const char *hit = memchr(p, delim[0], n - dlen + 1);
        if (!hit) return NULL;
        if (memcmp(hit + 1, delim + 1, dlen - 1) == 0) return hit;
        p = hit + 1;
        n = (size_t)(end - p);
    }
    return NULL;
}

/* Shared by read_until and readline: partial_at_eof chooses what a last
 * record without delimiter gives. */
static ssize_t read_record(coop_stream *s, const void *delim, size_t dlen, const char **rec,
                           int partial_at_eof) {
    if (dlen == 0 || !rec) return -EINVAL;
    int c = coop__checkpoint();
    if (c < 0) return c;
    size_t scanned = 0; /* bytes after rstart known to hold no delimiter start */
    for (;;) {
        size_t have = s->rend - s->rstart;
        size_t limit = have < s->max_record ? have : s->max_record;
        if (limit >= dlen && limit - dlen + 1 > scanned) {
            const char *base = s->rbuf + s->rstart;
            const char *hit = find_delim(base + scanned, limit - scanned, delim, dlen);
            if (hit) {
                size_t len = (size_t)(hit - base) + dlen;
                *rec = base;
                s->rstart += len;
                return (ssize_t)len;
            }
            scanned = limit - dlen + 1;
        }
        if (have >= s->max_record) return -EMSGSIZE;
        if (s->eof) {
            if (have == 0) return 0;
            if (!partial_at_eof) return -ENODATA;
            *rec = s->rbuf + s->rstart;
            s->rstart = s->rend;
            return (ssize_t)have;
        }
        ssize_t r = fill(s, 0);
        if (r < 0) return r;
    }
}

ssize_t coop_stream_read_until(coop_stream *s, const void *delim, size_t dlen, const char **rec) {
    return read_record(s, delim, dlen, rec, 0);
}

ssize_t coop_stream_readline(coop_stream *s, const char **line) {
    return read_record(s, "\n", 1, line, 1);
}

ssize_t coop_stream_peek(coop_stream *s, size_t n, const char **p) {
    if (n > s->max_record) return -EMSGSIZE;
    int c = coop__checkpoint();
    if (c < 0) return c;
    while (s->rend - s->rstart < n && !s->eof) {
        ssize_t r = fill(s, n);
        if (r < 0) return r;
    }
    if (p) *p = s->rbuf ? s->rbuf + s->rstart : NULL;
    return (ssize_t)(s->rend - s->rstart);
}

ssize_t coop_stream_read_exact(coop_stream *s, void *buf, size_t n) {
    const char *p;
    ssize_t have = coop_stream_peek(s, n, &p);
    if (have < 0) return have;
    if ((size_t)have < n) return have == 0 ? 0 : -ENODATA;
    if (n) memcpy(buf, p, n);
    s->rstart += n;
    return (ssize_t)n;
}

size_t coop_stream_consume(coop_stream *s, size_t n) {
    size_t have = s->rend - s->rstart;
    if (n > have) n = have;
    s->rstart += n;
    return n;
}

/* ---- write side -------------------------------------------------------- */

/* Make room for n more bytes at wend. */
static int reserve(coop_stream *s, size_t n) {
    if (s->wcap - s->wend >= n) return 0;
    if (s->wstart > 0) { /* slide the unsent bytes to the front first */
        memmove(s->wbuf, s->wbuf + s->wstart, s->wend - s->wstart);
        s->wend -= s->wstart;
        s->wstart = 0;
        if (s->wcap - s->wend >= n) return 0;
    }
    size_t cap = s->wcap ? s->wcap : 4096;
    while (cap - s->wend < n) {
        if (cap > SIZE_MAX / 2) return -ENOMEM;
        cap *= 2;
    }
    char *nb = coop__realloc(s->wbuf, cap);
    if (!nb) return -ENOMEM;
    s->wbuf = nb;
    s->wcap = cap;
    return 0;
}

int coop_stream_write(coop_stream *s, const void *buf, size_t n) {
    if (s->werr) return s->werr;
    int r = reserve(s, n);
    if (r < 0) return r;
    memcpy(s->wbuf + s->wend, buf, n);
    s->wend += n;
    return 0;
}

int coop_stream_printf(coop_stream *s, const char *fmt, ...) {
    if (s->werr) return s->werr;
    va_list ap;
    size_t room = s->wcap - s->wend;
    if (room < 128) {
        if (reserve(s, 128) < 0) return -ENOMEM;
        room = s->wcap - s->wend;
    }
    va_start(ap, fmt);
    int n = vsnprintf(s->wbuf + s->wend, room, fmt, ap);
    va_end(ap);
    if (n < 0) return -EINVAL;
    if ((size_t)n >= room) { /* did not fit: grow and format again */
        if (reserve(s, (size_t)n + 1) < 0) return -ENOMEM;
        va_start(ap, fmt);
        vsnprintf(s->wbuf + s->wend, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    s->wend += (size_t)n;
    return n;
}

/* Send until no more than `keep` bytes are pending. */
static int send_until(coop_stream *s, size_t keep) {
    if (s->werr) return s->werr;
    if (s->writing) coop__misuse("coop_stream: two tasks write to one stream at once");
    s->writing = 1;
    int err = 0;
    while (s->wend - s->wstart > keep) {
        /* No pointer into wbuf is held across the wait: while this task is
         * suspended another may append (and so move the buffer). */
        ssize_t r = coop__net_send_once(s->fd, s->wbuf + s->wstart, s->wend - s->wstart,
                                        &s->is_sock);
        if (r >= 0) {
            s->wstart += (size_t)r;
            continue;
        }
        if (r == -EAGAIN) r = coop__fd_wait(s->fd, COOP_WRITABLE, 1);
        if (r < 0) {
            err = (int)r;
            /* A cancellation leaves the tail buffered for a later flush; a
             * transport error is final. */
            if (coop__cancel_cause() == 0) s->werr = err;
            break;
        }
    }
    s->writing = 0;
    if (s->wstart == s->wend) {
        s->wstart = s->wend = 0;
        if (s->wcap > 4 * s->high_water) { /* give back a buffer a burst grew */
            coop__free(s->wbuf);
            s->wbuf = NULL;
            s->wcap = 0;
        }
    }
    return err;
}

int coop_stream_flush(coop_stream *s) {
    int c = coop__checkpoint();
    if (c < 0) return c;
    return send_until(s, 0);
}

int coop_stream_drain(coop_stream *s) {
    int c = coop__checkpoint();
    if (c < 0) return c;
    if (s->wend - s->wstart <= s->high_water) return s->werr;
    return send_until(s, s->low_water);
}

/*
 * http_client.c — fetch N URLs concurrently, at most C at a time, all
 * within a total deadline: asyncio.gather over a Semaphore inside
 * asyncio.timeout, or trio's nursery + CapacityLimiter + move_on_after.
 *
 *   http_client [-c CONCURRENCY] [-t TOTAL_MS] URL...
 *   http_client -c 2 http://127.0.0.1:8080/ http://[::1]:8080/delay?ms=100
 *
 * The concurrency limit is C worker tasks taking the next URL from a shared
 * index: taking it is one statement with no checkpoint, so no two workers
 * take the same URL and no lock is needed. The total deadline is the
 * nursery's: when it passes, every fetch still running fails with
 * -ETIMEDOUT at its next checkpoint. Prints, in input order,
 * "STATUS BYTES URL" or "ERROR NAME URL"; exits 0 if every fetch got a
 * reply.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "coop.h"

typedef struct fetch {
    const char *url;  /* as given */
    int status;       /* HTTP status, or -errno */
    long long bytes;  /* body bytes received */
} fetch;

typedef struct job {
    fetch *fetches;   /* one per URL */
    int count;        /* URLs */
    int next;         /* next URL to take (shared by the workers) */
} job;

/* Split "http://host[:port]/path" (host may be [v6]). */
static int parse_url(const char *url, char *host, size_t hsize, int *port, const char **path) {
    if (strncasecmp(url, "http://", 7) != 0) return -EINVAL;
    const char *h = url + 7, *e;
    if (*h == '[') {
        e = strchr(h, ']');
        if (!e) return -EINVAL;
        e++;
    } else {
        e = h + strcspn(h, ":/");
    }
    if (e == h || (size_t)(e - h) >= hsize) return -EINVAL;
    memcpy(host, h, (size_t)(e - h));
    host[e - h] = '\0';
    *port = 80;
    if (*e == ':') {
        *port = atoi(e + 1);
        e += 1 + strspn(e + 1, "0123456789");
    }
    *path = *e == '/' ? e : "/";
    return *e == '/' || *e == '\0' ? 0 : -EINVAL;
}

/* One GET with "Connection: close"; the body length is Content-Length if
 * given, else whatever comes before the server closes. */
static int get(fetch *f) {
    char host[256];
    int port;
    const char *path;
    int r = parse_url(f->url, host, sizeof host, &port, &path);
    if (r < 0) return r;
    int fd = coop_tcp_connect(host, port);
    if (fd < 0) return fd;
    coop_stream *s;
    if ((r = coop_stream_new(&s, fd, NULL)) < 0) {
        coop_close(fd);
        return r;
    }
    coop_stream_printf(s, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, host);
    const char *head;
    ssize_t n = 0;
    if ((r = coop_stream_flush(s)) == 0 && (n = coop_stream_read_until(s, "\r\n\r\n", 4, &head)) > 0 &&
        sscanf(head, "HTTP/1.%*d %d", &f->status) == 1) {
        long long length = -1;
        for (const char *p = head; p && p < head + n; p = memchr(p, '\n', (size_t)(head + n - p))) {
            p += *p == '\n';
            if (strncasecmp(p, "content-length:", 15) == 0) length = atoll(p + 15);
        }
        char buf[16384];
        while (length < 0 || f->bytes < length) {
            ssize_t k = coop_stream_read(s, buf, sizeof buf);
            if (k <= 0) {
                if (k < 0 || length >= 0) r = k < 0 ? (int)k : -ECONNRESET;
                break;
            }
            f->bytes += k;
        }
    } else if (r == 0) {
        r = n < 0 ? (int)n : -EPROTO;
    }
    coop_stream_free(s);
    coop_close(fd);
    return r;
}

static int worker(void *arg) {
    job *j = arg;
    while (j->next < j->count) {
        fetch *f = &j->fetches[j->next++]; /* no checkpoint: taken atomically */
        int r = get(f);
        if (r < 0) f->status = r;
    }
    return 0; /* a failed fetch is reported, it does not cancel the others */
}

typedef struct options {
    int concurrency;   /* worker tasks */
    int64_t total;     /* deadline for everything, relative */
    job job;           /* the work */
} options;

static int main_task(void *arg) {
    options *o = arg;
    coop_nursery n;
    coop_nursery_open(&n, coop_after(o->total));
    for (int i = 0; i < o->concurrency && i < o->job.count; i++)
        coop_nursery_spawn(&n, NULL, "fetch", worker, &o->job);
    int r = coop_nursery_close(&n);
    int ok = 0;
    for (int i = 0; i < o->job.count; i++) {
        fetch *f = &o->job.fetches[i];
        if (f->status == 0) f->status = r < 0 ? r : -ECANCELED; /* never started */
        if (f->status > 0) {
            printf("%d %lld %s\n", f->status, f->bytes, f->url);
            ok++;
        } else {
            const char *name = strerrorname_np(-f->status);
            printf("ERROR %s %s\n", name ? name : "?", f->url);
        }
    }
    return ok == o->job.count ? 0 : 1;
}

int main(int argc, char **argv) {
    options o = {.concurrency = 4, .total = COOP_SEC(10)};
    int i = 1;
    for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
        if (strcmp(argv[i], "-c") == 0) o.concurrency = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-t") == 0) o.total = COOP_MS(atoll(argv[i + 1]));
        else break;
    }
    if (i >= argc || o.concurrency < 1) {
        fprintf(stderr, "usage: %s [-c CONCURRENCY] [-t TOTAL_MS] URL...\n", argv[0]);
        return 2;
    }
    o.job.count = argc - i;
    o.job.fetches = calloc((size_t)o.job.count, sizeof *o.job.fetches);
    if (!o.job.fetches) return 1;
    for (int k = 0; k < o.job.count; k++) o.job.fetches[k].url = argv[i + k];
    int r = coop_run(main_task, &o);
    free(o.job.fetches);
    return r == 0 ? 0 : 1;
}

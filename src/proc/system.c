/*
 * system.c — coop_system: gevent's cooperative subprocess.run / os.system.
 * Spawn a command with stdout on a pipe, collect its output while other
 * tasks run, wait for the exit. The same blocking call a script would make,
 * except that only the calling task waits.
 */
#include <errno.h>
#include <string.h>
#include "coop.h"
#include "util/alloc.h"

/* Read stdout to end of file, keeping at most max bytes in *buf (grown
 * geometrically) and dropping the rest. Returns 0 or -errno. */
static int collect(int fd, char **buf, size_t *len, size_t max) {
    size_t cap = 0;
    char scratch[4096];
    for (;;) {
        char *dst = scratch;
        size_t room = sizeof scratch;
        if (*len < max) {
            if (cap - *len < 1 + 1) { /* always keep room for the NUL */
                size_t ncap = cap ? cap * 2 : 4096;
                if (ncap > max + 1) ncap = max + 1;
                char *nb = coop__realloc(*buf, ncap);
                if (!nb) return -ENOMEM;
                *buf = nb;
                cap = ncap;
            }
            dst = *buf + *len;
            room = cap - *len - 1;
        }
        ssize_t n = coop_read(fd, dst, room);
        if (n == 0) return 0;
        if (n < 0) return (int)n;
        if (dst != scratch) *len += (size_t)n;
    }
}

int coop_system(const char *const argv[], const coop_proc_opts *opts, char **out,
                size_t *out_len, size_t max_output, int *status) {
    coop_proc_opts o = {0};
    if (opts) o = *opts;
    o.stdin_mode = COOP_STDIO_NULL;
    o.stdout_mode = COOP_STDIO_PIPE;
    o.stderr_mode = o.stderr_mode == COOP_STDIO_STDOUT ? COOP_STDIO_STDOUT : COOP_STDIO_INHERIT;
    if (out) *out = NULL;
    if (out_len) *out_len = 0;
    coop_proc *p;
    int r = coop_proc_spawn(&p, argv, &o);
    if (r < 0) return r;
    char *buf = NULL;
    size_t len = 0;
    r = collect(coop_proc_stdout(p), &buf, &len, out ? max_output : 0);
    /* On a read failure that is not cancellation, end the child ourselves;
     * a cancelled wait kills and reaps it anyway. */
    if (r < 0 && r != -ECANCELED && r != -ETIMEDOUT) coop_proc_kill(p, SIGKILL);
    int w = coop_proc_wait(p, status);
    if (r == 0) r = w;
    coop_proc_free(p);
    if (r < 0) {
        coop__free(buf);
        return r;
    }
    if (out) {
        if (!buf) buf = coop__calloc(1, 1);
        if (!buf) return -ENOMEM;
        buf[len] = '\0';
        *out = buf;
        if (out_len) *out_len = len;
    }
    return 0;
}

void coop_proc_output_free(char *out) { coop__free(out); }

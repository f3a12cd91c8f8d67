/*
 * whole.c — whole-file reads and writes, each one job on the "fs" pool
 * (open + loop of reads or writes + close), so a file costs one round trip
 * to a worker instead of one per chunk.
 *
 * coop_fs_write_file with COOP_FS_ATOMIC follows the classic recipe: write
 * a temporary file in the same directory (same file system, so rename is
 * atomic), fsync it, rename it over the target, fsync the directory so the
 * rename itself survives a crash. On any failure the temporary is removed
 * and the target is untouched.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fs/fs_internal.h"
#include "util/alloc.h"

/* ---- reading ------------------------------------------------------------ */

typedef struct read_job {
    const char *path;  /* file to read */
    size_t max;        /* limit (read_file) or capacity (read_file_into) */
    char *buf;         /* into: the caller's buffer; else allocated here */
    int allocate;      /* allocate the buffer (coop_fs_read_file) */
} read_job;

/* read until n bytes or end of file; returns bytes read or -errno. */
static ssize_t read_full(int fd, char *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r == 0) break;
        if (r < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Read a whole file into a growing buffer; the size from fstat is only a
 * hint (files in /proc report 0, files may grow while read). */
static ssize_t read_growing(int fd, read_job *j) {
    struct stat st;
    size_t cap = fstat(fd, &st) == 0 && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
    if (j->max && cap > j->max + 1) cap = j->max + 1;
    size_t len = 0;
    char *buf = NULL;
    for (;;) {
        if (cap - len < 2) {
            size_t ncap = cap * 2;
            if (j->max && ncap > j->max + 2) ncap = j->max + 2; /* room to see "too big" */
            cap = ncap;
        }
        char *nb = coop__realloc(buf, cap);
        if (!nb) {
            coop__free(buf);
            return -ENOMEM;
        }
        buf = nb;
        ssize_t r = read_full(fd, buf + len, cap - 1 - len);
        if (r < 0) {
            coop__free(buf);
            return r;
        }
        len += (size_t)r;
        if (j->max && len > j->max) {
            coop__free(buf);
            return -EFBIG;
        }
        if (len < cap - 1) break; /* short read: end of file */
    }
    buf[len] = '\0';
    j->buf = buf;
    return (ssize_t)len;
}

static intptr_t read_on_worker(void *arg) {
    read_job *j = arg;
    int fd;
    do fd = open(j->path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) return -errno;
    ssize_t r = j->allocate ? read_growing(fd, j) : read_full(fd, j->buf, j->max);
    close(fd);
    return r;
}

ssize_t coop_fs_read_file(const char *path, char **out, size_t max) {
    if (!out) return -EINVAL;
    *out = NULL;
    if (!path) return -EINVAL;
    read_job j = {path, max, NULL, 1};
    intptr_t r = coop__fs_run(read_on_worker, &j, 0);
    if (r >= 0) *out = j.buf;
    return r;
}

ssize_t coop_fs_read_file_into(const char *path, void *buf, size_t cap) {
    if (!path || (!buf && cap)) return -EINVAL;
    read_job j = {path, cap, buf, 0};
    return coop__fs_run(read_on_worker, &j, 0);
}

void coop_fs_free(void *buf) { coop__free(buf); }

/* ---- writing ------------------------------------------------------------ */

typedef struct write_job {
    const char *path;   /* target */
    const char *data;   /* content */
    size_t n;           /* its length */
    mode_t mode;        /* mode of a new file */
    unsigned flags;     /* COOP_FS_* */
} write_job;

static int write_full(int fd, const char *data, size_t n) {
    while (n > 0) {
        ssize_t r = write(fd, data, n);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        data += r;
        n -= (size_t)r;
    }
    return 0;
}

static int fsync_dir_of(const char *path) {
    char dir[4096];
    if (strlen(path) >= sizeof dir) return -ENAMETOOLONG;
    strcpy(dir, path);
    int fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    int r = fsync(fd) < 0 && errno != EINVAL ? -errno : 0; /* some fs refuse: fine */
    close(fd);
    return r;
}

static intptr_t write_atomic(write_job *j) {
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", j->path) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) return -errno;
    int r = write_full(fd, j->data, j->n);
    if (r == 0 && fchmod(fd, j->mode) < 0) r = -errno;
    if (r == 0 && fsync(fd) < 0) r = -errno;
    if (close(fd) < 0 && r == 0 && errno != EINTR) r = -errno;
    if (r == 0 && rename(tmp, j->path) < 0) r = -errno;
    if (r < 0) {
        unlink(tmp);
        return r;
    }
    return fsync_dir_of(j->path);
}

static intptr_t write_on_worker(void *arg) {
    write_job *j = arg;
    if (j->flags & COOP_FS_ATOMIC) return write_atomic(j);
    int fd;
    do fd = open(j->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, j->mode);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) return -errno;
    int r = write_full(fd, j->data, j->n);
    if (r == 0 && (j->flags & COOP_FS_SYNC) && fsync(fd) < 0) r = -errno;
    if (close(fd) < 0 && r == 0 && errno != EINTR) r = -errno;
    return r;
}

int coop_fs_write_file(const char *path, const void *data, size_t n, mode_t mode,
                       unsigned flags) {
    if (!path || (!data && n) || (flags & ~(COOP_FS_ATOMIC | COOP_FS_SYNC))) return -EINVAL;
    write_job j = {path, data, n, mode, flags};
    return (int)coop__fs_run(write_on_worker, &j, 0);
}

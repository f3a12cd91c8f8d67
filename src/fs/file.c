/*
 * file.c — the single file calls (open, read, write, pread, pwrite, fsync,
 * stat, unlink, rename, close), each one system call run on the "fs" pool.
 *
 * All calls share one argument record and one worker function (a switch on
 * the operation): the record lives on the calling task's stack, which is
 * safe because the pool never touches a job's argument after the call
 * returned (a withdrawn job never runs; a running one is waited for).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include "fs/fs_internal.h"
#include "sched/park.h"

intptr_t coop__fs_run(coop_work_fn fn, void *arg, int shielded) {
    /* INTPTR_MIN: "fn did not run". Every fn returns a value >= -4095. */
    intptr_t result = INTPTR_MIN;
    coop_scope s;
    if (shielded) {
        coop_scope_enter(&s, COOP_NEVER);
        coop_scope_shield(&s, 1);
    }
    int r = coop_pool_call(coop_pool_builtin(COOP_POOL_FS), fn, arg, &result, 0, NULL);
    if (shielded) coop_scope_exit(&s);
    /* Cancelled while fn ran: the pool waited for it, and its effect
     * happened, so its result stands (the next checkpoint reports the
     * cancellation). */
    if (result != INTPTR_MIN) return result;
    return r;
}

enum fs_op { OP_OPEN, OP_CLOSE, OP_READ, OP_WRITE, OP_PREAD, OP_PWRITE, OP_FSYNC, OP_FSTAT,
             OP_STAT, OP_UNLINK, OP_RENAME };

typedef struct fs_call {
    enum fs_op op;      /* which system call */
    int fd;             /* its fd */
    void *buf;          /* read buffer / write data (cast) */
    size_t n;           /* bytes */
    off_t off;          /* offset for pread/pwrite */
    const char *path;   /* path (open, stat, unlink, rename's source) */
    const char *path2;  /* rename's target */
    int flags;          /* open flags */
    mode_t mode;        /* open mode */
    struct stat *st;    /* stat output */
} fs_call;

static intptr_t on_worker(void *arg) {
    fs_call *c = arg;
    intptr_t r;
    do {
        switch (c->op) {
        case OP_OPEN: r = open(c->path, c->flags | O_CLOEXEC, c->mode); break;
        case OP_CLOSE: return close(c->fd) < 0 && errno != EINTR ? -errno : 0;
        case OP_READ: r = read(c->fd, c->buf, c->n); break;
        case OP_WRITE: r = write(c->fd, c->buf, c->n); break;
        case OP_PREAD: r = pread(c->fd, c->buf, c->n, c->off); break;
        case OP_PWRITE: r = pwrite(c->fd, c->buf, c->n, c->off); break;
        case OP_FSYNC: r = fsync(c->fd); break;
        case OP_FSTAT: r = fstat(c->fd, c->st); break;
        case OP_STAT: r = stat(c->path, c->st); break;
        case OP_UNLINK: r = unlink(c->path); break;
        case OP_RENAME: r = rename(c->path, c->path2); break;
        default: return -EINVAL;
        }
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : r;
}

static intptr_t run(fs_call *c) { return coop__fs_run(on_worker, c, c->op == OP_CLOSE); }

int coop_fs_open(const char *path, int flags, mode_t mode) {
    if (!path) return -EINVAL;
    fs_call c = {.op = OP_OPEN, .path = path, .flags = flags, .mode = mode};
    return (int)run(&c);
}

int coop_fs_close(int fd) {
    fs_call c = {.op = OP_CLOSE, .fd = fd};
    return (int)run(&c);
}

ssize_t coop_fs_read(int fd, void *buf, size_t n) {
    fs_call c = {.op = OP_READ, .fd = fd, .buf = buf, .n = n};
    return run(&c);
}

ssize_t coop_fs_write(int fd, const void *buf, size_t n) {
    fs_call c = {.op = OP_WRITE, .fd = fd, .buf = (void *)buf, .n = n};
    return run(&c);
}

ssize_t coop_fs_pread(int fd, void *buf, size_t n, off_t offset) {
    fs_call c = {.op = OP_PREAD, .fd = fd, .buf = buf, .n = n, .off = offset};
    return run(&c);
}

ssize_t coop_fs_pwrite(int fd, const void *buf, size_t n, off_t offset) {
    fs_call c = {.op = OP_PWRITE, .fd = fd, .buf = (void *)buf, .n = n, .off = offset};
    return run(&c);
}

int coop_fs_fsync(int fd) {
    fs_call c = {.op = OP_FSYNC, .fd = fd};
    return (int)run(&c);
}

int coop_fs_fstat(int fd, struct stat *st) {
    if (!st) return -EINVAL;
    fs_call c = {.op = OP_FSTAT, .fd = fd, .st = st};
    return (int)run(&c);
}

int coop_fs_stat(const char *path, struct stat *st) {
    if (!path || !st) return -EINVAL;
    fs_call c = {.op = OP_STAT, .path = path, .st = st};
    return (int)run(&c);
}

int coop_fs_unlink(const char *path) {
    if (!path) return -EINVAL;
    fs_call c = {.op = OP_UNLINK, .path = path};
    return (int)run(&c);
}

int coop_fs_rename(const char *from, const char *to) {
    if (!from || !to) return -EINVAL;
    fs_call c = {.op = OP_RENAME, .path = from, .path2 = to};
    return (int)run(&c);
}

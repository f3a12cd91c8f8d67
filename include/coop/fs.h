/*
 * coop/fs.h — files without blocking the loop (aiofiles). Regular files are
 * always "ready" to epoll, and a read that misses the page cache blocks the
 * thread, so every call here runs its system call on the "fs" thread pool
 * (coop_pool_builtin(COOP_POOL_FS)) while only the calling task waits.
 * Included by <coop.h>.
 *
 * Cancellation (the caller's scope is cancelled, or its deadline passes):
 *  - if the call has not started on a worker yet, it is withdrawn: nothing
 *    happened, and the cause (-ECANCELED/-ETIMEDOUT) is returned;
 *  - if it is running, a system call cannot be interrupted, so the task
 *    waits for it (shielded) and the call's own result stands: it returns
 *    the bytes read or written (or the call's error), and the cancellation
 *    is delivered by the task's next checkpoint. So a buffer passed to a
 *    read is never written after the call returned, and no effect ever
 *    happens without being reported.
 * coop_fs_close is never withdrawn (an fd must not leak): it always runs.
 *
 * The fds are ordinary blocking fds (close-on-exec): use them only with
 * the coop_fs_* calls (coop_read would block the loop on a slow disk).
 */
#ifndef COOP_FS_H
#define COOP_FS_H

#include <sys/stat.h>
#include <sys/types.h>
#include "sched.h"

#ifdef __cplusplus
extern "C" {
#endif

/* open(2): flags and mode as for open, O_CLOEXEC always added. Returns the
 * fd or -errno (-ENOENT, -EACCES, -EEXIST, -EMFILE ...), or -ECANCELED/
 * -ETIMEDOUT (withdrawn), -EAGAIN (no pool thread), -EPERM (not in a task),
 * -EINVAL (path NULL). [checkpoint] [task] */
COOP_API int coop_fs_open(const char *path, int flags, mode_t mode);

/* close(2) on the pool; always runs, even in a cancelled scope (it is not a
 * checkpoint for cancellation). Returns 0 or close's -errno (the fd is
 * released anyway), -EPERM. [task] */
COOP_API int coop_fs_close(int fd);

/* read(2) / write(2) / pread(2) / pwrite(2) of up to n bytes: the byte count
 * (0 = end of file for reads; may be short) or -errno, or the cancellation
 * cause when withdrawn (see above). [checkpoint] [task] */
COOP_API ssize_t coop_fs_read(int fd, void *buf, size_t n);
COOP_API ssize_t coop_fs_write(int fd, const void *buf, size_t n);
COOP_API ssize_t coop_fs_pread(int fd, void *buf, size_t n, off_t offset);
COOP_API ssize_t coop_fs_pwrite(int fd, const void *buf, size_t n, off_t offset);

/* fsync(2) / fstat(2) / stat(2): 0 or -errno (or the cancellation cause
 * when withdrawn). [checkpoint] [task] */
COOP_API int coop_fs_fsync(int fd);
COOP_API int coop_fs_fstat(int fd, struct stat *st);
COOP_API int coop_fs_stat(const char *path, struct stat *st);

/* unlink(2) / rename(2): 0 or -errno. [checkpoint] [task] */
COOP_API int coop_fs_unlink(const char *path);
COOP_API int coop_fs_rename(const char *from, const char *to);

/* Read the whole file at path (one job on the pool: open, read to end,
 * close). On success returns its length and *out is a buffer of length + 1
 * bytes (NUL-terminated, so text can be used as a string), owned by the
 * caller: release it with coop_fs_free. Files longer than max bytes fail
 * with -EFBIG (max 0: no limit). Errors: open/read errors, -ENOMEM,
 * -EFBIG, -EINVAL, the cancellation cause (withdrawn: *out is NULL).
 * [checkpoint] [task] */
COOP_API ssize_t coop_fs_read_file(const char *path, char **out, size_t max);

/* Read at most cap bytes of the file at path into the caller's buf.
 * Returns the bytes read (the file may be longer: check with stat), or as
 * coop_fs_read_file. buf is not written after the call returns.
 * [checkpoint] [task] */
COOP_API ssize_t coop_fs_read_file_into(const char *path, void *buf, size_t cap);

/* Free a buffer of coop_fs_read_file (NULL is ignored). [any thread] */
COOP_API void coop_fs_free(void *buf);

/* Flags for coop_fs_write_file. */
#define COOP_FS_ATOMIC 1u /* write a temporary file in the same directory,
                             fsync it, rename it over path, fsync the
                             directory: readers see the old or the new
                             content, never a mix, even after a crash */
#define COOP_FS_SYNC 2u   /* fsync the file before returning (implied by
                             COOP_FS_ATOMIC) */

/* Write n bytes of data as the whole content of path (created with mode
 * if missing, truncated otherwise; with COOP_FS_ATOMIC the new file gets
 * mode). Returns 0 or -errno (open/write/fsync/rename errors, -EINVAL for
 * unknown flags); on failure an atomic write leaves path untouched and
 * removes its temporary file. Withdrawn (cancelled before it started):
 * nothing was written. [checkpoint] [task] */
COOP_API int coop_fs_write_file(const char *path, const void *data, size_t n, mode_t mode,
                                unsigned flags);

#ifdef __cplusplus
}
#endif
#endif

/*
 * coop/proc.h — subprocesses (asyncio.create_subprocess_exec) and signals
 * (loop.add_signal_handler), plus the gevent-style helper coop_system that
 * runs a command and captures its output. Included by <coop.h>.
 *
 * A child is spawned with posix_spawn (vfork + exec inside glibc), so a
 * program that cannot be started is reported by coop_proc_spawn itself
 * (-ENOENT, -EACCES ...), never later by the wait. Its pipes are plain fds
 * used with coop_read/coop_write. Its exit is waited for through a pidfd
 * (Linux >= 5.3) or, where pidfd_open is missing, a helper thread blocked
 * in waitpid; never by polling and never through SIGCHLD (coop installs no
 * signal handler). A child is always reaped: by coop_proc_wait, or by
 * coop_proc_free, which kills a child still running. No zombies.
 */
#ifndef COOP_PROC_H
#define COOP_PROC_H

#include <signal.h>
#include <sys/types.h>
#include "sched.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------
 * Subprocesses
 * --------------------------------------------------------------------- */

/* Where one of the child's standard streams goes. */
enum coop_stdio {
    COOP_STDIO_INHERIT = 0, /* the parent's own fd 0/1/2 (the default) */
    COOP_STDIO_PIPE = 1,    /* a pipe; the parent's end is nonblocking and
                               close-on-exec, see coop_proc_stdin/out/err */
    COOP_STDIO_NULL = 2,    /* /dev/null */
    COOP_STDIO_STDOUT = 3,  /* stderr only: the same as the child's stdout
                               (2>&1) */
};

/* Options for coop_proc_spawn. Zero-initialise ({0}) and set what you need:
 * all-zero means inherit everything, search PATH, SIGKILL on cancellation. */
typedef struct coop_proc_opts {
    const char *const *env;  /* environment, NULL-terminated; NULL: inherit ours */
    const char *cwd;         /* working directory of the child; NULL: ours */
    int stdin_mode;          /* enum coop_stdio for fd 0 */
    int stdout_mode;         /* enum coop_stdio for fd 1 */
    int stderr_mode;         /* enum coop_stdio for fd 2 */
    int no_path_search;      /* nonzero: argv[0] is a path, PATH is not searched */
    int kill_signal;         /* sent when coop_proc_wait is cancelled; 0: SIGKILL */
    int64_t kill_grace_ns;   /* after kill_signal, how long a cancelled wait
                                waits before escalating to SIGKILL; 0: 5 s.
                                Irrelevant when kill_signal is SIGKILL. */
} coop_proc_opts;

/* A running or finished child: an opaque heap object. */
typedef struct coop_proc coop_proc;

/* Start argv[0] with arguments argv (NULL-terminated) as a child process.
 * The child starts with an empty signal mask and SIGPIPE at its default
 * action (whatever the parent's loop blocked or ignored); other fds of the
 * parent are not inherited if they are close-on-exec (coop's own are).
 * On success *out is the child, owned by the caller (coop_proc_free).
 * Errors: -EINVAL (argv empty, bad mode), -ENOMEM, -EMFILE/-ENFILE (no fd
 * for a pipe), and every error of starting the program: -ENOENT (no such
 * program, or cwd missing), -EACCES, -ENOEXEC, -E2BIG, ... Nothing is left
 * behind on failure. Does not suspend. [loop] */
COOP_API int coop_proc_spawn(coop_proc **out, const char *const argv[], const coop_proc_opts *opts);

/* The child's process id (valid until coop_proc_free; after the child has
 * been reaped the number may belong to another process). [loop] */
COOP_API pid_t coop_proc_pid(const coop_proc *p);

/* The parent's end of the child's stdin / stdout / stderr pipe, or -1 when
 * that stream is not COOP_STDIO_PIPE (or was closed). The fd belongs to p:
 * use it with coop_read / coop_write / coop_fd_wait; do not close it
 * yourself, use coop_proc_close_stream (or coop_proc_free). [loop] */
COOP_API int coop_proc_stdin(const coop_proc *p);
COOP_API int coop_proc_stdout(const coop_proc *p);
COOP_API int coop_proc_stderr(const coop_proc *p);

/* Close the parent's end of stream fd 0, 1 or 2 (closing stdin is how the
 * child sees end of input). Tasks waiting on it wake with -EBADF. Returns 0,
 * or -EINVAL (bad stream number), -EBADF (not a pipe or already closed).
 * [loop] */
COOP_API int coop_proc_close_stream(coop_proc *p, int stream);

/* Wait until the child exits and store its wait status in *status (may be
 * NULL; decode with WIFEXITED/WEXITSTATUS/WIFSIGNALED/WTERMSIG). Returns 0
 * once the child has been reaped (also if it had been reaped before: the
 * status is remembered). If the wait is cancelled, the child is killed
 * with opts.kill_signal (escalating to SIGKILL after kill_grace_ns), reaped
 * in a shielded wait, and the cause is returned (-ECANCELED/-ETIMEDOUT) with
 * *status set: a cancelled wait never leaves the child running. Other
 * errors: -ECHILD (someone else reaped the child, e.g. SIGCHLD set to
 * SIG_IGN: status unknown), -EBUSY (another task is already waiting on p),
 * -EPERM (not in a task). [checkpoint] [task] */
COOP_API int coop_proc_wait(coop_proc *p, int *status);

/* Send signal sig to the child if it has not been reaped yet. Returns 0,
 * -ESRCH (already reaped), or -EINVAL (bad signal). Never signals a reused
 * pid: a reaped child is not signalled. [loop] */
COOP_API int coop_proc_kill(coop_proc *p, int sig);

/* Release p: close its pipe ends and, if the child is still running, kill
 * it with SIGKILL and reap it (blocking the thread for the moment the
 * kernel takes to end it). Freeing a proc a task is waiting on is misuse
 * (abort). NULL is ignored. [loop] */
COOP_API void coop_proc_free(coop_proc *p);

/* gevent-style subprocess.run / os.system: run argv (with opts; their
 * stdio modes are ignored: stdin is /dev/null, stdout is captured, stderr
 * is inherited, or captured with stdout when opts->stderr_mode is
 * COOP_STDIO_STDOUT), collect at most max_output bytes of the output into a
 * NUL-terminated buffer (coop__malloc'd; release with coop_proc_output_free;
 * further output is read and dropped), wait for the exit and store the wait
 * status in *status. out/out_len/status may be NULL. Returns 0 or the
 * errors of coop_proc_spawn / coop_proc_wait / coop_read (-ENOMEM ...);
 * when cancelled the child is killed and reaped, the output is freed, and
 * the cause is returned. [checkpoint] [task] */
COOP_API int coop_system(const char *const argv[], const coop_proc_opts *opts, char **out,
                         size_t *out_len, size_t max_output, int *status);

/* Free an output buffer of coop_system (NULL is ignored). [any thread] */
COOP_API void coop_proc_output_free(char *out);

/* ------------------------------------------------------------------------
 * Signals
 *
 * A signal watcher receives a set of signals through a signalfd. While it
 * exists, its signals are blocked in the mask of the calling thread (the
 * loop's thread), so they queue for the watcher instead of running their
 * disposition; freeing the last watcher of a signal restores the mask as
 * it was. coop never changes a signal's disposition (handler/ignore).
 * A process-directed signal (kill(pid), Ctrl-C) goes to any thread that
 * does not block it: in a program with other threads, block the signals in
 * those threads too (coop's own helper threads block every signal), or the
 * signal will run its disposition there.
 * --------------------------------------------------------------------- */

typedef struct coop_signal_watch coop_signal_watch;

/* Start watching the signals of set (SIGKILL/SIGSTOP are refused). On
 * success *out is the watcher, owned by the caller. Errors: -EINVAL (set
 * empty or holding SIGKILL/SIGSTOP), -ENOMEM, -EMFILE/-ENFILE, -EPERM (no
 * loop on this thread). Does not suspend. [loop] */
COOP_API int coop_signal_watch_new(coop_signal_watch **out, const sigset_t *set);

/* Wait for one of the watched signals. Returns its number (> 0); if info is
 * non-NULL it receives the sender's pid and uid and the value (si_pid,
 * si_uid, si_value via sigqueue) — other fields are zero. Signals that
 * arrive while nobody waits are queued by the kernel (a standard signal at
 * most once). Errors: -ECANCELED/-ETIMEDOUT (no signal consumed), -EBUSY
 * (another task already waits on w), -EPERM. [checkpoint] [task] */
COOP_API int coop_signal_wait(coop_signal_watch *w, siginfo_t *info);

/* Stop watching: signals of w that arrived and were not waited for are
 * discarded, then the thread's mask is restored for the signals no other
 * watcher holds. Must be called on the thread that created w. Freeing a
 * watcher a task waits on is misuse (abort). NULL is ignored. [loop] */
COOP_API void coop_signal_watch_free(coop_signal_watch *w);

#ifdef __cplusplus
}
#endif
#endif

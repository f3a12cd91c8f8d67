/*
 * spawn.c — child processes: spawn with pipes, wait for exit, kill, reap.
 *
 * A child is started with posix_spawn(p) (glibc: clone(CLONE_VM|CLONE_VFORK)
 * + exec, which reports exec failures as the call's result, so -ENOENT comes
 * from coop_proc_spawn). Before that the parent checks that the program and
 * the cwd exist (precheck): where the vfork is emulated by a fork (valgrind,
 * qemu-user) glibc cannot see exec failures, and the check keeps -ENOENT /
 * -EACCES coming from the spawn there too. Its exit is observed through an "exit fd" the loop
 * waits on: a pidfd (readable once the child is a zombie), or, where
 * pidfd_open is missing, an eventfd written by a helper thread blocked in
 * waitid(WNOWAIT). Both leave the zombie in place: only the loop's thread
 * reaps, so the pid can never be recycled while coop may still signal it.
 *
 * Invariants: p->reaped is set exactly once, by reap(), and after it no
 * signal is sent to p->pid; a proc is never freed with its child unreaped
 * (coop_proc_free kills and reaps); every fd made here is close-on-exec.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "coop.h"
#include "proc/proc_internal.h"
#include "sched/park.h"
#include "util/alloc.h"
#include "util/misuse.h"

extern char **environ;

/* Set by tests to exercise the helper-thread fallback on kernels that have
 * pidfd_open. */
int coop__proc_no_pidfd;

struct coop_proc {
    pid_t pid;            /* the child's pid; ours until reaped */
    int reaped;           /* the child has been reaped (status is final) */
    int lost;             /* it was reaped elsewhere before we could watch it:
                             its status is gone, wait reports -ECHILD */
    int status;           /* wait status, valid once reaped */
    int exit_fd;          /* pidfd, or the helper thread's eventfd; -1 once closed */
    int has_thread;       /* a helper thread waits for the exit (no pidfd) */
    pthread_t thread;     /* that thread; joined before reaping */
    int thread_joined;    /* the helper thread has been joined */
    int fds[3];           /* parent ends of the stdin/stdout/stderr pipes, or -1 */
    int kill_signal;      /* signal sent when a wait is cancelled */
    int64_t kill_grace;   /* wait after kill_signal before SIGKILL */
    int waiting;          /* a task is inside coop_proc_wait */
};

/* ---- small fd helpers ------------------------------------------------- */

void coop__proc_close_fd(int fd) {
    if (fd < 0) return;
    /* Inside the loop the fd may have been waited on: coop_close drops the
     * loop's state for it. Outside (after coop_run returned) a plain close. */
    if (coop_loop_current())
        coop_close(fd);
    else
        close(fd);
}

/* A child end must not be 0, 1 or 2, or the dup2 of one stream could
 * clobber the source of another. Returns the fd to use, or -errno. */
static int above_stdio(int fd) {
    if (fd > 2) return fd;
    int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int err = errno;
    close(fd);
    return nfd < 0 ? -err : nfd;
}

/* ---- waiting for the exit --------------------------------------------- */

static void *exit_watcher(void *arg) {
    coop_proc *p = arg;
    siginfo_t info;
    /* WNOWAIT: observe the exit but leave the zombie for the loop to reap,
     * so the pid stays ours as long as coop may signal it. */
    while (waitid(P_PID, (id_t)p->pid, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR) {
    }
    uint64_t one = 1;
    while (write(p->exit_fd, &one, sizeof one) < 0 && errno == EINTR) {
    }
    return NULL;
}

static int start_exit_watcher(coop_proc *p) {
    p->exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->exit_fd < 0) return -errno;
    /* The helper must never run a signal's disposition meant for the loop:
     * it starts with every signal blocked (a new thread inherits the mask). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&p->thread, NULL, exit_watcher, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        close(p->exit_fd);
        p->exit_fd = -1;
        return -rc;
    }
    p->has_thread = 1;
    return 0;
}

/* Reap the child with waitpid; flags 0 blocks, WNOHANG does not. Returns 1
 * if reaped, 0 if still running, -ECHILD if someone else reaped it. */
static int reap(coop_proc *p, int flags) {
    if (p->reaped) return 1;
    if (p->has_thread && !p->thread_joined) {
        if (flags & WNOHANG) {
            uint64_t n;
            if (read(p->exit_fd, &n, sizeof n) < 0) return 0; /* not exited yet */
        }
        pthread_join(p->thread, NULL);
        p->thread_joined = 1;
    }
    int st;
    for (;;) {
        pid_t r = waitpid(p->pid, &st, flags);
        if (r == p->pid) {
            p->status = st;
            p->reaped = 1;
            return 1;
        }
        if (r == 0) return 0;
        if (errno == EINTR) continue;
        /* ECHILD: reaped behind our back (SIGCHLD ignored, or a waitpid(-1)
         * elsewhere). The status is lost; the pid is no longer ours. */
        p->status = 0;
        p->reaped = 1;
        return -ECHILD;
    }
}

static void release_exit_fd(coop_proc *p) {
    coop__proc_close_fd(p->exit_fd);
    p->exit_fd = -1;
}

/* Wait (suspending) until the child is reaped. Returns 0, -ECHILD, or the
 * error of the fd wait (cancellation). */
static int wait_exit(coop_proc *p) {
    while (!p->reaped) {
        int r = coop_fd_wait(p->exit_fd, COOP_READABLE);
        if (r < 0) return r;
        r = reap(p, WNOHANG);
        if (r < 0) {
            release_exit_fd(p);
            return r;
        }
        if (r == 1) release_exit_fd(p);
    }
    return 0;
}

/* Wait for the exit inside a shielded scope with the given deadline. */
static int wait_exit_shielded(coop_proc *p, int64_t deadline) {
    coop_scope s;
    coop_scope_enter(&s, deadline);
    coop_scope_shield(&s, 1);
    int r = wait_exit(p);
    coop_scope_exit(&s);
    return r;
}

/* The cancelled-wait path: kill, give the child kill_grace to go, then
 * SIGKILL, and reap — all shielded, so the child never outlives the wait. */
static void kill_and_reap(coop_proc *p) {
    if (p->reaped) return;
    kill(p->pid, p->kill_signal);
    if (p->kill_signal != SIGKILL) {
        if (wait_exit_shielded(p, coop_after(p->kill_grace)) == 0) return;
        if (!p->reaped) kill(p->pid, SIGKILL);
    }
    if (!p->reaped && wait_exit_shielded(p, COOP_NEVER) != 0 && !p->reaped) {
        /* The fd wait itself failed (-ENOMEM): reap by blocking, SIGKILL
         * has been sent so this is short. */
        reap(p, 0);
        release_exit_fd(p);
    }
}

/* ---- precheck ------------------------------------------------------------ */

/* access(dir/name, X_OK) as 0 or -errno. */
static int executable_in(const char *dir, size_t dir_len, const char *name) {
    char path[PATH_MAX];
    if (dir_len + 1 + strlen(name) >= sizeof path) return -ENAMETOOLONG;
    memcpy(path, dir, dir_len);
    path[dir_len] = '/';
    strcpy(path + dir_len + 1, name);
    return access(path, X_OK) < 0 ? -errno : 0;
}

/* The errors exec would give for argv0 and cwd that are visible from here:
 * -ENOENT (no such program or cwd) or -EACCES, else 0. Like execvp, a PATH
 * search takes the first executable match and reports -EACCES only if a
 * match existed but none could be run. Relative PATH entries (resolved in
 * the child's cwd) make the check give up (0): posix_spawn decides. */
static int precheck(const char *prog, const coop_proc_opts *o) {
    if (o->cwd && access(o->cwd, X_OK) < 0) return -errno;
    if (o->no_path_search || strchr(prog, '/')) {
        if (prog[0] == '/' || !o->cwd) return access(prog, X_OK) < 0 ? -errno : 0;
        return executable_in(o->cwd, strlen(o->cwd), prog);
    }
    const char *path = getenv("PATH"); /* posix_spawnp searches the parent's PATH */
    if (!path) path = "/bin:/usr/bin";
    int err = -ENOENT;
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0 || p[0] != '/') return 0;
        int r = executable_in(p, len, prog);
        if (r == 0) return 0;
        if (r == -EACCES) err = -EACCES;
        if (!end) return err;
        p = end;
    }
}

/* ---- public API --------------------------------------------------------- */

static int setup_stream(posix_spawn_file_actions_t *fa, coop_proc *p, int stream, int mode,
                        int child_ends[3]) {
    switch (mode) {
    case COOP_STDIO_INHERIT:
        return 0;
    case COOP_STDIO_NULL:
        return -posix_spawn_file_actions_addopen(fa, stream, "/dev/null",
                                                 stream == 0 ? O_RDONLY : O_WRONLY, 0);
    case COOP_STDIO_STDOUT:
        if (stream != 2) return -EINVAL;
        return -posix_spawn_file_actions_adddup2(fa, 1, 2);
    case COOP_STDIO_PIPE: {
        int pfd[2];
        if (pipe2(pfd, O_CLOEXEC) < 0) return -errno;
        int parent = stream == 0 ? pfd[1] : pfd[0];
        int child = above_stdio(stream == 0 ? pfd[0] : pfd[1]);
        if (child < 0) {
            close(parent);
            return child;
        }
        p->fds[stream] = parent;
        child_ends[stream] = child;
        int r = coop_fd_nonblock(parent);
        if (r < 0) return r;
        /* dup2 onto 0/1/2 clears close-on-exec on the target only. */
        return -posix_spawn_file_actions_adddup2(fa, child, stream);
    }
    default:
        return -EINVAL;
    }
}

static int do_spawn(coop_proc *p, const char *const argv[], const coop_proc_opts *o,
                    int child_ends[3]) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int r = -posix_spawn_file_actions_init(&fa);
    if (r < 0) return r;
    r = -posix_spawnattr_init(&attr);
    if (r < 0) {
        posix_spawn_file_actions_destroy(&fa);
        return r;
    }
    if (o->cwd) r = -posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
    const int modes[3] = {o->stdin_mode, o->stdout_mode, o->stderr_mode};
    for (int i = 0; i < 3 && r == 0; i++) r = setup_stream(&fa, p, i, modes[i], child_ends);
    if (r == 0) {
        /* The loop's thread may block signals (signal watchers) or ignore
         * SIGPIPE: the program gets a clean mask and SIGPIPE/SIGXFSZ at
         * their default actions, as Python's subprocess does. */
        sigset_t none, dfl;
        sigemptyset(&none);
        sigemptyset(&dfl);
        sigaddset(&dfl, SIGPIPE);
        sigaddset(&dfl, SIGXFSZ);
        posix_spawnattr_setsigmask(&attr, &none);
        posix_spawnattr_setsigdefault(&attr, &dfl);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        char *const *envp = o->env ? (char *const *)o->env : environ;
        char *const *args = (char *const *)argv;
        r = o->no_path_search ? posix_spawn(&p->pid, argv[0], &fa, &attr, args, envp)
                              : posix_spawnp(&p->pid, argv[0], &fa, &attr, args, envp);
        r = -r;
    }
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return r;
}

int coop_proc_spawn(coop_proc **out, const char *const argv[], const coop_proc_opts *opts) {
    static const coop_proc_opts defaults;
    const coop_proc_opts *o = opts ? opts : &defaults;
    if (!out || !argv || !argv[0]) return -EINVAL;
    *out = NULL;
    if (o->kill_signal < 0 || o->kill_signal >= NSIG) return -EINVAL;
    int r = precheck(argv[0], o);
    if (r < 0) return r;
    coop_proc *p = coop__calloc(1, sizeof *p);
    if (!p) return -ENOMEM;
    p->exit_fd = -1;
    p->fds[0] = p->fds[1] = p->fds[2] = -1;
    p->kill_signal = o->kill_signal ? o->kill_signal : SIGKILL;
    p->kill_grace = o->kill_grace_ns > 0 ? o->kill_grace_ns : COOP_SEC(5);
    int child_ends[3] = {-1, -1, -1};
    r = do_spawn(p, argv, o, child_ends);
    for (int i = 0; i < 3; i++)
        if (child_ends[i] >= 0) close(child_ends[i]);
    if (r < 0) {
        for (int i = 0; i < 3; i++)
            if (p->fds[i] >= 0) close(p->fds[i]);
        coop__free(p);
        return r;
    }
    /* The child runs: from here on a failure must kill and reap it. */
    if (!coop__proc_no_pidfd) {
        p->exit_fd = (int)syscall(SYS_pidfd_open, p->pid, 0);
        if (p->exit_fd < 0 && errno == ESRCH) {
            /* Already exited and reaped behind our back (SIGCHLD ignored, a
             * waitpid(-1) elsewhere): spawning worked, the status is lost. */
            p->reaped = 1;
            p->lost = 1;
        } else if (p->exit_fd < 0 && errno != ENOSYS) {
            r = -errno;
        }
    }
    if (r == 0 && p->exit_fd < 0 && !p->lost) r = start_exit_watcher(p);
    if (r < 0) {
        coop_proc_free(p);
        return r;
    }
    *out = p;
    return 0;
}

pid_t coop_proc_pid(const coop_proc *p) { return p->pid; }
int coop_proc_stdin(const coop_proc *p) { return p->fds[0]; }
int coop_proc_stdout(const coop_proc *p) { return p->fds[1]; }
int coop_proc_stderr(const coop_proc *p) { return p->fds[2]; }

int coop_proc_close_stream(coop_proc *p, int stream) {
    if (stream < 0 || stream > 2) return -EINVAL;
    if (p->fds[stream] < 0) return -EBADF;
    coop__proc_close_fd(p->fds[stream]);
    p->fds[stream] = -1;
    return 0;
}

int coop_proc_wait(coop_proc *p, int *status) {
    if (!coop__task_current()) return -EPERM;
    if (p->waiting) return -EBUSY;
    if (p->lost) return -ECHILD;
    p->waiting = 1;
    int r = wait_exit(p);
    if (r == -ECANCELED || r == -ETIMEDOUT) kill_and_reap(p);
    p->waiting = 0;
    if (status && p->reaped) *status = p->status;
    return r;
}

int coop_proc_kill(coop_proc *p, int sig) {
    if (sig < 0 || sig >= NSIG) return -EINVAL;
    if (p->reaped) return -ESRCH;
    return kill(p->pid, sig) < 0 ? -errno : 0;
}

void coop_proc_free(coop_proc *p) {
    if (!p) return;
    if (p->waiting) coop__misuse("coop_proc_free: a task still waits for pid %d", (int)p->pid);
    for (int i = 0; i < 3; i++) coop__proc_close_fd(p->fds[i]);
    if (!p->reaped) {
        kill(p->pid, SIGKILL);
        reap(p, 0);
    } else if (p->has_thread && !p->thread_joined) {
        pthread_join(p->thread, NULL);
    }
    release_exit_fd(p);
    coop__free(p);
}

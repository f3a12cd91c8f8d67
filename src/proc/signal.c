/*
 * signal.c — tasks waiting for signals through a signalfd.
 *
 * A watcher blocks its signals in the calling thread's mask so that they
 * stay pending for the signalfd instead of running their disposition. The
 * mask is shared by every watcher of the thread, so it is reference-counted
 * per signal (thread-local): the last watcher of a signal unblocks it, and
 * only if it was not blocked before the first watcher came. Dispositions are
 * never touched.
 *
 * Not here: process-wide handling. A process-directed signal is delivered
 * to some thread that does not block it; blocking it in other threads is the
 * program's business (documented in coop/proc.h).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "coop.h"
#include "proc/proc_internal.h"
#include "sched/park.h"
#include "util/alloc.h"
#include "util/misuse.h"

struct coop_signal_watch {
    int fd;              /* the signalfd (nonblocking, close-on-exec) */
    sigset_t set;        /* the watched signals */
    pthread_t thread;    /* the thread whose mask holds them blocked */
    int waiting;         /* a task is inside coop_signal_wait */
};

/* Per thread: how many watchers hold each signal blocked, and whether the
 * first of them had to block it (so the last one must unblock it). */
static _Thread_local unsigned short holders[NSIG];
static _Thread_local unsigned char blocked_by_coop[NSIG];

static int valid_set(const sigset_t *set) {
    if (!set || sigisemptyset(set)) return 0;
    return !sigismember(set, SIGKILL) && !sigismember(set, SIGSTOP);
}

int coop_signal_watch_new(coop_signal_watch **out, const sigset_t *set) {
    if (!out) return -EINVAL;
    *out = NULL;
    if (!valid_set(set)) return -EINVAL;
    if (!coop_loop_current()) return -EPERM;
    coop_signal_watch *w = coop__calloc(1, sizeof *w);
    if (!w) return -ENOMEM;
    w->set = *set;
    w->thread = pthread_self();
    w->fd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (w->fd < 0) {
        int err = -errno;
        coop__free(w);
        return err;
    }
    sigset_t old;
    pthread_sigmask(SIG_BLOCK, set, &old);
    for (int s = 1; s < NSIG; s++) {
        if (sigismember(set, s) != 1) continue;
        if (holders[s]++ == 0) blocked_by_coop[s] = !sigismember(&old, s);
    }
    *out = w;
    return 0;
}

int coop_signal_wait(coop_signal_watch *w, siginfo_t *info) {
    if (!coop__task_current()) return -EPERM;
    if (w->waiting) return -EBUSY;
    int r = coop__checkpoint();
    if (r < 0) return r;
    w->waiting = 1;
    for (;;) {
        struct signalfd_siginfo si;
        ssize_t n = read(w->fd, &si, sizeof si);
        if (n == (ssize_t)sizeof si) {
            if (info) {
                memset(info, 0, sizeof *info);
                info->si_signo = (int)si.ssi_signo;
                info->si_code = si.ssi_code;
                info->si_pid = (pid_t)si.ssi_pid;
                info->si_uid = (uid_t)si.ssi_uid;
                info->si_value.sival_ptr = (void *)(uintptr_t)si.ssi_ptr;
            }
            r = (int)si.ssi_signo;
            break;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno != EAGAIN) {
            r = -errno;
            break;
        }
        r = coop_fd_wait(w->fd, COOP_READABLE);
        if (r < 0) break;
    }
    w->waiting = 0;
    return r;
}

void coop_signal_watch_free(coop_signal_watch *w) {
    if (!w) return;
    if (w->waiting) coop__misuse("coop_signal_watch_free: a task still waits on the watcher");
    if (!pthread_equal(w->thread, pthread_self()))
        coop__misuse("coop_signal_watch_free: called on another thread than coop_signal_watch_new");
    /* Signals that arrived for this watcher and were not waited for would
     * run their disposition (often: terminate) once unblocked: drop them. */
    struct signalfd_siginfo si;
    while (read(w->fd, &si, sizeof si) == (ssize_t)sizeof si) {
    }
    sigset_t unblock;
    sigemptyset(&unblock);
    for (int s = 1; s < NSIG; s++) {
        if (sigismember(&w->set, s) != 1) continue;
        if (--holders[s] == 0 && blocked_by_coop[s]) sigaddset(&unblock, s);
    }
    pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
    coop__proc_close_fd(w->fd);
    coop__free(w);
}

/*
 * proc_internal.h — what the files of src/proc share: closing an fd the
 * loop may know about, and the test switch for the no-pidfd fallback.
 */
#ifndef COOP_PROC_INTERNAL_H
#define COOP_PROC_INTERNAL_H

/* Close fd (>= 0) with coop_close inside a loop (the loop may hold state for
 * it), with close(2) outside. Negative fds are ignored. */
void coop__proc_close_fd(int fd);

/* Nonzero: coop_proc_spawn acts as if pidfd_open did not exist and watches
 * the exit with a helper thread (set by tests of that fallback). */
extern int coop__proc_no_pidfd;

#endif

/*
 * fs_internal.h — how the files of src/fs run a job on the "fs" pool with
 * the cancellation rule of coop/fs.h: withdrawn if not started, else the
 * job's own result stands.
 */
#ifndef COOP_FS_INTERNAL_H
#define COOP_FS_INTERNAL_H

#include <stdint.h>
#include "coop.h"

/* Run fn(arg) on the "fs" pool for the calling task. Returns fn's result,
 * or the cancellation cause if the job was withdrawn before it started, or
 * the pool's error (-EAGAIN, -EPERM). With shielded != 0 the job cannot be
 * withdrawn (close). */
intptr_t coop__fs_run(coop_work_fn fn, void *arg, int shielded);

#endif

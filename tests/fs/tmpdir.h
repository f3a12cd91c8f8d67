/*
 * tmpdir.h — a scratch directory for the file tests: made in /tmp before a
 * test body, removed with everything in it afterwards.
 */
#ifndef COOP_TESTS_FS_TMPDIR_H
#define COOP_TESTS_FS_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "test.h"

static char dir[64]; /* the scratch directory of the running test */

static inline void make_dir(void) {
    strcpy(dir, "/tmp/coop-fs-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
}

static inline void remove_dir(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ(system(cmd), 0);
}

/* out = dir/name */
static inline void path_in_dir(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "%s/%s", dir, name);
}

#endif

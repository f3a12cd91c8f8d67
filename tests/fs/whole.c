/*
 * Whole-file calls: read_file (exact sizes, files that lie about their
 * size, limits, missing files, allocation failure), read_file_into, and
 * write_file plain, synced and atomic (content replaced, mode, no temporary
 * left behind, failure leaves the target untouched).
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "test.h"
#include "util/alloc.h"

static char dir[64];

static void make_dir(void) {
    strcpy(dir, "/tmp/coop-fs-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
}

static void remove_dir(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ(system(cmd), 0);
}

static int entries_in_dir(void) {
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

static int body_read(void *arg) {
    (void)arg;
    char path[128];
    snprintf(path, sizeof path, "%s/data", dir);
    /* 1 MiB + 3 of a pattern. */
    size_t n = (1u << 20) + 3;
    char *data = malloc(n);
    for (size_t i = 0; i < n; i++) data[i] = (char)('a' + i % 26);
    CHECK_ERR(coop_fs_write_file(path, data, n, 0644, 0), 0);
    char *out;
    CHECK_ERR(coop_fs_read_file(path, &out, 0), (ssize_t)n);
    CHECK(memcmp(out, data, n) == 0);
    CHECK_EQ(out[n], '\0');
    coop_fs_free(out);
    /* Limits: exactly n is fine, n - 1 is too big. */
    CHECK_ERR(coop_fs_read_file(path, &out, n), (ssize_t)n);
    coop_fs_free(out);
    CHECK_ERR(coop_fs_read_file(path, &out, n - 1), -EFBIG);
    CHECK(out == NULL);
    /* Into the caller's buffer: at most cap bytes. */
    char small[10];
    CHECK_ERR(coop_fs_read_file_into(path, small, sizeof small), 10);
    CHECK(memcmp(small, "abcdefghij", 10) == 0);
    free(data);
    /* /proc files say size 0 and are read to their end anyway. */
    CHECK(coop_fs_read_file("/proc/self/status", &out, 0) > 0);
    CHECK(strstr(out, "Pid:") != NULL);
    coop_fs_free(out);
    /* Empty file: length 0, still a NUL-terminated buffer. */
    CHECK_ERR(coop_fs_write_file(path, NULL, 0, 0644, 0), 0);
    CHECK_ERR(coop_fs_read_file(path, &out, 0), 0);
    CHECK_STR(out, "");
    coop_fs_free(out);
    CHECK_ERR(coop_fs_read_file("/nonexistent/file", &out, 0), -ENOENT);
    CHECK_ERR(coop_fs_read_file(path, NULL, 0), -EINVAL);
    coop_pools_shutdown();
    return 0;
}
TEST(fs_read_file_reads_whole_files) {
    make_dir();
    CHECK_ERR(test_run(body_read, NULL), 0);
    remove_dir();
}

static int body_nomem(void *arg) {
    (void)arg;
    char path[128];
    snprintf(path, sizeof path, "%s/small", dir);
    CHECK_ERR(coop_fs_write_file(path, "twelve bytes", 12, 0644, 0), 0);
    for (long k = 1; k <= 3; k++) {
        char *out = NULL;
        coop__alloc_fail_at(k);
        ssize_t r = coop_fs_read_file(path, &out, 0);
        coop__alloc_fail_at(0);
        if (r >= 0) {
            CHECK_STR(out, "twelve bytes");
            coop_fs_free(out);
        } else {
            CHECK_ERR(r, -ENOMEM);
            CHECK(out == NULL);
        }
    }
    coop_pools_shutdown();
    return 0;
}
TEST(fs_read_file_fails_cleanly_when_allocation_fails) {
    make_dir();
    CHECK_ERR(test_run(body_nomem, NULL), 0);
    remove_dir();
}

static int body_atomic(void *arg) {
    (void)arg;
    char path[128];
    snprintf(path, sizeof path, "%s/config", dir);
    CHECK_ERR(coop_fs_write_file(path, "old", 3, 0644, COOP_FS_SYNC), 0);
    CHECK_ERR(coop_fs_write_file(path, "new content", 11, 0600, COOP_FS_ATOMIC), 0);
    char *out;
    CHECK_ERR(coop_fs_read_file(path, &out, 0), 11);
    CHECK_STR(out, "new content");
    coop_fs_free(out);
    struct stat st;
    CHECK_ERR(coop_fs_stat(path, &st), 0);
    CHECK_EQ(st.st_mode & 0777, 0600);
    CHECK_EQ(entries_in_dir(), 1); /* no temporary left */
    /* A failing atomic write (directory missing) leaves nothing behind. */
    char bad[160];
    snprintf(bad, sizeof bad, "%s/missing/config", dir);
    CHECK_ERR(coop_fs_write_file(bad, "x", 1, 0644, COOP_FS_ATOMIC), -ENOENT);
    CHECK_EQ(entries_in_dir(), 1);
    CHECK_ERR(coop_fs_write_file(path, "x", 1, 0644, 8u), -EINVAL);
    CHECK_ERR(coop_fs_read_file(path, &out, 0), 11); /* untouched */
    coop_fs_free(out);
    coop_pools_shutdown();
    return 0;
}
TEST(fs_write_file_atomic_replaces_the_content_or_nothing) {
    make_dir();
    CHECK_ERR(test_run(body_atomic, NULL), 0);
    remove_dir();
}

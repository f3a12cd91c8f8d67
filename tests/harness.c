/*
 * harness.c — runs the TEST()s of one test program. With no arguments each
 * test runs in its own forked child under alarm(); `--list` prints the
 * names; names as arguments run just those (still forked). The last line is
 * "N passed, N failed"; the exit status is the number of failures (max 100).
 */
#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test.h"
#include "util/alloc.h"

#define MAX_TESTS 512

static struct {
    const char *name, *file;
    test_fn fn;
    int timeout_s;
} tests[MAX_TESTS];
static int ntests;
static int check_fds = 1;
static const char *current;

void test__register(const char *name, test_fn fn, const char *file, int timeout_s) {
    if (ntests == MAX_TESTS) {
        fprintf(stderr, "harness: too many tests (raise MAX_TESTS)\n");
        exit(100);
    }
    tests[ntests].name = name;
    tests[ntests].file = file;
    tests[ntests].fn = fn;
    tests[ntests].timeout_s = timeout_s;
    ntests++;
}

void test_skip_fd_check(void) { check_fds = 0; }

#define SKIP_STATUS 77

void test_skip(const char *why) {
    printf("SKIP %s: %s\n", current ? current : "?", why);
    fflush(NULL);
    _exit(SKIP_STATUS);
}

int test_under_valgrind(void) {
    /* valgrind preloads its core into every client process. */
    const char *p = getenv("LD_PRELOAD");
    return p && strstr(p, "vgpreload") != NULL;
}

void test__fail(const char *file, int line, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "  %s:%d: [%s] ", file, line, current ? current : "?");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    _exit(1);
}

void test_expect_abort(void (*fn)(void), const char *needle) {
    int p[2];
    if (pipe(p) < 0) test__fail(__FILE__, __LINE__, "pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        fn();
        _exit(0);
    }
    close(p[1]);
    char buf[4096];
    size_t n = 0;
    ssize_t k;
    while (n < sizeof buf - 1 && (k = read(p[0], buf + n, sizeof buf - 1 - n)) != 0) {
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) break;
        n += (size_t)k;
    }
    buf[n] = '\0';
    close(p[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT)
        test__fail(__FILE__, __LINE__, "expected the child to abort; status 0x%x, stderr: %s", st, buf);
    if (needle && !strstr(buf, needle))
        test__fail(__FILE__, __LINE__, "abort message lacks \"%s\": %s", needle, buf);
}

static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d) return -1;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

static int run_opts(coop_fn fn, void *arg, int virtual_clock) {
    coop_options o;
    coop_options_init(&o);
    o.virtual_clock = virtual_clock;
    return coop_run_opts(&o, fn, arg);
}

int test_run(coop_fn fn, void *arg) { return run_opts(fn, arg, 1); }
int test_run_real(coop_fn fn, void *arg) { return run_opts(fn, arg, 0); }

static void run_child(int i) {
    current = tests[i].name;
    int fds_before = count_fds();
    long allocs_before = coop__alloc_live();
    tests[i].fn();
    long allocs_after = coop__alloc_live();
    if (allocs_after != allocs_before)
        test__fail(tests[i].file, 0, "leak: %ld allocation(s) still live after the test",
                   allocs_after - allocs_before);
    int fds_after = count_fds();
    if (check_fds && fds_after != fds_before)
        test__fail(tests[i].file, 0, "leak: %d fd(s) open before, %d after", fds_before,
                   fds_after);
    fflush(NULL);
    _exit(0);
}

static int timeout_scale(void) {
    const char *s = getenv("COOP_TEST_TIMEOUT_SCALE");
    int k = s ? atoi(s) : 1;
    return k > 0 ? k : 1;
}

/* Returns 1 if test i passed, 0 if it failed, 2 if it was skipped. */
static int run_forked(int i) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("harness: fork");
        return 0;
    }
    if (pid == 0) {
        alarm((unsigned)(tests[i].timeout_s * timeout_scale()));
        run_child(i);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            perror("harness: waitpid");
            return 0;
        }
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
        printf("PASS %s\n", tests[i].name);
        return 1;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == SKIP_STATUS) return 2;
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
        printf("FAIL %s (timed out after %d s)\n", tests[i].name,
               tests[i].timeout_s * timeout_scale());
    else if (WIFSIGNALED(st))
        printf("FAIL %s (killed by signal %d: %s)\n", tests[i].name, WTERMSIG(st),
               strsignal(WTERMSIG(st)));
    else
        printf("FAIL %s (exit status %d)\n", tests[i].name, WEXITSTATUS(st));
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (int i = 0; i < ntests; i++) puts(tests[i].name);
        return 0;
    }
    int passed = 0, failed = 0, skipped = 0;
    for (int i = 0; i < ntests; i++) {
        int wanted = argc == 1;
        for (int a = 1; a < argc && !wanted; a++) wanted = strcmp(argv[a], tests[i].name) == 0;
        if (!wanted) continue;
        int r = run_forked(i);
        if (r == 1)
            passed++;
        else if (r == 2)
            skipped++;
        else
            failed++;
    }
    if (skipped) printf("(%d skipped)\n", skipped);
    printf("%d passed, %d failed\n", passed, failed);
    return failed > 100 ? 100 : failed;
}

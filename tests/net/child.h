/*
 * child.h — helpers for tests that drive the example servers with real
 * clients (curl, redis-cli, redis-benchmark) as child processes.
 *
 * Every child gets PR_SET_PDEATHSIG(SIGKILL): if a CHECK fails and the test
 * process exits, its servers and clients die with it (no stray server keeps
 * a port), and init reaps them. On the normal path child_stop / run_cmd
 * reap them. Every wait is bounded. The example binaries are found next to
 * the test: <build>/tests/../examples/NAME (from /proc/self/exe).
 */
#ifndef TESTS_NET_CHILD_H
#define TESTS_NET_CHILD_H

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "test.h"

typedef struct child {
    pid_t pid;  /* the server process */
    int port;   /* the port it printed */
    int out;    /* read end of its stdout, -1 when closed */
} child;

static inline double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* <build>/examples/name. A build without examples (COOP_BUILD_EXAMPLES=OFF,
 * as the aarch64 cross build) skips the test: it passes, saying so. */
static inline void example_path(const char *name, char *buf, size_t size) {
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    CHECK(n > 0);
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    CHECK(slash != NULL);
    *slash = '\0';
    CHECK(strlen(exe) + strlen(name) + 16 < size);
    strcpy(buf, exe);
    strcat(buf, "/../examples/");
    strcat(buf, name);
    /* Cross builds (tests/aarch64.sh) build no examples: qemu-user could
     * not exec them from inside a test anyway. */
    if (access(buf, X_OK) != 0) test_skip("the example programs are not built here");
}

/* In a child, after fork: die with the test. */
static inline void child_setup(void) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    signal(SIGPIPE, SIG_DFL);
}

/* Start examples/name with argv (NULL-terminated, argv[0] ignored) and wait
 * (at most 10 s) for the port it prints. nofile > 0 lowers its fd limit. */
static inline void child_start_limited(child *c, const char *name, const char *const *args, long nofile) {
    char path[4096];
    example_path(name, path, sizeof path);
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    c->pid = fork();
    CHECK(c->pid >= 0);
    if (c->pid == 0) {
        child_setup();
        dup2(p[1], 1);
        const char *argv[20] = {path};
        int k = 1;
        char script[64];
        if (nofile > 0) { /* the shell lowers the limit (also when the test
                             itself runs under valgrind, which fakes it) */
            snprintf(script, sizeof script, "ulimit -n %ld && exec \"$0\" \"$@\"", nofile);
            argv[0] = "/bin/sh";
            argv[1] = "-c";
            argv[2] = script;
            argv[3] = path;
            k = 4;
        }
        for (int i = 0; args && args[i] && k < 19; i++) argv[k++] = args[i];
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    c->out = p[0];
    char line[64];
    size_t len = 0;
    double until = now_s() + 10;
    while (len < sizeof line - 1 && (len == 0 || line[len - 1] != '\n')) {
        struct pollfd pf = {c->out, POLLIN, 0};
        int left = (int)((until - now_s()) * 1000);
        if (left <= 0 || poll(&pf, 1, left) <= 0) break;
        ssize_t n = read(c->out, line + len, sizeof line - 1 - len);
        if (n <= 0) break;
        len += (size_t)n;
    }
    line[len] = '\0';
    c->port = atoi(line);
    if (c->port <= 0) kill(c->pid, SIGKILL);
    CHECK(c->port > 0);
}

static inline void child_start(child *c, const char *name, const char *const *args) {
    child_start_limited(c, name, args, 0);
}

/* Wait for pid to exit within secs; returns the wait status or -1. */
static inline int wait_bounded(pid_t pid, double secs) {
    double until = now_s() + secs;
    int st;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return st;
        if (r < 0 || now_s() > until) return -1;
        usleep(5000);
    }
}

/* SIGTERM, wait up to 5 s, else SIGKILL. Returns the wait status (or -1 if
 * it had to be killed). */
static inline int child_stop(child *c) {
    kill(c->pid, SIGTERM);
    int st = wait_bounded(c->pid, 5);
    if (st == -1) {
        kill(c->pid, SIGKILL);
        waitpid(c->pid, NULL, 0);
    }
    if (c->out >= 0) close(c->out);
    c->out = -1;
    return st;
}

/* The server stopped by SIGTERM exited 0 (graceful, and clean under the
 * sanitizers' leak check). */
#define CHECK_CLEAN_STOP(c)                                                     \
    do {                                                                        \
        int st_ = child_stop(c);                                                \
        CHECK(st_ != -1 && WIFEXITED(st_));                                     \
        CHECK_EQ(WEXITSTATUS(st_), 0);                                          \
    } while (0)

/* Open fds of a process. */
static inline int fd_count(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* utime + stime of a process, in seconds. */
static inline double cpu_seconds(pid_t pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Run argv (argv[0] looked up in PATH) with `in` on stdin, capture stdout
 * (NUL-terminated, at most size-1 bytes) and, if err != NULL, stderr into
 * err. Killed after `secs`. Returns the exit status, or -1 if killed. */
static inline int run_cmd(const char *const *argv, const char *in, char *out, size_t size, char *err,
                   size_t esize, double secs) {
    int pi[2], po[2], pe[2];
    CHECK(pipe2(pi, O_CLOEXEC) == 0 && pipe2(po, O_CLOEXEC) == 0 && pipe2(pe, O_CLOEXEC) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        child_setup();
        dup2(pi[0], 0);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(pi[0]);
    close(po[1]);
    close(pe[1]);
    if (in) {
        size_t len = strlen(in), off = 0;
        while (off < len) {
            ssize_t n = write(pi[1], in + off, len - off);
            if (n <= 0) break;
            off += (size_t)n;
        }
    }
    close(pi[1]);
    size_t olen = 0, elen = 0;
    double until = now_s() + secs;
    int open_pipes = 2, killed = 0;
    while (open_pipes > 0) {
        struct pollfd pf[2] = {{po[0], POLLIN, 0}, {pe[0], POLLIN, 0}};
        int left = (int)((until - now_s()) * 1000);
        if (left <= 0) {
            kill(pid, SIGKILL);
            killed = 1;
            break;
        }
        if (poll(pf, 2, left) <= 0) continue;
        for (int k = 0; k < 2; k++) {
            if (!pf[k].revents || pf[k].fd < 0) continue;
            char tmp[4096];
            ssize_t n = read(pf[k].fd, tmp, sizeof tmp);
            if (n <= 0) {
                if (k == 0) po[0] = -(po[0] + 2); else pe[0] = -(pe[0] + 2);
                open_pipes--;
                continue;
            }
            char *dst = k == 0 ? out : err;
            size_t *len = k == 0 ? &olen : &elen, cap = k == 0 ? size : esize;
            if (dst && cap > 0) {
                size_t room = cap - 1 - *len, m = (size_t)n < room ? (size_t)n : room;
                memcpy(dst + *len, tmp, m);
                *len += m;
            }
        }
    }
    close(po[0] >= 0 ? po[0] : -po[0] - 2);
    close(pe[0] >= 0 ? pe[0] : -pe[0] - 2);
    if (out && size) out[olen] = '\0';
    if (err && esize) err[elen] = '\0';
    int st;
    waitpid(pid, &st, 0);
    if (killed || !WIFEXITED(st)) return -1;
    return WEXITSTATUS(st);
}

/* Run body in a loop in a forked child with stderr silenced, and check
 * that it aborted (misuse is reported by abort, not by an error). */
static inline void check_aborts(coop_fn body) {
    test_skip_fd_check();
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        test_run(body, NULL);
        _exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
}

/* ---- plain blocking client sockets (the tests' own clients) ---- */

/* A blocking TCP connection to 127.0.0.1:port with a 5 s receive timeout. */
static inline int client_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    return fd;
}

static inline void client_send(int fd, const char *s) {
    size_t len = strlen(s), off = 0;
    while (off < len) {
        ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);
        CHECK(n > 0);
        off += (size_t)n;
    }
}

/* Read until EOF (or the 5 s timeout, or size-1 bytes); NUL-terminates. */
static inline size_t client_read_all(int fd, char *buf, size_t size) {
    size_t len = 0;
    while (len < size - 1) {
        ssize_t n = recv(fd, buf + len, size - 1 - len, 0);
        if (n <= 0) break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return len;
}

/* Read until `want` bytes arrived (or EOF/timeout); NUL-terminates. */
static inline size_t client_read_n(int fd, char *buf, size_t want) {
    size_t len = 0;
    while (len < want) {
        ssize_t n = recv(fd, buf + len, want - len, 0);
        if (n <= 0) break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    return len;
}

#endif

/*
 * sys.c — tour sections 50-53: a subprocess pipeline fed and drained by
 * tasks while a heartbeat ticks; a signal ending a "server" gracefully;
 * gevent's monkey-patching made explicit (a blocking system() freezes the
 * loop, coop_system, coop_getaddrinfo and coop_fs_read_file do not); and
 * bridges between threads and loops (run_coroutine_threadsafe, mailboxes).
 */
#include <netdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "coop/bridge.h"
#include "coop/dns.h"
#include "tour.h"

/* A heartbeat every 10 ms until cancelled; counts its beats. */
static int beats;
static int heartbeat(void *arg) {
    (void)arg;
    while (coop_sleep(COOP_MS(10)) == 0) beats++;
    return 0;
}

/* ---- 50: a subprocess pipeline -------------------------------------------- */

static const char *const fruits[] = {"pear", "apple", "fig", "banana", "cherry",
                                     "kiwi", "date", "grape", "lime", "mango"};
#define NFRUITS (sizeof fruits / sizeof fruits[0])

/* Python:
 *   proc = await asyncio.create_subprocess_exec("sort", stdin=PIPE, stdout=PIPE)
 *   async def feed(): for f in fruits: proc.stdin.write(...); await drain(); ...  */
static int feeder(void *arg) {
    coop_proc *p = arg;
    for (size_t i = 0; i < NFRUITS; i++) {
        char line[32];
        int n = snprintf(line, sizeof line, "%s\n", fruits[i]);
        ssize_t w = coop_write(coop_proc_stdin(p), line, (size_t)n);
        if (w < 0) return (int)w;
        coop_sleep(COOP_MS(8)); /* a slow producer: the heartbeat runs meanwhile */
    }
    tour_show("feeder: %zu lines written, closing sort's stdin (EOF)", NFRUITS);
    return coop_proc_close_stream(p, 0);
}

static char sorted_out[256];
static int reader(void *arg) {
    coop_proc *p = arg;
    size_t len = 0;
    for (;;) {
        ssize_t n = coop_read(coop_proc_stdout(p), sorted_out + len, sizeof sorted_out - 1 - len);
        if (n < 0) return (int)n;
        if (n == 0) break;
        len += (size_t)n;
    }
    sorted_out[len] = '\0';
    return 0;
}

static int pipeline_main(void *arg) {
    (void)arg;
    const char *argv[] = {"sort", NULL};
    coop_proc_opts o = {0};
    o.stdin_mode = COOP_STDIO_PIPE;
    o.stdout_mode = COOP_STDIO_PIPE;
    coop_proc *p;
    int r = coop_proc_spawn(&p, argv, &o);
    if (r < 0) return r;
    tour_show("spawned sort (pid %d) with pipes on stdin and stdout", (int)coop_proc_pid(p));
    coop_task_id hb;
    coop_spawn(&hb, "heartbeat", heartbeat, NULL);
    beats = 0;
    coop_nursery n;
    coop_nursery_open(&n, coop_after(COOP_SEC(5)));
    coop_nursery_spawn(&n, NULL, "feeder", feeder, p);
    coop_nursery_spawn(&n, NULL, "reader", reader, p);
    r = coop_nursery_close(&n);
    int st = -1;
    if (r == 0) r = coop_proc_wait(p, &st);
    coop_proc_free(p);
    coop_cancel(hb);
    coop_join(hb, NULL);
    if (r < 0) return r;
    char first[16] = "", last[16] = "";
    sscanf(sorted_out, "%15s", first);
    const char *tail = sorted_out + strlen(sorted_out) - 1;
    while (tail > sorted_out && tail[-1] != '\n') tail--;
    sscanf(tail, "%15s", last);
    tour_show("reader: sort's output starts with \"%s\" and ends with \"%s\"", first, last);
    tour_show("sort exited with status %d; the heartbeat beat %d times meanwhile",
              WIFEXITED(st) ? WEXITSTATUS(st) : -1, beats);
    tour_check(strcmp(first, "apple") == 0 && strcmp(last, "pear") == 0, "the output is sorted");
    tour_check(WIFEXITED(st) && WEXITSTATUS(st) == 0, "sort exited 0 and was reaped");
    tour_check(beats >= 5, "the heartbeat kept ticking while two tasks talked to sort");
    return 0;
}

TOUR_SECTION(tour_pipeline, 50, "subprocess", "A subprocess pipeline: tasks feed sort and read it") {
    tour_say("asyncio.create_subprocess_exec -> coop_proc_spawn: the pipes are nonblocking fds,");
    tour_say("so a feeder task writes, a reader task reads, and a heartbeat keeps its beat.");
    return coop_run(pipeline_main, NULL);
}

/* ---- 51: signals ------------------------------------------------------------ */

static int requests;
static int server(void *arg) {
    (void)arg;
    for (;;) { /* stands for accept() + handle */
        int r = coop_sleep(COOP_MS(5));
        if (r < 0) {
            tour_show("server: cancelled after %d requests, closing cleanly", requests);
            return 0;
        }
        requests++;
    }
}

static int signals_main(void *arg) {
    (void)arg;
    /* loop.add_signal_handler(SIGTERM, ...) -> a watcher and a waiting task */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    coop_signal_watch *w;
    int r = coop_signal_watch_new(&w, &set);
    if (r < 0) return r;
    coop_nursery n;
    coop_nursery_open(&n, coop_after(COOP_SEC(5)));
    coop_nursery_spawn(&n, NULL, "server", server, NULL);
    /* Someone outside sends SIGTERM in 60 ms: a real process, kill(1). */
    char cmd[64];
    snprintf(cmd, sizeof cmd, "sleep 0.06; kill -TERM %d", (int)getpid());
    const char *argv[] = {"sh", "-c", cmd, NULL};
    coop_proc *killer;
    r = coop_proc_spawn(&killer, argv, NULL);
    if (r == 0) {
        siginfo_t info;
        int sig = coop_signal_wait(w, &info);
        tour_show("main: received %s from pid %d (the shell, a separate process)",
                  sig > 0 ? strsignal(sig) : coop_strerror(sig), (int)info.si_pid);
        tour_check(sig == SIGTERM, "the waiting task got SIGTERM");
        tour_check(info.si_pid == coop_proc_pid(killer), "and knows who sent it");
        coop_proc_wait(killer, NULL);
        coop_proc_free(killer);
    }
    coop_nursery_cancel(&n); /* graceful shutdown: cancel the server */
    int nr = coop_nursery_close(&n);
    coop_signal_watch_free(w);
    sigset_t cur;
    pthread_sigmask(SIG_SETMASK, NULL, &cur);
    tour_check(!sigismember(&cur, SIGTERM), "the thread's signal mask is restored");
    tour_check(requests > 3, "the server ran until the signal came");
    return r < 0 ? r : nr;
}

TOUR_SECTION(tour_signals, 51, "signals", "A signal delivered to a waiting task") {
    tour_say("loop.add_signal_handler -> coop_signal_watch_new + coop_signal_wait: the signal");
    tour_say("queues in a signalfd and wakes a task, which shuts a server down in order.");
    return coop_run(signals_main, NULL);
}

/* ---- 52: gevent-style cooperative calls ------------------------------------ */

/* Milliseconds since the cooperative calls started. */
static double start_ms;
static double ms_now(void) { return tour_ms() - start_ms; }

static int blocking_main(void *arg) {
    (void)arg;
    coop_task_id hb;
    coop_spawn(&hb, "heartbeat", heartbeat, NULL);
    coop_sleep(COOP_MS(25));
    int before = beats;
    int rc = system("sleep 0.1"); /* the unpatched call: blocks the thread */
    int during = beats - before;
    coop_sleep(COOP_MS(1));
    coop_cancel(hb);
    coop_join(hb, NULL);
    tour_show("plain system(\"sleep 0.1\") returned %d: heartbeats during it: %d", rc, during);
    tour_check(during == 0, "a blocking call freezes every task of the loop");
    return 0;
}

typedef struct results {
    double system_ms, dns_ms, file_ms;
    int system_ok, dns_ok, file_ok;
} results;

static int do_system(void *arg) {
    results *res = arg;
    const char *argv[] = {"sh", "-c", "sleep 0.1; echo hello from sh", NULL};
    char *out = NULL;
    int st;
    int r = coop_system(argv, NULL, &out, NULL, 100, &st);
    res->system_ms = ms_now();
    res->system_ok = r == 0 && strcmp(out, "hello from sh\n") == 0;
    if (r == 0) tour_show("coop_system: \"%.*s\" at %.0f ms", (int)strlen(out) - 1, out, res->system_ms);
    coop_proc_output_free(out);
    return r;
}

static int do_dns(void *arg) {
    results *res = arg;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    int r = coop_getaddrinfo("localhost", "80", &hints, &ai);
    res->dns_ms = ms_now();
    int count = 0;
    for (struct addrinfo *p = ai; p; p = p->ai_next) count++;
    res->dns_ok = r == 0 && count > 0;
    tour_show("coop_getaddrinfo(\"localhost\"): %d address(es) at %.0f ms", count, res->dns_ms);
    if (ai) freeaddrinfo(ai);
    return 0;
}

static int do_file(void *arg) {
    results *res = arg;
    char *text = NULL;
    ssize_t n = coop_fs_read_file("/proc/self/status", &text, 0);
    res->file_ms = ms_now();
    res->file_ok = n > 0 && strstr(text, "Pid:") != NULL;
    tour_show("coop_fs_read_file(\"/proc/self/status\"): %zd bytes at %.0f ms", n, res->file_ms);
    coop_fs_free(text);
    return 0;
}

static int gevent_main(void *arg) {
    (void)arg;
    results res = {0};
    coop_task_id hb;
    coop_spawn(&hb, "heartbeat", heartbeat, NULL);
    beats = 0;
    start_ms = tour_ms();
    coop_nursery n;
    coop_nursery_open(&n, coop_after(COOP_SEC(5)));
    coop_nursery_spawn(&n, NULL, "system", do_system, &res);
    coop_nursery_spawn(&n, NULL, "dns", do_dns, &res);
    coop_nursery_spawn(&n, NULL, "file", do_file, &res);
    int r = coop_nursery_close(&n);
    double took = ms_now();
    coop_cancel(hb);
    coop_join(hb, NULL);
    tour_show("all three done in %.0f ms; heartbeats meanwhile: %d", took, beats);
    tour_check(r == 0 && res.system_ok && res.dns_ok && res.file_ok, "each call gave the blocking call's answer");
    tour_check(beats >= 5, "the heartbeat kept ticking through all of them");
    tour_check(res.dns_ms < res.system_ms && res.file_ms < res.system_ms,
               "the quick calls finished while the slow command still ran");
    coop_pools_shutdown();
    return r;
}

TOUR_SECTION(tour_gevent, 52, "gevent", "gevent's monkey-patching, made explicit") {
    tour_say("gevent patches system(), getaddrinfo() and file reads so that they park the greenlet.");
    tour_say("coop does not patch: it offers the same calls with a coop_ prefix. First, unpatched:");
    int r = coop_run(blocking_main, NULL);
    if (r < 0) return r;
    tour_say("Now the cooperative versions, all three at once, next to the heartbeat:");
    return coop_run(gevent_main, NULL);
}

/* ---- 53: threads and loops ---------------------------------------------------- */

/* Runs as a task on the worker loop; may suspend there. */
static int add_slowly(void *arg) {
    int *pair = arg;
    coop_sleep(COOP_MS(5));
    return pair[0] + pair[1];
}

typedef struct relay {
    coop_mailbox *box; /* from the producer loop to the consumer loop */
    long sum;          /* what the consumer added up */
} relay;

static int producer(void *arg) {
    relay *rl = arg;
    for (int i = 1; i <= 10000; i++)
        if (coop_mailbox_send(rl->box, &i) < 0) break;
    coop_mailbox_close(rl->box);
    return 0;
}

static int consumer(void *arg) {
    relay *rl = arg;
    int v;
    while (coop_mailbox_recv(rl->box, &v) == 0) rl->sum += v;
    return 0;
}

typedef struct remote_call {
    coop_loop *loop; /* where to run */
    coop_fn fn;      /* what */
    void *arg;
} remote_call;

/* A task of the main loop that awaits a function run on another loop. */
static int await_remote(void *arg) {
    remote_call *c = arg;
    int result = 0;
    int r = coop_run_in_loop(c->loop, c->fn, c->arg, &result);
    return r < 0 ? r : result;
}

static int mailbox_main(void *arg) {
    coop_loop_thread **lt = arg;
    relay rl = {NULL, 0};
    int r = coop_mailbox_new(&rl.box, sizeof(int), 64);
    if (r < 0) return r;
    remote_call prod = {coop_loop_thread_loop(lt[0]), producer, &rl};
    remote_call cons = {coop_loop_thread_loop(lt[1]), consumer, &rl};
    beats = 0;
    coop_task_id hb;
    coop_spawn(&hb, "heartbeat", heartbeat, NULL);
    coop_nursery n;
    coop_nursery_open(&n, coop_after(COOP_SEC(5)));
    coop_nursery_spawn(&n, NULL, "await-producer", await_remote, &prod);
    coop_nursery_spawn(&n, NULL, "await-consumer", await_remote, &cons);
    r = coop_nursery_close(&n);
    coop_cancel(hb);
    coop_join(hb, NULL);
    coop_mailbox_free(rl.box);
    tour_show("loop A sent 1..10000 through a 64-slot mailbox, loop B added them up: %ld", rl.sum);
    tour_check(r == 0 && rl.sum == 10000L * 10001 / 2, "no message lost or duplicated");
    return r;
}

static int bridges(void) {
    coop_loop_thread *lt[2];
    int r = coop_loop_thread_start(&lt[0], NULL);
    if (r < 0) return r;
    r = coop_loop_thread_start(&lt[1], NULL);
    if (r < 0) {
        coop_loop_thread_stop(lt[0]);
        return r;
    }
    int pair[2] = {40, 2}, sum = 0;
    /* asyncio.run_coroutine_threadsafe(coro, loop).result() */
    r = coop_run_in_loop(coop_loop_thread_loop(lt[0]), add_slowly, pair, &sum);
    tour_show("main thread -> loop A: add_slowly(40, 2) ran as a task there, result %d", sum);
    tour_check(r == 0 && sum == 42, "run_in_loop returned the task's result");
    tour_say("Now a loop on this thread awaits two calls on loops A and B at once:");
    if (r == 0) r = coop_run(mailbox_main, lt);
    coop_loop_thread_stop(lt[0]);
    coop_loop_thread_stop(lt[1]);
    return r;
}

TOUR_SECTION(tour_bridges, 53, "bridges", "Threads and loops: run_in_loop and mailboxes") {
    tour_say("One loop per thread; coop_run_in_loop is run_coroutine_threadsafe: from a plain");
    tour_say("thread it blocks, from a task it parks only that task.");
    return bridges();
}

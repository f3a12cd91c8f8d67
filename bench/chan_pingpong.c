/*
 * chan_pingpong.c — two tasks bouncing an int over two unbuffered coop
 * channels: ns (and, under callgrind, instructions) per message, where a
 * message is one send matched by one receive and a round trip is two
 * messages — the definition of the Go baseline "chan ping-pong/go"
 * (GOMAXPROCS=1, unbuffered chan int), so the rows compare directly.
 *
 * Each message is a rendezvous: the receiver is parked, the send copies
 * the value into it and unparks it, the sender then parks in its own
 * receive; so one message costs one task switch plus the channel work.
 */
#include "bench.h"
#include "coop.h"

static coop_chan *ping, *pong;

static int echo(void *arg) {
    (void)arg;
    int v;
    while (coop_chan_recv(ping, &v) == 0)
        if (coop_chan_send(pong, &v) < 0) bench_fail("echo: send failed");
    coop_chan_close(pong);
    return 0;
}

/* n round trips; returns ns per message. */
static double pingpong_once(long n) {
    int rc;
    if ((rc = coop_chan_new(&ping, sizeof(int), 0)) < 0 ||
        (rc = coop_chan_new(&pong, sizeof(int), 0)) < 0)
        bench_fail("coop_chan_new: %s", coop_strerror(rc));
    coop_task_id t;
    if ((rc = coop_spawn(&t, "echo", echo, NULL)) < 0) bench_fail("coop_spawn: %s", coop_strerror(rc));
    int v = 0, back;
    for (int i = 0; i < 100; i++) { /* warm-up */
        coop_chan_send(ping, &v);
        coop_chan_recv(pong, &back);
    }
    bench_instr_begin();
    int64_t t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
        v = (int)i;
        if (coop_chan_send(ping, &v) < 0 || coop_chan_recv(pong, &back) < 0 || back != v)
            bench_fail("ping-pong: lost message %ld", i);
    }
    int64_t t1 = bench_now_ns();
    bench_instr_end("chan ping-pong", "coop", 2 * n);
    coop_chan_close(ping);
    coop_join(t, NULL);
    coop_chan_free(ping);
    coop_chan_free(pong);
    return (double)(t1 - t0) / (double)(2 * n);
}

static int bench_main(void *arg) {
    (void)arg;
    if (!bench_selected("chan ping-pong")) return 0;
    long n = bench_iters(1000000, 10000);
    bench_sampler s = {0};
    for (int r = 0; r < bench_runs(); r++) bench_sample(&s, pingpong_once(n));
    bench_row("chan ping-pong", "coop", bench_sampler_median(&s), "ns/msg");
    return 0;
}

int main(void) {
    int rc = coop_run(bench_main, NULL);
    if (rc < 0) bench_fail("coop_run: %s", coop_strerror(rc));
    return 0;
}

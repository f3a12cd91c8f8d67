/*
 * chan.c — tour sections 25-29: a channel pipeline (Go channels / trio
 * memory channels) whose consumer uses select with a timeout to notice a
 * stalled stage without losing anything. A real coop program that checks
 * what it claims.
 */
#include "tour.h"

#define N 10
#define STALL_AT 7
#define STALL_MS 100
#define PATIENCE_MS 70

static coop_chan *numbers, *squares;

/* Stage 1: send 1..N, then close our send end: the channel closes. */
static int numbers_stage(void *arg) {
    coop_chan_tx *tx = arg;
    for (int n = 1; n <= N; n++) coop_chan_tx_send(tx, &n);
    coop_chan_tx_close(tx);
    return 0;
}

/* Stage 2: square what arrives; stalls once; closes its output at the end. */
static int squares_stage(void *arg) {
    coop_chan_tx *tx = arg;
    int n;
    while (coop_chan_recv(numbers, &n) == 0) { /* -EPIPE: stage 1 is done */
        if (n == STALL_AT) coop_sleep(COOP_MS(STALL_MS));
        int sq = n * n;
        coop_chan_tx_send(tx, &sq);
    }
    coop_chan_tx_close(tx);
    return 0;
}

static int received, timeouts, sum;

static int pipeline_main(void *arg) {
    (void)arg;
    coop_chan_new(&numbers, sizeof(int), 0); /* unbuffered: a rendezvous */
    coop_chan_new(&squares, sizeof(int), 2); /* a little slack */
    coop_chan_tx numbers_tx, squares_tx;
    coop_chan_tx_open(&numbers_tx, numbers);
    coop_chan_tx_open(&squares_tx, squares);
    coop_nursery n;
    coop_nursery_open(&n, COOP_NEVER);
    coop_nursery_spawn(&n, NULL, "numbers", numbers_stage, &numbers_tx);
    coop_nursery_spawn(&n, NULL, "squares", squares_stage, &squares_tx);
    for (;;) {
        int v;
        coop_chan_case c[1] = {coop_chan_case_recv(squares, &v)};
        int r = coop_chan_select(c, 1, coop_after(COOP_MS(PATIENCE_MS)));
        if (r == -ETIMEDOUT) {
            timeouts++;
            tour_show("%4.0f ms  nothing for %d ms: a stage is stalled (select timed out, nothing lost)",
                      tour_ms(), PATIENCE_MS);
            continue;
        }
        if (c[0].result == -EPIPE) break; /* closed and drained */
        received++;
        sum += v;
        if (received <= 2 || received >= N - 1 || timeouts) {
            tour_show("%4.0f ms  got %d", tour_ms(), v);
        }
    }
    tour_show("%4.0f ms  squares closed: the pipeline is drained", tour_ms());
    coop_nursery_close(&n);
    coop_chan_free(numbers);
    coop_chan_free(squares);
    return 0;
}

TOUR_SECTION(tour_pipeline, 25, "pipeline", "A channel pipeline, select and a timeout") {
    tour_say("numbers -> [unbuffered] -> squares -> [buffer of 2] -> main. Stage 2 stalls");
    tour_say("for %d ms at n = %d; main selects with a %d ms deadline to notice it.", STALL_MS,
             STALL_AT, PATIENCE_MS);
    tour_say("Closing the last send end closes a channel: receivers drain, then get EPIPE.");
    if (coop_run(pipeline_main, NULL) != 0) return 1;
    tour_check(received == N, "every value arrived once");
    tour_check(sum == N * (N + 1) * (2 * N + 1) / 6, "the sum of squares is right");
    tour_check(timeouts >= 1, "the stall was noticed by the select deadline");
    tour_say("A timed-out select performed none of its cases: no value was consumed by it.");
    return 0;
}

/*
 * sync.c — tour sections 20-24: when cooperative code still needs a lock
 * (a checkpoint inside a critical section), and a producer/consumer
 * pipeline over a bounded queue with backpressure and join. Each section
 * is a real coop program that checks what it claims.
 */
#include "tour.h"

/* ---- 20: a lock around a checkpoint ------------------------------------------ */

static long balance_src, balance_dst;
static coop_lock bank_lock;
static int use_lock;

/* transfer_dangerous of section 11, with the lock as the fix: the await in
 * the middle stays, but nobody else can run the critical section then. */
static int careful_transfer(void *arg) {
    (void)arg;
    for (int i = 0; i < 100; i++) {
        if (use_lock) coop_lock_acquire(&bank_lock);
        long balance = balance_src;
        coop_sleep(0); /* `await some_io_operation()` in the middle */
        balance_src = balance - 1;
        balance_dst += 1;
        if (use_lock) coop_lock_release(&bank_lock);
    }
    return 0;
}

static int bank_main(void *arg) {
    (void)arg;
    coop_task_id t[2];
    for (int i = 0; i < 2; i++) coop_spawn(&t[i], "transfer", careful_transfer, NULL);
    for (int i = 0; i < 2; i++) coop_join(t[i], NULL);
    return 0;
}

TOUR_SECTION(tour_lock, 20, "lock", "A lock is needed only around a checkpoint") {
    tour_say("Two tasks move 100 x 1 coin each, with a checkpoint between read and write.");
    coop_lock_init(&bank_lock);
    balance_src = 1000, balance_dst = 0, use_lock = 0;
    if (coop_run(bank_main, NULL) != 0) return 1;
    long lost = 1000 - balance_src - balance_dst;
    tour_show("without a lock: src %ld + dst %ld = %ld (%ld coins appeared from nowhere)",
              balance_src, balance_dst, balance_src + balance_dst, -lost);
    tour_check(balance_src + balance_dst != 1000, "the checkpoint lets the tasks interleave");
    balance_src = 1000, balance_dst = 0, use_lock = 1;
    if (coop_run(bank_main, NULL) != 0) return 1;
    tour_show("with coop_lock:  src %ld + dst %ld = %ld", balance_src, balance_dst,
              balance_src + balance_dst);
    tour_check(balance_src == 800 && balance_dst == 200, "the lock makes the section atomic again");
    tour_say("The lock is fair: a release hands it to the oldest waiter, who owns it at once.");
    coop_lock_destroy(&bank_lock);
    return 0;
}

/* ---- 21: producer/consumer over a bounded queue --------------------------------- */

typedef struct job {
    int producer; /* who made it */
    int seq;      /* its number at that producer */
} job;

#define PRODUCERS 2
#define JOBS 6
#define WORKERS 3

static coop_queue *jobs;
static size_t max_seen;
static int processed, waits_for_room, out_of_order;
static int last_seq[PRODUCERS];

static int producer(void *arg) {
    int id = (int)(intptr_t)arg;
    for (int k = 0; k < JOBS; k++) {
        job j = {id, k};
        if (coop_queue_size(jobs) == coop_queue_maxsize(jobs)) waits_for_room++;
        coop_queue_put(jobs, &j); /* waits while the queue is full: backpressure */
        if (coop_queue_size(jobs) > max_seen) max_seen = coop_queue_size(jobs);
    }
    return 0;
}

static int worker(void *arg) {
    (void)arg;
    job j;
    while (coop_queue_get(jobs, &j) == 0) { /* ends when its nursery is cancelled */
        if (j.seq != last_seq[j.producer] + 1) out_of_order++;
        last_seq[j.producer] = j.seq;
        coop_sleep(COOP_MS(2)); /* the work */
        processed++;
        coop_queue_task_done(jobs);
    }
    return 0;
}

static int queue_main(void *arg) {
    (void)arg;
    coop_queue_new(&jobs, sizeof(job), 3, COOP_QUEUE_FIFO, NULL);
    for (int p = 0; p < PRODUCERS; p++) last_seq[p] = -1;
    coop_nursery workers, producers;
    coop_nursery_open(&workers, COOP_NEVER);
    for (int w = 0; w < WORKERS; w++) coop_nursery_spawn(&workers, NULL, "worker", worker, NULL);
    coop_nursery_open(&producers, COOP_NEVER);
    for (intptr_t p = 0; p < PRODUCERS; p++)
        coop_nursery_spawn(&producers, NULL, "producer", producer, (void *)p);
    coop_nursery_close(&producers);
    tour_show("producers done after %.0f ms; %zu job(s) still queued", tour_ms(), coop_queue_size(jobs));
    coop_queue_join(jobs); /* asyncio's `await queue.join()` */
    tour_show("queue.join returned after %.0f ms: %d jobs processed", tour_ms(), processed);
    coop_nursery_cancel(&workers); /* the workers wait in get forever otherwise */
    coop_nursery_close(&workers);
    coop_queue_free(jobs);
    return 0;
}

TOUR_SECTION(tour_queue, 21, "queue", "Producers and consumers over a bounded queue") {
    tour_say("%d producers put %d jobs each into a queue of at most 3; %d workers take them,", PRODUCERS,
             JOBS, WORKERS);
    tour_say("work 2 ms each and call task_done; the main task waits with join (asyncio.Queue).");
    if (coop_run(queue_main, NULL) != 0) return 1;
    tour_show("the queue never held more than %zu; producers found it full %d time(s) and waited",
              max_seen, waits_for_room);
    tour_check(max_seen <= 3, "a bounded queue never exceeds its maxsize");
    tour_check(waits_for_room > 0, "fast producers are held back by a full queue");
    tour_check(processed == PRODUCERS * JOBS, "every job was processed exactly once");
    tour_check(out_of_order == 0, "each producer's jobs came out in the order they were put");
    return 0;
}

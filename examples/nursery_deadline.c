/* The README's example: a nursery with a deadline (kept compiling in CI). */
#include <coop.h>
#include <stdio.h>

static int fetch(void *arg) {
    int ms = *(int *)arg;
    int r = coop_sleep(COOP_MS(ms));          /* a checkpoint: others run */
    printf("fetch %d ms: %s\n", ms, r ? coop_strerror(r) : "done");
    return r;
}

static int main_task(void *arg) {
    (void)arg;
    static int ms[] = {10, 20, 5000};
    coop_nursery n;                            /* trio's nursery */
    coop_nursery_open(&n, coop_after(COOP_MS(100)));   /* with a deadline */
    for (int i = 0; i < 3; i++) coop_nursery_spawn(&n, NULL, "fetch", fetch, &ms[i]);
    int r = coop_nursery_close(&n);            /* waits for all children */
    printf("nursery: %s\n", r ? coop_strerror(r) : "ok");   /* ETIMEDOUT */
    return 0;
}

int main(void) { return coop_run(main_task, NULL); }

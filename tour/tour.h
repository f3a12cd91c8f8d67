/*
 * tour.h — the tour of cooperative scheduling (`make run`). Each section is
 * a small real program in its own file, registered with TOUR_SECTION; the
 * sections run in order of their number. Section numbers by part:
 *   10-19 tasks, checkpoints, transfer, time, cancellation, nurseries
 *   20-29 sync primitives, queues, channels, select
 *   30-39 generators, greenlets, actors, atomic sections
 *   40-49 the starvation problem: hog, watchdog, yields, to_thread, processes
 *   50-59 files, subprocesses, signals, gevent-style blocking calls
 *   60-69 networking
 *   90-99 the closing table: coop against OS threads, measured live
 */
#ifndef COOP_TOUR_H
#define COOP_TOUR_H

#include <stdio.h>
#include "coop.h"

typedef struct tour_section {
    const char *name;  /* for `make run ARGS="--section NAME"` */
    const char *title; /* printed as the section heading */
    int order;
    int (*run)(void);  /* 0 on success; anything else fails the tour */
} tour_section;

void tour__register(const tour_section *s);

#define TOUR_SECTION(fn, order_, name_, title_)                                      \
    static int fn(void);                                                              \
    __attribute__((constructor)) static void tour_register_##fn(void) {               \
        static const tour_section s = {name_, title_, order_, fn};                    \
        tour__register(&s);                                                           \
    }                                                                                 \
    static int fn(void)

/* Narration: an indented line of explanation. */
void tour_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An observation the program made: printed with a marker. */
void tour_show(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Fail the section with a message when cond is false (the tour checks what
 * it claims). Returns cond. */
int tour_check(int cond, const char *what);

/* Milliseconds of the monotonic clock since the section started. */
double tour_ms(void);

#endif

/*
 * main.c — runs the tour's sections in order (or one, with --section NAME,
 * or lists them with --list). Exits 0 only if every section ran and every
 * claim it checked held.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "tour.h"

#define MAX_SECTIONS 64
static const tour_section *sections[MAX_SECTIONS];
static int nsections;
static int failures;
static struct timespec section_start;

void tour__register(const tour_section *s) {
    if (nsections < MAX_SECTIONS) sections[nsections++] = s;
}

static void vline(const char *prefix, const char *fmt, va_list ap) {
    fputs(prefix, stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    fflush(stdout);
}

void tour_say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vline("  ", fmt, ap);
    va_end(ap);
}

void tour_show(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vline("  > ", fmt, ap);
    va_end(ap);
}

int tour_check(int cond, const char *what) {
    if (!cond) {
        printf("  !! claim failed: %s\n", what);
        failures++;
    }
    return cond;
}

double tour_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - section_start.tv_sec) * 1e3 +
           (double)(now.tv_nsec - section_start.tv_nsec) / 1e6;
}

static int by_order(const void *a, const void *b) {
    const tour_section *x = *(const tour_section *const *)a, *y = *(const tour_section *const *)b;
    return x->order - y->order;
}

int main(int argc, char **argv) {
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--section") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--list") == 0) {
            qsort(sections, (size_t)nsections, sizeof sections[0], by_order);
            for (int k = 0; k < nsections; k++) printf("%-14s %s\n", sections[k]->name, sections[k]->title);
            return 0;
        } else {
            fprintf(stderr, "usage: %s [--list] [--section NAME]\n", argv[0]);
            return 2;
        }
    }
    qsort(sections, (size_t)nsections, sizeof sections[0], by_order);
    printf("coop: a tour of cooperative scheduling in C\n");
    int ran = 0;
    for (int k = 0; k < nsections; k++) {
        const tour_section *s = sections[k];
        if (only && strcmp(only, s->name) != 0) continue;
        printf("\n== %s  [%s]\n", s->title, s->name);
        clock_gettime(CLOCK_MONOTONIC, &section_start);
        int rc = s->run();
        if (rc != 0) {
            printf("  !! section failed: %d (%s)\n", rc, rc < 0 ? coop_strerror(rc) : "error");
            failures++;
        }
        ran++;
    }
    if (only && ran == 0) {
        fprintf(stderr, "no section named '%s' (try --list)\n", only);
        return 2;
    }
    printf("\n%d section(s), %s\n", ran, failures ? "SOME CLAIMS FAILED" : "all claims held");
    return failures ? 1 : 0;
}

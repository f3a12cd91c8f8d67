/*
 * misuse.c — the two ways the library stops a program: coop__misuse for a
 * caller's mistake that cannot be reported as an error without losing
 * something, coop__fatal for a broken environment (e.g. the kernel refusing
 * an epoll_ctl that cannot fail). Both write one line to stderr and abort.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "util/misuse.h"

static void vreport(const char *kind, const char *fmt, va_list ap) {
    char buf[512];
    int n = snprintf(buf, sizeof buf, "coop: %s: ", kind);
    if (n < 0) n = 0;
    if ((size_t)n < sizeof buf) vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
    fprintf(stderr, "%s\n", buf);
    fflush(stderr);
}

void coop__misuse(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vreport("misuse", fmt, ap);
    va_end(ap);
    abort();
}

void coop__fatal(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vreport("fatal", fmt, ap);
    va_end(ap);
    abort();
}

/* say.h — how the demo's programs print (see README.md): ping.c and pong.c,
 * modules run by the node, and outside.c, a program of its own. */
#ifndef DEMO_SAY_H
#define DEMO_SAY_H

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <sky/error.h> /* SKY_PRINTF */

/* Prints "WHO LINE" with one printf, so that the lines of services on
 * different threads never mix, and flushes it: stdout may be a pipe
 * (run.sh's), and each line should come out between the other program's. */
static inline void demo_vsay(const char *who, const char *fmt, va_list ap) SKY_PRINTF(2, 0);
static inline void demo_vsay(const char *who, const char *fmt, va_list ap)
{
    char line[256];
    vsnprintf(line, sizeof line, fmt, ap);
    printf("%s %s\n", who, line);
    fflush(stdout);
}

/* The time since t0 (CLOCK_MONOTONIC) as text in buf: "412 us", "151 ms". */
static inline const char *demo_since(const struct timespec *t0, char *buf, size_t size)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    double us = (double)(t.tv_sec - t0->tv_sec) * 1e6 + (double)(t.tv_nsec - t0->tv_nsec) / 1e3;
    snprintf(buf, size, us < 1000 ? "%.0f us" : "%.0f ms", us < 1000 ? us : us / 1000);
    return buf;
}

#endif

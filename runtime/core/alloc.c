/* Allocation that never returns NULL: running out of memory in the runtime
 * is fatal, reported once with the size that was asked for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "sky/alloc.h"

static void oom(size_t size)
{
    char buf[96];
    int n = snprintf(buf, sizeof buf, "sky: out of memory allocating %zu bytes\n", size);
    if (n > 0 && write(2, buf, (size_t)n) < 0) {
        /* nothing more to do: we abort either way */
    }
    abort();
}

void *sky_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) oom(size);
    return p;
}

void *sky_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    return p;
}

void *sky_realloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q) oom(size);
    return q;
}

char *sky_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(sky_malloc(n), s, n);
}

void sky_free(void *p) { free(p); }

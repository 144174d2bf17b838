/* skyc_buf: see buf.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "buf.h"

static void out_of_memory(size_t size)
{
    fprintf(stderr, "skyc: out of memory (asked for %zu bytes)\n", size);
    exit(1);
}

void *skyc_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (!p)
        out_of_memory(size);
    return p;
}

void *skyc_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);

    if (!q)
        out_of_memory(size);
    return q;
}

char *skyc_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;

    return memcpy(skyc_xmalloc(n), s, n);
}

static void reserve(skyc_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;

    if (need <= b->cap)
        return;
    b->cap = b->cap ? b->cap : 64;
    while (b->cap < need)
        b->cap *= 2;
    b->data = skyc_xrealloc(b->data, b->cap);
}

void skyc_buf_put(skyc_buf *b, const void *data, size_t len)
{
    reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void skyc_buf_putc(skyc_buf *b, char c)
{
    skyc_buf_put(b, &c, 1);
}

void skyc_buf_puts(skyc_buf *b, const char *s)
{
    skyc_buf_put(b, s, strlen(s));
}

void skyc_buf_vprintf(skyc_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return;
    reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void skyc_buf_printf(skyc_buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    skyc_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

const char *skyc_buf_str(const skyc_buf *b)
{
    return b->data ? b->data : "";
}

char *skyc_buf_take(skyc_buf *b)
{
    char *s = b->data ? b->data : skyc_xstrdup("");

    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

void skyc_buf_deinit(skyc_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

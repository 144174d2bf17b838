/* A growable byte buffer for building strings, and skyc's out-of-memory
 * policy: the compiler is a short-lived program, so running out of memory
 * ends it with a message naming the size asked for. */
#ifndef SKYC_BUF_H
#define SKYC_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct skyc_buf {
    char *data; /* NUL-terminated once anything was added; NULL before */
    size_t len;
    size_t cap;
} skyc_buf;

#define SKYC_BUF_INIT {0, 0, 0}

void *skyc_xmalloc(size_t size);
void *skyc_xrealloc(void *p, size_t size);
char *skyc_xstrdup(const char *s);

void skyc_buf_putc(skyc_buf *b, char c);
void skyc_buf_put(skyc_buf *b, const void *data, size_t len);
void skyc_buf_puts(skyc_buf *b, const char *s);
__attribute__((format(printf, 2, 3))) void skyc_buf_printf(skyc_buf *b, const char *fmt, ...);
__attribute__((format(printf, 2, 0))) void skyc_buf_vprintf(skyc_buf *b, const char *fmt, va_list ap);

/* The contents ("" when empty), still owned by b. */
const char *skyc_buf_str(const skyc_buf *b);

/* Hands the contents to the caller (free() them; never NULL) and empties b. */
char *skyc_buf_take(skyc_buf *b);

void skyc_buf_deinit(skyc_buf *b);

#endif

/* Logging: format a line where it is logged, hand it to the logger service
 * as SKY_TEXT mail, and fall back to one write(2) on stderr when there is
 * no logger (before it starts, after it stops, or when its mailbox is
 * full), so a line is never lost silently. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "core/deliver.h"
#include "core/log.h"
#include "core/mail.h"
#include "core/node.h"

/* Longest text kept; longer text ends in "...". */
#define TEXT_MAX 4096
/* Room for the timestamp, address and level in front of the text. */
#define PREFIX_MAX 80

static _Thread_local int in_deliver;

static const char *level_name(int level)
{
    static const char *const names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    return level >= 0 && level < 4 ? names[level] : "LOG";
}

int sky__log_format(char *buf, size_t size, sky_addr_t source, int level, const char *text)
{
    struct timespec ts;
    struct tm tm;
    size_t n, len, room;
    int k;

    if (size == 0) return 0;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    k = snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d.%03ld [%04x:%08llx] %s ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
                 (unsigned)SKY_ADDR_NODE(source), (unsigned long long)SKY_ADDR_SERIAL(source), level_name(level));
    if (k < 0) k = 0;
    n = (size_t)k < size ? (size_t)k : size - 1;

    /* One line per call: the caller's own trailing newlines are dropped. */
    len = strlen(text);
    while (len && text[len - 1] == '\n')
        len--;
    if (size < 2) {
        buf[0] = '\0';
        return 0;
    }
    if (size - n < 2) n = size - 2; /* a tiny buffer still gets a whole line */
    room = size - n - 2;            /* text bytes that fit before "\n\0" */
    if (len <= room) {
        memcpy(buf + n, text, len);
        n += len;
    } else if (room >= 3) {
        memcpy(buf + n, text, room - 3);
        memcpy(buf + n + room - 3, "...", 3);
        n += room;
    }
    buf[n++] = '\n';
    buf[n] = '\0';
    return (int)n;
}

static void write_stderr(sky_addr_t source, int level, const char *text)
{
    char line[PREFIX_MAX + TEXT_MAX];
    int n = sky__log_format(line, sizeof line, source, level, text);
    ssize_t w;
    /* One write per line, so lines from several threads never interleave. */
    do
        w = write(2, line, (size_t)n);
    while (w < 0 && errno == EINTR);
}

/* Formats into text[TEXT_MAX]; a line too long ends in "...". Returns its
 * length. */
static size_t format_text(char *text, const char *fmt, va_list ap)
{
    int k = vsnprintf(text, TEXT_MAX, fmt, ap);
    if (k < 0) {
        strcpy(text, "(unformattable log line)");
        return strlen(text);
    }
    if (k >= TEXT_MAX) {
        memcpy(text + TEXT_MAX - 4, "...", 4);
        return TEXT_MAX - 1;
    }
    return (size_t)k;
}

void sky__vlog(sky_node *node, sky_addr_t source, int level, const char *fmt, va_list ap)
{
    char text[TEXT_MAX];
    size_t len;
    sky_addr_t logger;

    if (node && level > sky__node_config(node)->log_level) return;
    /* the runtime's own lines say which node: [0002:00000000] */
    if (node && source == SKY_ADDR_NONE) source = SKY_ADDR(sky__node_id(node), 0);
    len = format_text(text, fmt, ap);
    logger = node ? sky__node_logger(node) : SKY_ADDR_NONE;
    /* If delivering a line logs (an overload warning about the logger's own
     * mailbox, say), that nested line goes to stderr instead of looping. */
    if (logger != SKY_ADDR_NONE && !in_deliver) {
        sky__mail m;
        int rc;
        sky__mail_copy(&m, SKY_TEXT, (uint32_t)level, text, len);
        m.source = source;
        /* The payload is the bare text, no NUL: receivers go by size. */
        in_deliver = 1;
        rc = sky__deliver(node, logger, &m);
        in_deliver = 0;
        if (rc == 0) return;
    }
    write_stderr(source, level, text);
}

void sky__log(sky_node *node, sky_addr_t source, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sky__vlog(node, source, level, fmt, ap);
    va_end(ap);
}

void sky_vlog(sky_ctx *ctx, int level, const char *fmt, va_list ap)
{
    sky__vlog(sky_ctx_node(ctx), sky_self(ctx), level, fmt, ap);
}

void sky_log(sky_ctx *ctx, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sky_vlog(ctx, level, fmt, ap);
    va_end(ap);
}

/* The logger service: writes each SKY_TEXT mail it gets (level in type_id,
 * sender in source) as one line to stderr or to a file opened for append.
 * Each line is one write(2) with no user-space buffer, so nothing waits in
 * memory when the process dies and lines from this service never mix with
 * the stderr fallback of sky__log(). It never logs itself: its own
 * troubles go straight to stderr. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/log.h"
#include "sky/alloc.h"

/* Longest text written; longer text ends in "...". */
#define TEXT_MAX 4096
#define LINE_MAX_ (TEXT_MAX + 80)

typedef struct logger {
    int fd;
    int own; /* fd is a file we opened */
} logger;

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return; /* a full disk or a closed stderr: nowhere left to say so */
        }
        p += w;
        n -= (size_t)w;
    }
}

static void *logger_create(void)
{
    logger *lg = sky_calloc(1, sizeof *lg);
    lg->fd = 2;
    return lg;
}

static int logger_init(void *state, sky_ctx *ctx, const char *args)
{
    logger *lg = state;
    (void)ctx;
    if (args[0] == '\0') return 0;
    lg->fd = open(args, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (lg->fd < 0) {
        char msg[512];
        int n = snprintf(msg, sizeof msg, "sky: logger: cannot open %s: %s\n", args, strerror(errno));
        lg->fd = 2;
        if (n > 0) write_all(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
        return SKY_ENOENT;
    }
    lg->own = 1;
    return 0;
}

static int logger_handle(void *state, sky_ctx *ctx, const sky_msg *msg)
{
    logger *lg = state;
    char text[TEXT_MAX], line[LINE_MAX_];
    size_t len = msg->size;
    int n;
    (void)ctx;

    if (msg->kind != SKY_TEXT) return 0;
    if (len >= sizeof text) {
        memcpy(text, msg->data, sizeof text - 4);
        memcpy(text + sizeof text - 4, "...", 4);
    } else {
        if (len) memcpy(text, msg->data, len);
        text[len] = '\0';
    }
    n = sky__log_format(line, sizeof line, msg->source, (int)msg->type_id, text);
    write_all(lg->fd, line, (size_t)n);
    return 0;
}

static void logger_release(void *state)
{
    logger *lg = state;
    if (!lg) return;
    if (lg->own) close(lg->fd);
    free(lg);
}

const sky_module sky__logger_module = {"logger", logger_create, logger_init, logger_handle, logger_release};

/* pong — the demo's answering service (see README.md).
 *
 * A pong shows the ways a handler can deal with a request: answer it now
 * (sky_reply), take it over and answer later (sky_defer, then sky_respond),
 * or answer with an error (sky_reply_error). Its spawn argument is a name
 * to register under, or "" to stay anonymous. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sky/sky.h"

/* The protocol: a message's type_id says what it is, the payload is text.
 * (Stubs generated from a .proto will give typed messages and method ids.)
 * Keep this list the same in ping.c. */
enum {
    HELLO = 1, /* oneway: counted, no answer */
    ECHO,      /* request: answered at once */
    SLOW,      /* request "MS": answered MS milliseconds later */
    NEVER,     /* request: taken over and never answered */
    FAIL       /* request: answered with an error */
};

typedef struct pong {
    unsigned id, hellos;
    sky_token slow; /* the SLOW request waiting for its timer; .to == 0: none */
} pong;

static void say(pong *p, const char *fmt, ...) SKY_PRINTF(2, 3);
static void say(pong *p, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    printf("[pong %u] %s\n", p->id, line);
    fflush(stdout);
}

static int pong_init(void *state, sky_ctx *ctx, const char *args)
{
    pong *p = state;
    p->id = (unsigned)SKY_ADDR_SERIAL(sky_self(ctx));
    if (args[0]) {
        int rc = sky_register(ctx, args);
        if (rc != 0) return rc; /* fails the spawn */
    }
    say(p, "up%s%s", args[0] ? ", registered as " : "", args);
    return 0;
}

/* Takes the request over (its token is all we need to answer it later)
 * and asks for a timer. Then it returns: the pong goes on serving other
 * mail meanwhile, which it could not do if it slept here. */
static int start_slow(pong *p, sky_ctx *ctx, const sky_msg *m, int ms)
{
    if (p->slow.to != SKY_ADDR_NONE) return sky_reply_error(ctx, m, SKY_EBUSY, "one slow request at a time");
    sky_token tok = sky_defer(ctx, m);
    if (sky_timeout(ctx, ms, SLOW) != 0) return sky_respond_error(ctx, tok, SKY_ESTOPPED, NULL);
    p->slow = tok;
    say(p, "deferred a request, will answer in %d ms", ms);
    return 0;
}

static int pong_handle(void *state, sky_ctx *ctx, const sky_msg *m)
{
    pong *p = state;
    char text[128], answer[192];
    /* A payload is bytes, not a C string: copy it with a terminating NUL. */
    int len = m->size < sizeof text ? (int)m->size : (int)sizeof text - 1;
    snprintf(text, sizeof text, "%.*s", len, len ? (const char *)m->data : "");

    if (m->kind == SKY_TIMER && m->session == SLOW) { /* the SLOW request is due */
        sky_token tok = p->slow;
        p->slow.to = SKY_ADDR_NONE;
        snprintf(answer, sizeof answer, "pong %u: done, later", p->id);
        /* sky_respond takes ownership of the payload: it must be malloc'ed. */
        sky_msg resp = {.type_id = SLOW, .size = strlen(answer), .data = sky_strdup(answer)};
        return sky_respond(ctx, tok, &resp);
    }
    if (m->kind == SKY_ONEWAY && m->type_id == HELLO) {
        p->hellos++;
        say(p, "got a oneway: \"%s\"", text);
        return 0;
    }
    if (m->kind != SKY_REQUEST) return 0;
    switch (m->type_id) {
    case ECHO:
        snprintf(answer, sizeof answer, "pong %u: \"%s\", %u hello(s) so far", p->id, text, p->hellos);
        return sky_reply_copy(ctx, m, ECHO, answer, strlen(answer));
    case SLOW:
        return start_slow(p, ctx, m, atoi(text));
    case NEVER:
        (void)sky_defer(ctx, m); /* and forget it: the caller's deadline ends the call */
        say(p, "took a request it will never answer");
        return 0;
    case FAIL:
        return sky_reply_error(ctx, m, SKY_EINVAL, "pong cannot do that");
    default: /* a negative return is logged, and the caller gets this code */
        return SKY_ENOTSUP;
    }
}

static void *pong_create(void) { return sky_calloc(1, sizeof(pong)); }
static void pong_release(void *state) { sky_free(state); }

const sky_module sky_module_pong = {"pong", pong_create, pong_init, pong_handle, pong_release};

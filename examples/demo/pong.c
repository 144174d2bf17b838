/* pong — the demo's answering service (see README.md).
 *
 * A pong waits for mail and answers it. It shows the three ways a handler
 * can deal with a request: answer it now (sky_reply), answer it later
 * (sky_defer, then sky_respond), or answer with an error (sky_reply_error).
 * Its spawn argument is a name to register under, or "" to stay anonymous. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "sky/sky.h"

/* The demo's protocol: a message's type_id says what it is. Generated stubs
 * will give these ids and typed payloads; for now payloads are plain text.
 * Keep this list the same in ping.c. */
enum {
    HELLO = 1, /* oneway: counted and printed, no answer */
    ECHO = 2,  /* request: answered at once */
    SLOW = 3,  /* request, "MS": answered MS milliseconds later */
    NEVER = 4, /* request: taken over and never answered */
    FAIL = 5   /* request: answered with an error */
};

#define MAX_SLOW 8

typedef struct pong {
    unsigned id;              /* our serial number, to label what we print */
    unsigned hellos;          /* HELLO messages seen */
    sky_token slow[MAX_SLOW]; /* SLOW requests waiting for their timer (.to 0 = free) */
} pong;

static void *pong_create(void) { return sky_calloc(1, sizeof(pong)); }

static void pong_release(void *state) { sky_free(state); }

static int pong_init(void *state, sky_ctx *ctx, const char *args)
{
    pong *p = state;
    p->id = (unsigned)SKY_ADDR_SERIAL(sky_self(ctx));
    if (args[0]) {
        int rc = sky_register(ctx, args);
        if (rc < 0) return rc; /* a non-zero return fails the spawn */
    }
    printf("[pong %u] up%s%s\n", p->id, args[0] ? ", registered as " : "", args);
    fflush(stdout);
    return 0;
}

/* A SLOW request: keep its token, and ask for a timer whose session is the
 * slot, so the timer message tells us which request is due. The handler
 * returns at once: this pong goes on serving other mail meanwhile. */
static int start_slow(pong *p, sky_ctx *ctx, const sky_msg *m, const char *text)
{
    int i = 0;
    while (i < MAX_SLOW && p->slow[i].to != SKY_ADDR_NONE) i++;
    if (i == MAX_SLOW) return sky_reply_error(ctx, m, SKY_EBUSY, "too many slow requests");
    sky_token tok = sky_defer(ctx, m);
    if (sky_timeout(ctx, atoi(text), (uint32_t)i) != 0) /* the node is stopping */
        return sky_respond_error(ctx, tok, SKY_ESTOPPED, NULL);
    p->slow[i] = tok;
    printf("[pong %u] deferred a request, will answer in %d ms\n", p->id, atoi(text));
    fflush(stdout);
    return 0;
}

static int pong_handle(void *state, sky_ctx *ctx, const sky_msg *m)
{
    pong *p = state;
    char text[128], answer[192];
    /* A payload is bytes, not a C string: copy it with a terminating NUL. */
    snprintf(text, sizeof text, "%.*s", (int)m->size, m->size ? (const char *)m->data : "");

    if (m->kind == SKY_TIMER && m->session < MAX_SLOW) { /* a SLOW request is due */
        sky_token tok = p->slow[m->session];
        p->slow[m->session].to = SKY_ADDR_NONE;
        snprintf(answer, sizeof answer, "pong %u: done, later", p->id);
        /* sky_respond takes ownership of the payload: it must be malloc'ed. */
        sky_msg resp = {.type_id = SLOW, .size = strlen(answer), .data = sky_strdup(answer)};
        return sky_respond(ctx, tok, &resp); /* ENOSVC if the caller died: nothing to do */
    }
    if (m->kind == SKY_ONEWAY && m->type_id == HELLO) {
        p->hellos++;
        printf("[pong %u] got a oneway: \"%s\"\n", p->id, text);
        fflush(stdout);
        return 0;
    }
    if (m->kind != SKY_REQUEST) return 0;

    switch (m->type_id) {
    case ECHO:
        snprintf(answer, sizeof answer, "pong %u: \"%s\", %u hello(s) so far", p->id, text, p->hellos);
        return sky_reply_copy(ctx, m, ECHO, answer, strlen(answer));
    case SLOW:
        return start_slow(p, ctx, m, text);
    case NEVER:
        /* Deferred and forgotten: the caller's deadline is what ends it. */
        (void)sky_defer(ctx, m);
        printf("[pong %u] took a request it will never answer\n", p->id);
        fflush(stdout);
        return 0;
    case FAIL:
        return sky_reply_error(ctx, m, SKY_EINVAL, "pong cannot do that");
    default:
        /* A negative return is logged, and the runtime answers the caller
         * with this code. */
        return SKY_ENOTSUP;
    }
}

const sky_module sky_module_pong = {"pong", pong_create, pong_init, pong_handle, pong_release};

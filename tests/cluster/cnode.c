/* cnode: the C services of test_cluster.sh, one module with two roles
 * chosen by the spawn argument (sky.launch("cnode", "relay") ...):
 *
 *   relay     serves skycluster.Relay (cluster_test.proto) as "crelay":
 *             Forward calls skycluster.Echo.Say at the request's addr (or,
 *             when it is 0, at its name, "lecho@gamma") through the C
 *             stubs, and answers with Say's answer (or its error): a C
 *             service calling a Lua service on another node.
 *   slow MS   registered as "cslow", a mailbox of 16: counts oneways and
 *             their bytes; a request is answered "COUNT BYTES" (so far).
 *             A request of type 3 whose data is a number W makes it slow
 *             for the next W ms: each oneway then takes MS milliseconds
 *             (the worker sleeps). The slow receiver of the flow-control
 *             case, slow while the sender floods, quick to drain after. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sky/sky.h>
#include "cluster_test.sky.h"

typedef struct cnode {
    int slow_ms; /* 0: the relay */
    long long count, bytes;
    uint64_t slow_until; /* sky_now() */
} cnode;

/* ---- relay ---------------------------------------------------------- */

typedef struct forward { /* a Forward waiting for its Say */
    sky_token tok;
} forward;

static void on_said(sky_ctx *ctx, int status, const Skycluster__Hop *resp, const sky_msg *reply, void *ud)
{
    forward *f = ud;
    sky_token tok = f->tok;
    char why[200];

    free(f);
    if (status != 0) {
        (void)sky_respond_error(ctx, tok, status, sky_error_text(reply, status, why, sizeof why));
        return;
    }
    Skycluster__Hop out = SKYCLUSTER__HOP__INIT;
    out.text = resp->text;
    out.addr = resp->addr;
    out.node = resp->node;
    out.name = "crelay";
    (void)skycluster_Relay_Forward_respond(ctx, tok, &out);
}

static int on_forward(sky_ctx *ctx, const Skycluster__Hop *req, const sky_request *r, void *ud)
{
    char why[300];
    sky_addr_t to = req->addr ? (sky_addr_t)req->addr : sky_whereis(ctx, req->name);

    (void)ud;
    if (to == SKY_ADDR_NONE) {
        snprintf(why, sizeof why, "crelay: no address for '%s'", req->name);
        return sky_reply_error(ctx, r->msg, SKY_ENOENT, why);
    }
    forward *f = malloc(sizeof *f);
    if (!f) return SKY_ENOMEM;
    f->tok = sky_defer(ctx, r->msg);
    Skycluster__Hop say = SKYCLUSTER__HOP__INIT;
    say.text = req->text;
    int rc = skycluster_Echo_Say_call(ctx, to, &say, 0, on_said, f);
    if (rc != 0) { /* refused at once: no callback comes */
        snprintf(why, sizeof why, "crelay: Say refused at once: %s", sky_strerror(rc));
        (void)sky_respond_error(ctx, f->tok, rc, why);
        free(f);
    }
    return 0;
}

static const skycluster_Relay_handlers relay_handlers = {.Forward = on_forward};

/* ---- slow ----------------------------------------------------------- */

static int slow_handle(cnode *s, sky_ctx *ctx, const sky_msg *m)
{
    char text[64];

    if (m->kind == SKY_ONEWAY) {
        if (sky_now(ctx) < s->slow_until) {
            struct timespec ts = {0, s->slow_ms * 1000000L};
            nanosleep(&ts, NULL);
        }
        s->count++;
        s->bytes += (long long)m->size;
    } else if (m->kind == SKY_REQUEST) {
        if (m->type_id == 3) {
            size_t len = m->size < sizeof text - 1 ? m->size : sizeof text - 1;
            memcpy(text, m->data, len);
            text[len] = '\0';
            s->slow_until = sky_now(ctx) + (uint64_t)strtoul(text, NULL, 10);
        }
        int n = snprintf(text, sizeof text, "%lld %lld", s->count, s->bytes);
        return sky_reply_copy(ctx, m, m->type_id, text, (size_t)n);
    }
    return 0;
}

/* ---- the module ----------------------------------------------------- */

static void *cnode_create(void) { return calloc(1, sizeof(cnode)); }

static int cnode_init(void *state, sky_ctx *ctx, const char *args)
{
    cnode *s = state;

    if (strcmp(args, "relay") == 0) return skycluster_Relay_serve(ctx, &relay_handlers, s);
    if (strncmp(args, "slow ", 5) == 0 && (s->slow_ms = atoi(args + 5)) > 0) {
        sky_set_mailbox_limit(ctx, 16);
        return sky_register(ctx, "cslow");
    }
    return SKY_EINVAL;
}

static int cnode_handle(void *state, sky_ctx *ctx, const sky_msg *msg)
{
    cnode *s = state;

    return s->slow_ms ? slow_handle(s, ctx, msg) : 0;
}

const sky_module sky_module_cnode = {"cnode", cnode_create, cnode_init, cnode_handle, free};

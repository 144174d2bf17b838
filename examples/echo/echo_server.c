/* echo_server — a C service that answers echo.Echo (see echo.proto).
 *
 * All the protocol work is in the code skyc generated from echo.proto:
 * the server fills a handler table, one member per rpc, and calls
 * echo_Echo_serve() from its init. From then on requests for Echo's
 * methods arrive already decoded into their protobuf-c structs; a payload
 * that does not decode is answered SKY_EBADMSG before any handler runs.
 *
 * Built as echo_server.so, a module the launcher finds on `module_path`. */
#include <sky/sky.h>
#include "echo.sky.h"

typedef struct server {
    unsigned said;  /* Say calls answered */
    unsigned notes; /* Note messages received */
} server;

/* rpc Say(SayRequest) returns (SayReply) */
static int on_say(sky_ctx *ctx, const Echo__SayRequest *req, const sky_request *r, void *ud)
{
    server *s = ud;
    if (req->text[0] == '\0') /* an error reply: the caller gets the code and the text */
        return sky_reply_error(ctx, r->msg, SKY_EINVAL, "nothing to echo");
    Echo__SayReply reply = ECHO__SAY_REPLY__INIT;
    reply.text = req->text; /* borrowed: encoded before the call returns */
    reply.count = ++s->said;
    reply.notes = s->notes;
    return echo_Echo_Say_reply(ctx, r, &reply);
}

/* rpc Note(SayRequest) returns (google.protobuf.Empty), oneway */
static int on_note(sky_ctx *ctx, const Echo__SayRequest *req, const sky_request *r, void *ud)
{
    server *s = ud;
    (void)r;
    s->notes++;
    sky_log(ctx, SKY_LOG_INFO, "note: %s", req->text); /* to the node's log, stderr by default */
    return 0; /* a oneway message gets no answer */
}

static const echo_Echo_handlers handlers = {.Say = on_say, .Note = on_note};

static int server_init(void *state, sky_ctx *ctx, const char *args)
{
    (void)args;
    /* Registers the name "echo" (the service's sky.default_name). */
    return echo_Echo_serve(ctx, &handlers, state);
}

/* Mail that is not an Echo request comes here; this server ignores it. */
static int server_handle(void *state, sky_ctx *ctx, const sky_msg *msg)
{
    (void)state;
    (void)ctx;
    (void)msg;
    return 0;
}

static void *server_create(void) { return sky_calloc(1, sizeof(server)); }
static void server_release(void *state) { sky_free(state); }

const sky_module sky_module_echo_server = {"echo_server", server_create, server_init, server_handle,
                                           server_release};

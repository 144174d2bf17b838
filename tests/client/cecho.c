/* cecho: skytest.Echo (tests/runtime/typed_test.proto) served by a C
 * module, for the clients' tests through a real gate; it answers as
 * tests/lua/stub_echo.lua does, so one client test runs against both.
 * Bump answers id + 1 with the kind and, in session, the Notes counted;
 * Fail answers the error code in id ("fail " and the body), or with id > 0
 * and a kind the application error {kind, "fail " body, details
 * "\0\1det"}; Hold defers and never answers; Note counts. Loaded by `sky`
 * from module_path. */
#include <stdio.h>
#include <sky/sky.h>
#include "typed_test.sky.h"

static int notes;

static int on_bump(sky_ctx *ctx, const Skytest__Payload *req, const sky_request *r, void *ud)
{
    Skytest__Payload resp = SKYTEST__PAYLOAD__INIT;

    (void)ud;
    resp.id = req->id + 1;
    resp.kind = req->kind;
    resp.session = notes;
    return skytest_Echo_Bump_reply(ctx, r, &resp);
}

static int on_fail(sky_ctx *ctx, const Skytest__Payload *req, const sky_request *r, void *ud)
{
    char text[128];

    (void)ud;
    snprintf(text, sizeof text, "fail %s", req->body);
    if (req->id > 0 && req->kind[0])
        return sky_reply_app_error(ctx, r->msg, req->kind, text, "\0\1det", 5);
    return sky_reply_error(ctx, r->msg, req->id < 0 ? req->id : SKY_EFAIL, text);
}

static int on_hold(sky_ctx *ctx, const Skytest__Payload *req, const sky_request *r, void *ud)
{
    (void)req, (void)ud;
    (void)sky_defer(ctx, r->msg); /* and never answered: the caller's deadline passes */
    return 0;
}

static int on_note(sky_ctx *ctx, const Skytest__Payload *req, const sky_request *r, void *ud)
{
    (void)ctx, (void)req, (void)r, (void)ud;
    notes++;
    return 0;
}

static const skytest_Echo_handlers handlers = {.Bump = on_bump, .Fail = on_fail, .Hold = on_hold, .Note = on_note};

static int cecho_init(void *state, sky_ctx *ctx, const char *args)
{
    (void)state, (void)args;
    return skytest_Echo_serve(ctx, &handlers, NULL);
}

static int cecho_handle(void *state, sky_ctx *ctx, const sky_msg *msg)
{
    (void)state, (void)ctx, (void)msg;
    return 0;
}

const sky_module sky_module_cecho = {"cecho", NULL, cecho_init, cecho_handle, NULL};

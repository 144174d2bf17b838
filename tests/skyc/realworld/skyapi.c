/* sky.proto (no package; services sky, sky_typed and SKY): its stubs,
 * named proto_sky_..., live beside sky's API in one program, the schema is
 * registered, and sky.typed is served and called once through a node. */
#include "serve_once.h"
#include "sky.sky.h"

static int echo(sky_ctx *ctx, const Ping *req, const sky_request *r, void *ud)
{
    Ping p = PING__INIT;

    (void)ud;
    p.n = req->n + 1;
    return proto_sky_typed_reply(ctx, r, &p);
}

static const proto_sky_handlers handlers = {.typed = echo};

SERVING_MODULE(svc, "skyproto", proto_sky_serve, handlers);

int main(void)
{
    Ping ping = PING__INIT;
    Ping *pong = NULL;
    int fails = 0;

    if (sky_schema_file("sky.proto") != &proto_sky_file || sky_schema_service("sky") != &proto_sky_desc ||
        sky_schema_service("sky_typed") != &proto_sky_typed_desc || sky_schema_service("SKY") != &proto_SKY_desc ||
        sky_schema_method(proto_sky_typed_call_ID) == NULL) {
        fprintf(stderr, "sky.proto's schema is not registered\n");
        fails++;
    }
    ping.n = 41;
    if (call_once(&svc, proto_sky_typed_ID, &ping.base, &ping__descriptor, (ProtobufCMessage **)&pong) != 0) {
        fails++;
    } else {
        printf("sky.typed(41) = %d\n", pong->n);
        fails += pong->n != 42;
        protobuf_c_message_free_unpacked(&pong->base, NULL);
    }
    return fails != 0;
}

/* sky — libsky-client with protobuf-c messages.
 *
 * The glue the client stubs of `skyc --c_out` (X.sky-client.h) call:
 * encode a protobuf-c message, call, decode the answer. Header-only, so
 * that libsky-client itself needs no protobuf-c; a program using it links
 * libprotobuf-c anyway for its messages. */
#ifndef SKY_CLIENT_PB_H
#define SKY_CLIENT_PB_H

#include <stdlib.h>
#include <protobuf-c/protobuf-c.h>
#include <sky/client.h>

/* Calls method_id with req encoded; on 0, *resp is the answer decoded with
 * out (free it with protobuf_c_message_free_unpacked(*resp, NULL)). On
 * failure *resp is NULL and the code is sky_client_call()'s, or
 * SKY_EBADMSG when the answer does not decode as `out` (the connection is
 * kept), or SKY_ENOMEM. */
static inline int sky_client_call_pb(sky_client *c, uint32_t method_id, const ProtobufCMessage *req,
                                     const ProtobufCMessageDescriptor *out, ProtobufCMessage **resp, int timeout_ms)
{
    size_t n = protobuf_c_message_get_packed_size(req), len;
    uint8_t *buf = malloc(n ? n : 1);
    void *raw;
    int rc;

    *resp = NULL;
    if (!buf)
        return SKY_ENOMEM;
    protobuf_c_message_pack(req, buf);
    rc = sky_client_call(c, method_id, buf, n, &raw, &len, timeout_ms);
    free(buf);
    if (rc != 0)
        return rc;
    *resp = protobuf_c_message_unpack(out, NULL, len, (const uint8_t *)raw);
    free(raw);
    return *resp ? 0 : SKY_EBADMSG;
}

/* Sends req encoded as a oneway to method_id: sky_client_send()'s codes,
 * or SKY_ENOMEM. */
static inline int sky_client_send_pb(sky_client *c, uint32_t method_id, const ProtobufCMessage *req, int timeout_ms)
{
    size_t n = protobuf_c_message_get_packed_size(req);
    uint8_t *buf = malloc(n ? n : 1);
    int rc;

    if (!buf)
        return SKY_ENOMEM;
    protobuf_c_message_pack(req, buf);
    rc = sky_client_send(c, method_id, buf, n, timeout_ms);
    free(buf);
    return rc;
}

#endif

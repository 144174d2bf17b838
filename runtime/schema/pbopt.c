/* sky's custom options from unknown fields: see pbopt.h. */
#include "core/pbwire.h"
#include "schema/pbopt.h"

/* Decodes a varint at p[0..n); returns its length, or 0 if malformed. */
static size_t varint(const uint8_t *p, size_t n, uint64_t *out)
{
    const uint8_t *q = p;
    return sky__pb_varint(&q, p + n, out) ? (size_t)(q - p) : 0;
}

static const ProtobufCMessageUnknownField *find(const ProtobufCMessage *opts, uint32_t number, ProtobufCWireType type)
{
    const ProtobufCMessageUnknownField *found = NULL;
    for (unsigned i = 0; opts && i < opts->n_unknown_fields; i++)
        if (opts->unknown_fields[i].tag == number && opts->unknown_fields[i].wire_type == type)
            found = &opts->unknown_fields[i];
    return found;
}

int sky__option_varint(const ProtobufCMessage *opts, uint32_t number, uint64_t *out)
{
    const ProtobufCMessageUnknownField *u = find(opts, number, PROTOBUF_C_WIRE_TYPE_VARINT);
    return u && varint(u->data, u->len, out) > 0;
}

/* protobuf-c keeps a length-delimited unknown field with its length prefix. */
int sky__option_bytes(const ProtobufCMessage *opts, uint32_t number, const uint8_t **data, size_t *len)
{
    const ProtobufCMessageUnknownField *u = find(opts, number, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED);
    uint64_t n;
    size_t pre;
    if (!u || !(pre = varint(u->data, u->len, &n)) || n != u->len - pre) return 0;
    *data = u->data + pre;
    *len = (size_t)n;
    return 1;
}

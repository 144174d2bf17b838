/* sky's custom options: see options.h. */
#include <string.h>
#include "buf.h"
#include "options.h"

/* Decodes a varint at p[0..n); returns its length, or 0 if malformed. */
static size_t varint(const uint8_t *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;

    for (size_t i = 0; i < n && i < 10; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *out = v;
            return i + 1;
        }
    }
    return 0;
}

static const ProtobufCMessageUnknownField *find(const ProtobufCMessage *opts, uint32_t number,
                                                ProtobufCWireType type)
{
    const ProtobufCMessageUnknownField *found = NULL;

    if (!opts)
        return NULL;
    for (unsigned i = 0; i < opts->n_unknown_fields; i++) {
        const ProtobufCMessageUnknownField *u = &opts->unknown_fields[i];

        if (u->tag == number && u->wire_type == type)
            found = u;
    }
    return found;
}

int skyc_option_varint(const ProtobufCMessage *opts, uint32_t number, uint64_t *out)
{
    const ProtobufCMessageUnknownField *u = find(opts, number, PROTOBUF_C_WIRE_TYPE_VARINT);

    return u && varint(u->data, u->len, out) > 0;
}

/* protobuf-c keeps a length-delimited unknown field with its length prefix. */
char *skyc_option_string(const ProtobufCMessage *opts, uint32_t number)
{
    const ProtobufCMessageUnknownField *u = find(opts, number, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED);
    uint64_t len;
    size_t pre;
    char *s;

    if (!u || !(pre = varint(u->data, u->len, &len)) || len != u->len - pre)
        return NULL;
    s = skyc_xmalloc((size_t)len + 1);
    memcpy(s, u->data + pre, (size_t)len);
    s[len] = '\0';
    return s;
}

/* The nesting guard: see pbdepth.h. A walk over the wire format that
 * descends only into fields whose type is a message, so it recurses at
 * most max_depth levels itself. */
#include "pbdepth.h"
#include <stdint.h>

enum { OK = 1, TOO_DEEP = 0, MALFORMED = 2 };

/* Reads a varint at *p (< end); MALFORMED past the end or 10 bytes. */
static int varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 70 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << (shift < 64 ? shift : 63);
        if (!(b & 0x80)) return OK;
    }
    return MALFORMED;
}

static int walk(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end, int depth_left)
{
    while (p < end) {
        uint64_t key, n;
        if (varint(&p, end, &key) != OK) return MALFORMED;
        switch (key & 7) {
        case PROTOBUF_C_WIRE_TYPE_VARINT:
            if (varint(&p, end, &n) != OK) return MALFORMED;
            break;
        case PROTOBUF_C_WIRE_TYPE_64BIT:
            if (end - p < 8) return MALFORMED;
            p += 8;
            break;
        case PROTOBUF_C_WIRE_TYPE_32BIT:
            if (end - p < 4) return MALFORMED;
            p += 4;
            break;
        case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED: {
            if (varint(&p, end, &n) != OK || n > (uint64_t)(end - p)) return MALFORMED;
            const ProtobufCFieldDescriptor *f =
                key >> 3 <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3)) : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (depth_left == 0) return TOO_DEEP;
                int rc = walk(f->descriptor, p, p + n, depth_left - 1);
                if (rc != OK) return rc;
            }
            p += n;
            break;
        }
        default: /* groups and bad wire types: protobuf-c refuses them */
            return MALFORMED;
        }
    }
    return OK;
}

int sky__pb_depth_ok(const ProtobufCMessageDescriptor *d, const void *data, size_t len, int max_depth)
{
    if (!d || !data || len == 0) return 1;
    return walk(d, data, (const uint8_t *)data + len, max_depth) != TOO_DEEP;
}

/* The nesting guard: see pbdepth.h. A walk over the wire format that
 * descends only into fields whose type is a message, so it recurses at
 * most max_depth levels itself. */
#include "pbdepth.h"
#include <stdint.h>
#include "pbwire.h"

enum { OK = 1, TOO_DEEP = 0, MALFORMED = 2 };

static int walk(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end, int depth_left)
{
    while (p < end) {
        uint64_t key;
        const uint8_t *val;
        if (!sky__pb_varint(&p, end, &key) || !sky__pb_skip(&p, end, (int)(key & 7), &val))
            return MALFORMED; /* protobuf-c refuses it too */
        if ((key & 7) != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED || key >> 3 > UINT32_MAX) continue;
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3));
        if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (depth_left == 0) return TOO_DEEP;
            int rc = walk(f->descriptor, val, p, depth_left - 1);
            if (rc != OK) return rc;
        }
    }
    return OK;
}

int sky__pb_depth_ok(const ProtobufCMessageDescriptor *d, const void *data, size_t len, int max_depth)
{
    if (!d || !data || len == 0) return 1;
    return walk(d, data, (const uint8_t *)data + len, max_depth) != TOO_DEEP;
}

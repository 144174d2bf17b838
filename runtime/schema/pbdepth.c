/* The nesting guard: see pbdepth.h. A walk over the wire format that
 * descends only into fields whose type is a message, so it recurses at
 * most max_depth levels itself. */
#include "schema/pbdepth.h"
#include <stdatomic.h>
#include <stdint.h>
#include "core/pbwire.h"

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

/* ---- the types that cannot nest deep enough to need the walk ------------
 *
 * height(d): the longest chain of message fields below d, capped at
 * HEIGHT_CAP (and a cycle reaches the cap). A type whose height is within
 * max_depth cannot be nested deeper by any bytes, so its walk is skipped:
 * only recursive (or absurdly deep) schemas pay for it. Heights are kept
 * in a table keyed by descriptor, filled without locks; descriptors live
 * as long as the process (compiled ones) or the node's schema registry. */

#define HEIGHT_CAP (SKY_PB_MAX_DEPTH + 1)
#define SEEN 4096 /* slots in the table; a full table just means no caching */
#define MEMO 256  /* types remembered during one computation */

static struct {
    _Atomic(const ProtobufCMessageDescriptor *) d;
    atomic_int height; /* height + 1; 0 while its writer has not finished */
} seen[SEEN];

typedef struct memo {
    const ProtobufCMessageDescriptor *d[MEMO];
    int h[MEMO];
    int n;
    const ProtobufCMessageDescriptor *path[HEIGHT_CAP + 1];
} memo;

static int height_of(memo *m, const ProtobufCMessageDescriptor *d, int depth)
{
    for (int i = 0; i < m->n; i++)
        if (m->d[i] == d) return m->h[i];
    for (int i = 0; i < depth; i++)
        if (m->path[i] == d) return HEIGHT_CAP; /* a cycle */
    if (depth > HEIGHT_CAP) return HEIGHT_CAP;
    m->path[depth] = d;
    int h = 0;
    for (unsigned i = 0; i < d->n_fields && h < HEIGHT_CAP; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE || !f->descriptor) continue;
        int below = height_of(m, f->descriptor, depth + 1) + 1;
        if (below > h) h = below > HEIGHT_CAP ? HEIGHT_CAP : below;
    }
    if (m->n < MEMO) {
        m->d[m->n] = d;
        m->h[m->n++] = h;
    }
    return h;
}

static uint32_t slot_of(const void *p) { return (uint32_t)(((uintptr_t)p >> 4) * 2654435761u) % SEEN; }

static int height(const ProtobufCMessageDescriptor *d)
{
    uint32_t i = slot_of(d);
    for (uint32_t probe = 0; probe < SEEN; probe++, i = (i + 1) % SEEN) {
        const ProtobufCMessageDescriptor *k = atomic_load_explicit(&seen[i].d, memory_order_acquire);
        if (k == d) {
            int h = atomic_load_explicit(&seen[i].height, memory_order_acquire);
            if (h) return h - 1;
            break; /* being filled in by another thread: compute it here */
        }
        if (k == NULL) {
            memo m;
            m.n = 0;
            int h = height_of(&m, d, 0);
            const ProtobufCMessageDescriptor *none = NULL;
            if (atomic_compare_exchange_strong(&seen[i].d, &none, d))
                atomic_store_explicit(&seen[i].height, h + 1, memory_order_release);
            return h; /* lost the slot to another type: still right */
        }
    }
    memo m;
    m.n = 0;
    return height_of(&m, d, 0);
}

int sky__pb_depth_ok(const ProtobufCMessageDescriptor *d, const void *data, size_t len, int max_depth)
{
    if (!d || !data || len == 0) return 1;
    int h = height(d);
    if (h < HEIGHT_CAP && h <= max_depth) return 1; /* no bytes can nest it deeper */
    return walk(d, data, (const uint8_t *)data + len, max_depth) != TOO_DEEP;
}

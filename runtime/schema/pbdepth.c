/* The guards: see pbdepth.h. A walk over the wire format that descends
 * only into fields whose type is a message, so it recurses at most
 * max_depth levels itself, and looks into the bytes of string fields. */
#include "schema/pbdepth.h"
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include "core/pbwire.h"

enum { OK = 1, TOO_DEEP = 0, MALFORMED = 2, NUL = 3 };

/* strings: also refuse a string field holding a NUL byte, naming it in
 * *bad. */
static int walk(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end, int depth_left, int strings,
                sky__pb_bad *bad)
{
    while (p < end) {
        uint64_t key;
        const uint8_t *val;
        if (!sky__pb_varint(&p, end, &key) || !sky__pb_skip(&p, end, (int)(key & 7), &val))
            return MALFORMED; /* protobuf-c refuses it too */
        if ((key & 7) != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED || key >> 3 > UINT32_MAX) continue;
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3));
        if (!f) continue;
        if (f->type == PROTOBUF_C_TYPE_STRING && strings && memchr(val, 0, (size_t)(p - val))) {
            if (bad) *bad = (sky__pb_bad){d, f};
            return NUL;
        }
        if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (depth_left == 0) return TOO_DEEP;
            int rc = walk(f->descriptor, val, p, depth_left - 1, strings, bad);
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
    atomic_int shape; /* height + 1, | STRINGS; 0 while its writer has not finished */
} seen[SEEN];

#define STRINGS (1 << 16) /* a string field is reachable (if the height is capped: maybe not) */

typedef struct memo {
    const ProtobufCMessageDescriptor *d[MEMO];
    int shape[MEMO];
    int n;
    const ProtobufCMessageDescriptor *path[HEIGHT_CAP + 1];
} memo;

/* height(d) | STRINGS if a string field is reachable from d. Past the
 * height cap the flag may be missing: such a type is walked anyway. */
static int shape_of(memo *m, const ProtobufCMessageDescriptor *d, int depth)
{
    for (int i = 0; i < m->n; i++)
        if (m->d[i] == d) return m->shape[i];
    for (int i = 0; i < depth; i++)
        if (m->path[i] == d) return HEIGHT_CAP; /* a cycle */
    if (depth > HEIGHT_CAP) return HEIGHT_CAP;
    m->path[depth] = d;
    int h = 0, strings = 0;
    for (unsigned i = 0; i < d->n_fields && h < HEIGHT_CAP; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type == PROTOBUF_C_TYPE_STRING) strings = STRINGS;
        if (f->type != PROTOBUF_C_TYPE_MESSAGE || !f->descriptor) continue;
        int below = shape_of(m, f->descriptor, depth + 1);
        strings |= below & STRINGS;
        below = (below & ~STRINGS) + 1;
        if (below > h) h = below > HEIGHT_CAP ? HEIGHT_CAP : below;
    }
    if (m->n < MEMO) {
        m->d[m->n] = d;
        m->shape[m->n++] = h | strings;
    }
    return h | strings;
}

static uint32_t slot_of(const void *p) { return (uint32_t)(((uintptr_t)p >> 4) * 2654435761u) % SEEN; }

static int shape(const ProtobufCMessageDescriptor *d)
{
    memo m;
    uint32_t i = slot_of(d);
    for (uint32_t probe = 0; probe < SEEN; probe++, i = (i + 1) % SEEN) {
        const ProtobufCMessageDescriptor *k = atomic_load_explicit(&seen[i].d, memory_order_acquire);
        if (k == d) {
            int sh = atomic_load_explicit(&seen[i].shape, memory_order_acquire);
            if (sh) return sh - 1;
            break; /* being filled in by another thread: compute it here */
        }
        if (k == NULL) {
            m.n = 0;
            int sh = shape_of(&m, d, 0);
            const ProtobufCMessageDescriptor *none = NULL;
            if (atomic_compare_exchange_strong(&seen[i].d, &none, d))
                atomic_store_explicit(&seen[i].shape, sh + 1, memory_order_release);
            return sh; /* lost the slot to another type: still right */
        }
    }
    m.n = 0;
    return shape_of(&m, d, 0);
}

/* 1 if no bytes of type d can nest deeper than max_depth. */
static int shallow(int sh, int max_depth)
{
    int h = sh & ~STRINGS;
    return h < HEIGHT_CAP && h <= max_depth;
}

int sky__pb_depth_ok(const ProtobufCMessageDescriptor *d, const void *data, size_t len, int max_depth)
{
    if (!d || !data || len == 0) return 1;
    if (shallow(shape(d), max_depth)) return 1;
    return walk(d, data, (const uint8_t *)data + len, max_depth, 0, NULL) != TOO_DEEP;
}

int sky__pb_check(const ProtobufCMessageDescriptor *d, const void *data, size_t len, int max_depth, sky__pb_bad *bad)
{
    if (bad) *bad = (sky__pb_bad){NULL, NULL};
    if (!d || !data || len == 0) return 1;
    int sh = shape(d);
    /* bytes with no 0 in them have no NUL in a string: most messages
     * (varints end in a 0 byte only for the value 0) pass without a walk */
    if (shallow(sh, max_depth) && (!(sh & STRINGS) || !memchr(data, 0, len))) return 1;
    int rc = walk(d, data, (const uint8_t *)data + len, max_depth, 1, bad);
    return rc != TOO_DEEP && rc != NUL;
}

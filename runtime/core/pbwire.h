/* The protobuf wire format's two building blocks, for the few places that
 * read protobuf bytes by hand (the Lua codec's fast path, the nesting
 * guard, sky.Status, sky's options): one copy, the way protobuf-c reads. */
#ifndef SKY__PBWIRE_H
#define SKY__PBWIRE_H

#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

/* Reads a varint at *p (before end) into *v, moving *p past it: at most 10
 * bytes, bits past 64 dropped, as protobuf-c. Returns 1, or 0 if the bytes
 * end first or run longer. */
static inline int sky__pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 70 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        if (shift < 64) *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return 1;
    }
    return 0;
}

/* Steps over one value of wire type wt at *p; its bytes are [*val, *p)
 * (a length-prefixed value's without its length). Returns 1, or 0 for a
 * value cut short or a group (which protobuf-c refuses). */
static inline int sky__pb_skip(const uint8_t **p, const uint8_t *end, int wt, const uint8_t **val)
{
    uint64_t n;
    *val = *p;
    switch (wt) {
    case PROTOBUF_C_WIRE_TYPE_VARINT:
        return sky__pb_varint(p, end, &n);
    case PROTOBUF_C_WIRE_TYPE_64BIT:
    case PROTOBUF_C_WIRE_TYPE_32BIT:
        n = wt == PROTOBUF_C_WIRE_TYPE_64BIT ? 8 : 4;
        break;
    case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
        if (!sky__pb_varint(p, end, &n)) return 0;
        *val = *p;
        break;
    default:
        return 0;
    }
    if (n > (uint64_t)(end - *p)) return 0;
    *p += n;
    return 1;
}

#endif

/* sky.Status on the wire: protobuf field 1 (varint, int32 sign-extended to
 * 64 bits as protobuf requires) and field 2 (length-delimited UTF-8). */
#include <string.h>
#include "core/pbwire.h"
#include "core/status.h"
#include "sky/alloc.h"

static size_t put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

void *sky__status_encode(int code, const char *text, size_t *size)
{
    size_t len = text ? strlen(text) : 0;
    unsigned char *buf = sky_malloc(1 + 10 + 1 + 10 + len), *p = buf;
    if (code != 0) {
        *p++ = 0x08;
        p += put_varint(p, (uint64_t)(int64_t)code);
    }
    if (len) {
        *p++ = 0x12;
        p += put_varint(p, len);
        memcpy(p, text, len);
        p += len;
    }
    *size = (size_t)(p - buf);
    return buf;
}

int sky__status_decode(const void *data, size_t size, int *code, const char **text, size_t *textlen)
{
    const unsigned char *p = data, *end = p + size;
    uint64_t key, v;
    *code = 0;
    *text = "";
    *textlen = 0;
    while (p < end) {
        if (!sky__pb_varint(&p, end, &key)) return -1;
        switch (key) {
        case 0x08:
            if (!sky__pb_varint(&p, end, &v)) return -1;
            *code = (int)(int32_t)v;
            break;
        case 0x12:
            if (!sky__pb_varint(&p, end, &v) || v > (uint64_t)(end - p)) return -1;
            *text = (const char *)p;
            *textlen = (size_t)v;
            p += v;
            break;
        default:
            return -1; /* Status has no other fields: not a Status */
        }
    }
    return 0;
}

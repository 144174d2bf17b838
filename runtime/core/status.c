/* sky.Status on the wire: protobuf field 1 (varint, int32 sign-extended to
 * 64 bits as protobuf requires), fields 2 and 3 (length-delimited UTF-8)
 * and field 4 (length-delimited bytes). */
#include <string.h>
#include "core/pbwire.h"
#include "core/status.h"
#include "sky/alloc.h"
#include "sky/error.h"

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

static unsigned char *put_bytes(unsigned char *p, unsigned char tag, const void *data, size_t len)
{
    if (!len) return p;
    *p++ = tag;
    p += put_varint(p, len);
    memcpy(p, data, len);
    return p + len;
}

void *sky__status_encode_full(const sky__status *st, size_t *size)
{
    unsigned char *buf = sky_malloc(11 + 3 * 11 + st->textlen + st->app_codelen + st->detailslen), *p = buf;
    if (st->code != 0) {
        *p++ = 0x08;
        p += put_varint(p, (uint64_t)(int64_t)st->code);
    }
    p = put_bytes(p, 0x12, st->text, st->textlen);
    p = put_bytes(p, 0x1a, st->app_code, st->app_codelen);
    p = put_bytes(p, 0x22, st->details, st->detailslen);
    *size = (size_t)(p - buf);
    return buf;
}

void *sky__status_encode(int code, const char *text, size_t *size)
{
    sky__status st = {.code = code, .text = text, .textlen = text ? strlen(text) : 0};
    return sky__status_encode_full(&st, size);
}

int sky__status_decode(const void *data, size_t size, sky__status *st)
{
    const uint8_t *p = data, *end = p + size, *val;
    uint64_t key, v;
    memset(st, 0, sizeof *st);
    st->text = st->app_code = "";
    st->details = "";
    while (p < end) {
        if (!sky__pb_varint(&p, end, &key) || key >> 3 == 0) return -1;
        if (key == 0x08) {
            if (!sky__pb_varint(&p, end, &v)) return -1;
            st->code = (int)(int32_t)v;
            continue;
        }
        if (!sky__pb_skip(&p, end, (int)(key & 7), &val)) return -1;
        size_t n = (size_t)(p - val);
        if (key == 0x12) {
            st->text = (const char *)val;
            st->textlen = n;
        } else if (key == 0x1a) {
            st->app_code = (const char *)val;
            st->app_codelen = n;
        } else if (key == 0x22) {
            st->details = val;
            st->detailslen = n;
        } /* else a field of a newer Status: skipped */
    }
    return 0;
}

int sky__status_code_chars_ok(const char *s, size_t n)
{
    if (n == 0 || n > SKY_APP_CODE_MAX) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-'))
            return 0;
    }
    return 1;
}

int sky__status_app_code_ok(const char *s, size_t n)
{
    if (!sky__status_code_chars_ok(s, n)) return 0;
    char name[SKY_APP_CODE_MAX + 1];
    memcpy(name, s, n);
    name[n] = '\0';
    if (strcmp(name, "EUNKNOWN") == 0) return 0;
    for (int c = 0; strcmp(sky_errname(c), "EUNKNOWN") != 0; c--)
        if (strcmp(sky_errname(c), name) == 0) return 0;
    return 1;
}

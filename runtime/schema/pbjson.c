/* The protobuf JSON mapping: see pbjson.h.
 *
 * Bytes -> JSON: protobuf-c unpacks (after pbdepth's guards), and the
 * struct is walked by its descriptor into a text buffer written here, not
 * through jansson, whose reals print with 17 digits (0.1 as
 * 0.10000000000000001) where the mapping wants the shortest text that
 * reads back the same value.
 *
 * JSON -> bytes: jansson parses (strict: duplicate keys refused, 64-bit
 * integers, line and column in its errors), the tree is walked into a
 * protobuf-c struct that protobuf-c packs. The struct's memory is all
 * malloc'd, so protobuf_c_message_free_unpacked() frees it, half-built too:
 * a count or a oneof case is set only once its value is in place. */
#include "schema/pbjson.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "schema/msginit.h"
#include "schema/pbdepth.h"
#include "sky/alloc.h"

/* ---- what both directions share: the field path, the error ------------- */

typedef struct {
    char path[4096];
    size_t plen;
    char *err;
    size_t errsize;
    int depth;
} walk;

static int fail(walk *w, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(walk *w, int rc, const char *fmt, ...)
{
    if (w->errsize == 0) return rc;
    /* a long path (a message 100 deep) keeps its two ends */
    int n = w->plen <= 160 ? snprintf(w->err, w->errsize, w->plen ? "field '%s': " : "", w->path)
                           : snprintf(w->err, w->errsize, "field '%.60s...%s': ", w->path, w->path + w->plen - 90);
    if (n < 0 || (size_t)n >= w->errsize) return rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err + n, w->errsize - (size_t)n, fmt, ap);
    va_end(ap);
    return rc;
}

/* Appends to the path; returns the length to restore with path_pop. */
static size_t path_push(walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t path_push(walk *w, const char *fmt, ...)
{
    size_t old = w->plen;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->path + old, sizeof w->path - old, fmt, ap);
    va_end(ap);
    if (n > 0) w->plen = old + (size_t)n < sizeof w->path ? old + (size_t)n : sizeof w->path - 1;
    return old;
}

static void path_pop(walk *w, size_t old)
{
    w->plen = old;
    w->path[old] = '\0';
}

/* A field's segment of the path: "name" at the top, ".name" below. */
static size_t path_field(walk *w, const char *name) { return path_push(w, "%s%s", w->plen ? "." : "", name); }

static int is_oneof(const ProtobufCFieldDescriptor *f) { return (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0; }

static void *slot_of(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f) { return (char *)m + f->offset; }

static void *quant_of(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    return (char *)m + f->quantifier_offset;
}

/* protoc's json_name: '_' dropped, the letter after it upper-cased. */
static int json_name_eq(const char *name, const char *key)
{
    int up = 0;
    for (; *name; name++) {
        if (*name == '_') {
            up = 1;
            continue;
        }
        char c = up && *name >= 'a' && *name <= 'z' ? (char)(*name - 'a' + 'A') : *name;
        up = 0;
        if (*key++ != c) return 0;
    }
    return *key == '\0';
}

/* ---- bytes -> JSON ----------------------------------------------------- */

typedef struct {
    walk w;
    char *p;
    size_t n, cap;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->n + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->n + n + 1) cap *= 2;
        o->p = sky_realloc(o->p, cap);
        o->cap = cap;
    }
    memcpy(o->p + o->n, s, n);
    o->n += n;
    o->p[o->n] = '\0';
}

static void puts_(out *o, const char *s) { put(o, s, strlen(s)); }

static void putf(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(out *o, const char *fmt, ...)
{
    char buf[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0) put(o, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* Length of the UTF-8 sequence at s (n bytes left), 0 if it is not one:
 * no overlong forms, no surrogates, nothing past U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80) return 1;
    size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (len == 0 || s[0] > 0xF4 || len > n) return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    if (len == 3 && ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] >= 0xA0))) return 0;
    if (len == 4 && ((s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] >= 0x90))) return 0;
    return len;
}

/* A JSON string; fails on text that is not UTF-8. */
static int put_string(out *o, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p);
    put(o, "\"", 1);
    while (n) {
        size_t run = 0;
        while (run < n && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\') run++;
        put(o, (const char *)p, run);
        p += run;
        n -= run;
        if (n == 0) break;
        size_t len = utf8_len(p, n);
        if (len == 0) return fail(&o->w, SKY_EBADMSG, "string is not valid UTF-8");
        if (len > 1) {
            put(o, (const char *)p, len);
        } else if (*p == '"' || *p == '\\') {
            char esc[2] = {'\\', (char)*p};
            put(o, esc, 2);
        } else {
            const char *named = *p == '\n' ? "\\n" : *p == '\t' ? "\\t" : *p == '\r' ? "\\r" : *p == '\b' ? "\\b"
                                                                       : *p == '\f' ? "\\f" : NULL;
            if (named)
                puts_(o, named);
            else
                putf(o, "\\u%04x", *p);
        }
        p += len;
        n -= len;
    }
    put(o, "\"", 1);
    return 0;
}

static void put_json_name(out *o, const char *name)
{
    put(o, "\"", 1);
    for (int up = 0; *name; name++) {
        if (*name == '_') {
            up = 1;
            continue;
        }
        char c = up && *name >= 'a' && *name <= 'z' ? (char)(*name - 'a' + 'A') : *name;
        up = 0;
        put(o, &c, 1);
    }
    put(o, "\":", 2);
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void put_base64(out *o, const ProtobufCBinaryData *b)
{
    put(o, "\"", 1);
    for (size_t i = 0; i < b->len; i += 3) {
        uint32_t v = (uint32_t)b->data[i] << 16;
        if (i + 1 < b->len) v |= (uint32_t)b->data[i + 1] << 8;
        if (i + 2 < b->len) v |= b->data[i + 2];
        char q[4] = {B64[v >> 18], B64[(v >> 12) & 63], i + 1 < b->len ? B64[(v >> 6) & 63] : '=',
                     i + 2 < b->len ? B64[v & 63] : '='};
        put(o, q, 4);
    }
    put(o, "\"", 1);
}

/* The shortest text that reads back as v (as a float when is_float), v
 * finite, into buf (32 bytes). */
static const char *real_text(double v, int is_float, char *buf)
{
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, 32, "%.*g", prec, v);
        if (is_float ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v) break;
    }
    return buf;
}

static void put_real(out *o, double v, int is_float)
{
    char buf[32];
    if (isnan(v))
        puts_(o, "\"NaN\"");
    else if (isinf(v))
        puts_(o, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    else
        puts_(o, real_text(v, is_float, buf));
}

static int put_message(out *o, const ProtobufCMessageDescriptor *d, const ProtobufCMessage *m);

/* One value of field f at p (an element's address for repeated fields). */
static int put_value(out *o, const ProtobufCFieldDescriptor *f, const void *p)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        putf(o, "%" PRId32, *(const int32_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        putf(o, "%" PRIu32, *(const uint32_t *)p);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        putf(o, "\"%" PRId64 "\"", *(const int64_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        putf(o, "\"%" PRIu64 "\"", *(const uint64_t *)p);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        put_real(o, *(const float *)p, 1);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        put_real(o, *(const double *)p, 0);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        puts_(o, *(const protobuf_c_boolean *)p ? "true" : "false");
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        int32_t v = *(const int32_t *)p;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
        if (ev)
            putf(o, "\"%s\"", ev->name); /* an identifier: nothing to escape */
        else
            putf(o, "%" PRId32, v);
        break;
    }
    case PROTOBUF_C_TYPE_STRING:
        return put_string(o, *(char *const *)p);
    case PROTOBUF_C_TYPE_BYTES:
        put_base64(o, p);
        break;
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;
        if (sub) return put_message(o, f->descriptor, sub);
        puts_(o, "{}"); /* a map entry's value left out */
        break;
    }
    }
    return 0;
}

/* A map key as the text of its JSON key, into buf (64 bytes) unless a
 * string, whose own text is returned. */
static const char *key_text(const ProtobufCFieldDescriptor *k, const void *p, char *buf)
{
    switch (k->type) {
    case PROTOBUF_C_TYPE_STRING:
        return *(char *const *)p ? *(char *const *)p : "";
    case PROTOBUF_C_TYPE_BOOL:
        return *(const protobuf_c_boolean *)p ? "true" : "false";
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        snprintf(buf, 64, "%" PRId32, *(const int32_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        snprintf(buf, 64, "%" PRIu32, *(const uint32_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        snprintf(buf, 64, "%" PRIu64, *(const uint64_t *)p);
        break;
    default: /* the signed 64-bit ones */
        snprintf(buf, 64, "%" PRId64, *(const int64_t *)p);
    }
    return buf;
}

typedef struct {
    char *key;
    size_t i;
} keyed;

static int by_key(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* A map: an object. A key given twice on the wire keeps its last value,
 * as protobuf's parsers do, so that no JSON key is written twice. */
static int put_map(out *o, const ProtobufCFieldDescriptor *f, ProtobufCMessage *const *e, size_t n)
{
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
    keyed *ks = sky_malloc(n * sizeof *ks);
    unsigned char *keep = sky_malloc(n);
    for (size_t i = 0; i < n; i++) {
        char buf[64];
        ks[i] = (keyed){sky_strdup(key_text(kf, slot_of(e[i], kf), buf)), i};
    }
    qsort(ks, n, sizeof *ks, by_key);
    for (size_t i = 0; i < n; i++) keep[ks[i].i] = i + 1 == n || strcmp(ks[i].key, ks[i + 1].key) != 0;
    for (size_t i = 0; i < n; i++) sky_free(ks[i].key);
    sky_free(ks);
    int rc = 0, first = 1;
    put(o, "{", 1);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!keep[i]) continue;
        char buf[64];
        const char *k = key_text(kf, slot_of(e[i], kf), buf);
        if (!first) put(o, ",", 1);
        first = 0;
        size_t old = path_push(&o->w, "[\"%s\"]", k);
        rc = put_string(o, k);
        if (rc == 0) {
            put(o, ":", 1);
            rc = put_value(o, vf, slot_of(e[i], vf));
        }
        path_pop(&o->w, old);
    }
    put(o, "}", 1);
    sky_free(keep);
    return rc;
}

static int put_field(out *o, const ProtobufCMessageDescriptor *d, const ProtobufCMessage *m,
                     const ProtobufCFieldDescriptor *f)
{
    const void *slot = slot_of(m, f);
    if (f->label != PROTOBUF_C_LABEL_REPEATED) return put_value(o, f, slot);
    size_t n = *(const size_t *)quant_of(m, f);
    const char *arr = *(const char *const *)slot;
    if (sky__pb_is_map(d, f)) return put_map(o, f, (ProtobufCMessage *const *)arr, n);
    size_t size = sky__pb_value_size(f->type);
    put(o, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i) put(o, ",", 1);
        size_t old = path_push(&o->w, "[%zu]", i);
        int rc = put_value(o, f, arr + i * size);
        path_pop(&o->w, old);
        if (rc) return rc;
    }
    put(o, "]", 1);
    return 0;
}

/* Whether field f of m is written: what protobuf-c would pack, but for a
 * -0.0 without presence, which it leaves out and protobuf keeps. */
static int present(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    const void *slot = slot_of(m, f);
    if (f->label == PROTOBUF_C_LABEL_REPEATED) return *(const size_t *)quant_of(m, f) > 0;
    if (is_oneof(f)) return *(const uint32_t *)quant_of(m, f) == f->id;
    if (f->label == PROTOBUF_C_LABEL_REQUIRED) return 1;
    if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) {
        const void *p = *(const void *const *)slot;
        if (f->label == PROTOBUF_C_LABEL_OPTIONAL) return p != NULL && p != f->default_value;
        return p != NULL && (f->type == PROTOBUF_C_TYPE_MESSAGE || *(const char *)p != '\0');
    }
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL) return *(const protobuf_c_boolean *)quant_of(m, f);
    /* no presence: set unless every bit of the value is 0 */
    static const char zero[sizeof(ProtobufCBinaryData)];
    if (f->type == PROTOBUF_C_TYPE_BYTES) return ((const ProtobufCBinaryData *)slot)->len > 0;
    return memcmp(slot, zero, sky__pb_value_size(f->type)) != 0;
}

static int put_message(out *o, const ProtobufCMessageDescriptor *d, const ProtobufCMessage *m)
{
    put(o, "{", 1);
    int first = 1;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (!present(m, f)) continue;
        if (!first) put(o, ",", 1);
        first = 0;
        put_json_name(o, f->name);
        size_t old = path_field(&o->w, f->name);
        int rc = put_field(o, d, m, f);
        path_pop(&o->w, old);
        if (rc) return rc;
    }
    put(o, "}", 1);
    return 0;
}

int sky__pbjson_from_pb(const ProtobufCMessageDescriptor *d, const void *data, size_t len, char **json,
                        size_t *jsonlen, char *err, size_t errsize)
{
    out o = {.w = {.err = err, .errsize = errsize}};
    *json = NULL;
    *jsonlen = 0;
    if (errsize) err[0] = '\0';
    sky__pb_bad bad;
    if (!sky__pb_check(d, data, len, SKY_PB_MAX_DEPTH, &bad)) {
        if (bad.field)
            return fail(&o.w, SKY_EBADMSG, "%s.%s: string contains a NUL byte", bad.msg->name, bad.field->name);
        return fail(&o.w, SKY_EBADMSG, "messages nested deeper than %d", SKY_PB_MAX_DEPTH);
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, data);
    if (!m) return fail(&o.w, SKY_EBADMSG, "bytes do not decode as %s", d->name);
    int rc = put_message(&o, d, m);
    protobuf_c_message_free_unpacked(m, NULL);
    if (rc) {
        sky_free(o.p);
        return rc;
    }
    *json = o.p;
    *jsonlen = o.n;
    return 0;
}

/* ---- JSON -> bytes ----------------------------------------------------- */

/* A JSON value described for an error: `string "x"`, `integer 7`, `array`. */
static const char *describe(const json_t *v, char *buf, size_t size)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        snprintf(buf, size, "string \"%.*s%s\"", n > 40 ? 40 : (int)n, s, n > 40 ? "..." : "");
        return buf;
    }
    case JSON_INTEGER:
        snprintf(buf, size, "integer %" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    case JSON_REAL:
        snprintf(buf, size, "number %s", real_text(json_real_value(v), 0, (char[32]){0}));
        return buf;
    case JSON_TRUE:
        return "true";
    case JSON_FALSE:
        return "false";
    default:
        return "null";
    }
}

static int wrong(walk *w, const char *want, const json_t *v)
{
    char buf[96];
    return fail(w, SKY_EINVAL, "expected %s, got %s", want, describe(v, buf, sizeof buf));
}

/* An integer in [lo, hi] (signed) or [0, uhi] (unsigned, lo > hi): a JSON
 * integer, a number with no fraction, or a string of decimal digits. */
typedef struct {
    int64_t lo, hi;
    uint64_t uhi;
    const char *name;
} range;

static int get_integer(walk *w, const json_t *v, const range *r, uint64_t *out)
{
    int is_unsigned = r->lo > r->hi;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (is_unsigned ? i < 0 || (uint64_t)i > r->uhi : i < r->lo || i > r->hi)
            return fail(w, SKY_EINVAL, "integer %" JSON_INTEGER_FORMAT " out of range for %s", i, r->name);
        *out = (uint64_t)i;
        return 0;
    }
    if (json_is_real(v)) {
        double x = json_real_value(v);
        if (x != floor(x)) return wrong(w, "integer", v);
        int ok = is_unsigned ? x >= 0 && x < 18446744073709551616.0 && (uint64_t)x <= r->uhi
                             : x >= -9223372036854775808.0 && x < 9223372036854775808.0 && (int64_t)x >= r->lo &&
                                   (int64_t)x <= r->hi;
        if (!ok) return fail(w, SKY_EINVAL, "number %s out of range for %s", real_text(x, 0, (char[32]){0}), r->name);
        *out = is_unsigned ? (uint64_t)x : (uint64_t)(int64_t)x;
        return 0;
    }
    if (!json_is_string(v)) return wrong(w, "integer", v);
    const char *s = json_string_value(v);
    size_t i = s[0] == '-' && !is_unsigned;
    if (s[i] == '\0' || strspn(s + i, "0123456789") != strlen(s + i)) return wrong(w, "integer", v);
    errno = 0;
    if (is_unsigned) {
        unsigned long long u = strtoull(s, NULL, 10);
        if (errno == ERANGE || u > r->uhi) return fail(w, SKY_EINVAL, "integer %s out of range for %s", s, r->name);
        *out = u;
    } else {
        long long x = strtoll(s, NULL, 10);
        if (errno == ERANGE || x < r->lo || x > r->hi)
            return fail(w, SKY_EINVAL, "integer %s out of range for %s", s, r->name);
        *out = (uint64_t)(int64_t)x;
    }
    return 0;
}

/* A float or double: a JSON number, "NaN", "Infinity", "-Infinity" or a
 * number in a string. */
static int get_real(walk *w, const json_t *v, int is_float, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        if (strcmp(s, "NaN") == 0)
            *out = NAN;
        else if (strcmp(s, "Infinity") == 0)
            *out = INFINITY;
        else if (strcmp(s, "-Infinity") == 0)
            *out = -INFINITY;
        else if (s[0] && strspn(s, "-+0123456789.eE") == strlen(s) && (*out = strtod(s, &end), *end == '\0') &&
                 isfinite(*out))
            ;
        else
            return wrong(w, "number", v);
    } else {
        return wrong(w, "number", v);
    }
    /* past FLT_MAX by half a unit in the last place or more: a float's infinity */
    if (is_float && isfinite(*out) && fabs(*out) >= 3.4028235677973366e38)
        return fail(w, SKY_EINVAL, "number %s out of range for float", real_text(*out, 0, (char[32]){0}));
    return 0;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

/* Standard or URL-safe base64, padded or not. */
static int get_bytes(walk *w, const json_t *v, ProtobufCBinaryData *b)
{
    if (!json_is_string(v)) return wrong(w, "base64 string", v);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n % 4 == 0 && n > 0 && s[n - 1] == '=') n -= 1 + (s[n - 2] == '=');
    if (n % 4 == 1) return wrong(w, "base64 string", v);
    uint8_t *p = n ? sky_malloc(n / 4 * 3 + 2) : NULL;
    size_t len = 0;
    uint32_t acc = 0;
    for (size_t i = 0; i < n; i++) {
        int x = b64_value(s[i]);
        if (x < 0) {
            sky_free(p);
            return wrong(w, "base64 string", v);
        }
        acc = acc << 6 | (uint32_t)x;
        if (i % 4 == 3) {
            p[len++] = (uint8_t)(acc >> 16);
            p[len++] = (uint8_t)(acc >> 8);
            p[len++] = (uint8_t)acc;
        }
    }
    if (n % 4 >= 2) p[len++] = (uint8_t)(acc >> (n % 4 == 2 ? 4 : 10));
    if (n % 4 == 3) p[len++] = (uint8_t)(acc >> 2);
    *b = (ProtobufCBinaryData){len, p};
    return 0;
}

static int get_message(walk *w, const json_t *v, const ProtobufCMessageDescriptor *d, ProtobufCMessage *m);

static const range RANGES[] = {
    [PROTOBUF_C_TYPE_INT32] = {INT32_MIN, INT32_MAX, 0, "int32"},
    [PROTOBUF_C_TYPE_SINT32] = {INT32_MIN, INT32_MAX, 0, "sint32"},
    [PROTOBUF_C_TYPE_SFIXED32] = {INT32_MIN, INT32_MAX, 0, "sfixed32"},
    [PROTOBUF_C_TYPE_INT64] = {INT64_MIN, INT64_MAX, 0, "int64"},
    [PROTOBUF_C_TYPE_SINT64] = {INT64_MIN, INT64_MAX, 0, "sint64"},
    [PROTOBUF_C_TYPE_SFIXED64] = {INT64_MIN, INT64_MAX, 0, "sfixed64"},
    [PROTOBUF_C_TYPE_UINT32] = {1, 0, UINT32_MAX, "uint32"},
    [PROTOBUF_C_TYPE_FIXED32] = {1, 0, UINT32_MAX, "fixed32"},
    [PROTOBUF_C_TYPE_UINT64] = {1, 0, UINT64_MAX, "uint64"},
    [PROTOBUF_C_TYPE_FIXED64] = {1, 0, UINT64_MAX, "fixed64"},
    [PROTOBUF_C_TYPE_ENUM] = {INT32_MIN, INT32_MAX, 0, "enum"},
};

/* One value of field f from v into p (an element's address for repeated
 * fields); v is not null. */
static int get_value(walk *w, const ProtobufCFieldDescriptor *f, const json_t *v, void *p)
{
    uint64_t u;
    double x;
    int rc;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if ((rc = get_integer(w, v, &RANGES[f->type], &u))) return rc;
        *(uint32_t *)p = (uint32_t)u;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if ((rc = get_integer(w, v, &RANGES[f->type], &u))) return rc;
        *(uint64_t *)p = u;
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
        if ((rc = get_real(w, v, 1, &x))) return rc;
        *(float *)p = (float)x;
        return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
        if ((rc = get_real(w, v, 0, &x))) return rc;
        *(double *)p = x;
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (!json_is_boolean(v)) return wrong(w, "true or false", v);
        *(protobuf_c_boolean *)p = json_is_true(v);
        return 0;
    case PROTOBUF_C_TYPE_ENUM: {
        if (json_is_string(v)) {
            const ProtobufCEnumValue *ev =
                protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, json_string_value(v));
            if (!ev) {
                char buf[96];
                return fail(w, SKY_EINVAL, "%s is not a value of %s", describe(v, buf, sizeof buf),
                            f->descriptor ? ((const ProtobufCEnumDescriptor *)f->descriptor)->name : "the enum");
            }
            *(int32_t *)p = ev->value;
            return 0;
        }
        if (!json_is_number(v)) return wrong(w, "enum name or number", v);
        if ((rc = get_integer(w, v, &RANGES[f->type], &u))) return rc;
        *(int32_t *)p = (int32_t)(uint32_t)u;
        return 0;
    }
    case PROTOBUF_C_TYPE_STRING:
        if (!json_is_string(v)) return wrong(w, "string", v);
        *(char **)p = sky_strdup(json_string_value(v)); /* jansson refuses \u0000 */
        return 0;
    case PROTOBUF_C_TYPE_BYTES:
        return get_bytes(w, v, p);
    case PROTOBUF_C_TYPE_MESSAGE: {
        ProtobufCMessage *sub = sky_malloc(((const ProtobufCMessageDescriptor *)f->descriptor)->sizeof_message);
        sky__message_init(f->descriptor, sub);
        *(ProtobufCMessage **)p = sub;
        return get_message(w, v, f->descriptor, sub);
    }
    }
    return fail(w, SKY_EINVAL, "unsupported field type %d", (int)f->type);
}

/* A map field from an object: one entry per key, keys read as the key
 * field's type. */
static int get_map(walk *w, const ProtobufCFieldDescriptor *f, const json_t *v, ProtobufCMessage *m)
{
    if (!json_is_object(v)) return wrong(w, "object", v);
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
    size_t *count = quant_of(m, f);
    ProtobufCMessage **arr = sky_calloc(json_object_size(v) + 1, sizeof *arr);
    *(ProtobufCMessage ***)slot_of(m, f) = arr;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v, key, val)
    {
        size_t old = path_push(w, "[\"%s\"]", key);
        ProtobufCMessage *e = sky_malloc(ed->sizeof_message);
        sky__message_init(ed, e);
        arr[(*count)++] = e;
        json_t *kv = json_string(key);
        int rc;
        if (kf->type == PROTOBUF_C_TYPE_BOOL) {
            int t = strcmp(key, "true") == 0;
            rc = t || strcmp(key, "false") == 0 ? (*(protobuf_c_boolean *)slot_of(e, kf) = t, 0)
                                                 : fail(w, SKY_EINVAL, "map key is not true or false");
        } else {
            rc = get_value(w, kf, kv, slot_of(e, kf));
        }
        json_decref(kv);
        if (rc == 0 && json_is_null(val)) rc = fail(w, SKY_EINVAL, "map value is null");
        if (rc == 0) rc = get_value(w, vf, val, slot_of(e, vf));
        path_pop(w, old);
        if (rc) return rc;
    }
    return 0;
}

static int get_repeated(walk *w, const ProtobufCFieldDescriptor *f, const json_t *v, ProtobufCMessage *m)
{
    if (!json_is_array(v)) return wrong(w, "array", v);
    size_t n = json_array_size(v), size = sky__pb_value_size(f->type);
    size_t *count = quant_of(m, f);
    char *arr = sky_calloc(n + 1, size);
    *(char **)slot_of(m, f) = arr;
    for (size_t i = 0; i < n; i++) {
        size_t old = path_push(w, "[%zu]", i);
        const json_t *e = json_array_get(v, i);
        int rc = json_is_null(e) ? wrong(w, "a value", e) : get_value(w, f, e, arr + i * size);
        /* counted even on failure: what get_value put there is freeable */
        (*count)++;
        path_pop(w, old);
        if (rc) return rc;
    }
    return 0;
}

static const ProtobufCFieldDescriptor *field_named(const ProtobufCMessageDescriptor *d, const char *key)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
    for (unsigned i = 0; !f && i < d->n_fields; i++)
        if (json_name_eq(d->fields[i].name, key)) f = &d->fields[i];
    return f;
}

/* One field of m from v, which is not null. */
static int get_field(walk *w, const ProtobufCMessageDescriptor *d, const ProtobufCFieldDescriptor *f,
                     const json_t *v, ProtobufCMessage *m)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return sky__pb_is_map(d, f) ? get_map(w, f, v, m) : get_repeated(w, f, v, m);
    int rc = get_value(w, f, v, slot_of(m, f));
    /* set even on failure: a string or message put in the oneof's union
     * is freed only when the case names it */
    if (is_oneof(f))
        *(uint32_t *)quant_of(m, f) = f->id;
    else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
             f->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *)quant_of(m, f) = 1;
    return rc;
}

/* A oneof member other than f already set in m: its field. */
static const ProtobufCFieldDescriptor *oneof_rival(const ProtobufCMessageDescriptor *d,
                                                   const ProtobufCFieldDescriptor *f, const ProtobufCMessage *m)
{
    if (!is_oneof(f)) return NULL;
    uint32_t c = *(const uint32_t *)quant_of(m, f);
    return c && c != f->id ? protobuf_c_message_descriptor_get_field(d, c) : NULL;
}

static int get_fields(walk *w, const json_t *v, const ProtobufCMessageDescriptor *d, ProtobufCMessage *m,
                      unsigned char *seen)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v, key, val)
    {
        size_t old = path_field(w, key);
        const ProtobufCFieldDescriptor *f = field_named(d, key);
        if (!f) return fail(w, SKY_EINVAL, "no such field in %s", d->name);
        unsigned i = (unsigned)(f - d->fields);
        if (seen[i]) return fail(w, SKY_EINVAL, "field %s given twice (by both of its names)", f->name);
        seen[i] = 1;
        if (json_is_null(val)) { /* the default: nothing to set */
            path_pop(w, old);
            continue;
        }
        const ProtobufCFieldDescriptor *rival = oneof_rival(d, f, m);
        if (rival) return fail(w, SKY_EINVAL, "%s is set too: both are in one oneof", rival->name);
        int rc = get_field(w, d, f, val, m);
        if (rc) return rc;
        path_pop(w, old);
    }
    for (unsigned i = 0; i < d->n_fields; i++)
        if (d->fields[i].label == PROTOBUF_C_LABEL_REQUIRED && !seen[i])
            return fail(w, SKY_EINVAL, "required field %s of %s missing", d->fields[i].name, d->name);
    return 0;
}

static int get_message(walk *w, const json_t *v, const ProtobufCMessageDescriptor *d, ProtobufCMessage *m)
{
    if (!json_is_object(v)) return wrong(w, "object", v);
    if (w->depth > SKY_PB_MAX_DEPTH) return fail(w, SKY_EINVAL, "messages nested deeper than %d", SKY_PB_MAX_DEPTH);
    w->depth++;
    unsigned char *seen = sky_calloc(d->n_fields + 1, 1);
    int rc = get_fields(w, v, d, m, seen);
    sky_free(seen);
    w->depth--;
    return rc;
}

int sky__pbjson_to_pb(const ProtobufCMessageDescriptor *d, const char *json, size_t len, uint8_t **data,
                      size_t *datalen, char *err, size_t errsize)
{
    walk w = {.err = err, .errsize = errsize};
    *data = NULL;
    *datalen = 0;
    if (errsize) err[0] = '\0';
    if (len > SKY_PBJSON_MAX_TEXT)
        return fail(&w, SKY_EINVAL, "JSON text of %zu bytes is over the limit of %zu", len, SKY_PBJSON_MAX_TEXT);
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!root) return fail(&w, SKY_EINVAL, "JSON syntax error at line %d, column %d: %s", je.line, je.column, je.text);
    ProtobufCMessage *m = sky_malloc(d->sizeof_message);
    sky__message_init(d, m);
    int rc = json_is_object(root) ? get_message(&w, root, d, m)
                                  : fail(&w, SKY_EINVAL, "expected an object for %s, got %s", d->name,
                                         describe(root, (char[96]){0}, 96));
    json_decref(root);
    if (rc == 0) {
        *datalen = protobuf_c_message_get_packed_size(m);
        *data = sky_malloc(*datalen + 1);
        protobuf_c_message_pack(m, *data);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

/* Lua table <-> protobuf bytes. Encode fills a protobuf-c message struct
 * from the table by the descriptor's offsets and packs it with protobuf-c;
 * decode unpacks with protobuf-c and walks the struct into a table.
 *
 * Encode's struct borrows its strings and bytes from the Lua strings in
 * the table, which the table keeps alive until the struct is packed (no
 * Lua code runs meanwhile: every read is raw). It is kept freeable by
 * enc_free() at every step (counts and oneof cases are set only for
 * values that are in place), so an error half-way frees everything with
 * one call. */
#include "lua/codec.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include "schema/msginit.h"
#include "schema/pbdepth.h"
#include "lua/wire.h"
#include "sky/alloc.h"
#include "sky/typed.h"

#define MAX_DEPTH 64

typedef struct {
    lua_State *L;
    int depth;
    size_t plen;
    char path[512];
    char err[768];
} enc;

static int fail(enc *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(enc *e, const char *fmt, ...)
{
    int n = snprintf(e->err, sizeof e->err, "%s: ", e->path);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof e->err)
        vsnprintf(e->err + n, sizeof e->err - (size_t)n, fmt, ap);
    va_end(ap);
    return SKY_EINVAL;
}

/* Appends to the path; returns the length to restore. */
static size_t path_push(enc *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static size_t path_push(enc *e, const char *fmt, ...)
{
    size_t old = e->plen;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e->path + old, sizeof e->path - old, fmt, ap);
    va_end(ap);
    if (n > 0)
        e->plen = old + (size_t)n < sizeof e->path ? old + (size_t)n
                                                  : sizeof e->path - 1;
    return old;
}

/* path_push(e, "%c%s", sep, name) without printf: it runs for every
 * field encoded. Returns the length to restore. */
static size_t path_add(enc *e, char sep, const char *name)
{
    size_t old = e->plen, room = sizeof e->path - 1 - old, n = strlen(name);
    if (room == 0)
        return old;
    e->path[old] = sep;
    if (n > room - 1)
        n = room - 1;
    memcpy(e->path + old + 1, name, n);
    e->plen = old + 1 + n;
    e->path[e->plen] = '\0';
    return old;
}

/* "[i]" */
static size_t path_index(enc *e, uint64_t i)
{
    char digits[24], *p = digits + sizeof digits - 1;
    *p = '\0';
    do {
        *--p = (char)('0' + i % 10);
        i /= 10;
    } while (i);
    size_t old = path_add(e, '[', p);
    if (e->plen + 1 < sizeof e->path) {
        e->path[e->plen++] = ']';
        e->path[e->plen] = '\0';
    }
    return old;
}

static void path_pop(enc *e, size_t old)
{
    e->plen = old;
    e->path[old] = '\0';
}

static const char *type_of(lua_State *L, int i)
{
    if (lua_type(L, i) == LUA_TNUMBER)
        return lua_isinteger(L, i) ? "integer" : "float";
    return luaL_typename(L, i);
}

static ProtobufCMessage *new_message(const ProtobufCMessageDescriptor *d)
{
    ProtobufCMessage *m = sky_malloc(d->sizeof_message);
    sky__message_init(d, m);
    return m;
}

static int enc_msg(enc *e, int idx, const ProtobufCMessageDescriptor *d,
                   ProtobufCMessage *m);

static int get_int(enc *e, int vi, lua_Integer *v)
{
    int ok = 0;
    if (lua_type(e->L, vi) == LUA_TNUMBER)
        *v = lua_tointegerx(e->L, vi, &ok);
    if (!ok)
        return fail(e, "expected integer, got %s", type_of(e->L, vi));
    return 0;
}

static int get_ranged(enc *e, int vi, lua_Integer lo, lua_Integer hi,
                      const char *tname, lua_Integer *v)
{
    int rc = get_int(e, vi, v);
    if (rc != 0)
        return rc;
    if (*v < lo || *v > hi)
        return fail(e, "integer %" PRId64 " out of range for %s", (int64_t)*v, tname);
    return 0;
}

/* Stores the Lua value at vi into `slot`, one value of f's type. */
static int enc_value(enc *e, const ProtobufCFieldDescriptor *f, void *slot, int vi)
{
    lua_State *L = e->L;
    lua_Integer v;
    int rc;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if ((rc = get_ranged(e, vi, INT32_MIN, INT32_MAX, "int32", &v)) != 0)
            return rc;
        *(int32_t *)slot = (int32_t)v;
        return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if ((rc = get_ranged(e, vi, 0, UINT32_MAX, "uint32", &v)) != 0)
            return rc;
        *(uint32_t *)slot = (uint32_t)v;
        return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if ((rc = get_int(e, vi, &v)) != 0)
            return rc;
        *(int64_t *)slot = (int64_t)v;
        return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        /* a negative Lua integer is the uint64 with the same bits */
        if ((rc = get_int(e, vi, &v)) != 0)
            return rc;
        *(uint64_t *)slot = (uint64_t)v;
        return 0;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE:
        if (lua_type(L, vi) != LUA_TNUMBER)
            return fail(e, "expected number, got %s", type_of(L, vi));
        if (f->type == PROTOBUF_C_TYPE_FLOAT)
            *(float *)slot = (float)lua_tonumber(L, vi);
        else
            *(double *)slot = (double)lua_tonumber(L, vi);
        return 0;
    case PROTOBUF_C_TYPE_BOOL:
        if (lua_type(L, vi) != LUA_TBOOLEAN)
            return fail(e, "expected boolean, got %s", type_of(L, vi));
        *(protobuf_c_boolean *)slot = lua_toboolean(L, vi);
        return 0;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumDescriptor *ed = f->descriptor;
        if (lua_type(L, vi) == LUA_TSTRING) {
            const char *name = lua_tostring(L, vi);
            const ProtobufCEnumValue *ev =
                protobuf_c_enum_descriptor_get_value_by_name(ed, name);
            if (ev == NULL)
                return fail(e, "no value %s in enum %s", name, ed->short_name);
            *(int32_t *)slot = ev->value;
            return 0;
        }
        if (lua_type(L, vi) != LUA_TNUMBER)
            return fail(e, "expected enum name or integer, got %s", type_of(L, vi));
        if ((rc = get_ranged(e, vi, INT32_MIN, INT32_MAX, "enum", &v)) != 0)
            return rc;
        *(int32_t *)slot = (int32_t)v;
        return 0;
    }
    case PROTOBUF_C_TYPE_STRING: {
        size_t n;
        if (lua_type(L, vi) != LUA_TSTRING)
            return fail(e, "expected string, got %s", type_of(L, vi));
        const char *s = lua_tolstring(L, vi, &n);
        if (memchr(s, '\0', n) != NULL)
            return fail(e, "string contains a NUL byte (use bytes)");
        *(const char **)slot = s; /* Lua strings end in a NUL */
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        size_t n;
        if (lua_type(L, vi) != LUA_TSTRING)
            return fail(e, "expected string, got %s", type_of(L, vi));
        const char *s = lua_tolstring(L, vi, &n);
        ProtobufCBinaryData *b = slot;
        b->len = n;
        b->data = (uint8_t *)(uintptr_t)s;
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        if (lua_type(L, vi) != LUA_TTABLE)
            return fail(e, "expected table, got %s", type_of(L, vi));
        ProtobufCMessage *sub = new_message(f->descriptor);
        *(ProtobufCMessage **)slot = sub;
        return enc_msg(e, vi, f->descriptor, sub);
    }
    }
    return fail(e, "unsupported field type %d", (int)f->type);
}

/* protobuf-c leaves out a proto3 float or double that equals 0, -0.0 too,
 * where Google's implementations test the bits and keep it. So -0.0 goes
 * along as an unknown field with the same tag, packed after the rest:
 * parsers take it as the field. */
static void keep_negative_zero(ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
    if (f->label != PROTOBUF_C_LABEL_NONE ||
        (f->type != PROTOBUF_C_TYPE_FLOAT && f->type != PROTOBUF_C_TYPE_DOUBLE))
        return;
    const void *slot = (const char *)m + f->offset;
    double v = f->type == PROTOBUF_C_TYPE_FLOAT ? *(const float *)slot : *(const double *)slot;
    if (v != 0 || !signbit(v))
        return;
    size_t len = f->type == PROTOBUF_C_TYPE_FLOAT ? 4 : 8;
    ProtobufCMessageUnknownField *u =
        sky_realloc(m->unknown_fields, (m->n_unknown_fields + 1) * sizeof *u);
    m->unknown_fields = u;
    u += m->n_unknown_fields++;
    u->tag = f->id;
    u->wire_type = len == 4 ? PROTOBUF_C_WIRE_TYPE_32BIT : PROTOBUF_C_WIRE_TYPE_64BIT;
    u->len = len;
    u->data = sky_calloc(1, len);
    u->data[len - 1] = 0x80; /* little-endian: only the sign bit set */
}

static size_t elem_size(const ProtobufCFieldDescriptor *f) { return sky__pb_value_size(f->type); }

static int owns_memory(const ProtobufCFieldDescriptor *f, const void *slot)
{
    return f->type == PROTOBUF_C_TYPE_MESSAGE && *(void *const *)slot != NULL;
}

/* Frees what encode allocated for m: m, its messages, its arrays and its
 * unknown fields (a -0.0 kept), not the strings and bytes (borrowed). */
static void enc_free(ProtobufCMessage *m)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char *slot = (char *)m + f->offset;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
            ProtobufCMessage **arr = *(ProtobufCMessage ***)slot;
            if (f->type == PROTOBUF_C_TYPE_MESSAGE)
                for (size_t j = 0; j < n; j++)
                    if (arr[j])
                        enc_free(arr[j]);
            sky_free(arr);
        } else if (f->type == PROTOBUF_C_TYPE_MESSAGE && *(ProtobufCMessage **)slot) {
            enc_free(*(ProtobufCMessage **)slot);
        }
    }
    for (unsigned i = 0; i < m->n_unknown_fields; i++) /* keep_negative_zero's */
        sky_free(m->unknown_fields[i].data);
    sky_free(m->unknown_fields);
    sky_free(m);
}

static void key_text(lua_State *L, int i, char *buf, size_t size);

static int enc_repeated(enc *e, const ProtobufCFieldDescriptor *f,
                        ProtobufCMessage *m, int vi)
{
    lua_State *L = e->L;
    if (lua_type(L, vi) != LUA_TTABLE)
        return fail(e, "expected table, got %s", type_of(L, vi));
    lua_Unsigned n = lua_rawlen(L, vi);
    lua_pushnil(L);
    while (lua_next(L, vi)) {
        lua_Integer k = 0;
        int ok = 0;
        if (lua_type(L, -2) == LUA_TNUMBER)
            k = lua_tointegerx(L, -2, &ok);
        if (!ok || k < 1 || (lua_Unsigned)k > n) {
            char kt[128];
            key_text(L, -2, kt, sizeof kt);
            lua_pop(L, 2);
            return fail(e, "expected a sequence, got key %s", kt);
        }
        lua_pop(L, 1);
    }
    size_t *count = (size_t *)((char *)m + f->quantifier_offset);
    char *arr = n ? sky_calloc((size_t)n, elem_size(f)) : NULL;
    *(void **)((char *)m + f->offset) = arr;
    *count = 0;
    for (lua_Unsigned i = 1; i <= n; i++) {
        lua_rawgeti(L, vi, (lua_Integer)i);
        size_t old = path_index(e, (uint64_t)i);
        int rc = enc_value(e, f, arr + (i - 1) * elem_size(f), lua_gettop(L));
        path_pop(e, old);
        lua_pop(L, 1);
        if (rc != 0) {
            /* a message half filled is freed with the rest */
            if (owns_memory(f, arr + (i - 1) * elem_size(f)))
                (*count)++;
            return rc;
        }
        (*count)++;
    }
    return 0;
}

static void key_text(lua_State *L, int i, char *buf, size_t size)
{
    if (lua_type(L, i) == LUA_TSTRING)
        snprintf(buf, size, "%s", lua_tostring(L, i));
    else if (lua_isinteger(L, i))
        snprintf(buf, size, "%" PRId64, (int64_t)lua_tointeger(L, i));
    else if (lua_type(L, i) == LUA_TBOOLEAN)
        snprintf(buf, size, "%s", lua_toboolean(L, i) ? "true" : "false");
    else
        snprintf(buf, size, "?");
}

/* A non-string map key as an unsigned number in the key's order: a signed
 * key is offset by 2^63 so that negative ones come first. */
static uint64_t key_rank(const ProtobufCFieldDescriptor *k, const void *p)
{
    const uint64_t sign = (uint64_t)1 << 63;
    switch (k->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return (uint64_t)(int64_t) * (const int32_t *)p ^ sign;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return (uint64_t) * (const int64_t *)p ^ sign;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return *(const uint32_t *)p;
    case PROTOBUF_C_TYPE_BOOL:
        return *(const protobuf_c_boolean *)p != 0;
    default: /* uint64, fixed64: protoc allows no other key type */
        return *(const uint64_t *)p;
    }
}

/* Orders two map entries by key, as Google's deterministic serialization
 * does: integers by value, strings bytewise, false before true. So one
 * table always packs to the same bytes, whatever its insertion order. */
static int entry_cmp(const void *a, const void *b)
{
    const ProtobufCMessage *x = *(ProtobufCMessage *const *)a;
    const ProtobufCMessage *y = *(ProtobufCMessage *const *)b;
    const ProtobufCFieldDescriptor *k = &x->descriptor->fields[0];
    const void *p = (const char *)x + k->offset, *q = (const char *)y + k->offset;
    if (k->type == PROTOBUF_C_TYPE_STRING)
        return strcmp(*(char *const *)p, *(char *const *)q);
    uint64_t u = key_rank(k, p), v = key_rank(k, q);
    return (u > v) - (u < v);
}

static int enc_map(enc *e, const ProtobufCFieldDescriptor *f, ProtobufCMessage *m, int vi)
{
    lua_State *L = e->L;
    if (lua_type(L, vi) != LUA_TTABLE)
        return fail(e, "expected table, got %s", type_of(L, vi));
    const ProtobufCMessageDescriptor *ed = f->descriptor;
    size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, vi)) {
        n++;
        lua_pop(L, 1);
    }
    size_t *count = (size_t *)((char *)m + f->quantifier_offset);
    ProtobufCMessage **arr = n ? sky_calloc(n, sizeof *arr) : NULL;
    *(void **)((char *)m + f->offset) = arr;
    *count = 0;
    lua_pushnil(L);
    while (lua_next(L, vi)) {
        int top = lua_gettop(L);
        ProtobufCMessage *entry = new_message(ed);
        arr[(*count)++] = entry;
        char kt[128];
        key_text(L, top - 1, kt, sizeof kt);
        size_t old = path_push(e, "[%s]", kt);
        int rc = enc_value(e, &ed->fields[0], (char *)entry + ed->fields[0].offset, top - 1);
        if (rc == 0)
            rc = enc_value(e, &ed->fields[1], (char *)entry + ed->fields[1].offset, top);
        if (rc == 0)
            keep_negative_zero(entry, &ed->fields[1]);
        path_pop(e, old);
        if (rc != 0) {
            lua_pop(L, 2);
            return rc;
        }
        lua_pop(L, 1);
    }
    if (n > 1) /* (qsort must not get a NULL array, even empty) */
        qsort(arr, n, sizeof *arr, entry_cmp);
    return 0;
}

static int enc_field(enc *e, const ProtobufCMessageDescriptor *d,
                     const ProtobufCFieldDescriptor *f, ProtobufCMessage *m,
                     int vi, size_t parent_len)
{
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
        return sky__pb_is_map(d, f) ? enc_map(e, f, m, vi) : enc_repeated(e, f, m, vi);
    void *slot = (char *)m + f->offset;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        uint32_t *c = (uint32_t *)((char *)m + f->quantifier_offset);
        if (*c != 0 && *c != f->id) {
            const ProtobufCFieldDescriptor *o = protobuf_c_message_descriptor_get_field(d, *c);
            const char *a = f->name, *b = o ? o->name : "?";
            if (o != NULL && o < f) {
                a = o->name;
                b = f->name;
            }
            path_pop(e, parent_len);
            return fail(e, "oneof fields %s and %s both set", a, b);
        }
        /* on failure, a value that owns memory is still freed with m */
        int rc = enc_value(e, f, slot, vi);
        if (rc == 0 || owns_memory(f, slot))
            *c = f->id;
        return rc;
    }
    int rc = enc_value(e, f, slot, vi);
    if (rc == 0)
        keep_negative_zero(m, f);
    if (rc == 0 && f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset != 0 &&
        f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
        *(protobuf_c_boolean *)((char *)m + f->quantifier_offset) = 1;
    return rc;
}

/* protobuf-c would pack a proto2 message without a required field (and
 * Google's parsers then refuse it): every one must be in the table. */
static int check_required(enc *e, int idx, const ProtobufCMessageDescriptor *d)
{
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->label != PROTOBUF_C_LABEL_REQUIRED)
            continue;
        lua_pushstring(e->L, f->name);
        int absent = lua_rawget(e->L, idx) == LUA_TNIL;
        lua_pop(e->L, 1);
        if (absent) {
            path_push(e, ".%s", f->name);
            return fail(e, "required field missing");
        }
    }
    return 0;
}

static int enc_msg(enc *e, int idx, const ProtobufCMessageDescriptor *d,
                   ProtobufCMessage *m)
{
    lua_State *L = e->L;
    if (++e->depth > MAX_DEPTH || !lua_checkstack(L, 8)) {
        e->depth--;
        return fail(e, "nesting too deep");
    }
    idx = lua_absindex(L, idx);
    int rc = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) {
            rc = fail(e, "field name must be a string, got %s", type_of(L, -2));
            lua_pop(L, 2);
            break;
        }
        const char *name = lua_tostring(L, -2);
        size_t old = path_add(e, '.', name);
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(d, name);
        rc = f ? enc_field(e, d, f, m, lua_gettop(L), old) : fail(e, "no such field");
        path_pop(e, old);
        lua_pop(L, 1);
        if (rc != 0) {
            lua_pop(L, 1);
            break;
        }
    }
    if (rc == 0)
        rc = check_required(e, idx, d);
    e->depth--;
    return rc;
}

int sky__lua_encode(lua_State *L, int idx, const ProtobufCMessageDescriptor *d,
                    void **out, size_t *len)
{
    enc e = { .L = L };
    int top = lua_gettop(L);
    idx = lua_absindex(L, idx);
    /* the common messages straight to bytes; the rest, and errors, here */
    if (sky__wire_encode(L, idx, d, out, len))
        return 0;
    path_push(&e, "%s", d->short_name);
    *out = NULL;
    *len = 0;
    if (lua_type(L, idx) != LUA_TTABLE) {
        fail(&e, "expected table, got %s", type_of(L, idx));
        lua_pushstring(L, e.err);
        return SKY_EINVAL;
    }
    ProtobufCMessage *m = new_message(d);
    int rc = enc_msg(&e, idx, d, m);
    lua_settop(L, top);
    if (rc != 0) {
        enc_free(m);
        lua_pushstring(L, e.err);
        return rc;
    }
    size_t n = protobuf_c_message_get_packed_size(m);
    if (n > 0) {
        *out = sky_malloc(n);
        protobuf_c_message_pack(m, *out);
    }
    *len = n;
    enc_free(m);
    return 0;
}

/* ---- decode ------------------------------------------------------------ */

/* protobuf-c unpacks a string into a NUL-terminated copy, so one holding a
 * NUL byte would reach Lua cut short. Unpacking allocates through here,
 * which keeps each block's size in front of it: a string shorter than its
 * block held a NUL. */
typedef union {
    size_t size;
    max_align_t align;
} block_head;

static void *block_alloc(void *ud, size_t size)
{
    (void)ud;
    block_head *h = sky_malloc(sizeof *h + size);
    h->size = size;
    return h + 1;
}

static void block_free(void *ud, void *p)
{
    (void)ud;
    if (p != NULL)
        sky_free((block_head *)p - 1);
}

static ProtobufCAllocator sized_blocks = { block_alloc, block_free, NULL };

/* A string of field f in an unpacked message: unset, its default (static,
 * not a block) or a block as long as the string and its terminator. */
static int string_whole(const ProtobufCFieldDescriptor *f, const char *s)
{
    return s == NULL || s == f->default_value ||
           strlen(s) + 1 == ((const block_head *)s - 1)->size;
}

static int check_strings(enc *e, const ProtobufCMessageDescriptor *d,
                         const ProtobufCMessage *m);

/* A non-string map key as Lua has it: uint64 above 2^63 negative. */
static void key_number_text(const ProtobufCFieldDescriptor *k, const void *key,
                            char *buf, size_t size)
{
    switch (k->type) {
    case PROTOBUF_C_TYPE_BOOL:
        snprintf(buf, size, "%s", *(const protobuf_c_boolean *)key ? "true" : "false");
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        snprintf(buf, size, "%" PRIu32, *(const uint32_t *)key);
        break;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        snprintf(buf, size, "%" PRId32, *(const int32_t *)key);
        break;
    default: /* the 64-bit ones */
        snprintf(buf, size, "%" PRId64, *(const int64_t *)key);
    }
}

static int check_entry(enc *e, const ProtobufCMessage *entry)
{
    const ProtobufCMessageDescriptor *ed = entry->descriptor;
    const ProtobufCFieldDescriptor *k = &ed->fields[0], *v = &ed->fields[1];
    const void *key = (const char *)entry + k->offset;
    const void *val = (const char *)entry + v->offset;
    char kt[128];
    if (k->type == PROTOBUF_C_TYPE_STRING) {
        if (!string_whole(k, *(char *const *)key))
            return fail(e, "a key contains a NUL byte");
        snprintf(kt, sizeof kt, "%s", *(char *const *)key);
    } else {
        key_number_text(k, key, kt, sizeof kt);
    }
    size_t old = path_push(e, "[%s]", kt);
    int rc = 0;
    if (v->type == PROTOBUF_C_TYPE_STRING && !string_whole(v, *(char *const *)val))
        rc = fail(e, "string contains a NUL byte (use bytes)");
    else if (v->type == PROTOBUF_C_TYPE_MESSAGE && *(void *const *)val != NULL)
        rc = check_strings(e, v->descriptor, *(ProtobufCMessage *const *)val);
    path_pop(e, old);
    return rc;
}

/* Fails on the first string of m that held a NUL byte. */
static int check_strings(enc *e, const ProtobufCMessageDescriptor *d,
                         const ProtobufCMessage *m)
{
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const char *slot = (const char *)m + f->offset;
        size_t n = 1;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(const size_t *)((const char *)m + f->quantifier_offset);
            slot = *(char *const *)slot;
        } else if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                   *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id) {
            continue;
        }
        size_t old = path_push(e, ".%s", f->name);
        int map = sky__pb_is_map(d, f), rc = 0;
        for (size_t j = 0; j < n && rc == 0; j++) {
            const void *p = ((void *const *)slot)[j];
            size_t o = f->label == PROTOBUF_C_LABEL_REPEATED && !map
                           ? path_push(e, "[%zu]", j + 1) : e->plen;
            if (f->type == PROTOBUF_C_TYPE_STRING)
                rc = string_whole(f, p) ? 0 : fail(e, "string contains a NUL byte (use bytes)");
            else if (map)
                rc = check_entry(e, p);
            else if (p != NULL)
                rc = check_strings(e, f->descriptor, p);
            path_pop(e, o);
        }
        path_pop(e, old);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void dec_msg(lua_State *L, const ProtobufCMessageDescriptor *d,
                    const ProtobufCMessage *m);

static void push_value(lua_State *L, const ProtobufCFieldDescriptor *f, const void *slot)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        lua_pushinteger(L, *(const int32_t *)slot);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        lua_pushinteger(L, (lua_Integer)*(const uint32_t *)slot);
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        lua_pushinteger(L, (lua_Integer)*(const int64_t *)slot);
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        lua_pushinteger(L, (lua_Integer)*(const uint64_t *)slot);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        lua_pushnumber(L, (lua_Number)*(const float *)slot);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        lua_pushnumber(L, (lua_Number)*(const double *)slot);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        lua_pushboolean(L, *(const protobuf_c_boolean *)slot);
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        int32_t v = *(const int32_t *)slot;
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
        if (ev != NULL)
            lua_pushstring(L, ev->name);
        else
            lua_pushinteger(L, v);
        break;
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)slot;
        lua_pushstring(L, s ? s : "");
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = slot;
        lua_pushlstring(L, b->len ? (const char *)b->data : "", b->len);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *)slot;
        if (sub != NULL)
            dec_msg(L, f->descriptor, sub);
        else
            lua_newtable(L);
        break;
    }
    default:
        lua_pushnil(L);
    }
}

static void dec_field(lua_State *L, const ProtobufCMessageDescriptor *d,
                      const ProtobufCFieldDescriptor *f, const ProtobufCMessage *m)
{
    const char *slot = (const char *)m + f->offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
        const char *arr = *(char *const *)slot;
        if (sky__pb_is_map(d, f)) {
            const ProtobufCMessageDescriptor *ed = f->descriptor;
            lua_createtable(L, 0, (int)(n < 1024 ? n : 1024));
            for (size_t i = 0; i < n; i++) {
                const ProtobufCMessage *entry = ((ProtobufCMessage *const *)arr)[i];
                push_value(L, &ed->fields[0], (const char *)entry + ed->fields[0].offset);
                push_value(L, &ed->fields[1], (const char *)entry + ed->fields[1].offset);
                lua_settable(L, -3);
            }
        } else {
            size_t es = elem_size(f);
            lua_createtable(L, (int)(n < 1024 ? n : 1024), 0);
            for (size_t i = 0; i < n; i++) {
                push_value(L, f, arr + i * es);
                lua_rawseti(L, -2, (lua_Integer)i + 1);
            }
        }
        lua_setfield(L, -2, f->name);
        return;
    }
    if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
        *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)
        return;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE && *(void *const *)slot == NULL)
        return;
    /* an absent proto2 optional holds its default here (message_init) */
    push_value(L, f, slot);
    lua_setfield(L, -2, f->name);
}

static void dec_msg(lua_State *L, const ProtobufCMessageDescriptor *d,
                    const ProtobufCMessage *m)
{
    luaL_checkstack(L, 8, "protobuf message nested too deep");
    lua_createtable(L, 0, (int)d->n_fields);
    for (unsigned i = 0; i < d->n_fields; i++)
        dec_field(L, d, &d->fields[i], m);
}

static int dec_protected(lua_State *L)
{
    dec_msg(L, lua_touserdata(L, 1), lua_touserdata(L, 2));
    return 1;
}

int sky__lua_decode(lua_State *L, const ProtobufCMessageDescriptor *d,
                    const void *data, size_t len)
{
    if (sky__wire_decode(L, d, data, len)) /* the common messages, straight from the bytes */
        return 0;
    if (!sky__pb_depth_ok(d, data, len, SKY_PB_MAX_DEPTH)) {
        lua_pushfstring(L, "%s: messages nested more than %d levels deep", d->short_name, SKY_PB_MAX_DEPTH);
        return SKY_EBADMSG;
    }
    ProtobufCMessage *m = protobuf_c_message_unpack(d, &sized_blocks, len, data);
    if (m == NULL) {
        lua_pushfstring(L, "%s: bytes do not decode as %s", d->short_name, d->name);
        return SKY_EBADMSG;
    }
    enc e = { .L = L };
    path_push(&e, "%s", d->short_name);
    /* no NUL byte anywhere: no string can hold one */
    if (len > 0 && memchr(data, 0, len) != NULL && check_strings(&e, d, m) != 0) {
        protobuf_c_message_free_unpacked(m, &sized_blocks);
        lua_pushstring(L, e.err);
        return SKY_EBADMSG;
    }
    /* Building the tables may raise (a memory limit): walk in a protected
     * call so m is freed either way, then let the error go on. */
    lua_pushcfunction(L, dec_protected);
    lua_pushlightuserdata(L, (void *)d);
    lua_pushlightuserdata(L, m);
    int rc = lua_pcall(L, 2, 1, 0);
    protobuf_c_message_free_unpacked(m, &sized_blocks);
    if (rc != LUA_OK)
        lua_error(L);
    return 0;
}

/* ---- the Lua-facing module --------------------------------------------- */

static const ProtobufCMessageDescriptor *check_type(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    const ProtobufCMessageDescriptor *d = sky_schema_message(name);
    if (d == NULL) {
        lua_pushfstring(L, "unknown message type %s", name);
        lua_error(L);
    }
    return d;
}

static int push_bytes(lua_State *L)
{
    lua_pushlstring(L, lua_touserdata(L, 1), (size_t)lua_tointeger(L, 2));
    return 1;
}

static int l_encode(lua_State *L)
{
    const ProtobufCMessageDescriptor *d = check_type(L);
    void *buf;
    size_t len;
    if (sky__lua_encode(L, 2, d, &buf, &len) != 0)
        return lua_error(L);
    /* protected, so that buf is freed if the string cannot be made */
    lua_pushcfunction(L, push_bytes);
    lua_pushlightuserdata(L, buf ? buf : (void *)"");
    lua_pushinteger(L, (lua_Integer)len);
    int rc = lua_pcall(L, 2, 1, 0);
    sky_free(buf);
    return rc == LUA_OK ? 1 : lua_error(L);
}

static int l_decode(lua_State *L)
{
    const ProtobufCMessageDescriptor *d = check_type(L);
    size_t len;
    const char *s = luaL_checklstring(L, 2, &len);
    if (sky__lua_decode(L, d, s, len) != 0)
        return lua_error(L);
    return 1;
}

int sky__luaopen_codec(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "encode", l_encode },
        { "decode", l_decode },
        { NULL, NULL },
    };
    luaL_newlib(L, fns);
    return 1;
}

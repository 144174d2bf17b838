/* The codec's fast paths (see wire.h). Every "return 0" below hands the
 * message to protobuf-c's path in codec.c: an error there has its message,
 * and a rare shape its exact treatment (a map's sorted entries, a proto3
 * -0.0 kept, two copies of a message field merged). */
#include "lua/wire.h"
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <lauxlib.h>
#include "core/pbwire.h"
#include "schema/pbdepth.h"
#include "sky/alloc.h"

#define MAX_DEPTH 64 /* encode's, as codec.c's */

int sky__wire_off;

/* ---- shared ------------------------------------------------------------- */

static int packable(ProtobufCType t)
{
    return t != PROTOBUF_C_TYPE_STRING && t != PROTOBUF_C_TYPE_BYTES && t != PROTOBUF_C_TYPE_MESSAGE;
}

/* The wire type of one value of type t. */
static int wire_type(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        return PROTOBUF_C_WIRE_TYPE_32BIT;
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return PROTOBUF_C_WIRE_TYPE_64BIT;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
    case PROTOBUF_C_TYPE_MESSAGE:
        return PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
    default:
        return PROTOBUF_C_WIRE_TYPE_VARINT;
    }
}

/* Map fields (and any repeated message shaped like an entry: key = 1,
 * value = 2) go the general path, which sorts the entries. */
static int maybe_map(const ProtobufCFieldDescriptor *f)
{
    const ProtobufCMessageDescriptor *d = f->descriptor;
    return f->label == PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_MESSAGE && d->n_fields == 2 &&
           d->fields[0].id == 1 && d->fields[1].id == 2;
}

static int is_oneof(const ProtobufCFieldDescriptor *f) { return (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) != 0; }

/* Two members of one oneof share its case member. */
static int same_oneof(const ProtobufCFieldDescriptor *a, const ProtobufCFieldDescriptor *b)
{
    return a != b && is_oneof(b) && a->quantifier_offset == b->quantifier_offset;
}

/* The field names of d as Lua strings, per state: [i] = the name of
 * d->fields[i - 1], [name] = i. Made once per message type and state, so
 * that no field name is hashed or compared by strcmp per message. */
static int make_names(lua_State *L)
{
    const ProtobufCMessageDescriptor *d = lua_touserdata(L, 1);
    lua_createtable(L, (int)d->n_fields, (int)d->n_fields);
    for (unsigned i = 0; i < d->n_fields; i++) {
        lua_pushstring(L, d->fields[i].name);
        lua_pushvalue(L, -1);
        lua_rawseti(L, -3, (lua_Integer)i + 1);
        lua_pushinteger(L, (lua_Integer)i + 1);
        lua_rawset(L, -3);
    }
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, d);
    return 1;
}

/* Pushes d's names; 0 (nothing pushed) if they cannot be made (memory). */
static int push_names(lua_State *L, const ProtobufCMessageDescriptor *d)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, d) == LUA_TTABLE) return 1;
    lua_pop(L, 1);
    lua_pushcfunction(L, make_names);
    lua_pushlightuserdata(L, (void *)d);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK) return 1;
    lua_pop(L, 1);
    return 0;
}

/* ---- encode ------------------------------------------------------------- */

typedef struct {
    lua_State *L;
    uint8_t *p;
    size_t len, cap;
    int depth;
} enc;

static void room(enc *e, size_t n)
{
    if (e->cap - e->len >= n) return;
    size_t c = e->cap ? e->cap * 2 : 128;
    while (c - e->len < n) c *= 2;
    e->p = sky_realloc(e->p, c);
    e->cap = c;
}

static void put_varint(enc *e, uint64_t v)
{
    room(e, 10);
    while (v >= 0x80) {
        e->p[e->len++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    e->p[e->len++] = (uint8_t)v;
}

static void put_fixed(enc *e, uint64_t v, int n)
{
    room(e, 8);
    for (int i = 0; i < n; i++) e->p[e->len++] = (uint8_t)(v >> (8 * i));
}

static void put_tag(enc *e, const ProtobufCFieldDescriptor *f, int wt)
{
    put_varint(e, (uint64_t)f->id << 3 | (unsigned)wt);
}

/* A length-prefixed value: one byte is reserved for its length, which
 * end_len writes, moving the value if the length takes more. */
static size_t begin_len(enc *e)
{
    room(e, 1);
    return ++e->len;
}

static void end_len(enc *e, size_t start)
{
    uint64_t n = e->len - start;
    int extra = 0;
    for (uint64_t v = n; v >= 0x80; v >>= 7) extra++;
    if (extra) {
        room(e, (size_t)extra);
        memmove(e->p + start + extra, e->p + start, (size_t)n);
        e->len += (size_t)extra;
    }
    size_t at = start - 1;
    while (n >= 0x80) {
        e->p[at++] = (uint8_t)(n | 0x80);
        n >>= 7;
    }
    e->p[at] = (uint8_t)n;
}

static int get_int(lua_State *L, int vi, lua_Integer lo, lua_Integer hi, lua_Integer *v)
{
    int ok = 0;
    if (lua_type(L, vi) == LUA_TNUMBER) *v = lua_tointegerx(L, vi, &ok);
    return ok && *v >= lo && *v <= hi;
}

/* The scalar at vi as f's wire value (varint or fixed bits) in *v, and in
 * *zero whether protobuf-c takes it for proto3's zero (left out). 0 if it
 * is not a value of f's type. */
static int scalar(lua_State *L, int vi, const ProtobufCFieldDescriptor *f, uint64_t *v, int *zero)
{
    lua_Integer x = 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (!get_int(L, vi, INT32_MIN, INT32_MAX, &x)) return 0;
        *v = f->type == PROTOBUF_C_TYPE_INT32 ? (uint64_t)x : (uint32_t)x;
        break;
    case PROTOBUF_C_TYPE_SINT32:
        if (!get_int(L, vi, INT32_MIN, INT32_MAX, &x)) return 0;
        *v = ((uint32_t)x << 1) ^ (uint32_t)((int32_t)x >> 31);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (!get_int(L, vi, 0, UINT32_MAX, &x)) return 0;
        *v = (uint64_t)x;
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (!get_int(L, vi, LUA_MININTEGER, LUA_MAXINTEGER, &x)) return 0;
        *v = (uint64_t)x;
        break;
    case PROTOBUF_C_TYPE_SINT64:
        if (!get_int(L, vi, LUA_MININTEGER, LUA_MAXINTEGER, &x)) return 0;
        *v = ((uint64_t)x << 1) ^ (uint64_t)(x >> 63);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_DOUBLE: {
        if (lua_type(L, vi) != LUA_TNUMBER) return 0;
        double db = (double)lua_tonumber(L, vi);
        if (f->type == PROTOBUF_C_TYPE_FLOAT) {
            float fl = (float)db; /* zero as protobuf-c sees it: the float's */
            uint32_t bits;
            memcpy(&bits, &fl, 4);
            *v = bits;
            db = fl;
        } else {
            memcpy(v, &db, 8);
        }
        *zero = db == 0;
        return !(*zero && signbit(db) && f->label == PROTOBUF_C_LABEL_NONE && !is_oneof(f)); /* -0.0 kept: codec.c */
    }
    case PROTOBUF_C_TYPE_BOOL:
        if (lua_type(L, vi) != LUA_TBOOLEAN) return 0;
        x = lua_toboolean(L, vi);
        *v = (uint64_t)x;
        break;
    case PROTOBUF_C_TYPE_ENUM:
        if (lua_type(L, vi) == LUA_TSTRING) {
            const ProtobufCEnumValue *ev =
                protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, lua_tostring(L, vi));
            if (!ev) return 0;
            x = ev->value;
        } else if (!get_int(L, vi, INT32_MIN, INT32_MAX, &x)) {
            return 0;
        }
        *v = (uint64_t)x; /* sign-extended, as int32 */
        break;
    default:
        return 0;
    }
    *zero = x == 0;
    return 1;
}

static void put_scalar(enc *e, const ProtobufCFieldDescriptor *f, uint64_t v)
{
    int wt = wire_type(f->type);
    if (wt == PROTOBUF_C_WIRE_TYPE_VARINT) put_varint(e, v);
    else put_fixed(e, v, wt == PROTOBUF_C_WIRE_TYPE_32BIT ? 4 : 8);
}

static int enc_body(enc *e, int idx, const ProtobufCMessageDescriptor *d);

/* One value of f at vi with its tag (for a repeated field: one element,
 * not packed). proto3 zero values are left out when `skip_zero`. */
static int enc_one(enc *e, const ProtobufCFieldDescriptor *f, int vi, int skip_zero)
{
    lua_State *L = e->L;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES: {
        if (lua_type(L, vi) != LUA_TSTRING) return 0;
        size_t n;
        const char *s = lua_tolstring(L, vi, &n);
        if (f->type == PROTOBUF_C_TYPE_STRING && memchr(s, '\0', n)) return 0;
        if (skip_zero && n == 0) return 1;
        put_tag(e, f, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED);
        put_varint(e, n);
        room(e, n);
        if (n) memcpy(e->p + e->len, s, n);
        e->len += n;
        return 1;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        if (lua_type(L, vi) != LUA_TTABLE) return 0;
        put_tag(e, f, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED);
        size_t start = begin_len(e);
        if (!enc_body(e, vi, f->descriptor)) return 0;
        end_len(e, start);
        return 1;
    }
    default: {
        uint64_t v;
        int zero;
        if (!scalar(L, vi, f, &v, &zero)) return 0;
        if (skip_zero && zero) return 1;
        put_tag(e, f, wire_type(f->type));
        put_scalar(e, f, v);
        return 1;
    }
    }
}

/* A repeated field: a sequence (keys 1..#t only), packed if f says so. */
static int enc_repeated(enc *e, const ProtobufCFieldDescriptor *f, int vi)
{
    lua_State *L = e->L;
    if (lua_type(L, vi) != LUA_TTABLE || maybe_map(f) || !lua_checkstack(L, 3)) return 0;
    lua_Unsigned n = lua_rawlen(L, vi);
    lua_pushnil(L);
    while (lua_next(L, vi)) {
        int ok = 0;
        lua_Integer k = lua_type(L, -2) == LUA_TNUMBER ? lua_tointegerx(L, -2, &ok) : 0;
        lua_pop(L, 1);
        if (!ok || k < 1 || (lua_Unsigned)k > n) {
            lua_pop(L, 1);
            return 0;
        }
    }
    if (n == 0) return 1;
    int packed = (f->flags & PROTOBUF_C_FIELD_FLAG_PACKED) && packable(f->type);
    size_t start = 0;
    if (packed) {
        put_tag(e, f, PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED);
        start = begin_len(e);
    }
    for (lua_Unsigned i = 1; i <= n; i++) {
        lua_rawgeti(L, vi, (lua_Integer)i);
        int ok;
        if (packed) {
            uint64_t v;
            int zero;
            ok = scalar(L, lua_gettop(L), f, &v, &zero);
            if (ok) put_scalar(e, f, v);
        } else {
            ok = enc_one(e, f, lua_gettop(L), 0);
        }
        lua_pop(L, 1);
        if (!ok) return 0;
    }
    if (packed) end_len(e, start);
    return 1;
}

/* The fields of the table at idx, in d's (number) order. */
static int enc_body(enc *e, int idx, const ProtobufCMessageDescriptor *d)
{
    lua_State *L = e->L;
    if (d->n_fields > SKY_WIRE_MAX_FIELDS || e->depth >= MAX_DEPTH || !lua_checkstack(L, (int)d->n_fields + 6))
        return 0;
    idx = lua_absindex(L, idx);
    int base = lua_gettop(L), ok = 1;
    if (!push_names(L, d)) return 0;
    int at[SKY_WIRE_MAX_FIELDS]; /* the stack index of each field's value, 0: absent */
    memset(at, 0, d->n_fields * sizeof at[0]);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_Integer i = 0;
        if (lua_type(L, -2) == LUA_TSTRING) {
            lua_pushvalue(L, -2);
            i = lua_rawget(L, base + 1) == LUA_TNUMBER ? lua_tointeger(L, -1) : 0;
            lua_pop(L, 1);
        }
        if (i < 1) {
            lua_settop(L, base);
            return 0;
        }
        lua_insert(L, -2); /* the value stays, below the key */
        at[i - 1] = lua_gettop(L) - 1;
    }
    e->depth++;
    for (unsigned i = 0; i < d->n_fields && ok; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (!at[i]) {
            ok = f->label != PROTOBUF_C_LABEL_REQUIRED;
            continue;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            ok = enc_repeated(e, f, at[i]);
            continue;
        }
        if (is_oneof(f))
            for (unsigned j = 0; j < d->n_fields; j++)
                if (at[j] && same_oneof(f, &d->fields[j])) ok = 0;
        if (ok) ok = enc_one(e, f, at[i], f->label == PROTOBUF_C_LABEL_NONE && !is_oneof(f));
    }
    e->depth--;
    lua_settop(L, base);
    return ok;
}

int sky__wire_encode(lua_State *L, int idx, const ProtobufCMessageDescriptor *d, void **out, size_t *len)
{
    enc e = {L, NULL, 0, 0, 0};
    int top = lua_gettop(L);
    if (sky__wire_off || lua_type(L, idx) != LUA_TTABLE || !enc_body(&e, idx, d)) {
        lua_settop(L, top);
        sky_free(e.p);
        return 0;
    }
    if (e.len == 0) {
        sky_free(e.p);
        e.p = NULL;
    }
    *out = e.p;
    *len = e.len;
    return 1;
}

/* ---- decode ------------------------------------------------------------- */

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static void push_enum(lua_State *L, const ProtobufCFieldDescriptor *f, int32_t v)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
    if (ev) lua_pushstring(L, ev->name);
    else lua_pushinteger(L, v);
}

static int dec_body(lua_State *L, const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end, int depth);

/* Pushes the scalar, string or message of f whose bytes are [p, end)
 * (a varint's bytes, fixed bytes, or a length-prefixed value's body). */
static int push_wire(lua_State *L, const ProtobufCFieldDescriptor *f, const uint8_t *p, const uint8_t *end, int depth)
{
    uint64_t v = 0;
    if (wire_type(f->type) == PROTOBUF_C_WIRE_TYPE_VARINT) sky__pb_varint(&(const uint8_t *){p}, end, &v);
    else if (wire_type(f->type) != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED) v = le(p, (int)(end - p));
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        lua_pushinteger(L, (int32_t)(uint32_t)v);
        break;
    case PROTOBUF_C_TYPE_SINT32:
        lua_pushinteger(L, (int32_t)((uint32_t)v >> 1 ^ (uint32_t)-(int32_t)(v & 1)));
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        lua_pushinteger(L, (lua_Integer)(uint32_t)v);
        break;
    case PROTOBUF_C_TYPE_SINT64:
        lua_pushinteger(L, (lua_Integer)(v >> 1 ^ (uint64_t) - (int64_t)(v & 1)));
        break;
    case PROTOBUF_C_TYPE_FLOAT: {
        uint32_t bits = (uint32_t)v;
        float fl;
        memcpy(&fl, &bits, 4);
        lua_pushnumber(L, (lua_Number)fl);
        break;
    }
    case PROTOBUF_C_TYPE_DOUBLE: {
        double db;
        memcpy(&db, &v, 8);
        lua_pushnumber(L, (lua_Number)db);
        break;
    }
    case PROTOBUF_C_TYPE_BOOL: { /* as protobuf-c: any bit set in the varint's bytes */
        int b = 0;
        for (const uint8_t *q = p; q < end; q++) b |= *q & 0x7f;
        lua_pushboolean(L, b != 0);
        break;
    }
    case PROTOBUF_C_TYPE_ENUM:
        push_enum(L, f, (int32_t)(uint32_t)v);
        break;
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_BYTES:
        lua_pushlstring(L, (const char *)p, (size_t)(end - p));
        break;
    case PROTOBUF_C_TYPE_MESSAGE:
        return dec_body(L, f->descriptor, p, end, depth + 1);
    default: /* the 64-bit integers */
        lua_pushinteger(L, (lua_Integer)v);
    }
    return 1;
}

/* The value an absent field has after protobuf-c's message_init; 0 when
 * it cannot be told from the descriptor (a proto2 enum without a default
 * starts at its first value). */
static int push_default(lua_State *L, const ProtobufCFieldDescriptor *f)
{
    const void *dv = f->label == PROTOBUF_C_LABEL_NONE ? NULL : f->default_value;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        lua_pushinteger(L, dv ? *(const int32_t *)dv : 0);
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        lua_pushinteger(L, dv ? (lua_Integer) * (const uint32_t *)dv : 0);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        lua_pushnumber(L, dv ? (lua_Number) * (const float *)dv : 0);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        lua_pushnumber(L, dv ? (lua_Number) * (const double *)dv : 0);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        lua_pushboolean(L, dv ? *(const protobuf_c_boolean *)dv : 0);
        break;
    case PROTOBUF_C_TYPE_ENUM:
        if (!dv && f->label != PROTOBUF_C_LABEL_NONE) return 0;
        push_enum(L, f, dv ? *(const int32_t *)dv : 0);
        break;
    case PROTOBUF_C_TYPE_STRING:
        lua_pushstring(L, dv ? (const char *)dv : "");
        break;
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = dv;
        lua_pushlstring(L, b && b->len ? (const char *)b->data : "", b ? b->len : 0);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE:
        return 0;
    default: /* the 64-bit integers */
        lua_pushinteger(L, dv ? (lua_Integer) * (const int64_t *)dv : 0);
    }
    return 1;
}

/* Where a singular field was last seen: its value's bytes, and when (for
 * the oneofs: the last member seen is the one set). */
typedef struct {
    const uint8_t *val, *end;
    unsigned seq;
} seen;

/* A repeated field's elements, packed or not, from the whole message. */
static int dec_repeated(lua_State *L, const ProtobufCFieldDescriptor *f, const uint8_t *p, const uint8_t *end,
                        int count, int depth)
{
    lua_createtable(L, count, 0);
    lua_Integer n = 0;
    int wt = wire_type(f->type);
    while (p < end) {
        uint64_t key;
        const uint8_t *val;
        sky__pb_varint(&p, end, &key);
        sky__pb_skip(&p, end, (int)(key & 7), &val);
        if (key >> 3 != f->id) continue;
        if ((int)(key & 7) == wt) {
            if (!push_wire(L, f, val, p, depth)) return 0;
            lua_rawseti(L, -2, ++n);
            continue;
        }
        for (const uint8_t *q = val; q < p;) { /* packed (checked by the scan) */
            const uint8_t *e0 = q;
            sky__pb_skip(&q, p, wt, &e0);
            push_wire(L, f, e0, q, depth);
            lua_rawseti(L, -2, ++n);
        }
    }
    return 1;
}

/* Checks [p, end) as a message of type d and notes where each field is;
 * 0 for anything the general path should see. */
static int scan(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end, seen *at, int *count)
{
    unsigned seq = 0;
    while (p < end) {
        uint64_t key;
        const uint8_t *val;
        if (!sky__pb_varint(&p, end, &key) || key >> 3 == 0 || key >> 3 > UINT32_MAX) return 0;
        int wt = (int)(key & 7);
        if (!sky__pb_skip(&p, end, wt, &val)) return 0;
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3));
        if (!f) continue; /* unknown: kept by protobuf-c, not shown */
        unsigned i = (unsigned)(f - d->fields);
        int fwt = wire_type(f->type);
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            if (maybe_map(f)) return 0;
            if (wt == fwt) {
                if (f->type == PROTOBUF_C_TYPE_STRING && memchr(val, 0, (size_t)(p - val))) return 0;
                count[i]++;
                continue;
            }
            if (wt != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED || !packable(f->type)) return 0;
            for (const uint8_t *q = val; q < p; count[i]++) {
                const uint8_t *e0;
                if (!sky__pb_skip(&q, p, fwt, &e0)) return 0; /* also a fixed value cut short */
            }
            continue;
        }
        if (wt != fwt) return 0;
        if (f->type == PROTOBUF_C_TYPE_STRING && memchr(val, 0, (size_t)(p - val))) return 0;
        if (f->type == PROTOBUF_C_TYPE_MESSAGE && at[i].val) return 0; /* merged by protobuf-c */
        at[i].val = val;
        at[i].end = p;
        at[i].seq = ++seq;
    }
    return 1;
}

/* Pushes the table of the message [p, end) of type d, fields in d's order
 * as codec.c's dec_msg sets them; 0 with the stack as it was. */
static int dec_body(lua_State *L, const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end, int depth)
{
    seen at[SKY_WIRE_MAX_FIELDS];
    int count[SKY_WIRE_MAX_FIELDS];
    if (d->n_fields > SKY_WIRE_MAX_FIELDS || depth > SKY_PB_MAX_DEPTH) return 0; /* codec.c refuses it */
    memset(at, 0, d->n_fields * sizeof at[0]);
    memset(count, 0, d->n_fields * sizeof count[0]);
    if (!scan(d, p, end, at, count)) return 0;
    luaL_checkstack(L, 6, "protobuf message nested too deep");
    int top = lua_gettop(L);
    if (!push_names(L, d)) return 0;
    lua_createtable(L, 0, (int)d->n_fields);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        int ok;
        lua_rawgeti(L, top + 1, (lua_Integer)i + 1); /* the key */
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            ok = dec_repeated(L, f, p, end, count[i], depth);
        } else if (!at[i].val) {
            if (f->label == PROTOBUF_C_LABEL_REQUIRED) ok = 0;
            else if (is_oneof(f) || f->type == PROTOBUF_C_TYPE_MESSAGE) ok = -1;
            else ok = push_default(L, f);
        } else {
            ok = 1;
            if (is_oneof(f))
                for (unsigned j = 0; j < d->n_fields; j++)
                    if (at[j].val && same_oneof(f, &d->fields[j]) && at[j].seq > at[i].seq) ok = -1;
            if (ok == 1) ok = push_wire(L, f, at[i].val, at[i].end, depth);
        }
        if (ok == 0) {
            lua_settop(L, top);
            return 0;
        }
        if (ok < 0) lua_pop(L, 1); /* absent: no key */
        else lua_rawset(L, top + 2);
    }
    lua_remove(L, top + 1);
    return 1;
}

int sky__wire_decode(lua_State *L, const ProtobufCMessageDescriptor *d, const void *data, size_t len)
{
    const uint8_t *p = len ? data : (const uint8_t *)"";
    return !sky__wire_off && dec_body(L, d, p, p + len, 0);
}

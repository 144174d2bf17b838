/* protobuf-c descriptors from descriptor.proto messages: see dyndesc.h.
 *
 * What protoc-c 1.4.1 generates, reproduced: the struct members in
 * declaration order, the members of oneofs left out and placed after
 * them, one `<name>_case` and one union per oneof; a non-repeated field
 * is its value, preceded by `protobuf_c_boolean has_x` if it is a proto2
 * optional number, enum or bytes; a repeated field is `size_t n_x` and a
 * pointer. Each member has its natural alignment. The descriptor lists
 * the fields by number, with an index by name and the ranges of
 * consecutive numbers protobuf-c looks numbers up in. proto3 `optional`
 * fields are one-member oneofs, as in sky's compiled code (skyc clears
 * proto3_optional before protoc-c runs). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "schema/dyndesc.h"
#include "sky/alloc.h"
#include "sky/error.h"

/* ---- arena -------------------------------------------------------------- */

typedef struct sky__chunk {
    struct sky__chunk *next;
    max_align_t data[];
} sky__chunk;

void *sky__arena_alloc(sky__arena *a, size_t size)
{
    sky__chunk *c = sky_calloc(1, sizeof *c + (size ? size : 1));
    c->next = a->head;
    a->head = c;
    return c->data;
}

char *sky__arena_strdup(sky__arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(sky__arena_alloc(a, n), s, n);
}

void sky__arena_free(sky__arena *a)
{
    for (sky__chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        sky_free(c);
    }
    a->head = NULL;
}

/* ---- errors ------------------------------------------------------------- */

static int fail(sky__dyn *dyn, int code, const char *what, const char *fmt, ...) SKY_PRINTF(4, 5);

static int fail(sky__dyn *dyn, int code, const char *what, const char *fmt, ...)
{
    if (!dyn->errsize) return code;
    int n = snprintf(dyn->err, dyn->errsize, "%s: %s: ", dyn->file, what);
    if (n >= 0 && (size_t)n < dyn->errsize) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(dyn->err + n, dyn->errsize - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* ---- protoc-c's C names (c_helpers.cc: FullNameToC, FullNameToUpper) ----- */

static int is_upper(char c) { return c >= 'A' && c <= 'Z'; }

static char to_upper(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c; }

/* Each dot-separated piece of `full`, camel-cased ("by_id" -> "ById") or
 * upper-cased ("ById" -> "BY_ID"), joined with "__"; then `suffix`. */
static char *c_name(sky__arena *a, const char *full, int upper, const char *suffix)
{
    char *out = sky__arena_alloc(a, 3 * strlen(full) + strlen(suffix) + 1), *o = out;
    while (*full) {
        size_t n = strcspn(full, ".");
        if (n && o != out) {
            memcpy(o, "__", 2);
            o += 2;
        }
        int up = 1; /* camel: next letter upper; upper: previous was a capital */
        for (size_t i = 0; i < n; i++) {
            char ch = full[i];
            if (upper) {
                if (is_upper(ch) && !up) *o++ = '_';
                up = is_upper(ch);
                *o++ = to_upper(ch);
            } else if (ch == '_') {
                up = 1;
            } else {
                *o++ = up ? to_upper(ch) : ch;
                up = 0;
            }
        }
        full += n + (full[n] == '.');
    }
    strcpy(o, suffix);
    return out;
}

/* ---- integer ranges (protobuf-c looks numbers up in them) ------------------ */

/* ranges[i] = {first number of a run of consecutive numbers, its index},
 * then {0, n}, which protobuf-c reads as the end of the last run. */
static ProtobufCIntRange *int_ranges(sky__arena *a, const int32_t *sorted, size_t n, unsigned *nranges)
{
    ProtobufCIntRange *r = sky__arena_alloc(a, (n + 1) * sizeof *r);
    unsigned k = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || (int64_t)sorted[i] != (int64_t)sorted[i - 1] + 1)
            r[k++] = (ProtobufCIntRange){sorted[i], (unsigned)i};
    }
    r[k] = (ProtobufCIntRange){0, (unsigned)n};
    *nranges = k;
    return r;
}

/* ---- enums -------------------------------------------------------------- */

typedef struct {
    int32_t number;
    unsigned decl; /* declaration order: the first of equal numbers wins */
    const char *name;
    unsigned index; /* in values (by number, duplicates merged) */
} eval;

static int by_number(const void *a, const void *b)
{
    const eval *x = a, *y = b;
    if (x->number != y->number) return x->number < y->number ? -1 : 1;
    return x->decl < y->decl ? -1 : x->decl > y->decl;
}

static int by_name(const void *a, const void *b) { return strcmp(((const eval *)a)->name, ((const eval *)b)->name); }

static const char *short_of(const char *full)
{
    const char *dot = strrchr(full, '.');
    return dot ? dot + 1 : full;
}

int sky__dyn_enum(sky__dyn *dyn, ProtobufCEnumDescriptor *e, const char *full_name,
                  const Google__Protobuf__EnumDescriptorProto *p)
{
    sky__arena *a = dyn->arena;
    if (!p->n_value) return fail(dyn, SKY_EINVAL, full_name, "enum has no values");
    size_t n = p->n_value;
    eval *v = sky_calloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        const Google__Protobuf__EnumValueDescriptorProto *vp = p->value[i];
        if (!vp->name || !vp->has_number) {
            sky_free(v);
            return fail(dyn, SKY_EBADMSG, full_name, "enum value %zu has no name or number", i);
        }
        v[i] = (eval){vp->number, (unsigned)i, vp->name, 0};
    }
    qsort(v, n, sizeof *v, by_number);
    const char *prefix = c_name(a, full_name, 1, "__");
    ProtobufCEnumValue *values = sky__arena_alloc(a, n * sizeof *values);
    int32_t *numbers = sky__arena_alloc(a, n * sizeof *numbers);
    unsigned nunique = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || v[i].number != v[i - 1].number) {
            char *cn = sky__arena_alloc(a, strlen(prefix) + strlen(v[i].name) + 1);
            strcat(strcpy(cn, prefix), v[i].name);
            values[nunique] = (ProtobufCEnumValue){sky__arena_strdup(a, v[i].name), cn, v[i].number};
            numbers[nunique++] = v[i].number;
        }
        v[i].index = nunique - 1;
    }
    qsort(v, n, sizeof *v, by_name);
    ProtobufCEnumValueIndex *names = sky__arena_alloc(a, n * sizeof *names);
    for (size_t i = 0; i < n; i++) names[i] = (ProtobufCEnumValueIndex){sky__arena_strdup(a, v[i].name), v[i].index};
    sky_free(v);

    e->magic = PROTOBUF_C__ENUM_DESCRIPTOR_MAGIC;
    e->name = sky__arena_strdup(a, full_name);
    e->short_name = short_of(e->name);
    e->c_name = c_name(a, full_name, 0, "");
    e->package_name = sky__arena_strdup(a, dyn->package);
    e->n_values = nunique;
    e->values = values;
    e->n_value_names = (unsigned)n;
    e->values_by_name = names;
    e->value_ranges = int_ranges(a, numbers, nunique, &e->n_value_ranges);
    return 0;
}

/* ---- messages: names ------------------------------------------------------ */

void sky__dyn_message_names(sky__dyn *dyn, ProtobufCMessageDescriptor *d, const char *full_name,
                            const char *short_name)
{
    d->magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC;
    d->name = sky__arena_strdup(dyn->arena, full_name);
    d->short_name = sky__arena_strdup(dyn->arena, short_name);
    d->c_name = c_name(dyn->arena, full_name, 0, "");
    d->package_name = sky__arena_strdup(dyn->arena, dyn->package);
}

/* ---- messages: layout ----------------------------------------------------- */

/* Alignment of T as a struct member (which may differ from _Alignof on
 * some ABIs, e.g. int64_t on i386). */
#define PROBE(name, T)  \
    struct probe_##name { \
        char c;         \
        T v;            \
    }
PROBE(i32, int32_t);
PROBE(i64, int64_t);
PROBE(flt, float);
PROBE(dbl, double);
PROBE(bool, protobuf_c_boolean);
PROBE(bytes, ProtobufCBinaryData);
PROBE(ptr, void *);
PROBE(size, size_t);
PROBE(msg, ProtobufCMessage);
#define ALIGN(name) offsetof(struct probe_##name, v)

typedef struct {
    size_t size, align;
} ctype;

static ctype value_type(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return (ctype){sizeof(int64_t), ALIGN(i64)};
    case PROTOBUF_C_TYPE_FLOAT:
        return (ctype){sizeof(float), ALIGN(flt)};
    case PROTOBUF_C_TYPE_DOUBLE:
        return (ctype){sizeof(double), ALIGN(dbl)};
    case PROTOBUF_C_TYPE_BOOL:
        return (ctype){sizeof(protobuf_c_boolean), ALIGN(bool)};
    case PROTOBUF_C_TYPE_BYTES:
        return (ctype){sizeof(ProtobufCBinaryData), ALIGN(bytes)};
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return (ctype){sizeof(void *), ALIGN(ptr)};
    default: /* 32-bit numbers; enums are int-sized (PROTOBUF_C__FORCE_ENUM_TO_BE_INT_SIZE) */
        return (ctype){sizeof(int32_t), ALIGN(i32)};
    }
}

typedef struct {
    size_t end, align;
} layout;

/* Places a member of type t after the previous ones; returns its offset. */
static unsigned place(layout *l, ctype t)
{
    size_t off = (l->end + t.align - 1) / t.align * t.align;
    l->end = off + t.size;
    if (t.align > l->align) l->align = t.align;
    return (unsigned)off;
}

/* Whether protoc-c gives a field its own `has_` member. */
static int has_flag(const sky__dyn *dyn, const ProtobufCFieldDescriptor *f)
{
    return !dyn->proto3 && f->label == PROTOBUF_C_LABEL_OPTIONAL && !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
           f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE;
}

static void lay_out(sky__dyn *dyn, ProtobufCMessageDescriptor *d, ProtobufCFieldDescriptor *f,
                    const Google__Protobuf__DescriptorProto *p)
{
    layout l = {sizeof(ProtobufCMessage), ALIGN(msg)};
    for (size_t i = 0; i < p->n_field; i++) {
        if (f[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) continue;
        if (f[i].label == PROTOBUF_C_LABEL_REPEATED) {
            f[i].quantifier_offset = place(&l, (ctype){sizeof(size_t), ALIGN(size)});
            f[i].offset = place(&l, (ctype){sizeof(void *), ALIGN(ptr)});
            continue;
        }
        if (has_flag(dyn, &f[i])) f[i].quantifier_offset = place(&l, value_type(PROTOBUF_C_TYPE_BOOL));
        f[i].offset = place(&l, value_type(f[i].type));
    }
    for (size_t o = 0; o < p->n_oneof_decl; o++) {
        unsigned case_off = place(&l, (ctype){sizeof(uint32_t), ALIGN(i32)});
        ctype u = {0, 1};
        for (size_t i = 0; i < p->n_field; i++) {
            if (!p->field[i]->has_oneof_index || (size_t)p->field[i]->oneof_index != o) continue;
            ctype t = value_type(f[i].type);
            if (t.size > u.size) u.size = t.size;
            if (t.align > u.align) u.align = t.align;
        }
        u.size = (u.size + u.align - 1) / u.align * u.align;
        unsigned off = place(&l, u);
        for (size_t i = 0; i < p->n_field; i++) {
            if (!p->field[i]->has_oneof_index || (size_t)p->field[i]->oneof_index != o) continue;
            f[i].quantifier_offset = case_off;
            f[i].offset = off;
        }
    }
    d->sizeof_message = (l.end + l.align - 1) / l.align * l.align;
}

/* ---- messages: defaults --------------------------------------------------- */

/* Bytes defaults come C-escaped (protoc's CEscape): \n \r \t \" \' \\,
 * octal \NNN and hex \xHH. Returns the length, or -1 if malformed. */
static long unescape(const char *s, uint8_t *out)
{
    long n = 0;
    while (*s) {
        if (*s != '\\') {
            out[n++] = (uint8_t)*s++;
            continue;
        }
        s++;
        const char *simple = "n\nr\rt\t\"\"''\\\\a\ab\bf\fv\v?\?", *m;
        if (*s >= '0' && *s <= '7') {
            unsigned v = 0;
            for (int k = 0; k < 3 && *s >= '0' && *s <= '7'; k++) v = v * 8 + (unsigned)(*s++ - '0');
            if (v > 255) return -1;
            out[n++] = (uint8_t)v;
        } else if (*s == 'x') {
            unsigned v = 0;
            int k = 0;
            for (s++; k < 2 && strchr("0123456789abcdefABCDEF", *s) && *s; k++, s++)
                v = v * 16 + (unsigned)(*s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10);
            if (!k) return -1;
            out[n++] = (uint8_t)v;
        } else if (*s && (m = strchr(simple, *s)) && (m - simple) % 2 == 0) {
            out[n++] = (uint8_t)m[1];
            s++;
        } else {
            return -1;
        }
    }
    return n;
}

static int parse_int(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_uint(const char *s, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-' || v > hi) return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    if (strcmp(s, "inf") == 0 || strcmp(s, "-inf") == 0 || strcmp(s, "nan") == 0) {
        *out = s[0] == 'n' ? NAN : s[0] == '-' ? -INFINITY : INFINITY;
        return 0;
    }
    *out = strtod(s, &end);
    return end == s || *end ? -1 : 0;
}

/* Points f->default_value at the value protoc-c would have generated for
 * the default text s. Returns 0 or -1 (malformed for the type). */
static int set_default(sky__dyn *dyn, ProtobufCFieldDescriptor *f, const char *s)
{
    sky__arena *a = dyn->arena;
    int64_t i;
    uint64_t u;
    double dv;
    void *v = NULL;
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        if (parse_int(s, INT32_MIN, INT32_MAX, &i)) return -1;
        *(int32_t *)(v = sky__arena_alloc(a, sizeof(int32_t))) = (int32_t)i;
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        if (parse_int(s, INT64_MIN, INT64_MAX, &i)) return -1;
        *(int64_t *)(v = sky__arena_alloc(a, sizeof(int64_t))) = i;
        break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        if (parse_uint(s, UINT32_MAX, &u)) return -1;
        *(uint32_t *)(v = sky__arena_alloc(a, sizeof(uint32_t))) = (uint32_t)u;
        break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        if (parse_uint(s, UINT64_MAX, &u)) return -1;
        *(uint64_t *)(v = sky__arena_alloc(a, sizeof(uint64_t))) = u;
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        if (parse_double(s, &dv)) return -1;
        *(float *)(v = sky__arena_alloc(a, sizeof(float))) = (float)dv;
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        if (parse_double(s, &dv)) return -1;
        *(double *)(v = sky__arena_alloc(a, sizeof(double))) = dv;
        break;
    case PROTOBUF_C_TYPE_BOOL:
        if (strcmp(s, "true") != 0 && strcmp(s, "false") != 0) return -1;
        *(protobuf_c_boolean *)(v = sky__arena_alloc(a, sizeof(protobuf_c_boolean))) = s[0] == 't';
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, s);
        if (!ev) return -1;
        *(int *)(v = sky__arena_alloc(a, sizeof(int))) = ev->value;
        break;
    }
    case PROTOBUF_C_TYPE_STRING:
        v = sky__arena_strdup(a, s);
        break;
    case PROTOBUF_C_TYPE_BYTES: {
        ProtobufCBinaryData *bd = sky__arena_alloc(a, sizeof *bd);
        bd->data = sky__arena_alloc(a, strlen(s) + 1);
        long n = unescape(s, bd->data);
        if (n < 0) return -1;
        bd->len = (size_t)n;
        v = bd;
        break;
    }
    default:
        return -1; /* messages have no defaults */
    }
    f->default_value = v;
    return 0;
}

/* ---- messages: fields ----------------------------------------------------- */

static int field_type(int t, ProtobufCType *out)
{
    static const ProtobufCType map[] = {
        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_DOUBLE] = PROTOBUF_C_TYPE_DOUBLE,
        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FLOAT] = PROTOBUF_C_TYPE_FLOAT,
        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT64] = PROTOBUF_C_TYPE_INT64,
        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT64] = PROTOBUF_C_TYPE_UINT64,
        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT32] = PROTOBUF_C_TYPE_INT32,
        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED64] = PROTOBUF_C_TYPE_FIXED64,
        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_FIXED32] = PROTOBUF_C_TYPE_FIXED32,
        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BOOL] = PROTOBUF_C_TYPE_BOOL,
        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_STRING] = PROTOBUF_C_TYPE_STRING,
        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_MESSAGE] = PROTOBUF_C_TYPE_MESSAGE,
        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BYTES] = PROTOBUF_C_TYPE_BYTES,
        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_UINT32] = PROTOBUF_C_TYPE_UINT32,
        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_ENUM] = PROTOBUF_C_TYPE_ENUM,
        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED32] = PROTOBUF_C_TYPE_SFIXED32,
        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SFIXED64] = PROTOBUF_C_TYPE_SFIXED64,
        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT32] = PROTOBUF_C_TYPE_SINT32,
        [GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_SINT64] = PROTOBUF_C_TYPE_SINT64,
    };
    if (t < 1 || (size_t)t >= sizeof map / sizeof *map) return -1;
    if (t == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_GROUP) return -1;
    *out = map[t];
    return 0;
}

static int packable(ProtobufCType t)
{
    return t != PROTOBUF_C_TYPE_STRING && t != PROTOBUF_C_TYPE_BYTES && t != PROTOBUF_C_TYPE_MESSAGE;
}

/* Fills f from p except offsets; `what` names it in errors. */
static int field(sky__dyn *dyn, ProtobufCFieldDescriptor *f, const Google__Protobuf__FieldDescriptorProto *p,
                 size_t noneofs, const char *what)
{
    if (!p->has_number || p->number <= 0 || p->number > 536870911) /* 2^29 - 1 */
        return fail(dyn, SKY_EBADMSG, what, "no valid field number");
    if (p->has_type && p->type == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_GROUP)
        return fail(dyn, SKY_EINVAL, what, "groups are not supported");
    if (!p->has_type || field_type(p->type, &f->type))
        return fail(dyn, SKY_EINVAL, what, "unsupported field type %d", p->has_type ? (int)p->type : 0);
    f->name = sky__arena_strdup(dyn->arena, p->name);
    f->id = (uint32_t)p->number;
    int repeated = p->has_label && p->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REPEATED;
    int required = p->has_label && p->label == GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_REQUIRED;
    f->label = repeated ? PROTOBUF_C_LABEL_REPEATED
               : required ? PROTOBUF_C_LABEL_REQUIRED
               : dyn->proto3 ? PROTOBUF_C_LABEL_NONE
                             : PROTOBUF_C_LABEL_OPTIONAL;
    if (p->has_oneof_index) {
        if (p->oneof_index < 0 || (size_t)p->oneof_index >= noneofs || repeated || required)
            return fail(dyn, SKY_EBADMSG, what, "bad oneof index %d", (int)p->oneof_index);
        f->flags |= PROTOBUF_C_FIELD_FLAG_ONEOF;
    }
    const Google__Protobuf__FieldOptions *o = p->options;
    if (repeated && packable(f->type) && (o && o->has_packed ? o->packed : dyn->proto3))
        f->flags |= PROTOBUF_C_FIELD_FLAG_PACKED;
    if (o && o->has_deprecated && o->deprecated) f->flags |= PROTOBUF_C_FIELD_FLAG_DEPRECATED;

    if (f->type == PROTOBUF_C_TYPE_MESSAGE || f->type == PROTOBUF_C_TYPE_ENUM) {
        int is_enum = f->type == PROTOBUF_C_TYPE_ENUM;
        if (!p->type_name) return fail(dyn, SKY_EBADMSG, what, "no type name");
        if (p->type_name[0] != '.')
            return fail(dyn, SKY_EINVAL, what, "type name %s is not fully qualified", p->type_name);
        f->descriptor = dyn->find(dyn, p->type_name, is_enum);
        if (!f->descriptor) return fail(dyn, SKY_EINVAL, what, "unknown type %s", p->type_name);
    }
    if (p->default_value) {
        if (set_default(dyn, f, p->default_value))
            return fail(dyn, SKY_EINVAL, what, "bad default value \"%s\"", p->default_value);
    } else if (dyn->proto3 && f->type == PROTOBUF_C_TYPE_STRING) {
        f->default_value = &protobuf_c_empty_string;
    }
    /* Not for oneof members (protoc-c gives proto3 ones ""): protobuf-c's
     * unpack, with no message_init, writes defaults into the union, and a
     * message member parsed next would take "" for a message to merge. */
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) f->default_value = NULL;
    return 0;
}

static int by_id(const void *a, const void *b)
{
    uint32_t x = ((const ProtobufCFieldDescriptor *)a)->id, y = ((const ProtobufCFieldDescriptor *)b)->id;
    return x < y ? -1 : x > y;
}

int sky__dyn_message(sky__dyn *dyn, ProtobufCMessageDescriptor *d, const Google__Protobuf__DescriptorProto *p)
{
    sky__arena *a = dyn->arena;
    size_t n = p->n_field;
    ProtobufCFieldDescriptor *f = sky__arena_alloc(a, n * sizeof *f);
    for (size_t i = 0; i < n; i++) {
        const char *fname = p->field[i]->name;
        if (!fname) return fail(dyn, SKY_EBADMSG, d->name, "field %zu has no name", i);
        char what[512];
        snprintf(what, sizeof what, "%s.%s", d->name, fname);
        int rc = field(dyn, &f[i], p->field[i], p->n_oneof_decl, what);
        if (rc) return rc;
    }
    lay_out(dyn, d, f, p);
    qsort(f, n, sizeof *f, by_id);
    for (size_t i = 1; i < n; i++)
        if (f[i].id == f[i - 1].id) return fail(dyn, SKY_EINVAL, d->name, "field number %u used twice", f[i].id);
    int32_t *ids = sky__arena_alloc(a, n * sizeof *ids);
    eval *byname = sky_calloc(n, sizeof *byname);
    for (size_t i = 0; i < n; i++) {
        ids[i] = (int32_t)f[i].id;
        byname[i] = (eval){.name = f[i].name, .index = (unsigned)i};
    }
    qsort(byname, n, sizeof *byname, by_name);
    unsigned *names = sky__arena_alloc(a, n * sizeof *names);
    for (size_t i = 0; i < n; i++) names[i] = byname[i].index;
    sky_free(byname);
    d->n_fields = (unsigned)n;
    d->fields = f;
    d->fields_sorted_by_name = names;
    d->field_ranges = int_ranges(a, ids, n, &d->n_field_ranges);
    d->message_init = NULL; /* sky__message_init (msginit.h) does it from the descriptor */
    return 0;
}

/* Schemas loaded at run time (runtime/dynschema.c, dyndesc.c): the
 * FileDescriptorSet the build makes of the runner's compiled test schemas
 * and of dyn_only.proto (SKY_TEST_DESCRIPTOR_SET), loaded and compared
 * with what protoc-c generated (every field's number, label, type, flags,
 * offsets and default; the names and ranges), round trips between
 * compiled and loaded descriptors, the Lua codec on a type only loaded,
 * and each refusal with its exact message. Files are loaded under a
 * "dyn/" prefix where they must not be skipped as compiled; sets built
 * here use names no other test loads, so the tests hold in one process
 * (CK_FORK=no) in any order. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>
#include "schema/msginit.h"
#include "lua/codec.h"
#include "sky/typed.h"
#include "codec_test.pb-c.h"
#include "codec_test.sky.h"
#include "codec_test2.pb-c.h"
#include "codec_test2.sky.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "testutil.h"
#include "typed_test.pb-c.h"
#include "typed_test.sky.h"

typedef Google__Protobuf__FileDescriptorSet fdset;
typedef Google__Protobuf__FileDescriptorProto fdproto;

/* ---- the set and sets made from it --------------------------------------- */

static uint8_t *read_set(size_t *len)
{
    FILE *f = fopen(SKY_TEST_DESCRIPTOR_SET, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", SKY_TEST_DESCRIPTOR_SET);
    uint8_t *buf = malloc(1 << 20);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    ck_assert_uint_gt(*len, 0);
    ck_assert_uint_lt(*len, 1 << 20);
    return buf;
}

/* Loads the build's set as it is. */
static void load_build_set(void)
{
    size_t len;
    uint8_t *buf = read_set(&len);
    char err[256];
    int rc = sky_schema_load(buf, len, err, sizeof err);
    ck_assert_msg(rc == 0, "load: %d %s", rc, err);
    ck_assert_str_eq(err, "");
    free(buf);
}

static int load_set(const fdset *set, char *err, size_t errsize)
{
    size_t len = google__protobuf__file_descriptor_set__get_packed_size(set);
    uint8_t *buf = malloc(len + 1);
    google__protobuf__file_descriptor_set__pack(set, buf);
    int rc = sky_schema_load(buf, len, err, errsize);
    free(buf);
    return rc;
}

static char *prefixed(const char *prefix, const char *name)
{
    char *s = malloc(strlen(prefix) + strlen(name) + 1);
    return strcat(strcpy(s, prefix), name);
}

/* Loads the build's set with every file name (and import) prefixed, so
 * that none is skipped as registered by compiled code. */
static void load_prefixed(const char *prefix)
{
    size_t len;
    uint8_t *buf = read_set(&len);
    fdset *set = google__protobuf__file_descriptor_set__unpack(NULL, len, buf);
    ck_assert_ptr_nonnull(set);
    for (size_t i = 0; i < set->n_file; i++) {
        fdproto *f = set->file[i];
        char *old = f->name;
        f->name = prefixed(prefix, old);
        free(old);
        for (size_t d = 0; d < f->n_dependency; d++) {
            old = f->dependency[d];
            f->dependency[d] = prefixed(prefix, old);
            free(old);
        }
    }
    char err[256];
    int rc = load_set(set, err, sizeof err);
    ck_assert_msg(rc == 0, "load: %d %s", rc, err);
    google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
    free(buf);
}

static const sky_file_desc *dyn_file(const char *name)
{
    load_prefixed("dyn/");
    char full[256];
    snprintf(full, sizeof full, "dyn/%s", name);
    const sky_file_desc *f = sky_schema_file(full);
    ck_assert_msg(f != NULL, "%s not registered", full);
    return f;
}

static const ProtobufCMessageDescriptor *msg_in(const sky_file_desc *f, const char *name)
{
    for (size_t i = 0; i < f->n_messages; i++)
        if (strcmp(f->messages[i]->name, name) == 0) return f->messages[i];
    ck_abort_msg("%s: no message %s", f->name, name);
    return NULL;
}

static const ProtobufCEnumDescriptor *enum_in(const sky_file_desc *f, const char *name)
{
    for (size_t i = 0; i < f->n_enums; i++)
        if (strcmp(f->enums[i]->name, name) == 0) return f->enums[i];
    ck_abort_msg("%s: no enum %s", f->name, name);
    return NULL;
}

/* ---- the loaded descriptors are the compiled ones ---------------------------- */

/* Oneof members never get one: protobuf-c's unpack would write it into
 * the union (message_init_generic), and a message member parsed later
 * would take it for a message to merge into. */
static void same_default(const ProtobufCFieldDescriptor *a, const ProtobufCFieldDescriptor *b, const char *what)
{
    if (b->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        ck_assert_msg(a->default_value == NULL, "%s: a oneof member with a default", what);
        return;
    }
    ck_assert_msg((a->default_value == NULL) == (b->default_value == NULL), "%s: default presence", what);
    if (!a->default_value) return;
    switch (a->type) {
    case PROTOBUF_C_TYPE_STRING:
        ck_assert_msg(strcmp(a->default_value, b->default_value) == 0, "%s: default", what);
        if (b->default_value == &protobuf_c_empty_string)
            ck_assert_msg(a->default_value == &protobuf_c_empty_string, "%s: not protobuf_c_empty_string", what);
        break;
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *x = a->default_value, *y = b->default_value;
        ck_assert_msg(x->len == y->len && memcmp(x->data, y->data, x->len) == 0, "%s: default", what);
        break;
    }
    case PROTOBUF_C_TYPE_DOUBLE:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        ck_assert_msg(memcmp(a->default_value, b->default_value, 8) == 0, "%s: default", what);
        break;
    default:
        ck_assert_msg(memcmp(a->default_value, b->default_value, 4) == 0, "%s: default", what);
    }
}

static void same_ranges(const ProtobufCIntRange *a, const ProtobufCIntRange *b, unsigned n, const char *what)
{
    for (unsigned i = 0; i <= n; i++) /* the closing {0, count} too */
        ck_assert_msg(a[i].start_value == b[i].start_value && a[i].orig_index == b[i].orig_index, "%s: range %u",
                      what, i);
}

static const char *type_name(const ProtobufCFieldDescriptor *f)
{
    if (f->type == PROTOBUF_C_TYPE_ENUM) return ((const ProtobufCEnumDescriptor *)f->descriptor)->name;
    return ((const ProtobufCMessageDescriptor *)f->descriptor)->name;
}

static void same_message(const ProtobufCMessageDescriptor *dyn, const ProtobufCMessageDescriptor *c)
{
    const char *what = c->name;
    ck_assert_uint_eq(dyn->magic, PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
    ck_assert_str_eq(dyn->name, c->name);
    ck_assert_str_eq(dyn->short_name, c->short_name);
    ck_assert_str_eq(dyn->c_name, c->c_name);
    ck_assert_str_eq(dyn->package_name, c->package_name);
    ck_assert_msg(dyn->sizeof_message == c->sizeof_message, "%s: size %zu, compiled %zu", what,
                  dyn->sizeof_message, c->sizeof_message);
    ck_assert_uint_eq(dyn->n_fields, c->n_fields);
    ck_assert_uint_eq(dyn->n_field_ranges, c->n_field_ranges);
    same_ranges(dyn->field_ranges, c->field_ranges, c->n_field_ranges, what);
    for (unsigned i = 0; i < c->n_fields; i++) {
        const ProtobufCFieldDescriptor *a = &dyn->fields[i], *b = &c->fields[i];
        char fw[256];
        snprintf(fw, sizeof fw, "%s.%s", what, b->name);
        ck_assert_msg(strcmp(a->name, b->name) == 0 && a->id == b->id, "%s: name/number", fw);
        ck_assert_msg(a->label == b->label && a->type == b->type, "%s: label %d type %d", fw, a->label, a->type);
        ck_assert_msg(a->flags == b->flags, "%s: flags %u, compiled %u", fw, a->flags, b->flags);
        ck_assert_msg(a->offset == b->offset, "%s: offset %u, compiled %u", fw, a->offset, b->offset);
        ck_assert_msg(a->quantifier_offset == b->quantifier_offset, "%s: quantifier %u, compiled %u", fw,
                      a->quantifier_offset, b->quantifier_offset);
        ck_assert_uint_eq(dyn->fields_sorted_by_name[i], c->fields_sorted_by_name[i]);
        if (b->descriptor) ck_assert_str_eq(type_name(a), type_name(b));
        same_default(a, b, fw);
    }
    ck_assert_ptr_null(dyn->message_init);
}

static void same_enum(const ProtobufCEnumDescriptor *dyn, const ProtobufCEnumDescriptor *c)
{
    ck_assert_uint_eq(dyn->magic, PROTOBUF_C__ENUM_DESCRIPTOR_MAGIC);
    ck_assert_str_eq(dyn->name, c->name);
    ck_assert_str_eq(dyn->short_name, c->short_name);
    ck_assert_str_eq(dyn->c_name, c->c_name);
    ck_assert_str_eq(dyn->package_name, c->package_name);
    ck_assert_uint_eq(dyn->n_values, c->n_values);
    for (unsigned i = 0; i < c->n_values; i++) {
        ck_assert_str_eq(dyn->values[i].name, c->values[i].name);
        ck_assert_str_eq(dyn->values[i].c_name, c->values[i].c_name);
        ck_assert_int_eq(dyn->values[i].value, c->values[i].value);
    }
    ck_assert_uint_eq(dyn->n_value_names, c->n_value_names);
    for (unsigned i = 0; i < c->n_value_names; i++) {
        ck_assert_str_eq(dyn->values_by_name[i].name, c->values_by_name[i].name);
        ck_assert_uint_eq(dyn->values_by_name[i].index, c->values_by_name[i].index);
    }
    ck_assert_uint_eq(dyn->n_value_ranges, c->n_value_ranges);
    same_ranges(dyn->value_ranges, c->value_ranges, c->n_value_ranges, c->name);
}

static void same_file(const sky_file_desc *c)
{
    const sky_file_desc *dyn = dyn_file(c->name);
    ck_assert_uint_eq(dyn->n_messages, c->n_messages);
    ck_assert_uint_eq(dyn->n_enums, c->n_enums);
    ck_assert_uint_eq(dyn->n_services, c->n_services);
    for (size_t i = 0; i < c->n_messages; i++) same_message(msg_in(dyn, c->messages[i]->name), c->messages[i]);
    for (size_t i = 0; i < c->n_enums; i++) same_enum(enum_in(dyn, c->enums[i]->name), c->enums[i]);
}

START_TEST(loaded_match_compiled)
{
    same_file(&skycodec_codec_test_file);
    same_file(&skycodec2_codec_test2_file);
    same_file(&skytest_typed_test_file);
}
END_TEST

/* descriptor.proto itself (proto2: defaults of every kind, nested enums,
 * extension ranges) against the protobuf-c code compiled into libsky_core. */
START_TEST(descriptor_proto_matches_protoc_c)
{
    const sky_file_desc *f = dyn_file("google/protobuf/descriptor.proto");
    const ProtobufCMessageDescriptor *compiled[] = {
        &google__protobuf__file_descriptor_set__descriptor,
        &google__protobuf__file_descriptor_proto__descriptor,
        &google__protobuf__descriptor_proto__descriptor,
        &google__protobuf__descriptor_proto__extension_range__descriptor,
        &google__protobuf__field_descriptor_proto__descriptor,
        &google__protobuf__enum_descriptor_proto__descriptor,
        &google__protobuf__method_descriptor_proto__descriptor,
        &google__protobuf__file_options__descriptor,
        &google__protobuf__field_options__descriptor,
        &google__protobuf__method_options__descriptor,
        &google__protobuf__uninterpreted_option__descriptor,
        &google__protobuf__uninterpreted_option__name_part__descriptor,
        &google__protobuf__source_code_info__location__descriptor,
    };
    for (size_t i = 0; i < sizeof compiled / sizeof *compiled; i++)
        same_message(msg_in(f, compiled[i]->name), compiled[i]);
    same_enum(enum_in(f, "google.protobuf.FieldDescriptorProto.Type"),
              &google__protobuf__field_descriptor_proto__type__descriptor);
    same_enum(enum_in(f, "google.protobuf.FileOptions.OptimizeMode"),
              &google__protobuf__file_options__optimize_mode__descriptor);

    /* the set decodes with the loaded FileDescriptorSet as with the compiled one */
    size_t len;
    uint8_t *buf = read_set(&len);
    const ProtobufCMessageDescriptor *d = msg_in(f, "google.protobuf.FileDescriptorSet");
    ProtobufCMessage *a = protobuf_c_message_unpack(&google__protobuf__file_descriptor_set__descriptor, NULL, len, buf);
    ProtobufCMessage *b = protobuf_c_message_unpack(d, NULL, len, buf);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    size_t na = protobuf_c_message_get_packed_size(a), nb = protobuf_c_message_get_packed_size(b);
    ck_assert_uint_eq(na, nb);
    uint8_t *pa = malloc(na), *pb = malloc(nb);
    protobuf_c_message_pack(a, pa);
    protobuf_c_message_pack(b, pb);
    ck_assert(memcmp(pa, pb, na) == 0);
    free(pa);
    free(pb);
    protobuf_c_message_free_unpacked(a, NULL);
    protobuf_c_message_free_unpacked(b, NULL);
    free(buf);
}
END_TEST

/* ---- round trips ----------------------------------------------------------- */

/* Packs m with protobuf-c; the caller frees. */
static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len + 1);
    ck_assert_uint_eq(protobuf_c_message_pack(m, buf), *len);
    return buf;
}

/* bytes -> unpacked with d -> packed: the same bytes. Returns the unpacked. */
static ProtobufCMessage *through(const ProtobufCMessageDescriptor *d, const uint8_t *bytes, size_t len)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, bytes);
    ck_assert_msg(m != NULL, "%s does not unpack", d->name);
    size_t n;
    uint8_t *again = pack(m, &n);
    ck_assert_uint_eq(n, len);
    ck_assert_msg(memcmp(again, bytes, len) == 0, "%s: packed bytes differ", d->name);
    free(again);
    return m;
}

START_TEST(round_trip_every_kind)
{
    const ProtobufCMessageDescriptor *d = msg_in(dyn_file("codec_test.proto"), "skycodec.Item");
    Skycodec__Price p1 = SKYCODEC__PRICE__INIT, p2 = SKYCODEC__PRICE__INIT, p3 = SKYCODEC__PRICE__INIT;
    p1.units = INT64_MIN;
    p1.nanos = -1;
    p1.currency = (char *)"EUR";
    p2.units = INT64_MAX;
    p3.currency = (char *)"x";
    Skycodec__Price *prices[] = {&p1, &p2};
    int32_t nums[] = {INT32_MIN, -1, 0, INT32_MAX};
    char *tags[] = {(char *)"a", (char *)"", (char *)"c"};
    Skycodec__Color colors[] = {SKYCODEC__COLOR__COLOR_NEG, SKYCODEC__COLOR__COLOR_BLUE, 77};
    Skycodec__Item__CountsEntry c1 = SKYCODEC__ITEM__COUNTS_ENTRY__INIT, c2 = SKYCODEC__ITEM__COUNTS_ENTRY__INIT;
    c1.key = (char *)"k1";
    c1.value = INT64_MIN;
    c2.key = (char *)"k2";
    c2.value = 7;
    Skycodec__Item__CountsEntry *counts[] = {&c1, &c2};
    Skycodec__Item__ByIdEntry b1 = SKYCODEC__ITEM__BY_ID_ENTRY__INIT;
    b1.key = -5;
    b1.value = &p3;
    Skycodec__Item__ByIdEntry *by_id[] = {&b1};
    ProtobufCBinaryData blobs[] = {{3, (uint8_t *)"a\0b"}, {0, NULL}};

    Skycodec__Item it = SKYCODEC__ITEM__INIT;
    it.i32 = INT32_MIN;
    it.s32 = -7;
    it.sf32 = INT32_MAX;
    it.u32 = UINT32_MAX;
    it.f32 = 123;
    it.i64 = INT64_MIN;
    it.s64 = INT64_MIN;
    it.sf64 = INT64_MAX;
    it.u64 = UINT64_MAX;
    it.f64 = UINT64_MAX;
    it.fl = -1.5f;
    it.db = DBL_MAX;
    it.ok = 1;
    it.name = (char *)"héllo";
    it.data = (ProtobufCBinaryData){4, (uint8_t *)"a\0b\xff"};
    it.color = SKYCODEC__COLOR__COLOR_NEG;
    it.price = &p1;
    it.n_nums = 4;
    it.nums = nums;
    it.n_tags = 3;
    it.tags = tags;
    it.n_prices = 2;
    it.prices = prices;
    it.n_colors = 3;
    it.colors = colors;
    it.n_counts = 2;
    it.counts = counts;
    it.n_by_id = 1;
    it.by_id = by_id;
    it.n_blobs = 2;
    it.blobs = blobs;
    it.choice_case = SKYCODEC__ITEM__CHOICE_COST;
    it.cost = &p2;
    it._maybe_case = SKYCODEC__ITEM___MAYBE_MAYBE; /* present though zero */
    it.maybe = 0;

    size_t len;
    uint8_t *bytes = pack(&it.base, &len);
    ProtobufCMessage *m = through(d, bytes, len);
    /* the layout is the compiled one: read the loaded message as the struct */
    const Skycodec__Item *got = (const Skycodec__Item *)m;
    ck_assert_ptr_eq(got->base.descriptor, d);
    ck_assert(got->i64 == INT64_MIN && got->u64 == UINT64_MAX && got->u32 == UINT32_MAX);
    ck_assert(got->fl == -1.5f && got->db == DBL_MAX && got->ok);
    ck_assert_str_eq(got->name, "héllo");
    ck_assert(got->data.len == 4 && memcmp(got->data.data, "a\0b\xff", 4) == 0);
    ck_assert_int_eq(got->color, SKYCODEC__COLOR__COLOR_NEG);
    ck_assert(got->price && got->price->units == INT64_MIN && strcmp(got->price->currency, "EUR") == 0);
    ck_assert(got->n_nums == 4 && got->nums[0] == INT32_MIN && got->nums[3] == INT32_MAX);
    ck_assert(got->n_tags == 3 && strcmp(got->tags[2], "c") == 0);
    ck_assert(got->n_colors == 3 && got->colors[2] == 77);
    ck_assert(got->n_counts == 2 && strcmp(got->counts[1]->key, "k2") == 0 && got->counts[0]->value == INT64_MIN);
    ck_assert(got->n_by_id == 1 && got->by_id[0]->key == -5 && strcmp(got->by_id[0]->value->currency, "x") == 0);
    ck_assert(got->n_blobs == 2 && got->blobs[0].len == 3 && got->blobs[1].len == 0);
    ck_assert_int_eq(got->choice_case, SKYCODEC__ITEM__CHOICE_COST);
    ck_assert(got->cost && got->cost->units == INT64_MAX);
    ck_assert_int_eq(got->_maybe_case, SKYCODEC__ITEM___MAYBE_MAYBE);
    ck_assert_int_eq(got->_maybe_name_case, SKYCODEC__ITEM___MAYBE_NAME__NOT_SET);
    protobuf_c_message_free_unpacked(m, NULL);
    free(bytes);

    /* the other members of the oneofs, and the empty message */
    Skycodec__Item it2 = SKYCODEC__ITEM__INIT;
    it2.choice_case = SKYCODEC__ITEM__CHOICE_TEXT;
    it2.text = (char *)"";
    it2._maybe_name_case = SKYCODEC__ITEM___MAYBE_NAME_MAYBE_NAME;
    it2.maybe_name = (char *)"";
    bytes = pack(&it2.base, &len);
    ck_assert_uint_gt(len, 0);
    m = through(d, bytes, len);
    ck_assert_str_eq(((Skycodec__Item *)m)->maybe_name, "");
    protobuf_c_message_free_unpacked(m, NULL);
    free(bytes);
    protobuf_c_message_free_unpacked(through(d, (const uint8_t *)"", 0), NULL);
}
END_TEST

START_TEST(proto2_defaults)
{
    const ProtobufCMessageDescriptor *d = msg_in(dyn_file("codec_test2.proto"), "skycodec2.Defaults");
    Skycodec2__Defaults *m = malloc(d->sizeof_message);
    sky__message_init(d, &m->base);
    ck_assert_ptr_eq(m->base.descriptor, d);
    ck_assert(!m->has_a && m->a == 42);
    ck_assert_str_eq(m->s, "hello");
    ck_assert_int_eq(m->level, SKYCODEC2__LEVEL__LEVEL_HIGH);
    ck_assert(m->d == 2.5 && m->b == 1 && m->big == UINT64_MAX);
    ck_assert(m->raw.len == 3 && memcmp(m->raw.data, "x\001y", 3) == 0);
    ck_assert(m->plain == 0 && m->child == NULL);
    /* what the compiled init makes, and the generic init from the compiled descriptor */
    Skycodec2__Defaults c = SKYCODEC2__DEFAULTS__INIT, g;
    ck_assert(c.a == m->a && strcmp(c.s, m->s) == 0 && c.level == m->level && c.d == m->d && c.b == m->b &&
              c.big == m->big && c.raw.len == m->raw.len);
    sky__message_init(&skycodec2__defaults__descriptor, &g.base);
    ck_assert_ptr_eq(g.base.descriptor, &skycodec2__defaults__descriptor);
    ck_assert(g.a == c.a && g.s == c.s && g.level == c.level && g.d == c.d && g.b == c.b && g.big == c.big &&
              g.raw.data == c.raw.data && g.raw.len == c.raw.len && !g.has_a && !g.has_raw && !g.child);
    free(m);

    /* a required field only: the rest decode to their defaults */
    Skycodec2__Defaults in = SKYCODEC2__DEFAULTS__INIT, child = SKYCODEC2__DEFAULTS__INIT;
    in.req = -1;
    size_t len;
    uint8_t *bytes = pack(&in.base, &len);
    Skycodec2__Defaults *got = (Skycodec2__Defaults *)through(d, bytes, len);
    ck_assert(got->req == -1 && !got->has_a && got->a == 42 && strcmp(got->s, "hello") == 0 && got->big == UINT64_MAX);
    protobuf_c_message_free_unpacked(&got->base, NULL);
    free(bytes);
    /* every field set (explicit values equal to defaults are sent too) */
    in.has_a = 1;
    in.a = 42;
    in.s = (char *)"";
    in.has_level = 1;
    in.level = SKYCODEC2__LEVEL__LEVEL_LOW;
    in.has_d = 1;
    in.d = -0.0;
    in.has_b = 1;
    in.b = 0;
    in.has_big = 1;
    in.big = 0;
    in.has_raw = 1;
    in.raw = (ProtobufCBinaryData){0, NULL};
    in.has_plain = 1;
    in.plain = INT32_MIN;
    child.req = 5;
    in.child = &child;
    bytes = pack(&in.base, &len);
    got = (Skycodec2__Defaults *)through(d, bytes, len);
    ck_assert(got->has_a && got->a == 42 && got->has_level && got->level == SKYCODEC2__LEVEL__LEVEL_LOW);
    ck_assert(got->has_big && got->big == 0 && got->plain == INT32_MIN && got->child && got->child->req == 5);
    ck_assert(got->has_raw && got->raw.len == 0 && strcmp(got->s, "") == 0);
    protobuf_c_message_free_unpacked(&got->base, NULL);
    free(bytes);
    /* the required field missing: refused as by the compiled descriptor */
    ck_assert_ptr_null(protobuf_c_message_unpack(d, NULL, 0, (const uint8_t *)""));
}
END_TEST

/* ---- registration ------------------------------------------------------------ */

START_TEST(compiled_files_skipped)
{
    load_build_set();
    ck_assert_ptr_eq(sky_schema_file("codec_test.proto"), &skycodec_codec_test_file);
    ck_assert_ptr_eq(sky_schema_file("typed_test.proto"), &skytest_typed_test_file);
    ck_assert_ptr_eq(sky_schema_message("skycodec.Item"), &skycodec__item__descriptor);
    ck_assert_ptr_eq(sky_schema_service("skytest.Echo"), &skytest_Echo_desc);
    const sky_file_desc *dyn = sky_schema_file("dyn_only.proto");
    ck_assert_ptr_nonnull(dyn);
    ck_assert_ptr_nonnull(sky_schema_file("sky/options.proto"));
    ck_assert_ptr_nonnull(sky_schema_file("google/protobuf/timestamp.proto"));
    ck_assert_ptr_null(sky_schema_file("nowhere.proto"));
    ck_assert_ptr_null(sky_schema_file(NULL));
    /* types of a compiled file resolve to the compiled descriptors, those
     * of the set to the set's own (another test may have loaded the same
     * types under "dyn/" first: lookups by name keep the first) */
    const ProtobufCMessageDescriptor *order = msg_in(dyn, "skydyn.Order");
    ck_assert_ptr_nonnull(sky_schema_message("skydyn.Order"));
    const ProtobufCFieldDescriptor *price = protobuf_c_message_descriptor_get_field_by_name(order, "price");
    const ProtobufCFieldDescriptor *color = protobuf_c_message_descriptor_get_field_by_name(order, "color");
    ck_assert_ptr_eq(price->descriptor, &skycodec__price__descriptor);
    ck_assert_ptr_eq(color->descriptor, &skycodec__color__descriptor);
    ck_assert_ptr_eq(protobuf_c_message_descriptor_get_field_by_name(order, "at")->descriptor,
                     msg_in(sky_schema_file("google/protobuf/timestamp.proto"), "google.protobuf.Timestamp"));
    /* again: everything is registered now, nothing is built twice */
    load_build_set();
    ck_assert_ptr_eq(sky_schema_file("dyn_only.proto"), dyn);
    ck_assert_ptr_eq(msg_in(dyn, "skydyn.Order"), order);
}
END_TEST

START_TEST(services_and_options)
{
    load_build_set();
    const sky_service_desc *s = sky_schema_service("skydyn.Shop");
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(s->name, "Shop");
    ck_assert_str_eq(s->default_name, "shop");
    ck_assert_ptr_null(s->dispatch);
    ck_assert_uint_eq(s->n_methods, 2);
    const sky_method_desc *place = &s->methods[0], *notify = &s->methods[1];
    ck_assert_str_eq(place->name, "Place");
    ck_assert_str_eq(place->full_name, "skydyn.Shop.Place");
    ck_assert_uint_eq(place->id, sky_method_id("skydyn.Shop.Place"));
    ck_assert_ptr_eq(sky_schema_method(place->id), place);
    ck_assert_ptr_eq(place->input, sky_schema_message("skydyn.Order"));
    ck_assert_ptr_eq(place->output, sky_schema_message("skydyn.Receipt"));
    ck_assert(place->timeout_ms == 250 && !place->oneway);
    ck_assert(notify->oneway && notify->timeout_ms == 0);
    ck_assert_ptr_eq(sky_schema_method(notify->id), notify);

    /* the compiled Echo, loaded under another name: the same methods */
    const sky_file_desc *f = dyn_file("typed_test.proto");
    ck_assert_uint_eq(f->n_services, 1);
    const sky_service_desc *e = f->services[0];
    ck_assert_str_eq(e->full_name, skytest_Echo_desc.full_name);
    ck_assert_str_eq(e->default_name, skytest_Echo_desc.default_name);
    ck_assert_uint_eq(e->n_methods, skytest_Echo_desc.n_methods);
    for (size_t i = 0; i < e->n_methods; i++) {
        const sky_method_desc *a = &e->methods[i], *b = &skytest_Echo_desc.methods[i];
        ck_assert_str_eq(a->full_name, b->full_name);
        ck_assert_uint_eq(a->id, b->id);
        ck_assert(a->oneway == b->oneway && a->timeout_ms == b->timeout_ms);
        ck_assert_str_eq(a->input->name, b->input->name);
        ck_assert_str_eq(a->output->name, b->output->name);
    }
}
END_TEST

/* Loads racing each other: each file is built and registered once. */
static void *load_conc(void *arg)
{
    (void)arg;
    size_t len;
    uint8_t *buf = read_set(&len);
    fdset *set = google__protobuf__file_descriptor_set__unpack(NULL, len, buf);
    int rc = -100;
    for (size_t i = 0; set && i < set->n_file; i++) {
        if (strcmp(set->file[i]->name, "dyn_only.proto") != 0) continue;
        fdset one = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_SET__INIT;
        fdproto *f = set->file[i]; /* alone: its imports are registered */
        char *old = f->name;
        f->name = strdup("conc/dyn_only.proto");
        free(old);
        one.n_file = 1;
        one.file = &f;
        char err[256];
        rc = load_set(&one, err, sizeof err);
    }
    google__protobuf__file_descriptor_set__free_unpacked(set, NULL);
    free(buf);
    return (void *)(intptr_t)rc;
}

START_TEST(concurrent_loads)
{
    load_build_set(); /* the imports of dyn_only.proto */
    pthread_t t[4];
    for (int i = 0; i < 4; i++) ck_assert_int_eq(pthread_create(&t[i], NULL, load_conc, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *rc;
        ck_assert_int_eq(pthread_join(t[i], &rc), 0);
        ck_assert_int_eq((int)(intptr_t)rc, 0);
    }
    const sky_file_desc *f = sky_schema_file("conc/dyn_only.proto");
    ck_assert_ptr_nonnull(f);
    ck_assert_ptr_eq(load_conc(NULL), NULL); /* once more: skipped */
    ck_assert_ptr_eq(sky_schema_file("conc/dyn_only.proto"), f);
}
END_TEST

/* ---- the Lua codec on a type that exists only loaded ---------------------------- */

START_TEST(lua_codec_loaded_type)
{
    load_build_set();
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    sky__luaopen_codec(L);
    lua_setglobal(L, "codec");
    static const char chunk[] =
        "local t = { id = 'o-1', lines = { { sku = 'a', qty = 4294967295, deltas = { math.mininteger, -1, 0 } },\n"
        "  { sku = 'b', qty = 0, deltas = {} } }, totals = { eur = math.maxinteger, usd = -2 },\n"
        "  color = 'COLOR_NEG', price = { units = 1, nanos = -2, currency = 'EUR' },\n"
        "  at = { seconds = 1700000000, nanos = 5 }, cash = math.mininteger, rush = false,\n"
        "  status = 'STATUS_PAID' }\n"
        "local bytes = codec.encode('skydyn.Order', t)\n"
        "local d = codec.decode('skydyn.Order', bytes)\n"
        "assert(d.id == 'o-1' and d.cash == math.mininteger and d.card == nil, 'scalars')\n"
        "assert(d.rush == false, 'proto3 optional: present though false')\n"
        "assert(#d.lines == 2 and d.lines[1].qty == 4294967295 and d.lines[1].deltas[1] == math.mininteger)\n"
        "assert(d.totals.eur == math.maxinteger and d.totals.usd == -2, 'map')\n"
        "assert(d.color == 'COLOR_NEG' and d.status == 'STATUS_PAID', 'enums')\n"
        "assert(d.price.currency == 'EUR' and d.at.seconds == 1700000000 and d.at.nanos == 5, 'messages')\n"
        "t.totals, d.totals = nil, nil -- pairs() may visit map keys in any order\n"
        "assert(codec.encode('skydyn.Order', d) == codec.encode('skydyn.Order', t), 'encode(decode(b)) == b')\n"
        "local e = codec.decode('skydyn.Order', codec.encode('skydyn.Order', {}))\n"
        "assert(e.rush == nil and e.cash == nil and e.id == '' and e.status == 'STATUS_NEW', 'empty')\n"
        "local r = codec.decode('skydyn.Receipt', codec.encode('skydyn.Receipt',\n"
        "  { order_id = 'x', history = { 'STATUS_PAID', 0 } }))\n"
        "assert(r.history[1] == 'STATUS_PAID' and r.history[2] == 'STATUS_NEW', 'repeated enum')\n"
        "local ok, msg = pcall(codec.encode, 'skydyn.Order', { lines = { { qty = 'x' } } })\n"
        "return msg\n";
    if (luaL_dostring(L, chunk) != 0) ck_abort_msg("lua: %s", lua_tostring(L, -1));
    ck_assert_str_eq(lua_tostring(L, -1), "Order.lines[1].qty: expected integer, got string");
    lua_close(L);
}
END_TEST

/* ---- refusals ------------------------------------------------------------------ */

/* Small sets built here: one message per file, fields added as needed. */
static fdproto *new_file(const char *name, const char *package, const char *syntax)
{
    fdproto *f = calloc(1, sizeof *f);
    google__protobuf__file_descriptor_proto__init(f);
    f->name = strdup(name);
    f->package = strdup(package);
    f->syntax = syntax ? strdup(syntax) : NULL;
    return f;
}

static Google__Protobuf__DescriptorProto *add_message(fdproto *f, const char *name)
{
    Google__Protobuf__DescriptorProto *m = calloc(1, sizeof *m);
    google__protobuf__descriptor_proto__init(m);
    m->name = strdup(name);
    f->message_type = realloc(f->message_type, (f->n_message_type + 1) * sizeof *f->message_type);
    f->message_type[f->n_message_type++] = m;
    return m;
}

static Google__Protobuf__FieldDescriptorProto *add_field(Google__Protobuf__DescriptorProto *m, const char *name,
                                                         int number, int type, const char *type_name)
{
    Google__Protobuf__FieldDescriptorProto *f = calloc(1, sizeof *f);
    google__protobuf__field_descriptor_proto__init(f);
    f->name = strdup(name);
    f->has_number = f->has_type = f->has_label = 1;
    f->number = number;
    f->type = type;
    f->label = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__LABEL__LABEL_OPTIONAL;
    f->type_name = type_name ? strdup(type_name) : NULL;
    m->field = realloc(m->field, (m->n_field + 1) * sizeof *m->field);
    m->field[m->n_field++] = f;
    return f;
}

static Google__Protobuf__MethodDescriptorProto *add_method(fdproto *f, const char *service, const char *name,
                                                           const char *type)
{
    if (!f->n_service) {
        Google__Protobuf__ServiceDescriptorProto *s = calloc(1, sizeof *s);
        google__protobuf__service_descriptor_proto__init(s);
        s->name = strdup(service);
        f->service = malloc(sizeof *f->service);
        f->service[f->n_service++] = s;
    }
    Google__Protobuf__ServiceDescriptorProto *s = f->service[0];
    Google__Protobuf__MethodDescriptorProto *m = calloc(1, sizeof *m);
    google__protobuf__method_descriptor_proto__init(m);
    m->name = strdup(name);
    m->input_type = strdup(type);
    m->output_type = strdup(type);
    s->method = realloc(s->method, (s->n_method + 1) * sizeof *s->method);
    s->method[s->n_method++] = m;
    return m;
}

/* Loads files (taking them); checks the code and the message. */
static void refused(int want, const char *want_err, size_t n, fdproto **files)
{
    fdset set = GOOGLE__PROTOBUF__FILE_DESCRIPTOR_SET__INIT;
    set.n_file = n;
    set.file = files;
    char err[256];
    ck_assert_int_eq(load_set(&set, err, sizeof err), want);
    ck_assert_str_eq(err, want_err);
    for (size_t i = 0; i < n; i++) {
        if (want != 0) ck_assert_ptr_null(sky_schema_file(files[i]->name));
        google__protobuf__file_descriptor_proto__free_unpacked(files[i], NULL);
    }
}

enum {
    T_INT32 = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_INT32,
    T_MESSAGE = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_MESSAGE,
    T_GROUP = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_GROUP,
    T_BYTES = GOOGLE__PROTOBUF__FIELD_DESCRIPTOR_PROTO__TYPE__TYPE_BYTES,
};

START_TEST(missing_import)
{
    fdproto *store = new_file("neg/store.proto", "skyneg", "proto3");
    store->dependency = malloc(sizeof *store->dependency);
    store->dependency[store->n_dependency++] = strdup("neg/money.proto"); /* not in the set */
    add_field(add_message(store, "Item"), "price", 1, T_MESSAGE, ".skyneg.Money");
    add_message(store, "Other");
    refused(SKY_EINVAL, "neg/store.proto: skyneg.Item.price: unknown type .skyneg.Money", 1, &store);
    ck_assert_ptr_null(sky_schema_message("skyneg.Other")); /* nothing of it registered */

    /* the same with the import in the set, after or before: it loads */
    fdproto *pair[2] = {new_file("neg/store2.proto", "skyneg2", "proto3"),
                        new_file("neg/money2.proto", "skyneg2", "proto3")};
    add_field(add_message(pair[0], "Item"), "price", 1, T_MESSAGE, ".skyneg2.Money");
    add_field(add_message(pair[1], "Money"), "units", 1, T_INT32, NULL);
    refused(0, "", 2, pair);
    const ProtobufCMessageDescriptor *item = sky_schema_message("skyneg2.Item");
    ck_assert_ptr_nonnull(item);
    ck_assert_ptr_eq(item->fields[0].descriptor, sky_schema_message("skyneg2.Money"));
}
END_TEST

START_TEST(not_a_descriptor_set)
{
    char err[64];
    ck_assert_int_eq(sky_schema_load("\xff\xff\xff\xff", 4, err, sizeof err), SKY_EBADMSG);
    ck_assert_str_eq(err, "not a FileDescriptorSet");
    ck_assert_int_eq(sky_schema_load("\x0a\x05\x0a", 3, err, sizeof err), SKY_EBADMSG); /* truncated */
    ck_assert_int_eq(sky_schema_load(NULL, 3, err, sizeof err), SKY_EINVAL);
    ck_assert_int_eq(sky_schema_load(NULL, 0, NULL, 0), 0); /* an empty set */
    fdproto *noname = new_file("x", "skyneg", NULL);
    free(noname->name);
    noname->name = NULL;
    refused(SKY_EBADMSG, "file 0 has no name", 1, &noname);
    /* a tiny err buffer is cut, not overrun */
    char small[8];
    ck_assert_int_eq(sky_schema_load("\xff", 1, small, sizeof small), SKY_EBADMSG);
    ck_assert_str_eq(small, "not a F");
}
END_TEST

START_TEST(unsupported_constructs)
{
    fdproto *f = new_file("neg/group.proto", "skyneg3", "proto2");
    add_field(add_message(f, "G"), "g", 1, T_GROUP, ".skyneg3.G");
    refused(SKY_EINVAL, "neg/group.proto: skyneg3.G.g: groups are not supported", 1, &f);

    f = new_file("neg/stream.proto", "skyneg4", "proto3");
    add_message(f, "M");
    Google__Protobuf__MethodDescriptorProto *watch = add_method(f, "S", "Watch", ".skyneg4.M");
    watch->has_server_streaming = watch->server_streaming = 1;
    refused(SKY_EINVAL, "neg/stream.proto: skyneg4.S.Watch: streaming rpcs are not supported", 1, &f);

    f = new_file("neg/default.proto", "skyneg5", "proto2");
    add_field(add_message(f, "D"), "b", 1, T_BYTES, NULL)->default_value = strdup("\\9");
    refused(SKY_EINVAL, "neg/default.proto: skyneg5.D.b: bad default value \"\\9\"", 1, &f);

    f = new_file("neg/editions.proto", "skyneg6", "editions");
    refused(SKY_EINVAL, "neg/editions.proto: syntax \"editions\" is not supported", 1, &f);

    f = new_file("neg/twice.proto", "skyneg7", "proto3");
    Google__Protobuf__DescriptorProto *m = add_message(f, "T");
    add_field(m, "a", 3, T_INT32, NULL);
    add_field(m, "b", 3, T_INT32, NULL);
    refused(SKY_EINVAL, "neg/twice.proto: skyneg7.T: field number 3 used twice", 1, &f);

    f = new_file("neg/unknown_method_type.proto", "skyneg8", "proto3");
    add_method(f, "S", "Get", ".skyneg8.Nope");
    refused(SKY_EINVAL, "neg/unknown_method_type.proto: skyneg8.S.Get: unknown type .skyneg8.Nope", 1, &f);
}
END_TEST

/* "coll.Clash.M74379" and "coll.Clash.M700384" hash to the same id (see
 * tests/skyc/bad/collision.proto). */
START_TEST(method_id_clash)
{
    fdproto *f = new_file("clash/both.proto", "coll", "proto3");
    add_message(f, "Req");
    add_method(f, "Clash", "M74379", ".coll.Req");
    add_method(f, "Clash", "M700384", ".coll.Req");
    refused(SKY_EEXIST, "coll.Clash.M74379: method id d583205f clashes with coll.Clash.M700384", 1, &f);

    f = new_file("clash/a.proto", "coll", "proto3");
    add_message(f, "Req");
    add_method(f, "Clash", "M74379", ".coll.Req");
    refused(0, "", 1, &f);
    f = new_file("clash/b.proto", "coll", "proto3");
    add_message(f, "Req2");
    add_method(f, "Clash", "M700384", ".coll.Req2");
    refused(SKY_EEXIST, "coll.Clash.M700384: method id d583205f clashes with coll.Clash.M74379", 1, &f);
    ck_assert_str_eq(sky_schema_method(sky_method_id("coll.Clash.M74379"))->full_name, "coll.Clash.M74379");
}
END_TEST

Suite *dynschema_suite(void)
{
    Suite *s = suite_create("dynschema");
    TCase *tc = tcase_create("load");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, loaded_match_compiled);
    tcase_add_test(tc, descriptor_proto_matches_protoc_c);
    tcase_add_test(tc, round_trip_every_kind);
    tcase_add_test(tc, proto2_defaults);
    tcase_add_test(tc, compiled_files_skipped);
    tcase_add_test(tc, services_and_options);
    tcase_add_test(tc, concurrent_loads);
    tcase_add_test(tc, lua_codec_loaded_type);
    tcase_add_test(tc, missing_import);
    tcase_add_test(tc, not_a_descriptor_set);
    tcase_add_test(tc, unsupported_constructs);
    tcase_add_test(tc, method_id_clash);
    suite_add_tcase(s, tc);
    return s;
}

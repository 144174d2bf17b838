/* The protobuf JSON mapping (runtime/schema/pbjson.c) with the schemas of
 * codec_test.proto (proto3, every field kind) and codec_test2.proto
 * (proto2), compiled by the tree's skyc: the exact texts it writes, round
 * trips both ways, the forms it accepts, and every refusal with its
 * message. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "schema/pbdepth.h"
#include "schema/pbjson.h"
#include "sky/alloc.h"
#include "codec_test.pb-c.h"
#include "codec_test2.pb-c.h"
#include "testutil.h"

#define ITEM (&skycodec__item__descriptor)

/* m packed by protobuf-c, written as JSON: the text (caller frees). */
static char *json_of(const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m), n;
    uint8_t *buf = malloc(len + 1);
    protobuf_c_message_pack(m, buf);
    char *json, err[256];
    int rc = sky__pbjson_from_pb(m->descriptor, buf, len, &json, &n, err, sizeof err);
    free(buf);
    ck_assert_msg(rc == 0, "from_pb: %d %s", rc, err);
    ck_assert_uint_eq(n, strlen(json));
    return json;
}

/* text read as JSON for d, unpacked by protobuf-c (caller frees). */
static ProtobufCMessage *message_of(const ProtobufCMessageDescriptor *d, const char *text)
{
    uint8_t *buf;
    size_t len;
    char err[256];
    int rc = sky__pbjson_to_pb(d, text, strlen(text), &buf, &len, err, sizeof err);
    ck_assert_msg(rc == 0, "to_pb(%s): %d %s", text, rc, err);
    ck_assert_ptr_nonnull(buf);
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, buf);
    sky_free(buf);
    ck_assert_ptr_nonnull(m);
    return m;
}

/* text read and written again: the text the mapping writes for it. */
static void rewrites_as(const ProtobufCMessageDescriptor *d, const char *text, const char *want)
{
    ProtobufCMessage *m = message_of(d, text);
    char *json = json_of(m);
    ck_assert_str_eq(json, want);
    sky_free(json);
    protobuf_c_message_free_unpacked(m, NULL);
}

static void refused(const ProtobufCMessageDescriptor *d, const char *text, const char *want)
{
    uint8_t *buf = (uint8_t *)"x";
    size_t len = 7;
    char err[256];
    int rc = sky__pbjson_to_pb(d, text, strlen(text), &buf, &len, err, sizeof err);
    ck_assert_int_eq(rc, SKY_EINVAL);
    ck_assert_ptr_null(buf);
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq(err, want);
}

/* ---- bytes -> JSON: the exact texts ------------------------------------ */

START_TEST(item_exact_text)
{
    Skycodec__Price price = SKYCODEC__PRICE__INIT, p1 = SKYCODEC__PRICE__INIT;
    price.units = -5;
    price.currency = "EUR";
    p1.nanos = 7;
    Skycodec__Price *prices[] = {&p1};
    int32_t nums[] = {1, -2};
    char *tags[] = {"a\"b", "t\n\x01"};
    Skycodec__Color colors[] = {SKYCODEC__COLOR__COLOR_RED, (Skycodec__Color)9};
    uint8_t raw[] = {0xfb, 0xff, 0x00, 'x'};
    Skycodec__Item it = SKYCODEC__ITEM__INIT;
    it.i32 = -1;
    it.s32 = -2;
    it.sf32 = -3;
    it.u32 = 4000000000u;
    it.f32 = 5;
    it.i64 = 9007199254740993; /* 2^53 + 1: a double would lose it */
    it.s64 = INT64_MIN;
    it.sf64 = -8;
    it.u64 = UINT64_MAX;
    it.f64 = 10;
    it.fl = 1.1f;
    it.db = 0.1;
    it.ok = 1;
    it.name = "h\xc3\xa9llo";
    it.data = (ProtobufCBinaryData){sizeof raw, raw};
    it.color = SKYCODEC__COLOR__COLOR_NEG;
    it.price = &price;
    it.n_nums = 2;
    it.nums = nums;
    it.n_tags = 2;
    it.tags = tags;
    it.n_prices = 1;
    it.prices = prices;
    it.n_colors = 2;
    it.colors = colors;
    it.choice_case = SKYCODEC__ITEM__CHOICE_NUMBER;
    it.number = 0; /* a set oneof member is written at its default too */
    char *json = json_of(&it.base);
    ck_assert_str_eq(json, "{\"i32\":-1,\"s32\":-2,\"sf32\":-3,\"u32\":4000000000,\"f32\":5,"
                           "\"i64\":\"9007199254740993\",\"s64\":\"-9223372036854775808\",\"sf64\":\"-8\","
                           "\"u64\":\"18446744073709551615\",\"f64\":\"10\",\"fl\":1.1,\"db\":0.1,\"ok\":true,"
                           "\"name\":\"h\xc3\xa9llo\",\"data\":\"+/8AeA==\",\"color\":\"COLOR_NEG\","
                           "\"price\":{\"units\":\"-5\",\"currency\":\"EUR\"},\"nums\":[1,-2],"
                           "\"tags\":[\"a\\\"b\",\"t\\n\\u0001\"],\"prices\":[{\"nanos\":7}],"
                           "\"colors\":[\"COLOR_RED\",9],\"number\":0}");
    sky_free(json);
}
END_TEST

START_TEST(defaults_left_out)
{
    Skycodec__Item it = SKYCODEC__ITEM__INIT;
    char *json = json_of(&it.base);
    ck_assert_str_eq(json, "{}");
    sky_free(json);
    /* proto3 optional: presence, so 0 and "" are written */
    it._maybe_case = SKYCODEC__ITEM___MAYBE_MAYBE;
    it._maybe_name_case = SKYCODEC__ITEM___MAYBE_NAME_MAYBE_NAME;
    it.maybe_name = "";
    json = json_of(&it.base);
    ck_assert_str_eq(json, "{\"maybe\":0,\"maybeName\":\"\"}");
    sky_free(json);
}
END_TEST

START_TEST(reals)
{
    Skycodec__Item it = SKYCODEC__ITEM__INIT;
    double db[] = {NAN, INFINITY, -INFINITY, 1e300, 5e-324, 123456789.125};
    const char *want[] = {"\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "1e+300", "5e-324",
                          "123456789.125"};
    for (int i = 0; i < 6; i++) {
        it.db = db[i];
        char *json = json_of(&it.base), expect[128];
        snprintf(expect, sizeof expect, "{\"db\":%s}", want[i]);
        ck_assert_str_eq(json, expect);
        sky_free(json);
    }
    it.db = 0;
    it.fl = 3.4028234663852886e38f; /* FLT_MAX: its shortest text reads back */
    char *json = json_of(&it.base);
    ck_assert_str_eq(json, "{\"fl\":3.4028235e+38}");
    rewrites_as(ITEM, json, "{\"fl\":3.4028235e+38}");
    sky_free(json);
    rewrites_as(ITEM, "{\"fl\":\"-Infinity\",\"db\":\"NaN\"}", "{\"fl\":\"-Infinity\",\"db\":\"NaN\"}");
    rewrites_as(ITEM, "{\"fl\":\"2.5\",\"db\":1}", "{\"fl\":2.5,\"db\":1}");
    /* -0.0 has bits set: written, as protobuf does (protobuf-c packs no
     * -0.0, so these bytes are made by hand: db (12), 64-bit) */
    size_t n;
    char err[256];
    ck_assert_int_eq(sky__pbjson_from_pb(ITEM, "\x61\0\0\0\0\0\0\0\x80", 9, &json, &n, err, sizeof err), 0);
    ck_assert_str_eq(json, "{\"db\":-0}");
    sky_free(json);
}
END_TEST

START_TEST(maps_as_objects)
{
    rewrites_as(ITEM,
                "{\"counts\":{\"b\":\"2\",\"a\":-1},\"byId\":{\"-7\":{\"units\":\"3\"},\"8\":{}},"
                "\"byU64\":{\"18446744073709551615\":\"max\"},\"flags\":{\"true\":1,\"false\":0}}",
                "{\"counts\":{\"b\":\"2\",\"a\":\"-1\"},\"byId\":{\"-7\":{\"units\":\"3\"},\"8\":{}},"
                "\"byU64\":{\"18446744073709551615\":\"max\"},\"flags\":{\"true\":1,\"false\":0}}");
    /* a key twice on the wire: the last value, written once */
    Skycodec__Item__CountsEntry e1 = SKYCODEC__ITEM__COUNTS_ENTRY__INIT, e2 = e1, e3 = e1;
    e1.key = "k";
    e1.value = 1;
    e2.key = "j";
    e2.value = 2;
    e3.key = "k";
    e3.value = 3;
    Skycodec__Item__CountsEntry *es[] = {&e1, &e2, &e3};
    Skycodec__Item it = SKYCODEC__ITEM__INIT;
    it.n_counts = 3;
    it.counts = es;
    char *json = json_of(&it.base);
    ck_assert_str_eq(json, "{\"counts\":{\"j\":\"2\",\"k\":\"3\"}}");
    sky_free(json);
}
END_TEST

/* ---- JSON -> bytes: what is accepted ----------------------------------- */

START_TEST(accepted_forms)
{
    /* original names, 64-bit integers as numbers, integers as strings and
     * as numbers without a fraction, enums by number, null as the default */
    rewrites_as(ITEM,
                "{\"i64\": 9007199254740993, \"u32\": \"4000000000\", \"s32\": -2.0, \"sf64\": 1e3,"
                " \"maybe_name\": \"m\", \"by_id\": {}, \"color\": -3, \"colors\": [2, \"COLOR_RED\"],"
                " \"name\": null, \"price\": null, \"nums\": null, \"u64\": \"18446744073709551615\"}",
                "{\"s32\":-2,\"u32\":4000000000,\"i64\":\"9007199254740993\",\"sf64\":\"1000\","
                "\"u64\":\"18446744073709551615\",\"color\":\"COLOR_NEG\","
                "\"colors\":[\"COLOR_BLUE\",\"COLOR_RED\"],\"maybeName\":\"m\"}");
    /* base64: standard and URL-safe, padded or not */
    const char *b64[] = {"+/8AeA==", "-_8AeA==", "-_8AeA", "+/8AeA"};
    for (int i = 0; i < 4; i++) {
        char text[64];
        snprintf(text, sizeof text, "{\"data\":\"%s\"}", b64[i]);
        rewrites_as(ITEM, text, "{\"data\":\"+/8AeA==\"}");
    }
    rewrites_as(ITEM, "{\"blobs\":[\"\",\"YQ\",\"YWI=\",\"YWJj\"]}", "{\"blobs\":[\"\",\"YQ==\",\"YWI=\",\"YWJj\"]}");
    /* oneofs: a message member; null for one member beside another */
    rewrites_as(ITEM, "{\"text\":null,\"cost\":{\"nanos\":1}}", "{\"cost\":{\"nanos\":1}}");
    rewrites_as(ITEM, "{\"text\":\"\"}", "{\"text\":\"\"}");
}
END_TEST

START_TEST(round_trips)
{
    /* every field kind, bytes -> JSON -> bytes: the same bytes */
    const char *text =
        "{\"i32\":2147483647,\"s32\":-2147483648,\"sf32\":1,\"u32\":4294967295,\"f32\":4294967295,"
        "\"i64\":\"9223372036854775807\",\"s64\":\"-1\",\"sf64\":\"-9223372036854775808\","
        "\"u64\":\"1\",\"f64\":\"18446744073709551615\",\"fl\":-1.5,\"db\":2.718281828459045,"
        "\"ok\":true,\"name\":\"\\u00e9\\ud83d\\ude00\",\"data\":\"AAEC\",\"color\":\"COLOR_BLUE\","
        "\"price\":{},\"nums\":[0,0],\"tags\":[\"\",\"x\"],\"prices\":[{},{\"units\":\"1\"}],"
        "\"colors\":[\"COLOR_NONE\"],\"counts\":{\"\":\"0\"},\"byId\":{\"0\":{}},\"text\":\"t\","
        "\"maybe\":-1,\"maybeName\":\"\",\"blobs\":[\"\"],\"byU64\":{\"0\":\"\"},\"flags\":{\"false\":-1}}";
    ProtobufCMessage *m = message_of(ITEM, text);
    char *json = json_of(m);
    ck_assert_str_eq(json,
                     "{\"i32\":2147483647,\"s32\":-2147483648,\"sf32\":1,\"u32\":4294967295,\"f32\":4294967295,"
                     "\"i64\":\"9223372036854775807\",\"s64\":\"-1\",\"sf64\":\"-9223372036854775808\","
                     "\"u64\":\"1\",\"f64\":\"18446744073709551615\",\"fl\":-1.5,\"db\":2.718281828459045,"
                     "\"ok\":true,\"name\":\"\xc3\xa9\xf0\x9f\x98\x80\",\"data\":\"AAEC\",\"color\":\"COLOR_BLUE\","
                     "\"price\":{},\"nums\":[0,0],\"tags\":[\"\",\"x\"],\"prices\":[{},{\"units\":\"1\"}],"
                     "\"colors\":[\"COLOR_NONE\"],\"counts\":{\"\":\"0\"},\"byId\":{\"0\":{}},\"text\":\"t\","
                     "\"maybe\":-1,\"maybeName\":\"\",\"blobs\":[\"\"],\"byU64\":{\"0\":\"\"},\"flags\":{\"false\":-1}}");
    /* and the bytes it packs to come back from that text */
    size_t len = protobuf_c_message_get_packed_size(m), len2;
    uint8_t *a = malloc(len), *b;
    protobuf_c_message_pack(m, a);
    char err[256];
    ck_assert_int_eq(sky__pbjson_to_pb(ITEM, json, strlen(json), &b, &len2, err, sizeof err), 0);
    ck_assert_uint_eq(len, len2);
    ck_assert_mem_eq(a, b, len);
    free(a);
    sky_free(b);
    sky_free(json);
    protobuf_c_message_free_unpacked(m, NULL);
}
END_TEST

START_TEST(proto2_presence)
{
    const ProtobufCMessageDescriptor *d = &skycodec2__defaults__descriptor;
    /* set fields are written even at their defaults; unset ones are not */
    rewrites_as(d, "{\"req\":0,\"a\":42,\"s\":\"hello\",\"level\":\"LEVEL_HIGH\"}",
                "{\"a\":42,\"s\":\"hello\",\"level\":\"LEVEL_HIGH\",\"req\":0}");
    rewrites_as(d, "{\"req\":1,\"child\":{\"req\":2,\"raw\":\"\"}}", "{\"req\":1,\"child\":{\"raw\":\"\",\"req\":2}}");
    rewrites_as(&skycodec2__order__descriptor, "{\"id\":\"5\",\"lines\":[{\"sku\":\"a\"}],\"gift\":{\"sku\":\"\"}}",
                "{\"id\":\"5\",\"lines\":[{\"sku\":\"a\"}],\"gift\":{\"sku\":\"\"}}");
}
END_TEST

/* A Tree `levels` messages below the root, as JSON text (caller frees). */
static char *tree_text(int levels)
{
    char *s = malloc((size_t)levels * 11 + 3), *p = s;
    for (int i = 0; i < levels; i++) p += sprintf(p, "{\"child\":");
    p += sprintf(p, "{}");
    for (int i = 0; i < levels; i++) *p++ = '}';
    *p = '\0';
    return s;
}

START_TEST(nesting_bounded)
{
    const ProtobufCMessageDescriptor *d = &skycodec__tree__descriptor;
    uint8_t *buf;
    size_t len, n;
    char err[256], *json;
    char *text = tree_text(SKY_PB_MAX_DEPTH);
    ck_assert_int_eq(sky__pbjson_to_pb(d, text, strlen(text), &buf, &len, err, sizeof err), 0);
    ck_assert_int_eq(sky__pbjson_from_pb(d, buf, len, &json, &n, err, sizeof err), 0);
    ck_assert_str_eq(json, text);
    sky_free(json);
    sky_free(buf);
    free(text);
    text = tree_text(SKY_PB_MAX_DEPTH + 1);
    ck_assert_int_eq(sky__pbjson_to_pb(d, text, strlen(text), &buf, &len, err, sizeof err), SKY_EINVAL);
    ck_assert_ptr_null(buf);
    ck_assert_str_eq(err, "field 'child.child.child.child.child.child.child.child.child.child.....child.child.child"
                          ".child.child.child.child.child.child.child.child.child.child.child.child': "
                          "messages nested deeper than 100");
    free(text);
    /* and the bytes of a tree one level deeper than the limit */
    Skycodec__Tree t[SKY_PB_MAX_DEPTH + 2];
    for (int i = 0; i < SKY_PB_MAX_DEPTH + 2; i++) {
        skycodec__tree__init(&t[i]);
        if (i) t[i - 1].child = &t[i];
    }
    len = protobuf_c_message_get_packed_size(&t[0].base);
    buf = malloc(len);
    protobuf_c_message_pack(&t[0].base, buf);
    ck_assert_int_eq(sky__pbjson_from_pb(d, buf, len, &json, &n, err, sizeof err), SKY_EBADMSG);
    ck_assert_ptr_null(json);
    ck_assert_str_eq(err, "messages nested deeper than 100");
    free(buf);
    len = protobuf_c_message_get_packed_size(&t[1].base);
    buf = malloc(len);
    protobuf_c_message_pack(&t[1].base, buf);
    ck_assert_int_eq(sky__pbjson_from_pb(d, buf, len, &json, &n, err, sizeof err), 0);
    free(buf);
    sky_free(json);
}
END_TEST

/* ---- refusals ---------------------------------------------------------- */

START_TEST(json_refused)
{
    refused(ITEM, "{\"i32\": }", "JSON syntax error at line 1, column 9: unexpected token near '}'");
    refused(ITEM, "{\"i32\": 1,\n \"i32\": 2}",
            "JSON syntax error at line 2, column 6: duplicate object key near '\"i32\"'");
    refused(ITEM, "{\"u64\": 18446744073709551615}",
            "JSON syntax error at line 1, column 28: too big integer near '18446744073709551615'");
    refused(ITEM, "{\"name\": \"a\\u0000b\"}",
            "JSON syntax error at line 1, column 19: \\u0000 is not allowed without JSON_ALLOW_NUL near '\"a\\u0000b\"'");
    refused(ITEM, "[1]", "expected an object for skycodec.Item, got array");
    refused(ITEM, "{\"nope\": 1}", "field 'nope': no such field in skycodec.Item");
    refused(ITEM, "{\"price\": {\"Units\": 1}}", "field 'price.Units': no such field in skycodec.Price");
    refused(ITEM, "{\"maybe_name\": \"a\", \"maybeName\": \"b\"}",
            "field 'maybeName': field maybe_name given twice (by both of its names)");
    refused(ITEM, "{\"text\": \"a\", \"number\": 1}", "field 'number': text is set too: both are in one oneof");
    refused(ITEM, "{\"prices\": [{}, {}, {\"nanos\": \"x\"}]}",
            "field 'prices[2].nanos': expected integer, got string \"x\"");
    refused(ITEM, "{\"i32\": 2147483648}", "field 'i32': integer 2147483648 out of range for int32");
    refused(ITEM, "{\"u32\": -1}", "field 'u32': integer -1 out of range for uint32");
    refused(ITEM, "{\"u64\": \"-1\"}", "field 'u64': expected integer, got string \"-1\"");
    refused(ITEM, "{\"u64\": \"18446744073709551616\"}",
            "field 'u64': integer 18446744073709551616 out of range for uint64");
    refused(ITEM, "{\"i64\": 1.5}", "field 'i64': expected integer, got number 1.5");
    refused(ITEM, "{\"i64\": 1e19}", "field 'i64': number 1e+19 out of range for int64");
    refused(ITEM, "{\"i64\": \" 1\"}", "field 'i64': expected integer, got string \" 1\"");
    refused(ITEM, "{\"fl\": 1e39}", "field 'fl': number 1e+39 out of range for float");
    refused(ITEM, "{\"db\": \"inf\"}", "field 'db': expected number, got string \"inf\"");
    refused(ITEM, "{\"ok\": 1}", "field 'ok': expected true or false, got integer 1");
    refused(ITEM, "{\"name\": 1}", "field 'name': expected string, got integer 1");
    refused(ITEM, "{\"data\": \"a*==\"}", "field 'data': expected base64 string, got string \"a*==\"");
    refused(ITEM, "{\"data\": \"abcde\"}", "field 'data': expected base64 string, got string \"abcde\"");
    refused(ITEM, "{\"color\": \"RED\"}", "field 'color': string \"RED\" is not a value of skycodec.Color");
    refused(ITEM, "{\"color\": true}", "field 'color': expected enum name or number, got true");
    refused(ITEM, "{\"price\": []}", "field 'price': expected object, got array");
    refused(ITEM, "{\"nums\": {}}", "field 'nums': expected array, got object");
    refused(ITEM, "{\"nums\": [1, null]}", "field 'nums[1]': expected a value, got null");
    refused(ITEM, "{\"counts\": []}", "field 'counts': expected object, got array");
    refused(ITEM, "{\"byId\": {\"x\": {}}}", "field 'byId[\"x\"]': expected integer, got string \"x\"");
    refused(ITEM, "{\"flags\": {\"yes\": 1}}", "field 'flags[\"yes\"]': map key is not true or false");
    refused(ITEM, "{\"counts\": {\"a\": null}}", "field 'counts[\"a\"]': map value is null");
    refused(ITEM, "{\"byId\": {\"1\": {\"units\": {}}}}",
            "field 'byId[\"1\"].units': expected integer, got object");
    refused(&skycodec2__order__descriptor, "{\"lines\": [{\"qty\": 1}]}",
            "field 'lines[0]': required field sku of skycodec2.Line missing");
    refused(&skycodec2__order__descriptor, "{}", "required field id of skycodec2.Order missing");
    /* past the size limit: refused before parsing */
    size_t big = SKY_PBJSON_MAX_TEXT + 1;
    char *text = malloc(big + 1);
    memset(text, ' ', big);
    text[big] = '\0';
    uint8_t *buf;
    size_t len;
    char err[256];
    ck_assert_int_eq(sky__pbjson_to_pb(ITEM, text, big, &buf, &len, err, sizeof err), SKY_EINVAL);
    ck_assert_str_eq(err, "JSON text of 16777217 bytes is over the limit of 16777216");
    free(text);
}
END_TEST

START_TEST(bytes_refused)
{
    char *json, err[256];
    size_t n;
    ck_assert_int_eq(sky__pbjson_from_pb(ITEM, "\xff", 1, &json, &n, err, sizeof err), SKY_EBADMSG);
    ck_assert_ptr_null(json);
    ck_assert_str_eq(err, "bytes do not decode as skycodec.Item");
    /* name (14) = "a\0b" */
    ck_assert_int_eq(sky__pbjson_from_pb(ITEM, "\x72\x03" "a\0b", 5, &json, &n, err, sizeof err), SKY_EBADMSG);
    ck_assert_str_eq(err, "skycodec.Item.name: string contains a NUL byte");
    /* prices[1].currency: not UTF-8 */
    ck_assert_int_eq(sky__pbjson_from_pb(ITEM, "\xa2\x01\x00\xa2\x01\x03\x1a\x01\xc3", 9, &json, &n, err, sizeof err),
                     SKY_EBADMSG);
    ck_assert_ptr_null(json);
    ck_assert_str_eq(err, "field 'prices[1].currency': string is not valid UTF-8");
    /* counts["\xed\xa0\x80"]: a surrogate is not UTF-8 either */
    ck_assert_int_eq(sky__pbjson_from_pb(ITEM, "\xb2\x01\x05\x0a\x03\xed\xa0\x80", 8, &json, &n, err, sizeof err),
                     SKY_EBADMSG);
    ck_assert_str_eq(err, "field 'counts[\"\xed\xa0\x80\"]': string is not valid UTF-8");
    /* an empty message is "{}" */
    ck_assert_int_eq(sky__pbjson_from_pb(ITEM, "", 0, &json, &n, err, sizeof err), 0);
    ck_assert_str_eq(json, "{}");
    sky_free(json);
}
END_TEST

Suite *pbjson_suite(void)
{
    Suite *s = suite_create("pbjson");
    TCase *tc = tu_tcase("to_json");
    tcase_add_test(tc, item_exact_text);
    tcase_add_test(tc, defaults_left_out);
    tcase_add_test(tc, reals);
    tcase_add_test(tc, maps_as_objects);
    suite_add_tcase(s, tc);
    tc = tu_tcase("from_json");
    tcase_add_test(tc, accepted_forms);
    tcase_add_test(tc, round_trips);
    tcase_add_test(tc, proto2_presence);
    tcase_add_test(tc, nesting_bounded);
    suite_add_tcase(s, tc);
    tc = tu_tcase("refused");
    tcase_add_test(tc, json_refused);
    tcase_add_test(tc, bytes_refused);
    suite_add_tcase(s, tc);
    return s;
}

/* The Lua table <-> protobuf codec (runtime/lua/codec.c) on a real
 * lua_State, with the schemas of codec_test.proto (proto3, every field
 * kind) and codec_test2.proto (proto2 defaults), compiled by the tree's
 * skyc: round trips of every type, bytes cross-checked against protobuf-c's
 * own pack and unpack both ways, and every error with its exact message. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>
#include "schema/pbdepth.h"
#include "lua/codec.h"
#include "lua/wire.h"
#include "sky/typed.h"
#include "codec_test.pb-c.h"
#include "codec_test2.pb-c.h"
#include "testutil.h"

/* Deep equality (integers and floats kept apart) and a table dump for
 * failure messages, available to every chunk. */
static const char PRELUDE[] =
    "function deq(a, b)\n"
    "  if type(a) ~= type(b) then return false end\n"
    "  if type(a) == 'number' then\n"
    "    return math.type(a) == math.type(b) and a == b end\n"
    "  if type(a) ~= 'table' then return a == b end\n"
    "  for k, v in pairs(a) do if not deq(v, b[k]) then return false end end\n"
    "  for k in pairs(b) do if a[k] == nil then return false end end\n"
    "  return true\n"
    "end\n"
    "function dump(v)\n"
    "  if type(v) == 'string' then return string.format('%q', v) end\n"
    "  if type(v) ~= 'table' then return tostring(v) end\n"
    "  local keys = {}\n"
    "  for k in pairs(v) do keys[#keys + 1] = k end\n"
    "  table.sort(keys, function(x, y) return tostring(x) < tostring(y) end)\n"
    "  local out = {}\n"
    "  for _, k in ipairs(keys) do out[#out + 1] = tostring(k) .. '=' .. dump(v[k]) end\n"
    "  return '{' .. table.concat(out, ', ') .. '}'\n"
    "end\n"
    "function same(a, b)\n"
    "  assert(deq(a, b), dump(a) .. ' ~= ' .. dump(b))\n"
    "end\n"
    "function rt(name, t)\n"
    "  return codec.decode(name, codec.encode(name, t))\n"
    "end\n";

static lua_State *new_lua(void)
{
    lua_State *L = luaL_newstate();
    ck_assert_ptr_nonnull(L);
    luaL_openlibs(L);
    sky__luaopen_codec(L);
    lua_setglobal(L, "codec");
    ck_assert_int_eq(luaL_dostring(L, PRELUDE), 0);
    return L;
}

/* Runs `code`; fails the test with Lua's message if it raised. */
static void run(lua_State *L, const char *code)
{
    if (luaL_dostring(L, code) != 0)
        ck_abort_msg("lua: %s", lua_tostring(L, -1));
    lua_settop(L, 0);
}

/* Runs `code`, which must raise; checks the error message. */
static void raises(lua_State *L, const char *code, const char *want)
{
    ck_assert_int_eq(luaL_loadstring(L, code), 0);
    int rc = lua_pcall(L, 0, 0, 0);
    ck_assert_msg(rc != 0, "no error from: %s", code);
    ck_assert_str_eq(lua_tostring(L, -1), want);
    lua_settop(L, 0);
}

/* encode(name, <expr>) through the C API; checks rc and the message. */
static void encode_fails(lua_State *L, const char *name, const char *expr,
                         const char *want)
{
    char chunk[2048];
    snprintf(chunk, sizeof chunk, "return %s", expr);
    ck_assert_int_eq(luaL_dostring(L, chunk), 0);
    int top = lua_gettop(L);
    void *buf = (void *)1;
    size_t len = 1;
    int rc = sky__lua_encode(L, -1, sky_schema_message(name), &buf, &len);
    ck_assert_int_eq(rc, SKY_EINVAL);
    ck_assert_ptr_null(buf);
    ck_assert_int_eq(lua_gettop(L), top + 1);
    ck_assert_str_eq(lua_tostring(L, -1), want);
    lua_settop(L, 0);
}

/* Decoding `len` bytes as `d` fails with SKY_EBADMSG and message `want`. */
static void decode_fails(lua_State *L, const ProtobufCMessageDescriptor *d,
                         const char *bytes, size_t len, const char *want)
{
    int rc = sky__lua_decode(L, d, bytes, len);
    ck_assert_msg(rc == SKY_EBADMSG, "%s: rc %d", want, rc);
    ck_assert_int_eq(lua_gettop(L), 1);
    ck_assert_str_eq(lua_tostring(L, -1), want);
    lua_settop(L, 0);
}

/* ---- round trips -------------------------------------------------------- */

START_TEST(scalars_round_trip)
{
    lua_State *L = new_lua();
    run(L,
        "local t = { i32 = -2147483648, s32 = -7, sf32 = 2147483647,\n"
        "  u32 = 4294967295, f32 = 123, i64 = math.mininteger,\n"
        "  s64 = math.maxinteger, sf64 = math.mininteger, u64 = -1,\n"
        "  f64 = math.mininteger, fl = 1.5, db = -0.1, ok = true,\n"
        "  name = 'héllo', data = 'a\\0b\\255', color = 'COLOR_BLUE' }\n"
        "local d = rt('skycodec.Item', t)\n"
        "for k, v in pairs(t) do same(d[k], v) end\n"
        "same(d.u64, -1)  -- uint64 max: the same bits\n"
        "assert(math.type(d.fl) == 'float' and math.type(d.i64) == 'integer')\n"
        "d = rt('skycodec.Item', { i64 = math.maxinteger, s64 = math.mininteger,\n"
        "  sf64 = math.maxinteger, u64 = math.mininteger, f64 = -1, i32 = 2147483647,\n"
        "  s32 = -2147483648, sf32 = -2147483648, u32 = 0 })\n"
        "same(d.i64, math.maxinteger); same(d.s64, math.mininteger)\n"
        "same(d.sf64, math.maxinteger); same(d.u64, math.mininteger)\n"
        "same(d.f64, -1); same(d.s32, -2147483648); same(d.sf32, -2147483648)\n"
        "-- integral floats are accepted for integer fields\n"
        "same(rt('skycodec.Item', { i32 = 3.0 }).i32, 3)\n"
        "-- integers for float fields\n"
        "same(rt('skycodec.Item', { db = 3 }).db, 3.0)\n");
    lua_close(L);
}
END_TEST

START_TEST(proto3_zero_values)
{
    lua_State *L = new_lua();
    run(L,
        "local d = rt('skycodec.Item', {})\n"
        "same(d, { i32 = 0, s32 = 0, sf32 = 0, u32 = 0, f32 = 0, i64 = 0, s64 = 0,\n"
        "  sf64 = 0, u64 = 0, f64 = 0, fl = 0.0, db = 0.0, ok = false, name = '',\n"
        "  data = '', color = 'COLOR_NONE', nums = {}, tags = {}, prices = {},\n"
        "  colors = {}, counts = {}, by_id = {}, blobs = {}, by_u64 = {}, flags = {} })\n"
        "assert(codec.encode('skycodec.Item', {}) == '')\n"
        "d = rt('skycodec.Item', { name = '', data = '' })\n"
        "same(d.name, ''); same(d.data, '')\n");
    lua_close(L);
}
END_TEST

START_TEST(enums)
{
    lua_State *L = new_lua();
    run(L,
        "same(rt('skycodec.Item', { color = 'COLOR_NEG' }).color, 'COLOR_NEG')\n"
        "same(rt('skycodec.Item', { color = -3 }).color, 'COLOR_NEG')\n"
        "same(rt('skycodec.Item', { color = 1 }).color, 'COLOR_RED')\n"
        "-- an unknown number stays a number (proto3 enums are open)\n"
        "same(rt('skycodec.Item', { color = 77 }).color, 77)\n"
        "same(rt('skycodec.Item', { color = -2147483648 }).color, -2147483648)\n"
        "same(rt('skycodec.Item', { colors = { 'COLOR_RED', -3, 9 } }).colors,\n"
        "  { 'COLOR_RED', 'COLOR_NEG', 9 })\n");
    lua_close(L);
}
END_TEST

START_TEST(nested_repeated_maps)
{
    lua_State *L = new_lua();
    run(L,
        "local t = { price = { units = math.maxinteger, nanos = -5, currency = 'EUR' },\n"
        "  nums = { 1, -2, 2147483647 }, tags = { 'a', '', 'c' },\n"
        "  prices = { { units = 1 }, { currency = 'X' }, {} },\n"
        "  counts = { a = 1, [''] = math.mininteger, zz = 0 },\n"
        "  by_id = { [-1] = { units = 5 }, [7] = {} },\n"
        "  blobs = { '', '\\0', 'x\\0y' } }\n"
        "local d = rt('skycodec.Item', t)\n"
        "same(d.price, { units = math.maxinteger, nanos = -5, currency = 'EUR' })\n"
        "same(d.nums, t.nums); same(d.tags, t.tags); same(d.blobs, t.blobs)\n"
        "same(d.prices, { { units = 1, nanos = 0, currency = '' },\n"
        "  { units = 0, nanos = 0, currency = 'X' }, { units = 0, nanos = 0, currency = '' } })\n"
        "same(d.counts, t.counts)\n"
        "same(d.by_id, { [-1] = { units = 5, nanos = 0, currency = '' },\n"
        "  [7] = { units = 0, nanos = 0, currency = '' } })\n"
        "-- an absent message field is nil, an empty one a table\n"
        "assert(rt('skycodec.Item', {}).price == nil)\n"
        "same(rt('skycodec.Item', { price = {} }).price, { units = 0, nanos = 0, currency = '' })\n");
    lua_close(L);
}
END_TEST

START_TEST(oneofs_and_optional)
{
    lua_State *L = new_lua();
    run(L,
        "local d = rt('skycodec.Item', {})\n"
        "assert(d.text == nil and d.number == nil and d.cost == nil)\n"
        "assert(d.maybe == nil and d.maybe_name == nil)\n"
        "d = rt('skycodec.Item', { number = 0, maybe = 0, maybe_name = '' })\n"
        "same(d.number, 0); same(d.maybe, 0); same(d.maybe_name, '')\n"
        "assert(d.text == nil and d.cost == nil)\n"
        "d = rt('skycodec.Item', { text = '' })\n"
        "same(d.text, ''); assert(d.number == nil)\n"
        "d = rt('skycodec.Item', { cost = { units = 3 } })\n"
        "same(d.cost, { units = 3, nanos = 0, currency = '' })\n");
    lua_close(L);
}
END_TEST

START_TEST(proto2_defaults)
{
    lua_State *L = new_lua();
    run(L,
        "local d = rt('skycodec2.Defaults', { req = 1 })\n"
        "same(d, { a = 42, s = 'hello', level = 'LEVEL_HIGH', d = 2.5, b = true,\n"
        "  big = -1, raw = 'x\\1y', plain = 0, req = 1 })\n"
        "d = rt('skycodec2.Defaults', { a = 0, s = '', level = 'LEVEL_LOW', d = 0,\n"
        "  b = false, big = 0, raw = '', plain = 5, req = 2, child = { req = 3 } })\n"
        "same(d, { a = 0, s = '', level = 'LEVEL_LOW', d = 0.0, b = false, big = 0,\n"
        "  raw = '', plain = 5, req = 2, child = { a = 42, s = 'hello',\n"
        "  level = 'LEVEL_HIGH', d = 2.5, b = true, big = -1, raw = 'x\\1y',\n"
        "  plain = 0, req = 3 } })\n");
    lua_close(L);
}
END_TEST

/* The same map, filled in different orders (and so traversed by lua_next
 * in different orders), packs to the same bytes: entries sorted by key. */
START_TEST(maps_sorted_by_key)
{
    lua_State *L = new_lua();
    run(L,
        "local function fill(lo, hi, step)\n"
        "  local t = { counts = {}, by_id = {}, by_u64 = {}, flags = {} }\n"
        "  for i = lo, hi, step do\n"
        "    t.counts['k' .. i] = i; t.by_id[i - 100] = { units = i }\n"
        "    t.by_u64[i * 0x0100000000000000] = 's' .. i\n"
        "  end\n"
        "  if step > 0 then t.flags[false] = 0; t.flags[true] = 1\n"
        "  else t.flags[true] = 1; t.flags[false] = 0 end\n"
        "  return t\n"
        "end\n"
        "local up = fill(1, 200, 1)\n"
        "local down = fill(200, 1, -1)\n"
        "local churned = fill(1, 200, 1)\n"
        "for i = 1, 500 do churned.counts['x' .. i] = i end\n"
        "for i = 1, 500 do churned.counts['x' .. i] = nil end\n"
        "wire = codec.encode('skycodec.Item', up)\n"
        "assert(codec.encode('skycodec.Item', down) == wire, 'down')\n"
        "assert(codec.encode('skycodec.Item', churned) == wire, 'churned')\n");
    lua_getglobal(L, "wire");
    size_t len;
    const char *w = lua_tolstring(L, -1, &len);
    Skycodec__Item *m = skycodec__item__unpack(NULL, len, (const uint8_t *)w);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(m->n_counts, 200);
    for (size_t i = 1; i < m->n_counts; i++) /* bytewise: k1 < k10 < k100 < k101 */
        ck_assert_int_lt(strcmp(m->counts[i - 1]->key, m->counts[i]->key), 0);
    ck_assert_str_eq(m->counts[0]->key, "k1");
    ck_assert_str_eq(m->counts[1]->key, "k10");
    ck_assert_uint_eq(m->n_by_id, 200);
    ck_assert_int_eq(m->by_id[0]->key, -99); /* numerically, negatives first */
    for (size_t i = 1; i < m->n_by_id; i++)
        ck_assert_int_lt(m->by_id[i - 1]->key, m->by_id[i]->key);
    ck_assert_uint_eq(m->n_by_u64, 200);
    for (size_t i = 1; i < m->n_by_u64; i++) /* unsigned: 2^63 and above last */
        ck_assert(m->by_u64[i - 1]->key < m->by_u64[i]->key);
    ck_assert_uint_eq(m->n_flags, 2);
    ck_assert(!m->flags[0]->key && m->flags[1]->key);
    skycodec__item__free_unpacked(m, NULL);
    lua_close(L);
}
END_TEST

/* protobuf-c drops a proto3 float or double equal to 0, -0.0 included;
 * the codec keeps the sign, as Google's implementations do. */
START_TEST(negative_zero_kept)
{
    lua_State *L = new_lua();
    ck_assert_int_eq(luaL_dostring(L,
        "return { fl = -0.0, db = -0.0, price = { units = 1 },\n"
        "  by_id = { [1] = {} } }"), 0);
    void *buf;
    size_t len;
    ck_assert_int_eq(sky__lua_encode(L, -1, &skycodec__item__descriptor, &buf, &len), 0);
    Skycodec__Item *m = skycodec__item__unpack(NULL, len, buf);
    ck_assert_ptr_nonnull(m);
    ck_assert(m->fl == 0 && signbit(m->fl));
    ck_assert(m->db == 0 && signbit(m->db));
    ck_assert(m->price->units == 1);
    skycodec__item__free_unpacked(m, NULL);
    free(buf);
    run(L,
        "local d = rt('skycodec.Item', { fl = -0.0, db = -0.0 })\n"
        "assert(1 / d.fl == -math.huge and 1 / d.db == -math.huge)\n"
        "d = rt('skycodec.Item', { fl = 0.0, db = 0.0 })\n"
        "assert(1 / d.fl == math.huge and 1 / d.db == math.huge)\n"
        "assert(codec.encode('skycodec.Item', { db = 0.0 }) == '')\n"
        "-- repeated and optional fields kept it already\n"
        "d = rt('skycodec2.Defaults', { req = 1, d = -0.0 })\n"
        "assert(1 / d.d == -math.huge)\n");
    lua_close(L);
}
END_TEST

START_TEST(required_fields)
{
    lua_State *L = new_lua();
    const char *O = "skycodec2.Order";
    encode_fails(L, O, "{}", "Order.id: required field missing");
    encode_fails(L, O, "{ lines = { { sku = 'a' } } }", "Order.id: required field missing");
    encode_fails(L, O, "{ id = 1, lines = { { sku = 'a' }, { qty = 2 } } }",
                 "Order.lines[2].sku: required field missing");
    encode_fails(L, O, "{ id = 1, gift = {} }", "Order.gift.sku: required field missing");
    encode_fails(L, "skycodec2.Defaults", "{ req = 1, child = { a = 1 } }",
                 "Defaults.child.req: required field missing");
    /* a type error is told before a missing field */
    encode_fails(L, O, "{ lines = 1 }", "Order.lines: expected table, got integer");
    run(L,
        "local d = rt('skycodec2.Order', { id = 0, lines = { { sku = '' } },\n"
        "  gift = { sku = 'g', qty = 0 } })\n"
        "same(d, { id = 0, lines = { { sku = '', qty = 0 } }, gift = { sku = 'g', qty = 0 } })\n");
    lua_close(L);
}
END_TEST

/* ---- cross-checks with protobuf-c's own pack/unpack ------------------- */

START_TEST(lua_bytes_unpack_in_c)
{
    lua_State *L = new_lua();
    ck_assert_int_eq(luaL_dostring(L,
        "return { i32 = -5, s32 = -2147483648, sf32 = 9, u32 = 4294967295,\n"
        "  f32 = 7, i64 = math.mininteger, s64 = -3, sf64 = math.maxinteger,\n"
        "  u64 = -1, f64 = math.mininteger, fl = 0.25, db = 1e300, ok = true,\n"
        "  name = 'n', data = 'a\\0b', color = 'COLOR_NEG',\n"
        "  price = { units = 10, currency = 'USD' }, nums = { 3, 4 },\n"
        "  tags = { 'x', '' }, prices = { { nanos = 1 } }, colors = { 2, 'COLOR_RED' },\n"
        "  counts = { k = -9 }, by_id = { [5] = { units = 6 } }, cost = { units = 8 },\n"
        "  maybe = 0, blobs = { '\\0\\0' } }"), 0);
    void *buf;
    size_t len;
    ck_assert_int_eq(sky__lua_encode(L, -1, &skycodec__item__descriptor, &buf, &len), 0);
    ck_assert_int_eq(lua_gettop(L), 1);
    Skycodec__Item *m = skycodec__item__unpack(NULL, len, buf);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m->i32, -5);
    ck_assert_int_eq(m->s32, INT32_MIN);
    ck_assert_int_eq(m->sf32, 9);
    ck_assert_uint_eq(m->u32, UINT32_MAX);
    ck_assert_uint_eq(m->f32, 7);
    ck_assert(m->i64 == INT64_MIN);
    ck_assert(m->s64 == -3);
    ck_assert(m->sf64 == INT64_MAX);
    ck_assert(m->u64 == UINT64_MAX);
    ck_assert(m->f64 == (uint64_t)1 << 63);
    ck_assert(m->fl == 0.25f);
    ck_assert(m->db == 1e300);
    ck_assert(m->ok);
    ck_assert_str_eq(m->name, "n");
    ck_assert_uint_eq(m->data.len, 3);
    ck_assert_mem_eq(m->data.data, "a\0b", 3);
    ck_assert_int_eq(m->color, SKYCODEC__COLOR__COLOR_NEG);
    ck_assert_ptr_nonnull(m->price);
    ck_assert(m->price->units == 10);
    ck_assert_str_eq(m->price->currency, "USD");
    ck_assert_uint_eq(m->n_nums, 2);
    ck_assert_int_eq(m->nums[0], 3);
    ck_assert_int_eq(m->nums[1], 4);
    ck_assert_uint_eq(m->n_tags, 2);
    ck_assert_str_eq(m->tags[0], "x");
    ck_assert_str_eq(m->tags[1], "");
    ck_assert_uint_eq(m->n_prices, 1);
    ck_assert_int_eq(m->prices[0]->nanos, 1);
    ck_assert_uint_eq(m->n_colors, 2);
    ck_assert_int_eq(m->colors[0], SKYCODEC__COLOR__COLOR_BLUE);
    ck_assert_int_eq(m->colors[1], SKYCODEC__COLOR__COLOR_RED);
    ck_assert_uint_eq(m->n_counts, 1);
    ck_assert_str_eq(m->counts[0]->key, "k");
    ck_assert(m->counts[0]->value == -9);
    ck_assert_uint_eq(m->n_by_id, 1);
    ck_assert_int_eq(m->by_id[0]->key, 5);
    ck_assert(m->by_id[0]->value->units == 6);
    ck_assert_int_eq(m->choice_case, SKYCODEC__ITEM__CHOICE_COST);
    ck_assert(m->cost->units == 8);
    ck_assert_int_eq(m->_maybe_case, SKYCODEC__ITEM___MAYBE_MAYBE);
    ck_assert_int_eq(m->maybe, 0);
    ck_assert_int_eq(m->_maybe_name_case, SKYCODEC__ITEM___MAYBE_NAME__NOT_SET);
    ck_assert_uint_eq(m->n_blobs, 1);
    ck_assert_uint_eq(m->blobs[0].len, 2);
    skycodec__item__free_unpacked(m, NULL);
    free(buf);
    lua_close(L);
}
END_TEST

START_TEST(c_bytes_decode_in_lua)
{
    Skycodec__Item m = SKYCODEC__ITEM__INIT;
    Skycodec__Price p = SKYCODEC__PRICE__INIT, q = SKYCODEC__PRICE__INIT;
    Skycodec__Price *ps[] = { &q };
    int32_t nums[] = { INT32_MIN, 0 };
    char *tags[] = { "t" };
    Skycodec__Color colors[] = { SKYCODEC__COLOR__COLOR_NEG, 42 };
    Skycodec__Item__CountsEntry ce = SKYCODEC__ITEM__COUNTS_ENTRY__INIT;
    Skycodec__Item__CountsEntry *ces[] = { &ce };
    Skycodec__Item__ByIdEntry be = SKYCODEC__ITEM__BY_ID_ENTRY__INIT;
    Skycodec__Item__ByIdEntry *bes[] = { &be };
    m.i32 = INT32_MAX;
    m.s32 = -1;
    m.sf32 = INT32_MIN;
    m.u32 = 3000000000u;
    m.f32 = UINT32_MAX;
    m.i64 = INT64_MIN;
    m.s64 = INT64_MAX;
    m.sf64 = -2;
    m.u64 = UINT64_MAX - 1;
    m.f64 = (uint64_t)1 << 63;
    m.fl = -3.5f;
    m.db = 0.1;
    m.ok = 1;
    m.name = "nm";
    m.data.len = 2;
    m.data.data = (uint8_t *)"\0\1";
    m.color = SKYCODEC__COLOR__COLOR_RED;
    p.units = -4;
    p.currency = "GBP";
    m.price = &p;
    q.nanos = 12;
    m.n_prices = 1;
    m.prices = ps;
    m.n_nums = 2;
    m.nums = nums;
    m.n_tags = 1;
    m.tags = tags;
    m.n_colors = 2;
    m.colors = colors;
    ce.key = "c";
    ce.value = INT64_MIN;
    m.n_counts = 1;
    m.counts = ces;
    be.key = -8;
    be.value = &q;
    m.n_by_id = 1;
    m.by_id = bes;
    m.choice_case = SKYCODEC__ITEM__CHOICE_TEXT;
    m.text = "tx";
    m._maybe_name_case = SKYCODEC__ITEM___MAYBE_NAME_MAYBE_NAME;
    m.maybe_name = "mn";
    size_t len = skycodec__item__get_packed_size(&m);
    uint8_t *buf = malloc(len);
    skycodec__item__pack(&m, buf);

    lua_State *L = new_lua();
    ck_assert_int_eq(sky__lua_decode(L, &skycodec__item__descriptor, buf, len), 0);
    lua_setglobal(L, "d");
    run(L,
        "same(d, { i32 = 2147483647, s32 = -1, sf32 = -2147483648, u32 = 3000000000,\n"
        "  f32 = 4294967295, i64 = math.mininteger, s64 = math.maxinteger, sf64 = -2,\n"
        "  u64 = -2, f64 = math.mininteger, fl = -3.5, db = 0.1, ok = true,\n"
        "  name = 'nm', data = '\\0\\1', color = 'COLOR_RED',\n"
        "  price = { units = -4, nanos = 0, currency = 'GBP' },\n"
        "  prices = { { units = 0, nanos = 12, currency = '' } },\n"
        "  nums = { -2147483648, 0 }, tags = { 't' }, colors = { 'COLOR_NEG', 42 },\n"
        "  counts = { c = math.mininteger },\n"
        "  by_id = { [-8] = { units = 0, nanos = 12, currency = '' } },\n"
        "  text = 'tx', maybe_name = 'mn', blobs = {}, by_u64 = {}, flags = {} })\n"
        "-- and back: the same bytes\n"
        "wire = codec.encode('skycodec.Item', d)\n");
    lua_getglobal(L, "wire");
    size_t wlen;
    const char *w = lua_tolstring(L, -1, &wlen);
    /* map order may differ in general; with one entry per map it cannot */
    ck_assert_uint_eq(wlen, len);
    ck_assert_mem_eq(w, buf, len);
    free(buf);
    lua_close(L);
}
END_TEST

/* ---- errors -------------------------------------------------------------- */

START_TEST(encode_errors)
{
    lua_State *L = new_lua();
    const char *I = "skycodec.Item";
    encode_fails(L, I, "{ price = { units = 'x' } }",
                 "Item.price.units: expected integer, got string");
    encode_fails(L, I, "{ pricee = 1 }", "Item.pricee: no such field");
    encode_fails(L, I, "{ price = { unitz = 1 } }", "Item.price.unitz: no such field");
    encode_fails(L, I, "{ [1] = 2 }", "Item: field name must be a string, got integer");
    encode_fails(L, I, "{ i32 = 1.5 }", "Item.i32: expected integer, got float");
    encode_fails(L, I, "{ i64 = 2^63 }", "Item.i64: expected integer, got float");
    encode_fails(L, I, "{ i32 = 2147483648 }",
                 "Item.i32: integer 2147483648 out of range for int32");
    encode_fails(L, I, "{ sf32 = -2147483649 }",
                 "Item.sf32: integer -2147483649 out of range for int32");
    encode_fails(L, I, "{ u32 = -1 }", "Item.u32: integer -1 out of range for uint32");
    encode_fails(L, I, "{ f32 = 4294967296 }",
                 "Item.f32: integer 4294967296 out of range for uint32");
    encode_fails(L, I, "{ color = 2147483648 }",
                 "Item.color: integer 2147483648 out of range for enum");
    encode_fails(L, I, "{ price = 5 }", "Item.price: expected table, got integer");
    encode_fails(L, I, "{ price = 'p' }", "Item.price: expected table, got string");
    encode_fails(L, I, "{ color = 'COLOR_PINK' }",
                 "Item.color: no value COLOR_PINK in enum Color");
    encode_fails(L, I, "{ color = true }",
                 "Item.color: expected enum name or integer, got boolean");
    encode_fails(L, I, "{ colors = { 'COLOR_RED', 'NOPE' } }",
                 "Item.colors[2]: no value NOPE in enum Color");
    encode_fails(L, I, "{ ok = 1 }", "Item.ok: expected boolean, got integer");
    encode_fails(L, I, "{ db = '1' }", "Item.db: expected number, got string");
    encode_fails(L, I, "{ name = 5 }", "Item.name: expected string, got integer");
    encode_fails(L, I, "{ name = 'a\\0b' }",
                 "Item.name: string contains a NUL byte (use bytes)");
    encode_fails(L, I, "{ data = {} }", "Item.data: expected string, got table");
    encode_fails(L, I, "{ nums = 1 }", "Item.nums: expected table, got integer");
    encode_fails(L, I, "{ nums = { 1, 2, x = 3 } }",
                 "Item.nums: expected a sequence, got key x");
    encode_fails(L, I, "{ nums = { [2] = 1 } }",
                 "Item.nums: expected a sequence, got key 2");
    encode_fails(L, I, "{ tags = { 'a', 3 } }", "Item.tags[2]: expected string, got integer");
    encode_fails(L, I, "{ prices = { {}, { units = {} } } }",
                 "Item.prices[2].units: expected integer, got table");
    encode_fails(L, I, "{ prices = { {}, 7 } }", "Item.prices[2]: expected table, got integer");
    encode_fails(L, I, "{ counts = { k = 'v' } }",
                 "Item.counts[k]: expected integer, got string");
    encode_fails(L, I, "{ counts = { [1] = 2 } }",
                 "Item.counts[1]: expected string, got integer");
    encode_fails(L, I, "{ by_id = { [3] = { nanos = 'n' } } }",
                 "Item.by_id[3].nanos: expected integer, got string");
    encode_fails(L, I, "{ by_id = { x = {} } }", "Item.by_id[x]: expected integer, got string");
    encode_fails(L, I, "{ by_id = { [3] = 1 } }", "Item.by_id[3]: expected table, got integer");
    encode_fails(L, I, "{ text = 'a', number = 1 }",
                 "Item: oneof fields text and number both set");
    encode_fails(L, I, "{ cost = {}, text = 'a', }",
                 "Item: oneof fields text and cost both set");
    encode_fails(L, I, "{ cost = { units = 'u' } }",
                 "Item.cost.units: expected integer, got string");
    encode_fails(L, I, "{ maybe = 'm' }", "Item.maybe: expected integer, got string");
    encode_fails(L, I, "'str'", "Item: expected table, got string");
    encode_fails(L, I, "{ counts = 5 }", "Item.counts: expected table, got integer");
    encode_fails(L, I, "{ counts = { [true] = 1 } }",
                 "Item.counts[true]: expected string, got boolean");
    encode_fails(L, I, "{ flags = { x = 1 } }", "Item.flags[x]: expected boolean, got string");
    encode_fails(L, I, "{ by_u64 = { [1] = 2 } }",
                 "Item.by_u64[1]: expected string, got integer");
    encode_fails(L, I, "{ nums = { [true] = 1 } }",
                 "Item.nums: expected a sequence, got key true");
    encode_fails(L, I, "{ nums = { [{}] = 1 } }", "Item.nums: expected a sequence, got key ?");
    encode_fails(L, I, "{ blobs = { 'a', false } }",
                 "Item.blobs[2]: expected string, got boolean");
    encode_fails(L, I, "{ maybe_name = 1 }", "Item.maybe_name: expected string, got integer");
    encode_fails(L, I, "{ fl = true }", "Item.fl: expected number, got boolean");
    encode_fails(L, I, "{ u64 = '1' }", "Item.u64: expected integer, got string");
    encode_fails(L, I, "{ s64 = 0.5 }", "Item.s64: expected integer, got float");
    encode_fails(L, "skycodec2.Defaults", "{ child = { child = { s = 1 } } }",
                 "Defaults.child.child.s: expected string, got integer");
    /* a table that contains itself stops at 64 levels */
    char deep[512] = "Defaults";
    for (int i = 0; i < 64; i++)
        strcat(deep, ".child");
    strcat(deep, ": nesting too deep");
    encode_fails(L, "skycodec2.Defaults",
                 "(function() local t = {} t.child = t return t end)()", deep);
    lua_close(L);
}
END_TEST

START_TEST(lua_api_errors)
{
    lua_State *L = new_lua();
    raises(L, "codec.encode('no.Such', {})", "unknown message type no.Such");
    raises(L, "codec.decode('no.Such', '')", "unknown message type no.Such");
    raises(L, "codec.encode('skycodec.Item', { pricee = 1 })", "Item.pricee: no such field");
    raises(L, "codec.decode('skycodec.Item', '\\255')",
           "Item: bytes do not decode as skycodec.Item");
    raises(L, "codec.encode(nil, {})",
           "[string \"codec.encode(nil, {})\"]:1: bad argument #1 to 'encode' "
           "(string expected, got nil)");
    raises(L, "codec.decode('skycodec.Item', {})",
           "[string \"codec.decode('skycodec.Item', {})\"]:1: bad argument #2 to 'decode' "
           "(string expected, got table)");
    run(L,
        "local ok, e = pcall(codec.encode, 'skycodec.Item', { price = { units = 'x' } })\n"
        "assert(not ok and e == 'Item.price.units: expected integer, got string', e)\n");
    lua_close(L);
}
END_TEST

START_TEST(decode_bad_bytes)
{
    static const struct {
        const char *bytes;
        size_t len;
    } bad[] = {
        { "\xff", 1 },                 /* a truncated tag */
        { "\x08", 1 },                 /* a tag with no value */
        { "\x72\x05" "ab", 4 },        /* a string longer than the input */
        { "\x8a\x01\x03\x08", 4 },     /* a nested message cut short */
        { "\x0f", 1 },                 /* wire type 7 */
    };
    lua_State *L = new_lua();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        decode_fails(L, &skycodec__item__descriptor, bad[i].bytes, bad[i].len,
                     "Item: bytes do not decode as skycodec.Item");
    /* a proto2 message without its required field */
    decode_fails(L, &skycodec2__defaults__descriptor, "\x08\x01", 2,
                 "Defaults: bytes do not decode as skycodec2.Defaults");
    lua_close(L);
}
END_TEST

/* `depth` Trees nested through field `child` (2) or `kids` (3), in a
 * malloc'ed buffer: written from the end, each level's header before it. */
static uint8_t *nested_trees(int depth, unsigned field, size_t *len)
{
    size_t cap = (size_t)depth * 6 + 16, at = cap, inner = 0;
    uint8_t *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    for (int i = 0; i < depth; i++) {
        uint8_t hdr[11];
        size_t n = 0;
        hdr[n++] = (uint8_t)(field << 3 | 2);
        for (size_t v = inner; ; v >>= 7) {
            hdr[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
            if (v <= 0x7f) break;
        }
        at -= n;
        memcpy(buf + at, hdr, n);
        inner += n;
    }
    memmove(buf, buf + at, inner);
    *len = inner;
    return buf;
}

/* protobuf-c unpacks nested messages by recursion with no limit: bytes
 * nesting a recursive message deeper than 100 levels are refused before
 * they reach it, whatever their size, in C (sky__pb_depth_ok, which the
 * typed runtime runs on every request and answer) and in the codec. */
START_TEST(deep_nesting_refused)
{
    lua_State *L = new_lua();
    const ProtobufCMessageDescriptor *d = &skycodec__tree__descriptor;
    size_t len;
    for (unsigned field = 2; field <= 3; field++) {
        uint8_t *b = nested_trees(100, field, &len); /* the root + 100 levels */
        ck_assert_int_eq(sky__pb_depth_ok(d, b, len, SKY_PB_MAX_DEPTH), 1);
        ck_assert_int_eq(sky__lua_decode(L, d, b, len), 0);
        lua_pop(L, 1);
        free(b);
        b = nested_trees(101, field, &len);
        ck_assert_int_eq(sky__pb_depth_ok(d, b, len, SKY_PB_MAX_DEPTH), 0);
        decode_fails(L, d, (const char *)b, len, "Tree: messages nested more than 100 levels deep");
        free(b);
        b = nested_trees(500000, field, &len); /* would overflow the stack */
        decode_fails(L, d, (const char *)b, len, "Tree: messages nested more than 100 levels deep");
        free(b);
    }
    /* a tighter limit still walks a recursive type: 3 levels pass 3, not 2 */
    uint8_t *b3 = nested_trees(3, 2, &len);
    ck_assert_int_eq(sky__pb_depth_ok(d, b3, len, 3), 1);
    ck_assert_int_eq(sky__pb_depth_ok(d, b3, len, 2), 0);
    free(b3);
    /* a type that cannot nest deeper than the limit is not walked (Item's
     * deepest chain is one message field, Price, or the map entry and its
     * Price: two): any bytes pass 100, and a limit under its height still
     * walks: Item{price{}} (8a 01 00) nests one level */
    const ProtobufCMessageDescriptor *item = &skycodec__item__descriptor;
    ck_assert_int_eq(sky__pb_depth_ok(item, "\x8a\x01\x00", 3, SKY_PB_MAX_DEPTH), 1);
    ck_assert_int_eq(sky__pb_depth_ok(item, "\x8a\x01\x00", 3, 1), 1);
    ck_assert_int_eq(sky__pb_depth_ok(item, "\x8a\x01\x00", 3, 0), 0);
    /* sky__pb_check refuses the same nesting, with no field named */
    sky__pb_bad bad;
    b3 = nested_trees(101, 2, &len);
    ck_assert_int_eq(sky__pb_check(d, b3, len, SKY_PB_MAX_DEPTH, &bad), 0);
    ck_assert_ptr_null(bad.field);
    free(b3);
    ck_assert_int_eq(sky__pb_check(item, "\x8a\x01\x00", 3, SKY_PB_MAX_DEPTH, &bad), 1);
    /* malformed bytes are left to protobuf-c to refuse */
    ck_assert_int_eq(sky__pb_depth_ok(d, "\x12\x05", 2, SKY_PB_MAX_DEPTH), 1);
    ck_assert_int_eq(sky__pb_check(d, "\x12\x05", 2, SKY_PB_MAX_DEPTH, NULL), 1);
    decode_fails(L, d, "\x12\x05", 2, "Tree: bytes do not decode as skycodec.Tree");
    lua_close(L);
}
END_TEST

/* protobuf-c keeps strings as C strings: one holding a NUL is refused by
 * name instead of reaching Lua cut short. NUL bytes elsewhere are fine. */
START_TEST(decode_string_with_nul)
{
    static const struct {
        const char *bytes;
        size_t len;
        const char *want;
        const char *field; /* as sky__pb_check (C's typed runtime) names it */
    } bad[] = {
        { "\x72\x03" "a\0b", 5, "Item.name: string contains a NUL byte (use bytes)", "Item.name" },
        { "\x9a\x01\x01x\x9a\x01\x02\0y", 9,
          "Item.tags[2]: string contains a NUL byte (use bytes)", "Item.tags" },
        { "\xb2\x01\x04\x0a\x02k\0", 7, "Item.counts: a key contains a NUL byte", "CountsEntry.key" },
        { "\xba\x01\x08\x08\x07\x12\x04\x1a\x02\0z", 11,
          "Item.by_id[7].currency: string contains a NUL byte (use bytes)", "Price.currency" },
        { "\xf2\x01\x06\x08\x05\x12\x02\0z", 9,
          "Item.by_u64[5]: string contains a NUL byte (use bytes)", "ByU64Entry.value" },
        { "\xc2\x01\x01\0", 4, "Item.text: string contains a NUL byte (use bytes)", "Item.text" },
        { "\x8a\x01\x04\x1a\x02" "a\0", 7,
          "Item.price.currency: string contains a NUL byte (use bytes)", "Price.currency" },
        { "\xa2\x01\x00\xa2\x01\x03\x1a\x01\0", 9,
          "Item.prices[2].currency: string contains a NUL byte (use bytes)", "Price.currency" },
        { "\xe2\x01\x01\0", 4, "Item.maybe_name: string contains a NUL byte (use bytes)", "Item.maybe_name" },
    };
    lua_State *L = new_lua();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        decode_fails(L, &skycodec__item__descriptor, bad[i].bytes, bad[i].len, bad[i].want);
        sky__pb_bad b;
        char named[128];
        ck_assert_int_eq(sky__pb_check(&skycodec__item__descriptor, bad[i].bytes, bad[i].len, SKY_PB_MAX_DEPTH, &b),
                         0);
        ck_assert_ptr_nonnull(b.field);
        snprintf(named, sizeof named, "%s.%s", b.msg->short_name, b.field->name);
        ck_assert_str_eq(named, bad[i].field);
    }
    ck_assert_int_eq(sky__pb_check(&skycodec__item__descriptor, "\x7a\x02\0\0\x08\x00\x72\x00\x9a\x01\x00", 11,
                                   SKY_PB_MAX_DEPTH, NULL),
                     1);
    /* NUL bytes in bytes, in numbers and in an empty string are no problem */
    ck_assert_int_eq(sky__lua_decode(L, &skycodec__item__descriptor,
                                     "\x7a\x02\0\0\x08\x00\x72\x00\x9a\x01\x00", 11), 0);
    lua_setglobal(L, "d");
    run(L, "same(d.data, '\\0\\0'); same(d.name, ''); same(d.tags, { '' })");
    /* a proto2 default string is not one of the unpacked ones */
    ck_assert_int_eq(sky__lua_decode(L, &skycodec2__defaults__descriptor, "\x48\x00", 2), 0);
    lua_setglobal(L, "d");
    run(L, "same(d.s, 'hello'); same(d.raw, 'x\\1y'); same(d.req, 0)");
    lua_close(L);
}
END_TEST

/* An allocator with a ceiling, as a Lua service host has. */
typedef struct {
    size_t used, limit;
} budget;

static void *limited_alloc(void *ud, void *p, size_t osize, size_t nsize)
{
    budget *b = ud;
    size_t old = p ? osize : 0;
    if (nsize == 0) {
        free(p);
        b->used -= old;
        return NULL;
    }
    if (nsize > old && b->used + (nsize - old) > b->limit)
        return NULL;
    void *q = realloc(p, nsize);
    if (q != NULL)
        b->used = b->used - old + nsize;
    return q;
}

START_TEST(decode_out_of_memory)
{
    budget b = { 0, SIZE_MAX };
    lua_State *L = lua_newstate(limited_alloc, &b);
    luaL_openlibs(L);
    sky__luaopen_codec(L);
    lua_setglobal(L, "codec");
    run(L, "local t = { prices = {} }\n"
           "for i = 1, 2000 do t.prices[i] = { currency = 'c' .. i } end\n"
           "wire = codec.encode('skycodec.Item', t)\n"
           "big = { data = string.rep('x', 100000) }\n"
           "collectgarbage()\n");
    b.limit = b.used + 16 * 1024;
    /* the walk runs out of memory half-way: raised, nothing leaked */
    raises(L, "codec.decode('skycodec.Item', wire)", "not enough memory");
    /* encode packs, then cannot make the string: raised, the buffer freed */
    lua_gc(L, LUA_GCCOLLECT);
    b.limit = b.used + 16 * 1024;
    raises(L, "codec.encode('skycodec.Item', big)", "not enough memory");
    b.limit = SIZE_MAX;
    run(L, "assert(#codec.decode('skycodec.Item', wire).prices == 2000)");
    lua_close(L);
}
END_TEST

/* ---- the fast paths (wire.c) against the general path ------------------- */

static int l_general(lua_State *L)
{
    sky__wire_off = lua_toboolean(L, 1);
    return 0;
}

/* both(name, t): the fast and the general path encode t to the same bytes
 * and decode them to the same table; same_decode(name, bytes): the same
 * table, or the same error. */
static const char BOTH[] =
    "local function hex(s) return (s:gsub('.', function(c) return string.format('%02x', c:byte()) end)) end\n"
    "function same_decode(name, bytes)\n"
    "  local ok1, a = pcall(codec.decode, name, bytes)\n"
    "  general(true); local ok2, b = pcall(codec.decode, name, bytes); general(false)\n"
    "  assert(ok1 == ok2, hex(bytes) .. ': ' .. tostring(a) .. ' / ' .. tostring(b))\n"
    "  if ok1 then same(a, b) else assert(a == b, a .. ' / ' .. b) end\n"
    "end\n"
    "function both(name, t)\n"
    "  local ok1, fast = pcall(codec.encode, name, t)\n"
    "  general(true); local ok2, slow = pcall(codec.encode, name, t); general(false)\n"
    "  assert(ok1 == ok2 and (ok1 or fast == slow), tostring(fast) .. ' / ' .. tostring(slow))\n"
    "  if not ok1 then return end\n"
    "  assert(fast == slow, name .. ': ' .. hex(fast) .. ' ~= ' .. hex(slow))\n"
    "  same_decode(name, fast)\n"
    "end\n";

START_TEST(fast_path_matches_general)
{
    lua_State *L = new_lua();
    lua_register(L, "general", l_general);
    run(L, BOTH);
    run(L,
        "local I = 'skycodec.Item'\n"
        "both(I, {})\n"
        "both(I, { i32 = -2147483648, s32 = -7, sf32 = 2147483647, u32 = 4294967295, f32 = 123,\n"
        "  i64 = math.mininteger, s64 = math.maxinteger, sf64 = math.mininteger, u64 = -1,\n"
        "  f64 = math.mininteger, fl = 1.5, db = -0.1, ok = true, name = 'h\\195\\169llo',\n"
        "  data = 'a\\0b\\255', color = 'COLOR_BLUE' })\n"
        "both(I, { i32 = -5, s32 = -1, s64 = -1, sf32 = -1, color = 'COLOR_NEG',\n"
        "  colors = { 'COLOR_NEG', 1, 'COLOR_RED', 7 }, i64 = 3.0, db = 3 })\n"
        "both(I, { i32 = 0, name = '', ok = false, fl = 0.0, db = 0, data = '', color = 0,\n"
        "  nums = {}, tags = {}, prices = {} })\n"
        "both(I, { fl = 1e-50, db = 1/0 }); both(I, { fl = -1.5, db = -1/0 })\n"
        "both(I, { price = { units = 1, nanos = -2, currency = 'EUR' }, prices = { { units = 1 }, {},\n"
        "  { currency = '' } }, nums = { 1, -1, 300, 2147483647 }, tags = { 'a', '', 'c' },\n"
        "  blobs = { '', '\\0' } })\n"
        "both(I, { text = '' }); both(I, { number = 0 }); both(I, { cost = {} })\n"
        "both(I, { cost = { units = -1 }, maybe = 0, maybe_name = '' })\n"
        "local many, long = {}, string.rep('x', 300)\n"
        "for i = 1, 300 do many[i] = i * 1000 end\n"
        "both(I, { nums = many, tags = { long, long }, price = { currency = long }, name = long })\n"
        "both(I, { counts = { a = 1 } })  -- a map: the general path\n"
        "both(I, { db = -0.0 }); both(I, { number = -0.0 })\n"
        "both(I, { nums = { 1, 2, [4] = 4 } }); both(I, { nums = { 1, x = 2 } }); both(I, { i32 = 2^31 })\n"
        "both(I, { name = 'a\\0b' }); both(I, { nope = 1 }); both(I, { text = 'a', number = 1 })\n"
        "both(I, { color = 'COLOR_NOPE' }); both(I, { price = 1 }); both(I, { [1] = 1 })\n"
        "local t = { v = 0 }\n"
        "for i = 1, 10 do t = { v = i, child = t, kids = { { v = -i }, {} } } end\n"
        "both('skycodec.Tree', t)\n"
        "local D = 'skycodec2.Defaults'\n"
        "both(D, { req = 1 }); both(D, {})\n"
        "both(D, { req = 0, a = 0, s = '', level = 'LEVEL_LOW', b = false, raw = '', big = 0,\n"
        "  child = { req = 2, plain = 3 } })\n"
        "both('skycodec2.Order', { id = 1, lines = { { sku = 'a', qty = 2 }, { sku = 'b' } },\n"
        "  gift = { sku = 'g' } })\n"
        "both('skycodec2.Order', { id = 1, lines = { { qty = 2 } } })\n");
    /* bytes protobuf-c takes that encode does not make */
    run(L,
        "local I, c = 'skycodec.Item', string.char\n"
        "same_decode(I, '')\n"
        "same_decode(I, c(0x90, 0x01, 0x05, 0x92, 0x01, 0x03, 0x01, 0xac, 0x02, 0x90, 0x01, 0x07))\n"
        "same_decode(I, c(0x08, 0x01, 0x08, 0x02, 0x72, 0x01, 0x61, 0x72, 0x01, 0x62))\n"
        "same_decode(I, c(0xc2, 0x01, 0x01, 0x61, 0xc8, 0x01, 0x05))\n"
        "same_decode(I, c(0xc8, 0x01, 0x05, 0xc2, 0x01, 0x01, 0x61))\n"
        "same_decode(I, c(0x98, 0x06, 0x01, 0x08, 0x03, 0xfd, 0x06, 1, 2, 3, 4))\n"
        "same_decode(I, c(0x8a, 0x01, 0x02, 0x08, 0x01, 0x8a, 0x01, 0x02, 0x10, 0x02))\n"
        "same_decode(I, c(0x68, 0x02, 0x80, 0x01, 0x07))\n"
        "same_decode(I, c(0x68, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02))\n"
        "same_decode(I, c(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01))\n"
        "same_decode(I, c(0x10, 0x03, 0x38, 0x03, 0xaa, 0x01, 0x02, 0x07, 0xfd))\n"
        "same_decode(I, c(0x72, 0x01)); same_decode(I, c(0x08)); same_decode(I, c(0x0a, 0x00))\n"
        "same_decode(I, c(0x72, 0x02, 0x61, 0x00)); same_decode(I, c(0x0b, 0x0c))\n"
        "same_decode(I, c(0x92, 0x01, 0x02, 0x01)); same_decode(I, c(0x2a, 0x03, 1, 2, 3))\n"
        "same_decode(I, c(0x00, 0x01)); same_decode(I, c(0xb2, 0x01, 0x02, 0x08, 0x01))\n"
        "same_decode('skycodec2.Defaults', c(0x08, 0x01)); same_decode('skycodec2.Defaults', c(0x48, 0x00))\n");
    /* and the fast paths do take the common messages */
    ck_assert_int_eq(luaL_dostring(L, "return { i32 = 1, name = 'x', nums = { 1, 2 }, price = { units = 3 } }"), 0);
    void *buf = NULL;
    size_t len = 0;
    const ProtobufCMessageDescriptor *d = sky_schema_message("skycodec.Item");
    ck_assert_int_eq(sky__wire_encode(L, 1, d, &buf, &len), 1);
    ck_assert_int_eq(lua_gettop(L), 1);
    ck_assert_int_eq(sky__wire_decode(L, d, buf, len), 1);
    ck_assert_int_eq(lua_gettop(L), 2);
    free(buf);
    lua_close(L);
}
END_TEST

Suite *codec_suite(void)
{
    Suite *s = suite_create("codec");
    TCase *tc = tu_tcase("round_trip");
    tcase_add_test(tc, scalars_round_trip);
    tcase_add_test(tc, proto3_zero_values);
    tcase_add_test(tc, enums);
    tcase_add_test(tc, nested_repeated_maps);
    tcase_add_test(tc, oneofs_and_optional);
    tcase_add_test(tc, proto2_defaults);
    tcase_add_test(tc, maps_sorted_by_key);
    tcase_add_test(tc, negative_zero_kept);
    tcase_add_test(tc, required_fields);
    suite_add_tcase(s, tc);
    tc = tu_tcase("cross_check");
    tcase_add_test(tc, lua_bytes_unpack_in_c);
    tcase_add_test(tc, c_bytes_decode_in_lua);
    tcase_add_test(tc, fast_path_matches_general);
    suite_add_tcase(s, tc);
    tc = tu_tcase("errors");
    tcase_add_test(tc, encode_errors);
    tcase_add_test(tc, lua_api_errors);
    tcase_add_test(tc, decode_bad_bytes);
    tcase_add_test(tc, deep_nesting_refused);
    tcase_add_test(tc, decode_string_with_nul);
    tcase_add_test(tc, decode_out_of_memory);
    suite_add_tcase(s, tc);
    return s;
}

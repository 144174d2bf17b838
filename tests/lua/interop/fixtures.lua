-- The fixtures of the interop test as a Lua service writes them: each is
-- encoded by codec.encode and must decode, with Google's protobuf, to the
-- message of the same name in interop.py (which also holds the cases that
-- only go the other way).

local all_bytes = {}
for i = 0, 255 do all_bytes[#all_bytes + 1] = string.char(i) end
all_bytes = table.concat(all_bytes)

local FLT_MAX = 3.4028234663852886e38
local FLT_TRUE_MIN = 2.0 ^ -149

return {
  { name = 'scalars_max', type = 'interop.Scalars', value = {
    i32 = 2147483647, i64 = math.maxinteger, u32 = 4294967295,
    u64 = -1, -- 2^64 - 1: the Lua integer with the same bits
    s32 = 2147483647, s64 = math.maxinteger, f32 = 4294967295, f64 = -1,
    sf32 = 2147483647, sf64 = math.maxinteger,
    fl = FLT_MAX, db = 1.7976931348623157e308, ok = true,
    str = 'héllo wörld ✓ 😀', raw = all_bytes, color = 'COLOR_BLUE',
    inner = { n = 1, s = 'in', child = { n = 2, child = {} } },
  } },
  { name = 'scalars_min', type = 'interop.Scalars', value = {
    i32 = -2147483648, i64 = math.mininteger, u32 = 0,
    u64 = math.mininteger, -- 2^63
    s32 = -2147483648, s64 = math.mininteger, f32 = 0,
    f64 = math.mininteger, sf32 = -2147483648, sf64 = math.mininteger,
    fl = FLT_TRUE_MIN, db = -4.9406564584124654e-324, ok = false,
    str = '', raw = '', color = 'COLOR_NEG', inner = {},
  } },
  { name = 'scalars_minus_one', type = 'interop.Scalars', value = {
    i32 = -1, i64 = -1, u32 = 1, u64 = -2, s32 = -1, s64 = -1, f32 = 1,
    f64 = math.mininteger + 1, sf32 = -1, sf64 = -1, fl = -1.5, db = -0.1,
    str = '\1', raw = '\0', color = 77, -- a number with no name
  } },
  { name = 'scalars_inf', type = 'interop.Scalars', value = {
    fl = math.huge, db = -math.huge,
  } },
  { name = 'scalars_nan', type = 'interop.Scalars', value = {
    fl = 0 / 0, db = -(0 / 0),
  } },
  { name = 'scalars_negative_zero', type = 'interop.Scalars', value = {
    fl = -0.0, db = -0.0,
  } },
  { name = 'scalars_integral_floats', type = 'interop.Scalars', value = {
    i32 = -3.0, u64 = 2.0 ^ 53, fl = 1, db = -7,
  } },

  { name = 'repeats', type = 'interop.Repeats', value = {
    i32 = { 0, -1, 2147483647, -2147483648 },
    i64 = { math.mininteger, 0, math.maxinteger },
    u32 = { 4294967295, 0, 1 },
    u64 = { -1, math.mininteger, 0 },
    s32 = { -2147483648, 2147483647, -1 },
    s64 = { math.mininteger, math.maxinteger },
    f32 = { 4294967295, 0 },
    f64 = { -1, 1 },
    sf32 = { -2147483648, 5 },
    sf64 = { math.mininteger, -5 },
    fl = { 1.5, -0.0, math.huge, 0 / 0 },
    db = { -0.0, 0.1, -math.huge, 0 / 0, 2.0 ^ 1000 },
    ok = { true, false, true },
    str = { '', 'a', 'ü', '' },
    raw = { '', '\0', all_bytes },
    color = { 'COLOR_RED', 'COLOR_NONE', 'COLOR_NEG', 77 },
    inner = { {}, { n = -1 }, { s = 'x', child = { n = 3 } } },
    unpacked_i32 = { 1, -1, 0 },
    unpacked_s64 = { math.mininteger, -1 },
    unpacked_db = { 0.5, -0.0 },
    unpacked_color = { 'COLOR_BLUE', 5 },
  } },
  { name = 'repeats_empty', type = 'interop.Repeats', value = {
    i32 = {}, str = {}, inner = {},
  } },

  { name = 'maps', type = 'interop.Maps', value = {
    ss = { [''] = '', a = 'b', ['ü'] = 'ö', ['k k'] = '' },
    si = { zero = 0, min = math.mininteger, max = math.maxinteger },
    i32_inner = { [0] = {}, [-1] = { n = 1 }, [2147483647] = { s = 'x', child = {} } },
    i64_bytes = { [math.mininteger] = all_bytes, [0] = '', [1] = '\0' },
    u32_double = { [0] = -0.0, [4294967295] = 1.5 },
    u64_str = { [-1] = 'max', [0] = 'zero', [math.mininteger] = '2^63' },
    s32_bool = { [-2147483648] = true, [0] = false },
    s64_float = { [math.maxinteger] = 0.25, [-1] = -math.huge },
    f32_u64 = { [4294967295] = -1, [0] = 0 },
    f64_color = { [-1] = 'COLOR_RED', [1] = 77, [0] = 'COLOR_NONE' },
    sf32_i32 = { [-5] = -5 },
    sf64_s64 = { [math.mininteger] = math.maxinteger },
    bool_str = { [true] = 'yes', [false] = 'no' },
    str_color = { neg = 'COLOR_NEG', none = 'COLOR_NONE' },
  } },
  -- no zero key or value (Google writes those, protobuf-c leaves them
  -- out): Google's deterministic bytes must match ours
  { name = 'maps_ordered', type = 'interop.Maps', value = {
    ss = { b = 'x', a = 'y', aa = 'z', ['\u{e9}'] = 'w', B = 'v' },
    i32_inner = { [3] = { n = 1 }, [-2] = { n = 2 }, [1] = { n = 3 } },
    u64_str = { [-1] = 'max', [1] = 'one', [math.mininteger] = '2^63' },
    s32_bool = { [-1] = true, [-2147483648] = true, [7] = true },
    str_color = { z = 'COLOR_RED', y = 'COLOR_BLUE', x = 'COLOR_NEG' },
  } },

  { name = 'choice_none', type = 'interop.Choice', value = { after = 1 } },
  { name = 'choice_text', type = 'interop.Choice', value = { text = 'ü' } },
  { name = 'choice_text_empty', type = 'interop.Choice', value = { text = '' } },
  { name = 'choice_number_zero', type = 'interop.Choice', value = { number = 0 } },
  { name = 'choice_inner', type = 'interop.Choice', value = { inner = {}, after = -1 } },
  { name = 'choice_blob', type = 'interop.Choice', value = { blob = '\0\255' } },
  { name = 'choice_color', type = 'interop.Choice', value = { color = 'COLOR_NONE' } },
  { name = 'choice_real', type = 'interop.Choice', value = { real = -0.0 } },

  { name = 'presence_none', type = 'interop.Presence', value = {} },
  { name = 'presence_zero', type = 'interop.Presence', value = {
    i32 = 0, u64 = 0, db = 0.0, ok = false, str = '', raw = '',
    color = 'COLOR_NONE', inner = {},
  } },
  { name = 'presence_set', type = 'interop.Presence', value = {
    i32 = -1, u64 = -1, db = -0.0, ok = true, str = 'ü', raw = '\0',
    color = 'COLOR_NEG', inner = { n = 9 },
  } },

  { name = 'defaults_absent', type = 'interop2.Defaults', value = {} },
  { name = 'defaults_explicit', type = 'interop2.Defaults', value = {
    i32 = -42, i64 = -math.maxinteger, u32 = 4294967295, u64 = -1,
    s32 = -2147483648, s64 = math.maxinteger, f32 = 7, f64 = math.mininteger,
    sf32 = -9, sf64 = -10, fl = 1.5, db = -1e300, ok = true,
    str = 'héllo', raw = '\0\1\255', level = 'LEVEL_HIGH',
  } },
  { name = 'defaults_other', type = 'interop2.Defaults', value = {
    i32 = 0, i64 = 0, u32 = 0, u64 = 0, s32 = 0, s64 = 0, f32 = 0, f64 = 0,
    sf32 = 0, sf64 = 0, fl = -0.0, db = -0.0, ok = false, str = '',
    raw = '', level = 'LEVEL_NEG', plain = 0,
    child = { plain = 5, child = {} },
    nums = { 1, -1, 0 }, packed_nums = { -2147483648, 0, 2147483647 },
  } },

  { name = 'order', type = 'interop2.Order', value = {
    id = math.mininteger, note = 'n',
    lines = { { sku = 'a' }, { sku = '', qty = 0 } },
    gift = { sku = 'g', qty = -3 }, points = 0,
  } },
  { name = 'order_card', type = 'interop2.Order', value = {
    id = 0, card = '4111',
  } },
}

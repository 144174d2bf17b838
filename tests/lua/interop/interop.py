#!/usr/bin/env python3
"""The Google half of the interop test (run by test_interop.sh).

Checks sky's Lua codec against Google's protobuf (python3-protobuf) on the
schemas alltypes.proto (proto3) and alltypes2.proto (proto2), both ways:

  Lua -> Google  lua_pb encodes every fixture of fixtures.lua; each must
                 parse here (required fields checked, no unknown fields)
                 into exactly the message of the same name below: every
                 field, its presence, float bits (-0.0, NaN), and, for the
                 cases marked so, the very bytes Google writes.
  Google -> Lua  every message below is serialized here; lua_pb decodes it
                 and writes the table's canonical dump (see interop.lua),
                 which must equal the dump made here from the message by
                 the codec's documented mapping (docs/lua.md, "The codec").

usage: interop.py PB2_DIR LUA_PB INTEROP_LUA FIXTURES_LUA WORK_DIR
Prints one line per check and closes with "test_interop: N passed, M
failed" (the suite it closes: test_interop.sh); exit 1 on any failure.
"""

import difflib
import os
import re
import struct
import subprocess
import sys

from google.protobuf.descriptor import FieldDescriptor as FD

TIMEOUT = 60  # seconds for one run of lua_pb

UNSIGNED64 = (FD.TYPE_UINT64, FD.TYPE_FIXED64)
INTEGERS = (FD.TYPE_INT32, FD.TYPE_INT64, FD.TYPE_UINT32, FD.TYPE_UINT64,
            FD.TYPE_SINT32, FD.TYPE_SINT64, FD.TYPE_FIXED32, FD.TYPE_FIXED64,
            FD.TYPE_SFIXED32, FD.TYPE_SFIXED64)


class Case:
    """One message. `lua`: fixtures.lua has it (else Google -> Lua only);
    `same_bytes`: Lua's bytes must equal Google's deterministic ones;
    `lua_error`: decoding it in Lua must raise this message; `partial`:
    serialized without the required-field check."""

    def __init__(self, name, msg, lua=True, same_bytes=False, lua_error=None,
                 partial=False):
        self.name, self.msg, self.lua = name, msg, lua
        self.same_bytes, self.lua_error, self.partial = same_bytes, lua_error, partial


def cases(pb, pb2):
    all_bytes = bytes(range(256))
    flt_max = 3.4028234663852886e38
    inf, nan = float('inf'), float('nan')
    inner = pb.Inner
    return [
        Case('scalars_max', pb.Scalars(
            i32=2**31 - 1, i64=2**63 - 1, u32=2**32 - 1, u64=2**64 - 1,
            s32=2**31 - 1, s64=2**63 - 1, f32=2**32 - 1, f64=2**64 - 1,
            sf32=2**31 - 1, sf64=2**63 - 1, fl=flt_max,
            db=1.7976931348623157e308, ok=True, str='héllo wörld ✓ 😀',
            raw=all_bytes, color=pb.COLOR_BLUE,
            inner=inner(n=1, s='in', child=inner(n=2, child=inner())))),
        Case('scalars_min', pb.Scalars(
            i32=-2**31, i64=-2**63, u32=0, u64=2**63, s32=-2**31, s64=-2**63,
            f32=0, f64=2**63, sf32=-2**31, sf64=-2**63, fl=2.0**-149,
            db=-4.9406564584124654e-324, ok=False, str='', raw=b'',
            color=pb.COLOR_NEG, inner=inner())),
        Case('scalars_minus_one', pb.Scalars(
            i32=-1, i64=-1, u32=1, u64=2**64 - 2, s32=-1, s64=-1, f32=1,
            f64=2**63 + 1, sf32=-1, sf64=-1, fl=-1.5, db=-0.1, str='\x01',
            raw=b'\0', color=77)),
        Case('scalars_inf', pb.Scalars(fl=inf, db=-inf)),
        Case('scalars_nan', pb.Scalars(fl=nan, db=-nan)),
        Case('scalars_negative_zero', pb.Scalars(fl=-0.0, db=-0.0)),
        Case('scalars_integral_floats', pb.Scalars(i32=-3, u64=2**53, fl=1.0, db=-7.0)),
        # protobuf-c keeps strings as C strings: a NUL in one is refused,
        # never cut short
        Case('string_with_nul', pb.Scalars(str='a\0b'), lua=False,
             lua_error='Scalars.str: string contains a NUL byte (use bytes)'),
        Case('repeated_string_with_nul', pb.Repeats(str=['ok', '\0']), lua=False,
             lua_error='Repeats.str[2]: string contains a NUL byte (use bytes)'),
        Case('map_key_with_nul', pb.Maps(ss={'a\0': 'v'}), lua=False,
             lua_error='Maps.ss: a key contains a NUL byte'),

        Case('repeats', pb.Repeats(
            i32=[0, -1, 2**31 - 1, -2**31], i64=[-2**63, 0, 2**63 - 1],
            u32=[2**32 - 1, 0, 1], u64=[2**64 - 1, 2**63, 0],
            s32=[-2**31, 2**31 - 1, -1], s64=[-2**63, 2**63 - 1],
            f32=[2**32 - 1, 0], f64=[2**64 - 1, 1], sf32=[-2**31, 5],
            sf64=[-2**63, -5], fl=[1.5, -0.0, inf, nan],
            db=[-0.0, 0.1, -inf, nan, 2.0**1000], ok=[True, False, True],
            str=['', 'a', 'ü', ''], raw=[b'', b'\0', all_bytes],
            color=[pb.COLOR_RED, pb.COLOR_NONE, pb.COLOR_NEG, 77],
            inner=[inner(), inner(n=-1), inner(s='x', child=inner(n=3))],
            unpacked_i32=[1, -1, 0], unpacked_s64=[-2**63, -1],
            unpacked_db=[0.5, -0.0], unpacked_color=[pb.COLOR_BLUE, 5])),
        Case('repeats_empty', pb.Repeats()),

        Case('maps', pb.Maps(
            ss={'': '', 'a': 'b', 'ü': 'ö', 'k k': ''},
            si={'zero': 0, 'min': -2**63, 'max': 2**63 - 1},
            i32_inner={0: inner(), -1: inner(n=1),
                       2**31 - 1: inner(s='x', child=inner())},
            i64_bytes={-2**63: all_bytes, 0: b'', 1: b'\0'},
            u32_double={0: -0.0, 2**32 - 1: 1.5},
            u64_str={2**64 - 1: 'max', 0: 'zero', 2**63: '2^63'},
            s32_bool={-2**31: True, 0: False},
            s64_float={2**63 - 1: 0.25, -1: -inf},
            f32_u64={2**32 - 1: 2**64 - 1, 0: 0},
            f64_color={2**64 - 1: pb.COLOR_RED, 1: 77, 0: pb.COLOR_NONE},
            sf32_i32={-5: -5}, sf64_s64={-2**63: 2**63 - 1},
            bool_str={True: 'yes', False: 'no'},
            str_color={'neg': pb.COLOR_NEG, 'none': pb.COLOR_NONE})),
        Case('maps_ordered', pb.Maps(
            ss={'b': 'x', 'a': 'y', 'aa': 'z', 'é': 'w', 'B': 'v'},
            i32_inner={3: inner(n=1), -2: inner(n=2), 1: inner(n=3)},
            u64_str={2**64 - 1: 'max', 1: 'one', 2**63: '2^63'},
            s32_bool={-1: True, -2**31: True, 7: True},
            str_color={'z': pb.COLOR_RED, 'y': pb.COLOR_BLUE, 'x': pb.COLOR_NEG}),
             same_bytes=True),

        Case('choice_none', pb.Choice(after=1)),
        Case('choice_text', pb.Choice(text='ü')),
        Case('choice_text_empty', pb.Choice(text='')),
        Case('choice_number_zero', pb.Choice(number=0)),
        Case('choice_inner', pb.Choice(inner=inner(), after=-1)),
        Case('choice_blob', pb.Choice(blob=b'\0\xff')),
        Case('choice_color', pb.Choice(color=pb.COLOR_NONE)),
        Case('choice_real', pb.Choice(real=-0.0)),
        Case('choice_unknown_color', pb.Choice(color=-77), lua=False),

        Case('presence_none', pb.Presence()),
        Case('presence_zero', pb.Presence(
            i32=0, u64=0, db=0.0, ok=False, str='', raw=b'',
            color=pb.COLOR_NONE, inner=inner())),
        Case('presence_set', pb.Presence(
            i32=-1, u64=2**64 - 1, db=-0.0, ok=True, str='ü', raw=b'\0',
            color=pb.COLOR_NEG, inner=inner(n=9))),

        Case('defaults_absent', pb2.Defaults()),
        Case('defaults_explicit', pb2.Defaults(
            i32=-42, i64=-2**63 + 1, u32=2**32 - 1, u64=2**64 - 1, s32=-2**31,
            s64=2**63 - 1, f32=7, f64=2**63, sf32=-9, sf64=-10, fl=1.5,
            db=-1e300, ok=True, str='héllo', raw=b'\0\1\xff',
            level=pb2.LEVEL_HIGH)),
        Case('defaults_other', pb2.Defaults(
            i32=0, i64=0, u32=0, u64=0, s32=0, s64=0, f32=0, f64=0, sf32=0,
            sf64=0, fl=-0.0, db=-0.0, ok=False, str='', raw=b'',
            level=pb2.LEVEL_NEG, plain=0,
            child=pb2.Defaults(plain=5, child=pb2.Defaults()),
            nums=[1, -1, 0], packed_nums=[-2**31, 0, 2**31 - 1])),

        Case('order', pb2.Order(
            id=-2**63, note='n',
            lines=[pb2.Line(sku='a'), pb2.Line(sku='', qty=0)],
            gift=pb2.Line(sku='g', qty=-3), points=0)),
        Case('order_card', pb2.Order(id=0, card='4111')),
        Case('order_without_id', pb2.Order(note='x'), lua=False, partial=True,
             lua_error='Order: bytes do not decode as interop2.Order'),
        Case('line_without_sku', pb2.Order(id=1, lines=[pb2.Line(qty=2)]),
             lua=False, partial=True,
             lua_error='Order: bytes do not decode as interop2.Order'),
    ]


# ---- the canonical dump (the format is described in interop.lua) --------

def quote(b):
    return '"' + ''.join(chr(c) if 32 <= c <= 126 and c not in b'"\\'
                         else '\\x%02x' % c for c in b) + '"'


def fmt_float(x):
    if x != x:
        return 'float nan'
    return 'float %.17g/%s' % (x, struct.pack('>d', x).hex())


def key_text(k):
    if isinstance(k, str) and re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', k):
        return '.' + k
    return '[%s]' % k


def scalar(f, v):
    """A value of field f as the codec gives it to Lua, dumped."""
    t = f.type
    if t == FD.TYPE_BOOL:  # (bool is an int in Python: test it first)
        return 'true' if v else 'false'
    if t in INTEGERS:
        if t in UNSIGNED64 and v >= 2**63:
            v -= 2**64  # the Lua integer with the same bits
        return '%d' % v
    if t == FD.TYPE_FLOAT:
        return fmt_float(struct.unpack('<f', struct.pack('<f', v))[0])
    if t == FD.TYPE_DOUBLE:
        return fmt_float(v)
    if t == FD.TYPE_STRING:
        return quote(v.encode('utf-8'))
    if t == FD.TYPE_BYTES:
        return quote(v)
    if t == FD.TYPE_ENUM:
        ev = f.enum_type.values_by_number.get(v)
        return quote(ev.name.encode()) if ev else '%d' % v
    raise ValueError('field %s: type %d' % (f.full_name, t))


def is_map(f):
    return (f.label == FD.LABEL_REPEATED and f.type == FD.TYPE_MESSAGE
            and f.message_type.GetOptions().map_entry)


def dump(msg, lua):
    """The sorted dump lines of msg: with lua=True as codec.decode gives it
    (proto2 defaults for absent optional scalars, proto3 zero values), with
    lua=False as it is on the wire (fields with presence only when set)."""
    out = []

    def value(f, v, path):
        if f.type == FD.TYPE_MESSAGE:
            walk(v, path)
        else:
            out.append('%s = %s' % (path, scalar(f, v)))

    def walk(m, path):
        out.append(path + ' = table')
        for f in m.DESCRIPTOR.fields:
            p = path + key_text(f.name)
            v = getattr(m, f.name)
            if is_map(f):
                out.append(p + ' = table')
                kf, vf = f.message_type.fields_by_name['key'], f.message_type.fields_by_name['value']
                for k in v:
                    value(vf, v[k], p + key_text_of(kf, k))
            elif f.label == FD.LABEL_REPEATED:
                out.append(p + ' = table')
                for i, e in enumerate(v, 1):
                    value(f, e, '%s[%d]' % (p, i))
            else:
                shown_when_absent = lua and f.type != FD.TYPE_MESSAGE and f.containing_oneof is None
                if shown_when_absent or not f.has_presence or m.HasField(f.name):
                    value(f, v, p)

    def key_text_of(kf, k):
        if kf.type == FD.TYPE_STRING and re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', k):
            return '.' + k
        return '[%s]' % scalar(kf, k)

    walk(msg, '')
    return sorted(out)


# ---- the checks -----------------------------------------------------------

class Report:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, why):
        if why:
            self.failed += 1
            print('FAIL  %s: %s' % (name, why))
        else:
            self.passed += 1
            print('ok    %s' % name)


def diff(want, got):
    lines = difflib.unified_diff(want, got, 'expected', 'got', lineterm='', n=1)
    return '\n' + '\n'.join(list(lines)[:60])


def check_lua_bytes(case, work):
    """Lua -> Google: '' when Lua's bytes are the expected message."""
    path = os.path.join(work, case.name + '.lua.pb')
    if not os.path.exists(path):
        return 'lua_pb wrote no %s' % path
    with open(path, 'rb') as fh:
        data = fh.read()
    got = type(case.msg)()
    try:
        got.ParseFromString(data)  # checks required fields too
    except Exception as e:  # DecodeError, or a required field missing
        return 'Google cannot parse Lua\'s bytes %s: %s' % (data.hex(), e)
    if len(got.UnknownFields()) != 0:
        return 'unknown fields in Lua\'s bytes %s' % data.hex()
    want_lines, got_lines = dump(case.msg, False), dump(got, False)
    if got_lines != want_lines:
        return 'Lua\'s bytes decode to another message:' + diff(want_lines, got_lines)
    if case.same_bytes:
        want = case.msg.SerializeToString(deterministic=True)
        if data != want:
            return 'bytes differ from Google\'s deterministic ones:\n  lua    %s\n  google %s' % (
                data.hex(), want.hex())
    return ''


def check_lua_dump(case, work):
    """Google -> Lua: '' when Lua decoded Google's bytes as expected."""
    path = os.path.join(work, case.name + '.lua.txt')
    if not os.path.exists(path):
        return 'lua_pb wrote no %s' % path
    with open(path, encoding='utf-8', errors='replace') as fh:
        got = fh.read().splitlines()
    if case.lua_error is not None:
        want = ['error: ' + case.lua_error]
    else:
        want = dump(case.msg, True)
    return '' if got == want else 'Lua decoded it otherwise:' + diff(want, got)


def run_lua(lua_pb, script, *args):
    """'' when lua_pb ran the script to its end, else why not."""
    try:
        p = subprocess.run([lua_pb, script] + list(args), capture_output=True,
                           text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return 'lua_pb %s timed out after %d s' % (args[0], TIMEOUT)
    if p.returncode != 0:
        return 'lua_pb %s exited %d: %s' % (args[0], p.returncode, p.stderr.strip())
    return ''


def lua_fixture_names(fixtures):
    with open(fixtures, encoding='utf-8') as fh:
        return re.findall(r"\{ name = '([a-z0-9_]+)'", fh.read())


def main(argv):
    if len(argv) != 6:
        print(__doc__.strip().split('\n\n')[-2], file=sys.stderr)
        return 2
    pb2_dir, lua_pb, script, fixtures, work = argv[1:]
    sys.path.insert(0, pb2_dir)
    import alltypes_pb2
    import alltypes2_pb2
    all_cases = cases(alltypes_pb2, alltypes2_pb2)
    r = Report()

    # Both lists name the same round-trip cases, once each.
    want = sorted(c.name for c in all_cases if c.lua)
    got = sorted(lua_fixture_names(fixtures))
    r.check('fixtures.lua and interop.py name the same cases',
            '' if got == want else diff(want, got))

    with open(os.path.join(work, 'decode.txt'), 'w') as fh:
        for c in all_cases:
            serialize = c.msg.SerializePartialToString if c.partial else c.msg.SerializeToString
            with open(os.path.join(work, c.name + '.py.pb'), 'wb') as out:
                out.write(serialize())
            fh.write('%s %s\n' % (c.name, c.msg.DESCRIPTOR.full_name))

    why = run_lua(lua_pb, script, 'encode', fixtures, work)
    r.check('lua_pb encode', why)
    if not why:
        for c in all_cases:
            if c.lua:
                r.check('lua -> google  %s' % c.name, check_lua_bytes(c, work))
    why = run_lua(lua_pb, script, 'decode', work)
    r.check('lua_pb decode', why)
    if not why:
        for c in all_cases:
            r.check('google -> lua  %s' % c.name, check_lua_dump(c, work))

    print('test_interop: %d passed, %d failed' % (r.passed, r.failed))
    return 1 if r.failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

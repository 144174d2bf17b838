#!/bin/sh
# The interop test: sky's Lua codec against Google's own protobuf
# implementation (python3-protobuf), both ways, on alltypes.proto and
# alltypes2.proto. lua_pb (built by make check) runs interop.lua; the
# comparison is interop.py's. Skips (exit 77) without python3 and its
# google.protobuf module or without protoc.
#
# Environment: SKY_SRCDIR, SKY_BUILDDIR (set by make check), SKY_PROTOC
# (protoc), PYTHON (a python3 with google.protobuf; else the first of
# python3 and /usr/bin/python3 that has it), SKY_KEEP=1 keeps the work dir.
here=$(cd "$(dirname "$0")" && pwd)
: "${SKY_SRCDIR:=$(cd "$here/../../.." && pwd)}"
: "${SKY_BUILDDIR:=$SKY_SRCDIR}"
src=$SKY_SRCDIR/tests/lua/interop
lua_pb=$SKY_BUILDDIR/tests/lua/interop/lua_pb

python=
for p in ${PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 &&
        "$p" -c 'import google.protobuf' >/dev/null 2>&1; then
        python=$p
        break
    fi
done
if [ -z "$python" ]; then
    echo "SKIP: no python3 with the google.protobuf module (Debian: python3-protobuf)"
    exit 77
fi
protoc=${SKY_PROTOC:-protoc}
if ! command -v "$protoc" >/dev/null 2>&1; then
    echo "SKIP: no protoc (Debian: protobuf-compiler)"
    exit 77
fi
if [ ! -x "$lua_pb" ]; then
    echo "FAIL: $lua_pb not built (make check builds it)"
    exit 1
fi

# the skyc tests' harness: $tmp, removed at exit unless SKY_KEEP=1
NAME=interop
. "$SKY_SRCDIR/tests/skyc/lib.sh"
mkdir "$tmp/pb2" "$tmp/work" || exit 1

"$protoc" -I"$src" --python_out="$tmp/pb2" "$src/alltypes.proto" "$src/alltypes2.proto" ||
    { echo "FAIL: protoc --python_out"; exit 1; }
# interop.py bounds each lua_pb run itself (60 s)
"$python" "$src/interop.py" "$tmp/pb2" "$lua_pb" "$src/interop.lua" \
    "$src/fixtures.lua" "$tmp/work"

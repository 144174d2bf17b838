#!/bin/sh
# A client in another language, written from docs/protocol.md: Python with
# Google's protobuf calls a Lua service (tests/lua/stub_echo.lua) through
# the gate of a real node started by the launcher (gate_port). Skips (77)
# without a python3 that has google.protobuf, or without protoc.
#
# Environment: SKY_BIN, SKY_SRCDIR, SKY_BUILDDIR, SKY_PROTOC (set by make check).
here=$(cd "$(dirname "$0")" && pwd)
: "${SKY_SRCDIR:=$(cd "$here/../.." && pwd)}"
: "${SKY_BUILDDIR:=$SKY_SRCDIR}"
: "${SKY_BIN:=$SKY_BUILDDIR/sky}"

python=
for p in ${PYTHON:-} python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import google.protobuf' >/dev/null 2>&1; then
        python=$p
        break
    fi
done
[ -n "$python" ] || { echo "SKIP: no python3 with google.protobuf (Debian: python3-protobuf)"; exit 77; }
protoc=${SKY_PROTOC:-protoc}
command -v "$protoc" >/dev/null 2>&1 || { echo "SKIP: no protoc"; exit 77; }

NAME=gate_py
. "$SKY_SRCDIR/tests/skyc/lib.sh"
mkdir "$tmp/pb2" || exit 1
"$protoc" -I"$SKY_SRCDIR/idl" -I"$SKY_SRCDIR/tests/runtime" --python_out="$tmp/pb2" \
    "$SKY_SRCDIR/tests/runtime/typed_test.proto" "$SKY_SRCDIR/idl/sky/options.proto" \
    "$SKY_SRCDIR/idl/sky/status.proto" || { echo "FAIL: protoc --python_out"; exit 1; }

# a free port: bind 0, read it, let go
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$tmp/node.lua" <<EOF2
threads = 2
service_path = "$SKY_SRCDIR/tests/lua/?.lua;$SKY_BUILDDIR/tests/runtime/?.lua"
bootstrap = "lua"
bootstrap_args = "stub_echo"
log = "$tmp/node.log"
gate_port = $port
gate_host = "127.0.0.1"
gate_max_inflight = 8
EOF2
"$SKY_BIN" "$tmp/node.lua" &
node=$!
trap 'kill $node 2>/dev/null; wait $node 2>/dev/null; rm -rf "$tmp"' EXIT
# wait (bounded) for the gate to listen
i=0
until "$python" -c "import socket,sys; socket.create_connection(('127.0.0.1',$port),timeout=1).close()" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 100 ] || { echo "FAIL: the gate did not listen on $port"; cat "$tmp/node.log"; exit 1; }
    sleep 0.1
done
timeout 60 "$python" "$here/gate_client.py" "$tmp/pb2" "$port"
rc=$?
[ $rc -eq 0 ] || { echo "FAIL: gate_client.py ($rc)"; cat "$tmp/node.log"; exit 1; }
grep -q "closing 127.0.0.1:.*frame length under 12" "$tmp/node.log" ||
    { echo "FAIL: the malformed frame's reason is not logged"; cat "$tmp/node.log"; exit 1; }
echo "PASS"

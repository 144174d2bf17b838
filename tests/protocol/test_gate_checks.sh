#!/bin/sh
# The gate's checks of docs/protocol.md ("Frames", "Limits and bad input")
# through a real node started by the launcher: tests/protocol/gate_checks.py
# sends requests nesting messages 100, 101 and 5000 levels deep, and one
# with non-zero flags and reserved fields, to a Lua service (deep.lua,
# serving deep.proto through its generated Lua stubs).
#
# Environment: SKY_BIN, SKY_SRCDIR, SKY_BUILDDIR (set by make check; the
# stubs, deep_sky.lua, are in SKY_BUILDDIR/tests/protocol). Skips (77)
# without python3. The node and the client run under `timeout`.
here=$(cd "$(dirname "$0")" && pwd)
SKY_SRCDIR=${SKY_SRCDIR:-$(cd "$here/../.." && pwd)}
SKY_BUILDDIR=${SKY_BUILDDIR:-$SKY_SRCDIR}
SKY_BIN=${SKY_BIN:-$SKY_BUILDDIR/sky}
python=${PYTHON:-python3}
command -v "$python" >/dev/null 2>&1 || { echo "SKIP: no $python"; exit 77; }

NAME=gate_checks
. "$SKY_SRCDIR/tests/skyc/lib.sh"

# a free port: bind 0, read it, let go
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$tmp/node.lua" <<END
threads = 2
service_path = "$SKY_SRCDIR/tests/protocol/?.lua;$SKY_BUILDDIR/tests/protocol/?.lua"
bootstrap = "lua"
bootstrap_args = "deep"
log = "$tmp/node.log"
gate_port = $port
gate_host = "127.0.0.1"
END
timeout 60 "$SKY_BIN" "$tmp/node.lua" &
node=$!
trap 'kill $node 2>/dev/null; wait $node 2>/dev/null; rm -rf "$tmp"' EXIT

i=0
until "$python" -c "import socket; socket.create_connection(('127.0.0.1',$port),timeout=1).close()" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -ge 100 ] || ! kill -0 $node 2>/dev/null; then
        report "the node's gate listens" "not on port $port after 10 s" "$tmp/node.log"
        finish
    fi
    sleep 0.1
done

# gate_checks.py reports each case and closes with its own summary line.
timeout 60 "$python" "$here/gate_checks.py" "$port"
rc=$?
[ $rc -eq 0 ] || { echo "node log:"; sed 's/^/  | /' "$tmp/node.log"; }
exit $rc

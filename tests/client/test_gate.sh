#!/bin/sh
# The client libraries against a real node's gate (started by the launcher
# with gate_port), over 127.0.0.1:
#   c, lua   gate_client (libsky-client and the typed_test.proto stubs)
#            against skytest.Echo served by a C module (cecho.so) and by a
#            Lua service (tests/lua/stub_echo.lua);
#   restart  the node goes down under a connected client (SKY_ENODEDOWN),
#            comes back on the same port, and the client reconnects;
#   device   examples/device (the nanopb client) reports to collector.lua.
# Every wait is bounded.
#
# Environment (exported by make check): SKY_BIN, SKY_SRCDIR, SKY_BUILDDIR.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${SKY_SRCDIR:=$(cd "$here/../.." && pwd)}"
: "${SKY_BUILDDIR:=$SKY_SRCDIR}"
: "${SKY_BIN:=$SKY_BUILDDIR/sky}"
client="$SKY_BUILDDIR/tests/client/gate_client"
device="$SKY_BUILDDIR/examples/device/device"

NAME=gate_clients
LIMIT=180 # a sanitizer build takes its time over the flood of check
. "$SKY_SRCDIR/tests/skyc/lib.sh"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_node BOOTSTRAP ARGS PORT: a node with a gate on PORT; sets $node.
start_node() {
    cat >"$tmp/node.lua" <<EOF2
threads = 2
module_path = "$SKY_BUILDDIR/tests/client/.libs/?.so"
service_path = "$SKY_SRCDIR/tests/lua/?.lua;$SKY_BUILDDIR/tests/runtime/?.lua;$SKY_SRCDIR/examples/device/?.lua;$SKY_BUILDDIR/examples/device/?.lua"
bootstrap = "$1"
bootstrap_args = "$2"
log = "$tmp/node.log"
gate_port = $3
mailbox_limit = 4096 -- the flood of check goes past it with 10000 Notes
gate_host = "127.0.0.1"
EOF2
    "$SKY_BIN" "$tmp/node.lua" &
    node=$!
    i=0
    until python3 -c "import socket; socket.create_connection(('127.0.0.1',$3),timeout=1).close()" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -ge 100 ]; then
            echo "the gate did not listen on $3" >>"$tmp/node.log"
            return 1
        fi
        sleep 0.1
    done
}

stop_node() {
    kill "$node" 2>/dev/null
    wait "$node" 2>/dev/null
    node=
}
node=
trap 'stop_node; rm -rf "$tmp"' EXIT

# c and lua: the same checks against both servers
for kind in c lua; do
    port=$(free_port)
    if [ $kind = c ]; then start_node cecho "" "$port"; else start_node lua stub_echo "$port"; fi
    w=$(why $?)
    [ -z "$w" ] && { timeout "$LIMIT" "$client" "$port" check $kind >"$tmp/out" 2>&1; w=$(why $?); }
    cat "$tmp/out" >>"$tmp/node.log" 2>/dev/null
    report "libsky-client and stubs through the gate to a $kind service" "$w" "$tmp/node.log"
    [ -n "$w" ] || sed 's/^/      /' "$tmp/out"
    stop_node
done

# restart: the client sees the node go and come back on the same port
port=$(free_port)
start_node lua stub_echo "$port"
w=$(why $?)
if [ -z "$w" ]; then
    mkfifo "$tmp/in"
    timeout "$LIMIT" "$client" "$port" restart <"$tmp/in" >"$tmp/out" 2>&1 &
    cl=$!
    exec 3>"$tmp/in"
    i=0
    until grep -q '^ready' "$tmp/out" 2>/dev/null || [ $i -ge 100 ]; do
        i=$((i + 1))
        sleep 0.1
    done
    stop_node
    start_node lua stub_echo "$port"
    echo go >&3
    exec 3>&-
    wait $cl
    w=$(why $?)
    cat "$tmp/out" >>"$tmp/node.log"
fi
report "a node restart: ENODEDOWN, then a reconnect" "$w" "$tmp/node.log"
stop_node

# device: the nanopb client and a Lua service
port=$(free_port)
start_node lua collector "$port"
w=$(why $?)
if [ -z "$w" ]; then
    timeout "$LIMIT" "$device" 127.0.0.1 "$port" t1 21 19 25 >"$tmp/out" 2>&1
    w=$(why $?)
    printf '%s\n' "t1: 1 readings, min 21, max 21" "t1: 2 readings, min 19, max 21" \
        "t1: 3 readings, min 19, max 25" >"$tmp/want"
    if [ -z "$w" ] && ! diff -u "$tmp/want" "$tmp/out" >>"$tmp/node.log" 2>&1; then
        w="unexpected output"
    fi
    cat "$tmp/out" >>"$tmp/node.log"
fi
report "examples/device (nanopb) to collector.lua through the gate" "$w" "$tmp/node.log"
stop_node

finish

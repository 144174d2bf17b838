#!/bin/sh
# run.sh — the demo: a node (./sky demo.lua) and an outside program
# (outside.c) calling into it through the node's gate. What `make demo`
# and `./quickstart.sh demo` run; see README.md.
#
# The node's lines and the client's come out as they happen, on stdout
# (the node's log on stderr). The gate listens on a free port (demo.lua:
# gate_port = 0); ping prints it once the node is ready for the client,
# and this script starts the client with it. Every wait is bounded. Exit
# status 0 only if the node exited 0, the client exited 0 and ping got
# the client's Done; else 1, with the reason on stderr.
#
# Environment (make demo sets them; the defaults suit a tree built in
# place): SKY_SRCDIR and SKY_BUILDDIR, the source and build trees;
# SKY_BIN, the launcher; SKY_DEMO_CLIENT, the client program, run as
# `CLIENT 127.0.0.1 PORT` (tests/demo/test_demo.sh runs one that never
# calls, to see this script fail).
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${SKY_SRCDIR:=$(cd "$here/../.." && pwd)}"
: "${SKY_BUILDDIR:=$SKY_SRCDIR}"
: "${SKY_BIN:=$SKY_BUILDDIR/sky}"
: "${SKY_DEMO_CLIENT:=$SKY_BUILDDIR/examples/demo/outside}"
LIMIT=60 # seconds the node may run; the client, and the wait for the port, half of it

tmp=$(mktemp -d) || exit 1
node=
cleanup() {
    [ -z "$node" ] || kill "$node" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# The node's stdout goes through tee: shown at once, and kept so that this
# script can read the gate's port from ping's line. node.out exists before
# the loop below reads it: tee would create it only once the node opens
# the pipe (the shell opens the pipe for tee first, which waits for a
# writer), after that loop's first read.
mkfifo "$tmp/node.pipe" || exit 1
: >"$tmp/node.out" || exit 1
tee -a "$tmp/node.out" <"$tmp/node.pipe" &
tee_pid=$!
SKY_DEMO_MODDIR="$SKY_BUILDDIR/examples/demo/.libs" SKY_DEMO_LUADIR="$SKY_BUILDDIR/examples/demo" \
    SKY_SRCDIR="$SKY_SRCDIR" timeout "$LIMIT" "$SKY_BIN" "$SKY_SRCDIR/examples/demo/demo.lua" >"$tmp/node.pipe" &
node=$!

# ping's line: "[ping] the gate (service 7) listens on port 41234: ..."
port= i=0
while :; do
    port=$(sed -n 's/^\[ping\] the gate (service [0-9]*) listens on port \([0-9][0-9]*\):.*/\1/p' "$tmp/node.out")
    [ -z "$port" ] || break
    kill -0 "$node" 2>/dev/null || break # the node is gone: its status says why, below
    i=$((i + 1))
    [ "$i" -lt $((LIMIT * 5)) ] || break
    sleep 0.1
done

cstatus=0
if [ -n "$port" ]; then
    timeout $((LIMIT / 2)) "$SKY_DEMO_CLIENT" 127.0.0.1 "$port"
    cstatus=$?
fi
wait "$node"
nstatus=$?
node=
wait "$tee_pid"

fail=0
if [ -z "$port" ]; then
    echo "run.sh: the node never said which port its gate listens on" >&2
    fail=1
elif [ "$cstatus" -ne 0 ]; then
    echo "run.sh: the outside client failed with status $cstatus (124: timed out)" >&2
    fail=1
fi
if [ "$nstatus" -ne 0 ]; then
    echo "run.sh: the node exited with status $nstatus (124: timed out)" >&2
    fail=1
fi
if ! grep -q '^\[ping\] the outside client: served through the gate' "$tmp/node.out"; then
    echo "run.sh: ping did not get the outside client's Done" >&2
    fail=1
fi
exit "$fail"

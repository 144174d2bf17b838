#!/bin/sh
# run.sh — the cluster demo: three nodes (alpha, beta, gamma) from one
# config, cluster.lua, calling each other across the cluster through
# demo.proto's stubs; beta is killed (SIGKILL) mid-way and started again.
# What `make demo` runs after the one-node demo; see README.md.
#
# The nodes' lines come out as they happen, on stdout, each with its
# node's name; their logs (warnings: a node going down, a link refused)
# on stderr. Every wait is bounded. Exit status 0 only if alpha's driver
# got to the end (its checks passed) and every node exited 0.
#
# Environment: SKY_SRCDIR, SKY_BUILDDIR and SKY_BIN as for
# examples/demo/run.sh.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${SKY_SRCDIR:=$(cd "$here/../.." && pwd)}"
: "${SKY_BUILDDIR:=$SKY_SRCDIR}"
: "${SKY_BIN:=$SKY_BUILDDIR/sky}"
LIMIT=60 # seconds the whole demo may take

tmp=$(mktemp -d) || exit 1
alpha= beta= gamma= tailer= watchdog=
cleanup() {
    for p in $alpha $beta $gamma; do kill -9 "$p" 2>/dev/null; done
    for p in $tailer $watchdog; do kill "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "run.sh: stopped (the demo took over ${LIMIT} s, or a signal)" >&2; exit 1' INT TERM
# The nodes run without `timeout` in front, so that $! is the node itself
# (kill -9 must hit it, not a wrapper); this bounds them all instead.
(sleep "$LIMIT" && kill -TERM $$) 2>/dev/null &
watchdog=$!

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
SKY_PORT_ALPHA=$(free_port) SKY_PORT_BETA=$(free_port) SKY_PORT_GAMMA=$(free_port)
SKY_CLUSTER_SECRET=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
SKY_DEMO_MODDIR="$SKY_BUILDDIR/examples/demo/.libs" SKY_DEMO_LUADIR="$SKY_BUILDDIR/examples/demo"
export SKY_PORT_ALPHA SKY_PORT_BETA SKY_PORT_GAMMA SKY_CLUSTER_SECRET SKY_DEMO_MODDIR SKY_DEMO_LUADIR SKY_SRCDIR

# start NAME: a node in the background, its stdout appended to NAME.out
# (shown by the tail below); its pid in $NAME.
start() {
    SKY_NODE=$1 "$SKY_BIN" "$SKY_SRCDIR/examples/cluster/cluster.lua" >>"$tmp/$1.out" &
    eval "$1=\$!"
    echo "[run.sh] started node $1 (pid $!)"
}

# wait_for NAME TEXT: until NAME.out holds a line with TEXT (bounded).
wait_for() {
    i=0
    until grep -q "$2" "$tmp/$1.out"; do
        i=$((i + 1))
        if [ "$i" -gt $((LIMIT * 10)) ] || ! kill -0 "$alpha" 2>/dev/null; then
            echo "run.sh: node $1 never said \"$2\"" >&2
            exit 1
        fi
        sleep 0.1
    done
}

: >"$tmp/alpha.out" && : >"$tmp/beta.out" && : >"$tmp/gamma.out" || exit 1
tail -q -n +1 -f "$tmp/beta.out" "$tmp/gamma.out" "$tmp/alpha.out" &
tailer=$!
start beta
start gamma
start alpha

wait_for alpha "kill beta now"
kill -9 "$beta"
wait "$beta" 2>/dev/null
beta=
echo "[run.sh] killed node beta (SIGKILL)"

wait_for alpha "restart beta now"
start beta

wait "$alpha"
astatus=$?
alpha=
fail=0
if [ "$astatus" -ne 0 ]; then
    echo "run.sh: node alpha exited with status $astatus" >&2
    fail=1
fi
for n in beta gamma; do
    eval "p=\$$n"
    kill -TERM "$p" 2>/dev/null
    wait "$p"
    s=$?
    eval "$n="
    if [ "$s" -ne 0 ]; then
        echo "run.sh: node $n exited with status $s" >&2
        fail=1
    fi
done
sleep 0.2 # the tail shows the last lines
if ! grep -q '^\[alpha\] done' "$tmp/alpha.out"; then
    echo "run.sh: alpha's driver did not finish" >&2
    fail=1
fi
[ "$fail" -ne 0 ] || echo "[run.sh] the cluster demo ran through: every node exited 0"
exit "$fail"

#!/usr/bin/env bash
# make bench, the gate (issue 6), and gRPC's twin of it. Each round runs,
# one after the other so that all see the same load:
#   sky lua   gate_bench (libsky-client; 64 in flight as raw frames) -> a
#             fresh node's gate -> a Lua service (tests/lua/stub_echo.lua,
#             skytest.Echo.Bump) -> back; with the floor (gate_floor_*: the
#             same frames to an echo thread, no sky in between);
#   sky c     the same calls to a C service (tests/client/cecho.c), keys
#             ending in _c;
#   grpc      the gRPC 1.51 peer ($SKY_PEERS/grpc, RUN.md), built here in
#             a temporary directory when pkg-config knows grpc++ and
#             grpc_cpp_plugin, protoc, g++ and make are there: seq, c64cb
#             and stream, a fresh server for each.
# Prints every round's figures as comments, the best per key (max for
# *_per_s, min otherwise), ours as `key value`, gRPC's as `grpc_key value`,
# where a sequential call's time goes, and ratio_key = sky / grpc. See
# docs/benchmarks.md.
#
# Environment: SKY_BIN, SKY_SRCDIR, SKY_BUILDDIR (make bench sets them),
# SKY_BENCH_ROUNDS (default 3), SKY_GATE_CALLS (default 20000),
# SKY_PEERS (default <srcdir>/../shared/peers), SKY_BENCH_GRPC=0 to skip
# the gRPC peer.
set -u
srcdir=${SKY_SRCDIR:?}
builddir=${SKY_BUILDDIR:?}
sky=${SKY_BIN:?}
rounds=${SKY_BENCH_ROUNDS:-3}
calls=${SKY_GATE_CALLS:-20000}
peers=${SKY_PEERS:-$(dirname "$srcdir")/shared/peers}
bench="$builddir/tests/bench/gate_bench"

case $rounds in '' | *[!0-9]* | 0) echo "gate.sh: SKY_BENCH_ROUNDS must be a positive integer" >&2; exit 2 ;; esac
case $calls in '' | *[!0-9]*) echo "gate.sh: SKY_GATE_CALLS must be a positive integer" >&2; exit 2 ;; esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sky-gatebench.XXXXXX") || exit 1
node=
server=
stop_node() {
    [ -n "$node" ] && { kill "$node"; wait "$node"; } 2>/dev/null
    node=
}
stop_server() {
    [ -n "$server" ] && { kill "$server"; wait "$server"; } 2>/dev/null
    server=
}
trap 'stop_node; stop_server; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
: >"$tmp/sky.txt"
: >"$tmp/grpc.txt"
status=0
# shellcheck source=tests/bench/lib.sh
. "$srcdir/tests/bench/lib.sh"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_node BOOTSTRAP ARGS: a node with a gate on a free port ($port);
# sets $node. Returns 1 when the gate does not listen within 10 s.
start_node() {
    port=$(free_port)
    cat >"$tmp/node.lua" <<EOF2
threads = 2
module_path = "$builddir/tests/client/.libs/?.so"
service_path = "$srcdir/tests/lua/?.lua;$builddir/tests/runtime/?.lua"
bootstrap = "$1"
bootstrap_args = "$2"
log = "$tmp/node.log"
gate_port = $port
gate_host = "127.0.0.1"
EOF2
    timeout 900 "$sky" "$tmp/node.lua" &
    node=$!
    for _ in $(seq 100); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),timeout=1).close()" 2>/dev/null &&
            return 0
        sleep 0.1
    done
    return 1
}

# sky_round R LABEL BOOTSTRAP ARGS GATE_BENCH_OPTIONS...
sky_round() {
    local r=$1 label=$2
    if start_node "$3" "$4"; then
        shift 4
        # Bump{id: 1}: 08 01
        run_one "$tmp/sky.txt" "round $r sky $label" "$bench" "$@" 127.0.0.1 "$port" skytest.Echo.Bump "$calls" 0801
    else
        echo "# round $r sky $label: the node's gate did not listen: $(tail -n 3 "$tmp/node.log" 2>/dev/null | tr '\n' ' ')"
        status=1
    fi
    stop_node
}

# The gRPC peer: built from a copy of its sources (../shared stays
# read-only) when its tools are there.
grpc=0
if [ "${SKY_BENCH_GRPC:-1}" = 0 ]; then
    echo "# gRPC peer skipped (SKY_BENCH_GRPC=0)"
elif [ ! -f "$peers/grpc/client.cc" ]; then
    echo "# gRPC peer skipped (no $peers/grpc/client.cc)"
elif ! pkg-config --exists grpc++ protobuf 2>/dev/null ||
    ! command -v grpc_cpp_plugin >/dev/null || ! command -v protoc >/dev/null ||
    ! command -v g++ >/dev/null || ! command -v make >/dev/null; then
    echo "# gRPC peer skipped (needs pkg-config grpc++ and protobuf, grpc_cpp_plugin, protoc, g++, make:" \
        "apt-get install libgrpc++-dev protobuf-compiler-grpc g++)"
else
    mkdir "$tmp/grpc" && cp "$peers/grpc/Makefile" "$peers/grpc/echo.proto" "$peers/grpc/server.cc" \
        "$peers/grpc/client.cc" "$tmp/grpc/" && chmod u+w "$tmp/grpc"/*
    if timeout 900 make -s -C "$tmp/grpc" -j2 >"$tmp/grpc/build.log" 2>&1; then
        grpc=1
    else
        echo "# gRPC peer skipped (its build failed: $(tail -n 3 "$tmp/grpc/build.log" | tr '\n' ' '))"
    fi
fi

# grpc_round R MODE ARGS...: a fresh echo_server, one echo_client run;
# its keys renamed to ours (RUN.md's names) into grpc.txt.
grpc_round() {
    local r=$1 mode=$2
    shift 2
    timeout 300 "$tmp/grpc/echo_server" 127.0.0.1:0 cb >"$tmp/grpc/port" 2>"$tmp/grpc/server.err" &
    server=$!
    for _ in $(seq 100); do
        [ -s "$tmp/grpc/port" ] && break
        sleep 0.1
    done
    if [ -s "$tmp/grpc/port" ]; then
        : >"$tmp/grpc/keys"
        run_one "$tmp/grpc/keys" "round $r grpc $mode" "$tmp/grpc/echo_client" "$(head -n 1 "$tmp/grpc/port")" \
            "${mode%_hint}" "$@"
        awk -v m="$mode" '
            m == "seq" && $1 == "rt_mean_us" { print "grpc_call_rt_us", $2 }
            m == "seq" && $1 == "p99_us" { print "grpc_call_p99_us", $2 }
            m == "seq" && $1 == "calls_per_s" { print "grpc_call_per_s", $2 }
            m == "c64cb" && $1 == "calls_per_s" { print "grpc_call_per_s_c64", $2 }
            m == "c64cb" && $1 == "p99_us" { print "grpc_call_p99_us_c64", $2 }
            m == "stream" && $1 == "msgs_per_s" { print "grpc_stream_msgs_per_s", $2 }
            m == "stream_hint" && $1 == "msgs_per_s" { print "grpc_stream_msgs_per_s_hint", $2 }' "$tmp/grpc/keys" >>"$tmp/grpc.txt"
    else
        echo "# round $r grpc $mode: echo_server did not start: $(tr '\n' ' ' <"$tmp/grpc/server.err")"
        status=1
    fi
    stop_server
}

echo "# gate: $(date -u '+%Y-%m-%d %H:%M:%S UTC') $(uname -srm), $(nproc) cpus, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# rounds=$rounds calls=$calls; gRPC peer: $([ $grpc = 1 ] && echo "gRPC $(pkg-config --modversion grpc++)" || echo no)"
for r in $(seq "$rounds"); do
    sky_round "$r" lua lua stub_echo
    sky_round "$r" c cecho "" -m floor,seq,c64,send,batch -s _c
    if [ $grpc = 1 ]; then
        # RUN.md's settings: 5-byte text; 2,000 warm-up calls; 64 in
        # flight for 5 s after 1 s; a stream of 1,000,000 messages, and
        # the same with the buffer hint (gRPC's counterpart of send_later)
        grpc_round "$r" seq 5 2000 "$calls"
        grpc_round "$r" c64cb 5 64 5 1
        grpc_round "$r" stream 5 1000000
        grpc_round "$r" stream_hint 5 1000000 1
    fi
done

rounds "$tmp/sky.txt" sky
best "$tmp/sky.txt" >"$tmp/sky.best"
echo "# sky: best of $rounds rounds (max for *_per_s, min otherwise)"
cat "$tmp/sky.best"
# A sequential call's time, from the best figures: the kernel's ping-pong,
# the client library, the gate and scheduling (the C service's call over
# the floor measured in the same process), the Lua service (its call over
# its own floor, less the C service's). Each service's floor is measured
# beside its calls, so a floor that moves between runs cancels out.
awk '{ v[$1] = $2 }
     END { if (("gate_floor_rt_us" in v) && ("gate_floor_client_rt_us" in v) && ("gate_call_rt_us" in v) &&
                ("gate_floor_client_rt_us_c" in v) && ("gate_call_rt_us_c" in v)) {
             gate = v["gate_call_rt_us_c"] - v["gate_floor_client_rt_us_c"]
             printf "# where the time goes (us): floor %.1f, libsky-client %.1f, gate and scheduling %.1f, Lua service %.1f\n",
                 v["gate_floor_rt_us"], v["gate_floor_client_rt_us"] - v["gate_floor_rt_us"], gate,
                 v["gate_call_rt_us"] - v["gate_floor_client_rt_us"] - gate } }' \
    "$tmp/sky.best"

if [ -s "$tmp/grpc.txt" ]; then
    rounds "$tmp/grpc.txt" grpc
    best "$tmp/grpc.txt" >"$tmp/grpc.best"
    echo "# grpc: best of $rounds rounds"
    cat "$tmp/grpc.best"
    echo "# ratio_<key> = sky / grpc: above 1 is better for *_per_s, below 1 for times"
    awk 'BEGIN { twin["gate_call_rt_us"] = "grpc_call_rt_us"; twin["gate_call_p99_us"] = "grpc_call_p99_us"
                 twin["gate_calls_per_s_c64"] = "grpc_call_per_s_c64"
                 twin["gate_send_msgs_per_s"] = "grpc_stream_msgs_per_s"
                 twin["gate_send_msgs_per_s_batched"] = "grpc_stream_msgs_per_s_hint" }
         NR == FNR { g[$1] = $2; next }
         { k = $1; sub(/_c$/, "", k) } # the C service is set against the same gRPC figure
         (k in twin) && g[twin[k]] != 0 { printf "ratio_%s %.3f\n", $1, $2 / g[twin[k]] }' "$tmp/grpc.best" "$tmp/sky.best"
fi
exit $status

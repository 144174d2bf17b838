#!/usr/bin/env bash
# make bench, the gate (issue 6): libsky-client -> gate -> a Lua service
# (tests/lua/stub_echo.lua, skytest.Echo.Bump) -> back, with
# tests/bench/gate_bench, on a fresh node per round. Prints the best
# figure per key (max for *_per_s, min for times). gRPC's figures for the
# same shape of call are in the issue and docs/benchmarks.md; its peer is
# /work/shared/peers/grpc (RUN.md), run beside by hand.
#
# Environment: SKY_BIN, SKY_SRCDIR, SKY_BUILDDIR (make bench sets them),
# SKY_BENCH_ROUNDS (default 3), SKY_GATE_CALLS (default 20000).
set -u
srcdir=${SKY_SRCDIR:?}
builddir=${SKY_BUILDDIR:?}
sky=${SKY_BIN:?}
rounds=${SKY_BENCH_ROUNDS:-3}
calls=${SKY_GATE_CALLS:-20000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sky-gatebench.XXXXXX") || exit 1
node=
trap '[ -n "$node" ] && { kill $node; wait $node; } 2>/dev/null; rm -rf "$tmp"' EXIT

for r in $(seq "$rounds"); do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat >"$tmp/node.lua" <<EOF2
threads = 2
service_path = "$srcdir/tests/lua/?.lua;$builddir/tests/runtime/?.lua"
bootstrap = "lua"
bootstrap_args = "stub_echo"
log = "$tmp/node.log"
gate_port = $port
gate_host = "127.0.0.1"
EOF2
    "$sky" "$tmp/node.lua" &
    node=$!
    for _ in $(seq 100); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),timeout=1).close()" 2>/dev/null && break
        sleep 0.1
    done
    # Bump{id: 1}: 08 01
    timeout 300 "$builddir/tests/bench/gate_bench" 127.0.0.1 "$port" skytest.Echo.Bump "$calls" 0801 >>"$tmp/all" ||
        echo "# gate_bench failed in round $r" >&2
    kill $node; wait $node 2>/dev/null
    node=
done
awk '{ k = $1; v = $2 + 0
       if (!(k in best)) { best[k] = v; order[++n] = k }
       else if (k ~ /_per_s/ ? v > best[k] : v < best[k]) best[k] = v }
     END { for (i = 1; i <= n; i++) printf "%s %s\n", order[i], best[order[i]] }' "$tmp/all"

#!/bin/sh
# gate_bench (tests/bench/gate_bench.c) against a gate in another process
# (tests/client/echo_gate.py, written from docs/protocol.md): every key
# comes out, with a positive number, -m picks the modes and -s suffixes
# the keys, a bad -m is refused. A smoke test of the benchmark client, not
# a measurement. Every wait is bounded.
set -u

: "${SKY_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${SKY_BUILDDIR:=$SKY_SRCDIR}"
bench="$SKY_BUILDDIR/tests/bench/gate_bench"
command -v python3 >/dev/null 2>&1 || { echo "SKIP: no python3"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sky-gbench.XXXXXX") || exit 1
mkfifo "$tmp/in"
timeout 60 python3 "$SKY_SRCDIR/tests/client/echo_gate.py" --seconds 50 <"$tmp/in" >"$tmp/port" 2>"$tmp/gate.log" &
gate=$!
exec 3>"$tmp/in" # the gate stops when this closes
cleanup() {
    exec 3>&-
    kill "$gate" 2>/dev/null
    wait "$gate" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

for _ in $(seq 100); do
    [ -s "$tmp/port" ] && break
    sleep 0.1
done
port=$(head -n1 "$tmp/port")
[ -n "$port" ] || { echo "FAIL: the Python gate did not start"; cat "$tmp/gate.log"; exit 1; }

fails=0
# has FILE KEY...: each key comes out in FILE with a positive number.
has() {
    f=$1
    shift
    for key in "$@"; do
        if awk -v k="$key" '$1 == k && $2 + 0 > 0 { found = 1 } END { exit !found }' "$f"; then
            echo "ok    $key"
        else
            echo "FAIL  $key: missing or not positive"
            fails=$((fails + 1))
        fi
    done
}

# every mode (the default), the floor's echo thread included
timeout 60 "$bench" 127.0.0.1 "$port" echo.Echo.Say 200 >"$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
[ $rc -eq 0 ] || { echo "FAIL: gate_bench exit status $rc"; exit 1; }
has "$tmp/out" gate_call_rt_us gate_call_p99_us gate_calls_per_s_c64 gate_send_msgs_per_s gate_send_msgs_per_s_batched \
    gate_accept_per_s \
    gate_floor_rt_us gate_floor_p99_us gate_floor_client_rt_us

# some modes, with a suffix (gate.sh's C service run): those keys and no other
timeout 60 "$bench" -m seq,c64,send -s _c 127.0.0.1 "$port" echo.Echo.Say 100 >"$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
[ $rc -eq 0 ] || { echo "FAIL: gate_bench -m seq,c64,send -s _c: exit status $rc"; exit 1; }
has "$tmp/out" gate_call_rt_us_c gate_call_p99_us_c gate_calls_per_s_c64_c gate_send_msgs_per_s_c
if [ "$(wc -l <"$tmp/out")" -ne 4 ]; then
    echo "FAIL  -m seq,c64,send printed other lines"
    fails=$((fails + 1))
fi

# a mode it does not know: exit status 2 and the usage, before any call
timeout 10 "$bench" -m seq,bogus 127.0.0.1 "$port" echo.Echo.Say >"$tmp/out" 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -q "usage: gate_bench" "$tmp/out"; then
    echo "ok    -m seq,bogus: exit status 2 and the usage"
else
    echo "FAIL  -m seq,bogus: exit status $rc"
    cat "$tmp/out"
    fails=$((fails + 1))
fi
[ $fails -eq 0 ]

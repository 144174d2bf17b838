#!/bin/sh
# The demo (examples/demo/run.sh, the first thing a new user runs through
# ./quickstart.sh demo) 20 times in a row: every run must exit 0 and print
# nothing unexpected. Each stdout line must be a service's or the client's
# ("[ping] ...", "[pong 3] ...", "[greeter 6] ...", "[outside] ..."); each
# stderr line must be one of the node's five log lines the demo causes on
# purpose. A race in run.sh once printed "sed: can't read .../node.out"
# about one run in four. Each run is bounded by timeout.
#
# Environment (exported by make check): SKY_BIN, the launcher; SKY_SRCDIR
# and SKY_BUILDDIR, the source and build trees. SKY_DEMO_RUNS overrides 20.
set -u
: "${SKY_BIN:?}" "${SKY_SRCDIR:?}" "${SKY_BUILDDIR:?}"
export SKY_BIN SKY_SRCDIR SKY_BUILDDIR
runs=${SKY_DEMO_RUNS:-20}
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

# The log lines (after "DATE TIME [node:service] ") the demo causes.
log='(INFO gate: listening on 127\.0\.0\.1:[0-9]+'
log="$log|WARN sky\.demo\.Pong\.Echo: the request does not decode as sky\.demo\.Text \(from [0-9a-f:]+, 18 bytes; 1 bad so far\)"
log="$log|INFO supervisor greeter_sup: child greeter exited \(error: asked to crash\)"
log="$log|INFO supervisor greeter_sup: child greeter restarted as [0-9a-f:]+"
log="$log|INFO demo finished, shutting the node down)"
stamp='[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} \[[0-9a-f]{4}:[0-9a-f]{8}\] '

fail=0 i=0
while [ "$i" -lt "$runs" ]; do
    i=$((i + 1))
    timeout 60 sh "$SKY_SRCDIR/examples/demo/run.sh" >"$out" 2>"$err"
    status=$?
    bad_out=$(grep -vE '^\[(ping|pong [0-9]+|greeter [0-9]+|outside)\] ' "$out")
    bad_err=$(grep -vE "^$stamp$log\$" "$err")
    if [ "$status" -ne 0 ] || [ -n "$bad_out" ] || [ -n "$bad_err" ] ||
        ! grep -q '^\[ping\] the outside client: served through the gate$' "$out"; then
        echo "FAIL: run $i of $runs: status $status (124: timed out)"
        [ -z "$bad_out" ] || printf 'unexpected on stdout:\n%s\n' "$bad_out"
        [ -z "$bad_err" ] || printf 'unexpected on stderr:\n%s\n' "$bad_err"
        fail=1
    fi
done
[ "$fail" -eq 0 ] && echo "PASS: the demo $runs times, exit 0 and only the expected lines each time"
exit "$fail"

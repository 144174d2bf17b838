#!/bin/sh
# The cluster demo (examples/cluster/run.sh, which make demo and
# ./quickstart.sh demo run after the one-node demo) as a test: three nodes
# start, call each other across the cluster through demo.proto's stubs,
# beta is killed and its callers get ENODEDOWN at once, beta comes back and
# the calls resume; every node must exit 0 by itself and run.sh with it.
#
# Environment (exported by make check): SKY_BIN, SKY_SRCDIR, SKY_BUILDDIR.
set -u
: "${SKY_BIN:?}" "${SKY_SRCDIR:?}" "${SKY_BUILDDIR:?}"
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
export SKY_BIN SKY_SRCDIR SKY_BUILDDIR

timeout 120 sh "$SKY_SRCDIR/examples/cluster/run.sh" >"$out" 2>"$err"
status=$?
cat "$out"
pass=0 fail=0
check() { # check NAME OK
    if [ "$2" -eq 0 ]; then
        echo "ok    $1"
        pass=$((pass + 1))
    else
        echo "FAIL  $1"
        fail=$((fail + 1))
    fi
}
[ "$status" -eq 0 ]
check "run.sh exits 0 (status $status; 124: timed out)" $?
while IFS='|' read -r name want; do
    grep -qF -- "$want" "$out"
    check "$name" $?
done <<'END'
Lua calls C across the cluster (pong@beta)|[alpha] pong@beta Echo: "alpha1
Lua calls Lua across, which calls C on a third node|[gamma] Greet("alpha1"): pong@beta said
the answer comes back across two links|[alpha] greeter@gamma Greet: "hello alpha1, from gamma"
a call to a killed node fails with ENODEDOWN|[alpha] pong@beta Echo while beta is down: ENODEDOWN
the failure passes through gamma as an error|[alpha] greeter@gamma Greet, which needs beta: ENODEDOWN
calls resume once beta is back|[alpha] pong@beta Echo: "alpha3
sky.on_node heard down, then up|[alpha] node events seen: beta down, beta up
every node exited 0|[run.sh] the cluster demo ran through: every node exited 0
END
if [ "$fail" -ne 0 ]; then
    echo "stderr of run.sh:"
    cat "$err"
fi
echo "test_cluster_demo: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

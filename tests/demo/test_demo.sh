#!/bin/sh
# The demo (examples/demo/run.sh, what make demo and ./quickstart.sh demo
# run) as a test: the node and the outside client must both exit by
# themselves with status 0, and the transcript must show each step's
# outcome, C and Lua services calling each other through the stubs, a
# supervised Lua service crashing and being restarted, and the outside
# client's calls through the gate (answers, an error, a deadline) before
# ping goes on. Then run.sh with a client that never calls must fail and
# say why, while the node still exits by itself.
#
# Environment (exported by make check): SKY_BIN, the launcher; SKY_SRCDIR
# and SKY_BUILDDIR, the source and build trees.
set -u
: "${SKY_BIN:?}" "${SKY_SRCDIR:?}" "${SKY_BUILDDIR:?}"
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
export SKY_BIN SKY_SRCDIR SKY_BUILDDIR

timeout 120 sh "$SKY_SRCDIR/examples/demo/run.sh" >"$out" 2>"$err"
status=$?
cat "$out"
fail=0
if [ "$status" -ne 0 ]; then
    echo "FAIL: the demo exited with status $status (124: timed out); its stderr:"
    cat "$err"
    fail=1
fi
# One line per step's outcome, as fixed strings.
while IFS= read -r want; do
    if ! grep -qF -- "$want" "$out"; then
        echo "FAIL: no line with: $want"
        fail=1
    fi
done <<'END'
[ping] Echo("ping") -> ok after
[ping] Slow("150") -> ok after
[ping] Never("") -> ETIMEDOUT after
[ping] Fail("") -> EINVAL after
[ping] raw Echo("not a Text message") -> EBADMSG after
[ping] Greet("") -> EINVAL after
] Greet("ping"): pong said "greeter, 1 hello(s) so far"
[ping] Greet("ping") -> ok after
[ping] greeter_sup (service
] Crash("ping"): exiting with an error
[ping] Crash("ping") -> EEXIT after
[ping] Greet("queued behind the crash") -> E
restarted by greeter_sup
[ping] Greet("the old greeter") -> ENOSVC at once
[ping] Echo("anyone there?") -> ENOSVC at once
[ping] 13 calls: 5 answered, 8 failed (as intended); 1 oneway sent
END
# The supervisor's restart, in the node's log (stderr).
while IFS= read -r want; do
    if ! grep -qF -- "$want" "$err"; then
        echo "FAIL: no log line with: $want"
        fail=1
    fi
done <<'END'
INFO supervisor greeter_sup: child greeter exited (error: asked to crash)
INFO supervisor greeter_sup: child greeter restarted as 0001:
END
# The outside client's lines (and the node's side of them), as regular
# expressions: the answers' texts, the error's code and text, the deadline.
while IFS= read -r want; do
    if ! grep -qE -- "$want" "$out"; then
        echo "FAIL: no line matching: $want"
        fail=1
    fi
done <<'END'
^\[ping\] the gate \(service [0-9]+\) listens on port [0-9]+: waiting up to 5 s for the outside client$
^\[outside\] connecting to the gate at 127\.0\.0\.1:[0-9]+ \(at most 2000 ms\)$
^\[outside\] connected after [0-9]+ [mu]s$
^\[greeter [0-9]+\] Greet\("outside"\): pong said "greeter, 1 hello\(s\) so far"$
^\[outside\] Greet\("outside"\) -> ok after [0-9]+ [mu]s: "hello outside, from Lua"$
^\[outside\] Echo\("outside"\) -> ok after [0-9]+ [mu]s: "outside, 1 hello\(s\) so far"$
^\[outside\] Fail\("from outside"\) -> EINVAL after [0-9]+ [mu]s: pong cannot do that$
^\[outside\] Slow\("300"\) with a 100 ms deadline -> ETIMEDOUT after [0-9]+ ms: 
^\[outside\] Echo\("still connected"\) -> ok after [0-9]+ [mu]s: "still connected, 1 hello\(s\) so far"$
^\[outside\] Done\("5 of 5 calls as expected"\) -> sent$
^\[outside\] 5 calls through the gate, 5 as expected; 1 oneway sent \(all as intended\)$
^\[ping\] Done\("5 of 5 calls as expected"\) from the outside client, through the gate after [0-9]+ [mu]s$
^\[ping\] the outside client: served through the gate$
END
# ping waits for the client: its Done comes before ping kills pong.
done_at=$(grep -n '^\[ping\] Done(' "$out" | cut -d: -f1)
kill_at=$(grep -n '^\[ping\] sky_kill(pong' "$out" | cut -d: -f1)
if [ -z "$done_at" ] || [ -z "$kill_at" ] || [ "$done_at" -ge "$kill_at" ]; then
    echo "FAIL: ping did not wait for the outside client's Done before step 9 (lines ${done_at:-none}, ${kill_at:-none})"
    fail=1
fi
# Greet("ping") is answered twice, by the first greeter and the restarted one.
if [ "$(grep -cF '[ping] Greet("ping") -> ok after' "$out")" -ne 2 ]; then
    echo "FAIL: Greet(\"ping\") did not succeed both before and after the restart"
    fail=1
fi
[ "$fail" -eq 0 ] && echo "PASS: the demo"

# A client that connects to nothing and exits 0: ping waits its 5 s, says
# so and goes on; the node exits 0 by itself, and run.sh fails, saying why.
SKY_DEMO_CLIENT=true timeout 120 sh "$SKY_SRCDIR/examples/demo/run.sh" >"$out" 2>"$err"
status=$?
nofail=0
if [ "$status" -ne 1 ]; then
    echo "FAIL: run.sh with a client that never calls exited with status $status, not 1"
    nofail=1
fi
for want in "[ping] no outside client came within 5 s: going on without it" \
    "[ping] the outside client: never came (UNEXPECTED)" "[ping] -- done"; do
    grep -qF -- "$want" "$out" || { echo "FAIL: no line with: $want"; nofail=1; }
done
for want in "ERROR demo: no outside client called in through the gate within 5 s" \
    "run.sh: ping did not get the outside client's Done"; do
    grep -qF -- "$want" "$err" || { echo "FAIL: no stderr line with: $want"; nofail=1; }
done
if grep -qF "run.sh: the node exited" "$err"; then
    echo "FAIL: the node did not exit 0 by itself without its client"
    nofail=1
fi
if [ "$nofail" -ne 0 ]; then
    echo "its stdout and stderr:"
    cat "$out" "$err"
    fail=1
else
    echo "PASS: the demo without its outside client fails loudly, the node exits by itself"
fi
exit "$fail"

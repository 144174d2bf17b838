#!/bin/sh
# The demo (examples/demo, what ./quickstart.sh demo runs) as a test: the
# node must exit by itself with status 0, and the transcript must show each
# step's outcome, C and Lua services calling each other through the stubs,
# and a supervised Lua service crashing and being restarted.
#
# Environment (exported by make check): SKY_BIN, the launcher; SKY_SRCDIR
# and SKY_BUILDDIR, the source and build trees.
set -u
: "${SKY_BIN:?}" "${SKY_SRCDIR:?}" "${SKY_BUILDDIR:?}"
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

SKY_DEMO_MODDIR="$SKY_BUILDDIR/examples/demo/.libs" SKY_DEMO_LUADIR="$SKY_BUILDDIR/examples/demo" \
    SKY_SRCDIR="$SKY_SRCDIR" timeout 30 "$SKY_BIN" "$SKY_SRCDIR/examples/demo/demo.lua" >"$out" 2>"$err"
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
# Greet("ping") is answered twice, by the first greeter and the restarted one.
if [ "$(grep -cF '[ping] Greet("ping") -> ok after' "$out")" -ne 2 ]; then
    echo "FAIL: Greet(\"ping\") did not succeed both before and after the restart"
    fail=1
fi
[ "$fail" -eq 0 ] && echo "PASS: the demo"
exit "$fail"

#!/bin/sh
# make check of the echo example: runs the node (node.lua) with the modules
# just built and compares what the services print with what they should.
#
# Environment (set by Makefile.am): SKY, the launcher; ECHO_MODDIR, where
# echo_server.so and echo_client.so are; ECHO_SRCDIR, where node.lua is.

set -u
: "${SKY:?set SKY to the sky launcher}"
: "${ECHO_MODDIR:?set ECHO_MODDIR to the directory of the built modules}"
: "${ECHO_SRCDIR:=.}"
export ECHO_MODDIR

out=test_echo.out
err=test_echo.err
timeout 20 "$SKY" "$ECHO_SRCDIR/node.lua" >"$out" 2>"$err"
status=$?

cat >test_echo.expected <<'END'
[client] Say("hello")
[client] Say -> "hello" (call 1, notes 0)
[client] Say("sky")
[client] Say -> "sky" (call 2, notes 0)
[client] Note("a note before the next call") -> sent
[client] Say("after the note")
[client] Say -> "after the note" (call 3, notes 1)
[client] Say("")
[client] Say -> EINVAL (nothing to echo)
[client] done: 4 calls, 3 answered, 1 failed
END

cat "$out"
fail=0
if [ "$status" -ne 0 ]; then
    echo "FAIL: sky node.lua exited with status $status (124: timed out); its stderr:"
    cat "$err"
    fail=1
fi
if ! diff -u test_echo.expected "$out"; then
    echo "FAIL: the output differs from test_echo.expected (diff above)"
    fail=1
fi
rm -f "$out" "$err" test_echo.expected
[ "$fail" -eq 0 ] && echo "PASS: echo example"
exit "$fail"

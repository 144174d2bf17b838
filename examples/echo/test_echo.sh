#!/bin/sh
# make check of the echo example: runs the node (node.lua) with the modules
# and Lua services just built, four ways (client C or Lua, server C or
# Lua), and compares what the client prints with what it should: the same
# transcript every way.
#
# Environment (set by Makefile.am): SKY, the launcher; ECHO_MODDIR, where
# echo_server.so and echo_client.so are; ECHO_SRCDIR, where node.lua and
# the Lua services are; ECHO_LUADIR, where skyc wrote echo_sky.lua.

set -u
: "${SKY:?set SKY to the sky launcher}"
: "${ECHO_MODDIR:?set ECHO_MODDIR to the directory of the built modules}"
: "${ECHO_SRCDIR:=.}"
: "${ECHO_LUADIR:=.}"
export ECHO_MODDIR ECHO_SRCDIR ECHO_LUADIR

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

fail=0
for client in c lua; do
    for server in c lua; do
        out=test_echo.$client.$server.out
        err=test_echo.$client.$server.err
        echo "== client $client, server $server"
        ECHO_CLIENT=$client ECHO_SERVER=$server timeout 20 "$SKY" "$ECHO_SRCDIR/node.lua" >"$out" 2>"$err"
        status=$?
        cat "$out"
        if [ "$status" -ne 0 ]; then
            echo "FAIL: sky node.lua exited with status $status (124: timed out); its stderr:"
            cat "$err"
            fail=1
        elif ! diff -u test_echo.expected "$out"; then
            echo "FAIL: the output differs from test_echo.expected (diff above)"
            fail=1
        elif ! grep -q "note: a note before the next call" "$err"; then
            echo "FAIL: the server did not log the note; its stderr:"
            cat "$err"
            fail=1
        else
            echo "PASS: client $client, server $server"
        fi
        rm -f "$out" "$err"
    done
done
rm -f test_echo.expected
exit "$fail"

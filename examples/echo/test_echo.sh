#!/bin/sh
# make check of the echo example: runs the node (node.lua) with the modules
# and Lua services just built, four ways (client C or Lua, server C or
# Lua), and compares what the client prints with what it should: the same
# transcript every way.
#
# Then runs echo_embed, the same C services in a program that embeds the
# node, and compares its output with the same transcript.
#
# Environment (set by Makefile.am): SKY, the launcher; ECHO_MODDIR, where
# echo_server.so and echo_client.so are; ECHO_EMBED, the echo_embed program;
# ECHO_SRCDIR, where node.lua and the Lua services are; ECHO_LUADIR, where
# skyc wrote echo_sky.lua.

set -u
: "${SKY:?set SKY to the sky launcher}"
: "${ECHO_MODDIR:?set ECHO_MODDIR to the directory of the built modules}"
: "${ECHO_EMBED:=./echo_embed}"
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

# check NAME STATUS OUT ERR: a run that exited with STATUS printed the
# transcript to OUT and the server's note to ERR.
check() {
    if [ "$2" -ne 0 ]; then
        echo "FAIL: $1 exited with status $2 (124: timed out); its stderr:"
        cat "$4"
        fail=1
    elif ! diff -u test_echo.expected "$3"; then
        echo "FAIL: $1: the output differs from test_echo.expected (diff above)"
        fail=1
    elif ! grep -q "note: a note before the next call" "$4"; then
        echo "FAIL: $1: the server did not log the note; its stderr:"
        cat "$4"
        fail=1
    else
        echo "PASS: $1"
    fi
    rm -f "$3" "$4"
}

for client in c lua; do
    for server in c lua; do
        out=test_echo.$client.$server.out
        err=test_echo.$client.$server.err
        echo "== client $client, server $server"
        ECHO_CLIENT=$client ECHO_SERVER=$server timeout 20 "$SKY" "$ECHO_SRCDIR/node.lua" >"$out" 2>"$err"
        status=$?
        cat "$out"
        check "client $client, server $server" "$status" "$out" "$err"
    done
done

# The same services built into one program that embeds the node.
echo "== echo_embed (C client and server, no launcher)"
timeout 30 "$ECHO_EMBED" >test_echo.embed.out 2>test_echo.embed.err
status=$?
cat test_echo.embed.out
check "echo_embed" "$status" test_echo.embed.out test_echo.embed.err

rm -f test_echo.expected
exit "$fail"

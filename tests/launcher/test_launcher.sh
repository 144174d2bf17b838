#!/bin/sh
# Integration test of the node launcher: runs `sky CONFIG.lua` on good and
# bad configs and checks exit statuses and messages.
#
# Environment:
#   SKY_BIN          the sky binary under test
#   SKY_SRCDIR       the source tree (fixtures are in tests/launcher/)
#   SKY_TEST_MODDIR  the directory that holds testmod.so, a service whose
#                    init with args "exit" calls sky_shutdown(), with
#                    "fail" fails the spawn, with "register NAME" fails it
#                    if NAME is taken, and with anything else stays up
#                    until the node stops
#
# Every run is bounded (`timeout` or a watchdog). Prints one line per case
# and ends with "test_launcher: N passed, M failed"; exits non-zero if any case failed.

set -u

: "${SKY_BIN:?set SKY_BIN to the sky binary}"
: "${SKY_SRCDIR:=.}"
: "${SKY_TEST_MODDIR:?set SKY_TEST_MODDIR to the directory holding testmod.so}"
export SKY_TEST_MODDIR
unset SKY_TEST_ARGS

LIMIT=10
fix="$SKY_SRCDIR/tests/launcher"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sky-launcher.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

passed=0
failed=0
status=0

# run ARGS...: runs sky under the time limit; sets $status, fills
# $tmp/out and $tmp/err.
run() {
    timeout "$LIMIT" "$SKY_BIN" "$@" >"$tmp/out" 2>"$tmp/err"
    status=$?
}

# expect NAME STATUS [TEXT...]: the last run exited with STATUS and its
# stderr holds every TEXT (fixed strings).
expect() {
    name=$1 want=$2
    shift 2
    why=
    if [ "$status" -eq 124 ]; then
        why="timed out after ${LIMIT}s"
    elif [ "$status" -ne "$want" ]; then
        why="exit status $status, expected $want"
    else
        for text in "$@"; do
            if ! grep -qF -- "$text" "$tmp/err"; then
                why="stderr lacks: $text"
                break
            fi
        done
    fi
    report "$name" "$why"
}

# report NAME WHY: WHY empty means the case passed.
report() {
    if [ -z "$2" ]; then
        passed=$((passed + 1))
        echo "PASS: $1"
    else
        failed=$((failed + 1))
        echo "FAIL: $1: $2"
        sed 's/^/    | /' "$tmp/err" "$tmp/out"
    fi
}

# wait_ready PID: waits (at most $LIMIT s) until PID is the launcher (not
# the shell forked for `&`, nor libtool's wrapper script, which may carry
# this script's trap) and catches SIGTERM, which the launcher does once its
# node runs; without /proc, waits a second.
wait_ready() {
    if [ ! -r "/proc/$1/status" ]; then
        sleep 1
        return
    fi
    tries=$((LIMIT * 10))
    while [ "$tries" -gt 0 ]; do
        comm=$(cat "/proc/$1/comm" 2>/dev/null) || return 0 # it is gone
        caught=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
        [ -n "$caught" ] || return 0 # it is gone
        case $comm in
        sky | lt-sky) [ $((0x$caught & 0x4000)) -eq 0 ] || return 0 ;; # bit of signal 15
        esac
        sleep 0.1
        tries=$((tries - 1))
    done
}

# ---- bad configs: exit 2 with a message naming the file and the key ----

run "$fix/bad_threads.lua"
expect "bad_threads.lua: out of range" 2 "bad_threads.lua" "key 'threads'" "1..1024" "got 0"

run "$fix/bad_type.lua"
expect "bad_type.lua: wrong type" 2 "bad_type.lua: key 'threads': expected integer, got string"

run "$fix/bad_syntax.lua"
expect "bad_syntax.lua: Lua syntax error" 2 "bad_syntax.lua:3:"

run "$fix/unknown_key.lua"
expect "unknown_key.lua: unknown key" 2 "unknown_key.lua: unknown key 'thread'" "did you mean 'threads'?"

run "$fix/missing_module.lua"
expect "missing_module.lua: names the paths searched" 2 "no_such_module" \
    "./no_such_dir/no_such_module.so" "$SKY_TEST_MODDIR/no_such_module.so"

export SKY_TEST_ARGS=fail     # not `VAR=x run`: POSIX lets that outlive the call
run "$fix/ok.lua"
unset SKY_TEST_ARGS
expect "bootstrap init fails" 2 "bootstrap 'testmod'"

cat >"$tmp/no_bootstrap.lua" <<'EOF'
threads = 1
EOF
run "$tmp/no_bootstrap.lua"
expect "missing required key" 2 "no_bootstrap.lua: missing required key 'bootstrap'"

cat >"$tmp/sandbox.lua" <<'EOF'
bootstrap = "testmod"
os.exit(0)
EOF
run "$tmp/sandbox.lua"
expect "sandbox: no os library" 2 "sandbox.lua:2:" "'os'"

cat >"$tmp/endless.lua" <<'EOF'
bootstrap = "testmod"
while true do end
EOF
run "$tmp/endless.lua"
expect "endless loop is stopped" 2 "endless.lua:2:" "runs too long"

cat >"$tmp/lua_mem.lua" <<'EOF'
bootstrap = "testmod"
lua_mem_limit = 1000
EOF
run "$tmp/lua_mem.lua"
expect "lua_mem_limit below 64 KiB" 2 "lua_mem.lua: key 'lua_mem_limit': expected integer >= 65536, got 1000"

cat >"$tmp/lua_budget.lua" <<'EOF'
bootstrap = "testmod"
lua_budget = 0
EOF
run "$tmp/lua_budget.lua"
expect "lua_budget zero" 2 "lua_budget.lua: key 'lua_budget': expected integer >= 1, got 0"

cat >"$tmp/lua_budget_type.lua" <<'EOF'
bootstrap = "testmod"
lua_budget = "lots"
EOF
run "$tmp/lua_budget_type.lua"
expect "lua_budget not an integer" 2 "lua_budget_type.lua: key 'lua_budget': expected integer, got string"

cat >"$tmp/loop_warn.lua" <<'EOF'
bootstrap = "testmod"
loop_warn_ms = -1
EOF
run "$tmp/loop_warn.lua"
expect "loop_warn_ms negative" 2 "loop_warn.lua: key 'loop_warn_ms': expected integer in 0..2147483647, got -1"

cat >"$tmp/loop_warn_type.lua" <<'EOF'
bootstrap = "testmod"
loop_warn_ms = 2.5
EOF
run "$tmp/loop_warn_type.lua"
expect "loop_warn_ms not an integer" 2 "loop_warn_type.lua: key 'loop_warn_ms': expected integer"

{ cat "$fix/ok.lua"; printf 'loop_warn_ms = 0\n'; } >"$tmp/loop_warn_off.lua"
run "$tmp/loop_warn_off.lua"
expect "loop_warn_ms = 0 (off) accepted: node runs" 0

{ cat "$fix/ok.lua"; printf 'lua_mem_limit = 1048576\nlua_budget = 5000\n'; } >"$tmp/lua_limits.lua"
run "$tmp/lua_limits.lua"
expect "lua_mem_limit and lua_budget accepted: node runs" 0

cat >"$tmp/gate_port.lua" <<'EOF'
bootstrap = "testmod"
gate_port = 70000
EOF
run "$tmp/gate_port.lua"
expect "gate_port out of range" 2 "gate_port.lua: key 'gate_port'" "0..65535"

cat >"$tmp/gate_frame.lua" <<'EOF'
bootstrap = "testmod"
gate_port = 0
gate_max_frame = 4
EOF
run "$tmp/gate_frame.lua"
expect "gate_max_frame under 12" 2 "gate_frame.lua: key 'gate_max_frame'"

cat >"$tmp/gate_type.lua" <<'EOF'
bootstrap = "testmod"
gate_port = "seven thousand"
EOF
run "$tmp/gate_type.lua"
expect "gate_port not an integer" 2 "gate_type.lua: key 'gate_port': expected integer, got string"

cat >"$tmp/low_water.lua" <<'EOF'
bootstrap = "testmod"
socket_high_water = 1000
socket_low_water = 1000
EOF
run "$tmp/low_water.lua"
expect "socket_low_water not below socket_high_water" 2 "socket_low_water: must be below socket_high_water"

# a port taken already: the gate cannot start, and the launcher says why
holder_py='import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
print(s.getsockname()[1], flush=True); time.sleep(8)'
if command -v python3 >/dev/null 2>&1; then
    python3 -c "$holder_py" >"$tmp/busy_port" &
    holder=$!
    i=0
    while [ ! -s "$tmp/busy_port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    { cat "$fix/ok.lua"; printf 'gate_port = %s\ngate_host = "127.0.0.1"\n' "$(cat "$tmp/busy_port")"; } >"$tmp/gate_busy.lua"
    SKY_TEST_ARGS=stay run "$tmp/gate_busy.lua"
    kill $holder 2>/dev/null
    wait $holder 2>/dev/null
    expect "gate port in use" 2 "gate_port: cannot start the gate" "already exists"
fi

# `log` is checked as the logger would open it, by --check too
cat >"$tmp/bad_log.lua" <<'EOF'
bootstrap = "testmod"
log = "/nonexistent/x.log"
EOF
run --check "$tmp/bad_log.lua"
expect "--check: log in a missing directory" 2 \
    "bad_log.lua: key 'log': cannot create /nonexistent/x.log: No such file or directory"
run "$tmp/bad_log.lua"
expect "log in a missing directory: a bad config" 2 "bad_log.lua: key 'log': cannot create /nonexistent/x.log"
printf 'bootstrap = "testmod"\nlog = "%s"\n' "$tmp" >"$tmp/dir_log.lua"
run --check "$tmp/dir_log.lua"
expect "--check: log is a directory" 2 "dir_log.lua: key 'log': $tmp is a directory"
{ cat "$fix/ok.lua"; printf 'log = "%s/new.log"\n' "$tmp"; } >"$tmp/new_log.lua"
run --check "$tmp/new_log.lua"
if [ "$status" -eq 0 ] && [ ! -e "$tmp/new.log" ]; then why=; else why="status $status, or it created the file"; fi
report "--check: a new log file is accepted, not created" "$why"

# A bootstrap whose init fails on a taken name names it
export SKY_TEST_ARGS="register logger"
run "$fix/ok.lua"
unset SKY_TEST_ARGS
expect "bootstrap init: a taken name is named" 2 "bootstrap 'testmod': spawn testmod: the name 'logger' is taken"

run "$tmp/does_not_exist.lua"
expect "nonexistent file" 2 "does_not_exist.lua"

run "$fix"
expect "directory as config" 2 "is a directory"

# ---- Lua bootstraps: the reason of a failure on stderr, the log in a file ----

mkdir "$tmp/svc"
# lua_node NAME SERVICE: writes $tmp/NAME.lua, a config whose bootstrap is
# the Lua service SERVICE (from $tmp/svc), logging to $tmp/NAME.log.
lua_node() {
    cat >"$tmp/$1.lua" <<EOF
threads = 2
service_path = "$tmp/svc/?.lua"
module_path = "$SKY_TEST_MODDIR/?.so"
bootstrap = "lua"
bootstrap_args = "$2"
log = "$tmp/$1.log"
EOF
}
printf 'local x\nx = = 1\n' >"$tmp/svc/broken.lua"
printf 'sky.launch("testmod", "register", "logger")\n' >"$tmp/svc/launches.lua"
printf 'sky.start(function()\n    sky.spawn("broken")\nend)\n' >"$tmp/svc/spawns_broken.lua"
printf 'sky.start(function()\n    sky.sleep(10)\n    error("cannot go on")\nend)\n' >"$tmp/svc/raises.lua"
printf 'sky.start(function()\n    sky.sleep(10)\n    sky.exit()\nend)\n' >"$tmp/svc/done.lua"
printf 'sky.start(function()\n    sky.sleep(10)\n    sky.shutdown()\nend)\n' >"$tmp/svc/finishes.lua"

lua_node syntax broken
run "$tmp/syntax.lua"
expect "Lua bootstrap with a syntax error: the error on stderr" 2 \
    "syntax.lua: bootstrap 'lua': spawn lua: Lua service broken: $tmp/svc/broken.lua:2: unexpected symbol near '='"

lua_node absent no_such_service
run "$tmp/absent.lua"
expect "Lua bootstrap not found: the paths tried on stderr" 2 \
    "absent.lua: bootstrap 'lua': spawn lua: Lua service no_such_service not found (tried $tmp/svc/no_such_service.lua)"

lua_node launch launches
run "$tmp/launch.lua"
expect "sky.launch of a module whose name is taken: the name on stderr" 2 \
    "launch.lua: bootstrap 'lua': spawn lua: Lua service launches: sky.launch testmod: the name 'logger' is taken"

lua_node start_spawn spawns_broken
run "$tmp/start_spawn.lua"
expect "Lua bootstrap whose sky.start fails (a child's syntax error): exit 2" 2 \
    "start_spawn.lua: bootstrap 'lua' failed: Lua service spawns_broken: sky.start failed: " \
    "$tmp/svc/broken.lua:2: unexpected symbol near '='"

lua_node start_raise raises
run "$tmp/start_raise.lua"
expect "Lua bootstrap whose sky.start raises later: exit 2" 2 \
    "start_raise.lua: bootstrap 'lua' failed: Lua service raises: sky.start failed: $tmp/svc/raises.lua:3: cannot go on"

lua_node start_shutdown finishes
run "$tmp/start_shutdown.lua"
expect "Lua bootstrap that shuts the node down: exit 0" 0

# A bootstrap that exits normally leaves the node running, as before.
lua_node start_done done
"$SKY_BIN" "$tmp/start_done.lua" >"$tmp/out" 2>"$tmp/err" &
pid=$!
(sleep "$LIMIT"; kill -KILL "$pid") >/dev/null 2>&1 &
dog=$!
wait_ready "$pid"
sleep 0.5
if kill -0 "$pid" 2>/dev/null; then why=; else why="the node stopped with its bootstrap"; fi
kill -TERM "$pid" 2>/dev/null
wait "$pid"
status=$?
kill "$dog" 2>/dev/null
[ "$status" -eq 137 ] && status=124
[ -n "$why" ] || [ "$status" -eq 0 ] || why="exit status $status after SIGTERM, expected 0"
report "Lua bootstrap that exits normally: the node runs on" "$why"

# ---- usage ----

run
expect "no argument: usage" 2 "usage:"

run "$fix/ok.lua" "$fix/ok.lua"
expect "two arguments: usage" 2 "usage:"

run -h
if [ "$status" -eq 0 ] && grep -q "usage:" "$tmp/out"; then why=; else why="status $status or no usage on stdout"; fi
report "-h prints usage" "$why"

run --version
if [ "$status" -eq 0 ] && grep -q "^sky [0-9]" "$tmp/out"; then why=; else why="status $status or no version"; fi
report "--version" "$why"

run --check "$fix/ok.lua"
expect "--check ok.lua" 0

run --check "$fix/bad_type.lua"
expect "--check bad_type.lua" 2 "key 'threads'"

# ---- good configs: a node runs and stops ----

run "$fix/ok.lua"
expect "ok.lua: node runs and exits 0" 0

# A node whose bootstrap stays up stops cleanly on SIGTERM and SIGINT.
# A watchdog bounds the run; the signal is sent once the node is up.
for sig in TERM INT; do
    SKY_TEST_ARGS=stay "$SKY_BIN" "$fix/ok.lua" >"$tmp/out" 2>"$tmp/err" &
    pid=$!
    (sleep "$LIMIT"; kill -KILL "$pid") >/dev/null 2>&1 &
    dog=$!
    wait_ready "$pid"
    kill -s "$sig" "$pid" 2>/dev/null
    wait "$pid"
    status=$?
    kill "$dog" 2>/dev/null
    [ "$status" -eq 137 ] && status=124      # killed by the watchdog
    expect "SIG$sig stops the node, exit 0" 0
done

echo "test_launcher: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

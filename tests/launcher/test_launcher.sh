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
    timeout -k 2 "$LIMIT" "$SKY_BIN" "$@" >"$tmp/out" 2>"$tmp/err"
    status=$?
}

# expect NAME STATUS [TEXT...]: the last run exited with STATUS and its
# stderr holds every TEXT (fixed strings).
expect() {
    name=$1 want=$2
    shift 2
    why=
    if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
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

cat >"$tmp/finalizer.lua" <<'EOF'
bootstrap = "testmod"
setmetatable({}, { __gc = function() while true do end end })
EOF
run "$tmp/finalizer.lua"
expect "an endless finalizer is refused" 2 "finalizer.lua:2:" "__gc"

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
run --check "$tmp/low_water.lua"
expect "--check: socket_low_water not below socket_high_water" 2 \
    "low_water.lua: socket_low_water: must be below socket_high_water"

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

# ---- the cluster keys ----

# cluster_node NAME [LINES...]: writes $tmp/NAME.lua, a node "alpha" whose
# bootstrap is testmod (args $SKY_TEST_ARGS, else "exit"), with LINES added.
cluster_node() {
    f="$tmp/$1.lua"
    shift
    {
        printf 'node_name = "alpha"\nbootstrap = "testmod"\n'
        printf 'module_path = "%s/?.so"\n' "$SKY_TEST_MODDIR"
        printf 'bootstrap_args = env("SKY_TEST_ARGS", "exit")\n'
        for line in "$@"; do printf '%s\n' "$line"; done
    } >"$f"
}

# free_ports N: prints N TCP ports of 127.0.0.1 free a moment ago.
free_ports() {
    python3 -c 'import socket, sys
ss = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in ss: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))' "$1"
}

if command -v python3 >/dev/null 2>&1; then
    set -- $(free_ports 3)
    p1=$1 p2=$2 p3=$3
else
    p1=47301 p2=47302 p3=47303    # --check binds nothing; the runs may collide
fi
members="alpha = { id = 3, address = \"127.0.0.1:$p1\" }, beta = { id = 4, address = \"127.0.0.1:$p2\" }"

cluster_node cl_table "cluster = { $members }" 'cluster_secret = "s3cret"'
run "$tmp/cl_table.lua"
expect "cluster table: the node runs (node_id taken from its member) and exits 0" 0
run --check "$tmp/cl_table.lua"
expect "--check: cluster table" 0

cluster_node cl_id_ok "cluster = { $members }" 'cluster_secret = "s3cret"' 'node_id = 3'
run --check "$tmp/cl_id_ok.lua"
expect "cluster: node_id that agrees with its member" 0

cluster_node cl_id_bad "cluster = { $members }" 'cluster_secret = "s3cret"' 'node_id = 4'
run "$tmp/cl_id_bad.lua"
expect "cluster: node_id that disagrees names both" 2 "cl_id_bad.lua: node_id is 4 but cluster member 'alpha' has id 3"
run --check "$tmp/cl_id_bad.lua"
expect "--check: node_id that disagrees" 2 "cl_id_bad.lua: node_id is 4 but cluster member 'alpha' has id 3"

cluster_node cl_noself 'cluster = { beta = { id = 4, address = "127.0.0.1:7001" } }' 'cluster_secret = "s3cret"'
run --check "$tmp/cl_noself.lua"
expect "cluster without this node's member" 2 "cl_noself.lua: cluster: no member is named 'alpha' (node_name)"

cluster_node cl_type 'cluster = "alpha=127.0.0.1:7001"' 'cluster_secret = "s3cret"'
run --check "$tmp/cl_type.lua"
expect "cluster not a table" 2 "cl_type.lua: key 'cluster': expected table, got string"

# bad_entry CASE ENTRY TEXT: a cluster whose member "beta" (or ENTRY's own
# name) is ENTRY is refused, by the run and by --check, with TEXT.
bad_entry() {
    cluster_node "cl_bad" "cluster = { alpha = { id = 3, address = \"127.0.0.1:$p1\" }, $2 }" \
        'cluster_secret = "s3cret"'
    run "$tmp/cl_bad.lua"
    expect "cluster: $1" 2 "cl_bad.lua: cluster: $3"
    run --check "$tmp/cl_bad.lua"
    expect "--check: cluster: $1" 2 "cl_bad.lua: cluster: $3"
}
bad_entry "entry not a table" 'beta = "127.0.0.1:7002"' \
    "member 'beta': expected a table {id = N, address = \"host:port\"}, got string"
bad_entry "missing id" 'beta = { address = "127.0.0.1:7002" }' "member 'beta': missing id"
bad_entry "id not an integer" 'beta = { id = "4", address = "127.0.0.1:7002" }' \
    "member 'beta': id: expected integer, got string"
bad_entry "id 4.5" 'beta = { id = 4.5, address = "127.0.0.1:7002" }' "member 'beta': id: expected integer, got 4.5"
bad_entry "id out of range" 'beta = { id = 65536, address = "127.0.0.1:7002" }' \
    "member 'beta': id: expected integer in 0..65535, got 65536"
bad_entry "negative id" 'beta = { id = -1, address = "127.0.0.1:7002" }' \
    "member 'beta': id: expected integer in 0..65535, got -1"
bad_entry "missing address" 'beta = { id = 4 }' "member 'beta': missing address"
bad_entry "address not a string" 'beta = { id = 4, address = 7002 }' "member 'beta': address: expected string, got number"
bad_entry "address without a port" 'beta = { id = 4, address = "127.0.0.1" }' \
    "member 'beta': address '127.0.0.1' is not \"host:port\" (port 1..65535)"
bad_entry "unknown field" 'beta = { id = 4, address = "127.0.0.1:7002", port = 7002 }' \
    "member 'beta': unknown field 'port' (an entry is {id = N, address = \"host:port\"})"
bad_entry "name with a space" '["be ta"] = { id = 4, address = "127.0.0.1:7002" }' \
    "member 'be ta': a name is 1..255 printable characters, no space, no '@'"
bad_entry "name with '@'" '["b@x"] = { id = 4, address = "127.0.0.1:7002" }' \
    "member 'b@x': a name is 1..255 printable characters, no space, no '@'"
long=$(printf '%0256d' 0 | tr 0 b)
bad_entry "name of 256 bytes" "$long = { id = 4, address = \"127.0.0.1:7002\" }" \
    "member '$long': a name is 1..255 printable characters, no space, no '@'"
bad_entry "name not a string" '{ id = 4, address = "127.0.0.1:7002" }' \
    "member names are strings, got a number key"
bad_entry "two members with one id" 'beta = { id = 3, address = "127.0.0.1:7002" }' \
    "members 'alpha' and 'beta' have the same id 3"

# cluster_file: a file beside the config, returning the table
mkdir "$tmp/cf"
printf 'return { %s }\n' "$members" >"$tmp/cf/members.lua"
{ cat "$fix/ok.lua"; printf 'node_name = "alpha"\nnode_id = nil\ncluster_file = "members.lua"\ncluster_secret = "s3cret"\n'; } \
    >"$tmp/cf/node.lua"
run "$tmp/cf/node.lua"
expect "cluster_file beside the config: the node runs and exits 0" 0
(cd "$tmp" && timeout -k 2 "$LIMIT" "$SKY_BIN" --check cf/node.lua >"$tmp/out" 2>"$tmp/err")
status=$?
expect "--check: cluster_file relative to the config's directory, not the working directory" 0

printf 'return { %s, gamma = { id = 5 } }\n' "$members" >"$tmp/cf/bad_members.lua"
cluster_node cf_bad "cluster_file = \"$tmp/cf/bad_members.lua\"" 'cluster_secret = "s3cret"'
run --check "$tmp/cf_bad.lua"
expect "cluster_file with a bad member" 2 \
    "cf_bad.lua: cluster_file: $tmp/cf/bad_members.lua: cluster: member 'gamma': missing address"
printf '%s\n' "$members" >"$tmp/cf/no_return.lua"
cluster_node cf_noret "cluster_file = \"$tmp/cf/no_return.lua\"" 'cluster_secret = "s3cret"'
run --check "$tmp/cf_noret.lua"
expect "cluster_file that returns no table" 2 "cluster_file: $tmp/cf/no_return.lua:1:"
printf 'return io.open("/etc/passwd")\n' >"$tmp/cf/sandbox.lua"
cluster_node cf_sandbox "cluster_file = \"$tmp/cf/sandbox.lua\"" 'cluster_secret = "s3cret"'
run --check "$tmp/cf_sandbox.lua"
expect "cluster_file runs in the sandbox (no io)" 2 "cluster_file: $tmp/cf/sandbox.lua:1:" "'io'"
printf 'while true do end\n' >"$tmp/cf/endless.lua"
cluster_node cf_endless "cluster_file = \"$tmp/cf/endless.lua\"" 'cluster_secret = "s3cret"'
run --check "$tmp/cf_endless.lua"
expect "cluster_file: an endless loop is stopped" 2 "cluster_file: $tmp/cf/endless.lua:1:" "runs too long"
cluster_node cf_missing 'cluster_file = "no_such_members.lua"' 'cluster_secret = "s3cret"'
run --check "$tmp/cf_missing.lua"
expect "cluster_file missing" 2 \
    "cf_missing.lua: cluster_file: $tmp/no_such_members.lua: cannot open: No such file or directory"
cluster_node cf_both "cluster = { $members }" "cluster_file = \"$tmp/cf/members.lua\"" 'cluster_secret = "s3cret"'
run "$tmp/cf_both.lua"
expect "cluster and cluster_file both given" 2 "cf_both.lua: keys 'cluster' and 'cluster_file' are both given: use one"
run --check "$tmp/cf_both.lua"
expect "--check: cluster and cluster_file both given" 2 "keys 'cluster' and 'cluster_file' are both given"

# the secret
printf 's3cret\n' >"$tmp/cf/secret"
chmod 644 "$tmp/cf/secret"
cluster_node sf_open "cluster = { $members }" 'cluster_secret_file = "cf/secret"'
run "$tmp/sf_open.lua"
expect "cluster_secret_file mode 0644 refused" 2 "sf_open.lua: cluster_secret_file '$tmp/cf/secret': permissions 0644 are too open: it must be readable by its owner only (chmod 600)"
run --check "$tmp/sf_open.lua"
expect "--check: cluster_secret_file mode 0644 refused" 2 "cluster_secret_file '$tmp/cf/secret': permissions 0644 are too open"
chmod 640 "$tmp/cf/secret"
run --check "$tmp/sf_open.lua"
expect "cluster_secret_file mode 0640 refused" 2 "permissions 0640 are too open"
chmod 600 "$tmp/cf/secret"
run "$tmp/sf_open.lua"
expect "cluster_secret_file mode 0600: the node runs and exits 0" 0
run --check "$tmp/sf_open.lua"
expect "--check: cluster_secret_file mode 0600" 0
printf '\n' >"$tmp/cf/empty_secret"
chmod 600 "$tmp/cf/empty_secret"
cluster_node sf_empty "cluster = { $members }" "cluster_secret_file = \"$tmp/cf/empty_secret\""
run --check "$tmp/sf_empty.lua"
expect "cluster_secret_file holding a newline only: empty" 2 \
    "sf_empty.lua: cluster_secret_file '$tmp/cf/empty_secret': the secret is empty"
cluster_node sf_none "cluster = { $members }" "cluster_secret_file = \"$tmp/cf/no_such_secret\""
run --check "$tmp/sf_none.lua"
expect "cluster_secret_file missing" 2 "cluster_secret_file '$tmp/cf/no_such_secret': No such file or directory"
cluster_node s_empty "cluster = { $members }" 'cluster_secret = ""'
run --check "$tmp/s_empty.lua"
expect "cluster_secret empty" 2 "s_empty.lua: key 'cluster_secret': expected non-empty string, got \"\""
cluster_node s_both "cluster = { $members }" 'cluster_secret = "s3cret"' "cluster_secret_file = \"$tmp/cf/secret\""
run --check "$tmp/s_both.lua"
expect "cluster_secret and cluster_secret_file both given" 2 \
    "s_both.lua: keys 'cluster_secret' and 'cluster_secret_file' are both given: use one"
unset SKY_SECRET
cluster_node s_none "cluster = { $members }" 'cluster_secret = env("SKY_SECRET")'
run --check "$tmp/s_none.lua"
expect "--check: a cluster without a secret" 2 \
    "s_none.lua: cluster: a cluster needs a shared secret: give cluster_secret or cluster_secret_file"
export SKY_SECRET=from-env
run "$tmp/s_none.lua"
unset SKY_SECRET
expect "cluster_secret = env(...): the node runs and exits 0" 0

# the tuning keys: each key's type and range; the pairs the runtime checks
bad_key() { # NAME LINE TEXT
    cluster_node cl_key "cluster = { $members }" 'cluster_secret = "s3cret"' "$2"
    run --check "$tmp/cl_key.lua"
    expect "--check: $1" 2 "cl_key.lua: $3"
}
bad_key "cluster_tick_ms 0" 'cluster_tick_ms = 0' "key 'cluster_tick_ms': expected integer in 1..2147483647, got 0"
bad_key "cluster_down_ms a string" 'cluster_down_ms = "5s"' "key 'cluster_down_ms': expected integer, got string"
bad_key "cluster_max_message below 1024" 'cluster_max_message = 1000' \
    "key 'cluster_max_message': expected integer in 1024..4294967295, got 1000"
bad_key "cluster_high_water 0" 'cluster_high_water = 0' "key 'cluster_high_water': expected integer >= 1, got 0"
bad_key "cluster_low_water negative" 'cluster_low_water = -1' "key 'cluster_low_water': expected integer >= 0, got -1"
bad_key "cluster_down_ms not above cluster_tick_ms" 'cluster_down_ms = 1000' \
    "cluster_down_ms: must be above cluster_tick_ms (1000)"
bad_key "cluster_low_water not below cluster_high_water" 'cluster_high_water = 4096' \
    "cluster_low_water: must be below cluster_high_water"
cluster_node cl_pair "cluster = { $members }" 'cluster_secret = "s3cret"' 'cluster_down_ms = 1000'
run "$tmp/cl_pair.lua"
expect "cluster_down_ms not above cluster_tick_ms: the runtime's error" 2 \
    "cl_pair.lua: cluster_down_ms: must be above cluster_tick_ms (1000)"
cluster_node cl_tuned "cluster = { $members }" 'cluster_secret = "s3cret"' 'cluster_tick_ms = 100' \
    'cluster_down_ms = 300' 'cluster_max_message = 1048576' 'cluster_high_water = 65536' 'cluster_low_water = 1024'
run "$tmp/cl_tuned.lua"
expect "cluster tuning keys accepted: the node runs and exits 0" 0

# SIGHUP re-reads cluster_file: a good file is taken (its member count
# logged), a broken or refused one is logged and the node runs on.
# wait_log FILE TEXT: waits (at most $LIMIT s) until FILE holds TEXT.
wait_log() {
    tries=$((LIMIT * 10))
    while [ "$tries" -gt 0 ]; do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
        tries=$((tries - 1))
    done
    return 1
}
mkdir "$tmp/hup"
printf 'return { %s }\n' "$members" >"$tmp/hup/members.lua"
printf 's3cret' >"$tmp/hup/secret"
chmod 600 "$tmp/hup/secret"
cluster_node hup/node 'cluster_file = "members.lua"' 'cluster_secret_file = "secret"' \
    "log = \"$tmp/hup/node.log\"" 'log_level = "info"'
SKY_TEST_ARGS=stay "$SKY_BIN" "$tmp/hup/node.lua" >"$tmp/out" 2>"$tmp/err" &
pid=$!
(sleep $((LIMIT * 2)); kill -KILL "$pid") >/dev/null 2>&1 &
dog=$!
wait_ready "$pid"
# hup NAME LINE: sends the node SIGHUP; passes if LINE comes to its log
# and the node runs on.
hup() {
    kill -HUP "$pid" 2>/dev/null
    if ! wait_log "$tmp/hup/node.log" "$2"; then
        why="the log lacks: $2"
    elif ! kill -0 "$pid" 2>/dev/null; then
        why="the node stopped"
    else
        why=
    fi
    report "$1" "$why"
}
printf 'return { %s, gamma = { id = 5, address = "127.0.0.1:%s" } }\n' "$members" "$p3" >"$tmp/hup/members.lua"
hup "SIGHUP: cluster_file re-read, the member count logged" \
    "INFO SIGHUP: cluster_file $tmp/hup/members.lua re-read: 3 members"
printf 'return { %s,\n' "$members" >"$tmp/hup/members.lua"
hup "SIGHUP: a broken cluster_file is logged, the node runs on" \
    "ERROR SIGHUP: cluster_file not re-read, the membership stays as it was: $tmp/hup/members.lua:2:"
printf 'return { alpha = { id = 3, address = "127.0.0.1:%s" } }\n' "$p2" >"$tmp/hup/members.lua"
hup "SIGHUP: a membership the node refuses is logged, the node runs on" \
    "ERROR SIGHUP: cluster_file $tmp/hup/members.lua refused, the membership stays as it was: cluster: this node's entry"
kill -TERM "$pid" 2>/dev/null
wait "$pid"
status=$?
kill "$dog" 2>/dev/null
[ "$status" -eq 137 ] && status=124
expect "SIGHUP: the node still stops on SIGTERM, exit 0" 0
[ "$failed" -eq 0 ] || sed 's/^/    log| /' "$tmp/hup/node.log"

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

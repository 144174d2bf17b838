#!/bin/sh
# The cluster with real processes: three `sky` nodes, alpha, beta and
# gamma, on 127.0.0.1 from one config (config.lua), as docs/cluster.md
# describes them. alpha reads its membership from a cluster_file and runs
# a gate; driver.lua on alpha runs each case's steps, called through the
# gate by cluster_client; between steps this script acts on the nodes'
# processes. Cases, in the order they run:
#   1  typed calls across nodes through the stubs: Lua->C, C->Lua,
#      Lua->Lua, by "name@node" and by addresses sent across
#   7  a slow receiver on beta: EBUSY on alpha, nothing lost, both nodes'
#      VmRSS bounded while far more is attempted
#   2  100000 oneways alpha -> beta (20000 under TSan), every accepted one
#      counted there
#   3  one pair's order: 10-byte and 1-MiB messages mixed; a reply, then
#      a oneway of the same pair
#   9  beta's service reached through alpha's gate by its default_name
#      "remote@beta" (an outside C client) and from Lua by the stub's
#      default client
#   5  kill -STOP beta: down within cluster_down_ms plus a tick, calls
#      ENODEDOWN; kill -CONT: back with no action
#   4  kill -9 beta mid-traffic: the pending call ENODEDOWN at once, link
#      and monitor noconnection, gamma serving throughout
#   6  beta restarted: its old addresses ENOSVC, name@beta works
#   8  alpha restarted with a cluster_file of alpha and beta; SIGHUP after
#      adding gamma, then after removing beta
#   10 every node exits 0 on SIGTERM
# Every wait is bounded; every node is killed on exit. SKY_KEEP=1 keeps
# the nodes' logs (in the directory named at the end).
#
# Environment (exported by make check): SKY_BIN, SKY_SRCDIR, SKY_BUILDDIR,
# SKY_SAN_FLAGS.
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${SKY_SRCDIR:=$(cd "$here/../.." && pwd)}"
: "${SKY_BUILDDIR:=$SKY_SRCDIR}"
: "${SKY_BIN:=$SKY_BUILDDIR/sky}"
client="$SKY_BUILDDIR/tests/cluster/cluster_client"

NAME=cluster
LIMIT=40 # seconds one step may take
TOTAL=170 # seconds the whole script may take (a watchdog ends it)
. "$SKY_SRCDIR/tests/skyc/lib.sh"

alpha= beta= gamma= watchdog= cl=
cleanup() {
    for p in $alpha $beta $gamma; do
        kill -CONT "$p" 2>/dev/null
        kill -9 "$p" 2>/dev/null
    done
    for p in $cl $watchdog; do kill "$p" 2>/dev/null; done
    if [ "${SKY_KEEP:-}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'echo "test_cluster: stopped (over ${TOTAL} s, or a signal)"; exit 1' INT TERM HUP
# The nodes run without `timeout` in front, so that $! is the node itself
# (kill -9, -STOP and /proc/PID/status must reach it, not a wrapper).
# ($$ is this script in the subshell too; its sleep goes with it.)
(
    trap 'kill "$sp" 2>/dev/null; exit 0' TERM
    sleep "$TOTAL" &
    sp=$!
    wait "$sp" && kill -TERM $$
) >/dev/null 2>&1 &
watchdog=$!

# A sanitizer build: ASan's quarantine of freed memory would count in
# case 7's VmRSS; keep it small. Under TSan a Lua service's VmRSS says
# nothing: each yield or error raised from sky's C functions leaves frames
# on TSan's shadow call stack (the system's liblua, not instrumented,
# unwinds past them), which grows without bound, and so do the stacks TSan
# records with each allocation (15000 failing sky.rawsend took 1.7 GB).
# Case 7 does not bound VmRSS there.
# There, too, fewer oneways in case 2 (a Lua receiver is slower and
# slower), and a killed node is slow to die (case 4: "at once" is by the
# time the process is gone).
tsan= flood=100000
case "${SKY_SAN_FLAGS:-}" in
*address*)
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4"
    export ASAN_OPTIONS
    ;;
*thread*) tsan=1 flood=20000 ;;
esac

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
SKY_PORT_ALPHA=$(free_port) SKY_PORT_BETA=$(free_port) SKY_PORT_GAMMA=$(free_port) gate=$(free_port)
SKY_CLUSTER_SECRET=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
SKY_CLUSTER_FILE="$tmp/members.lua" SKY_GATE_PORT=$gate
export SKY_PORT_ALPHA SKY_PORT_BETA SKY_PORT_GAMMA SKY_CLUSTER_SECRET SKY_CLUSTER_FILE SKY_GATE_PORT
export SKY_SRCDIR SKY_BUILDDIR

# members NAME...: alpha's cluster_file lists these nodes.
members() {
    {
        echo "return {"
        for n in "$@"; do
            case $n in
            alpha) echo "    alpha = { id = 1, address = \"127.0.0.1:$SKY_PORT_ALPHA\" }," ;;
            beta) echo "    beta = { id = 2, address = \"127.0.0.1:$SKY_PORT_BETA\" }," ;;
            gamma) echo "    gamma = { id = 3, address = \"127.0.0.1:$SKY_PORT_GAMMA\" }," ;;
            esac
        done
        echo "}"
    } >"$tmp/members.tmp" && mv "$tmp/members.tmp" "$SKY_CLUSTER_FILE"
}

# start NAME: the node in the background, its stdout in NAME.out, its log
# in NAME.log; its pid in $NAME. Waits (bounded) for its "ready" line.
start() {
    : >"$tmp/$1.out"
    SKY_NODE=$1 SKY_LOG="$tmp/$1.log" "$SKY_BIN" "$SKY_SRCDIR/tests/cluster/config.lua" >>"$tmp/$1.out" 2>&1 &
    eval "$1=\$!"
    wait_for "$tmp/$1.out" "[$1] ready" 1 || fail "node $1 did not say it was ready within 10 s"
    case $(readlink "/proc/$!/exe") in
    */sh | */bash | */dash) fail "node $1's pid $! is a shell, not the node: the signals would miss it" ;;
    esac
}

# wait_for FILE TEXT N: until FILE holds N lines with TEXT (10 s at most).
wait_for() {
    i=0
    until c=$(grep -cF -- "$2" "$1" 2>/dev/null); [ "${c:-0}" -ge "$3" ]; do
        i=$((i + 1))
        [ "$i" -le 200 ] || return 1
        sleep 0.05
    done
}

# stop NAME: SIGTERM, then waits (10 s at most) for the node to exit; its
# status in $stopped ("timeout" if it did not exit).
stop() {
    eval "p=\$$1"
    kill -TERM "$p" 2>/dev/null
    i=0
    while kill -0 "$p" 2>/dev/null && [ "$i" -lt 100 ]; do
        i=$((i + 1))
        sleep 0.1
    done
    if kill -0 "$p" 2>/dev/null; then
        stopped=timeout
        kill -9 "$p" 2>/dev/null
    fi
    wait "$p" 2>/dev/null
    s=$?
    [ "$i" -ge 100 ] || stopped=$s
    eval "$1="
}

# client ARGS...: cluster_client in the background (a signal to this
# script need not wait for it), its output in $tmp/client.out; its exit
# status in $s.
client() {
    timeout "$LIMIT" "$client" "$gate" "$@" >"$tmp/client.out" 2>&1 &
    cl=$!
    wait "$cl"
    s=$?
    cl=
}

# wait_gate N: until alpha's gate answers (it starts after the bootstrap;
# 10 s at most).
wait_gate() {
    i=0
    while client step hello "$1" && [ "$s" -ne 0 ] && [ "$i" -lt 100 ]; do
        i=$((i + 1))
        sleep 0.1
    done
}

# step TEXT [N]: one step of driver.lua; its answer in $out.
step() {
    client step "$@"
    out=$(cat "$tmp/client.out")
    [ "$s" -ne 124 ] || out="FAIL step $1 took over ${LIMIT} s"
    [ -n "$out" ] || out="FAIL step $1: no answer (exit status $s)"
    echo "step $*: $out" >>"$tmp/script.log"
    judge "$out"
}

# A case: begin, then steps (and judge/fail for the script's own checks),
# then finish_case NAME, which reports it.
begin() { cw= cnotes=; }
judge() {
    case $1 in
    ok*)
        n=${1#ok}
        n=${n# }
        [ -z "$n" ] || cnotes="$cnotes${cnotes:+ | }$n"
        ;;
    *) cw="$cw${cw:+ | }${1#FAIL }" ;;
    esac
}
fail() { cw="$cw${cw:+ | }$1"; }
note() { cnotes="$cnotes${cnotes:+ | }$1"; }
finish_case() {
    if [ -n "$cw" ]; then
        for n in alpha beta gamma; do
            echo "--- $n.log (last lines)"
            tail -n 6 "$tmp/$n.log" 2>/dev/null
        done >"$tmp/case.log"
    fi
    report "$1" "$cw" "$tmp/case.log"
    [ -z "$cnotes" ] || echo "      $cnotes"
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# ---- the cluster -------------------------------------------------------------
begin
members alpha beta gamma
start beta
start gamma
start alpha
wait_gate 1
step hello 1
a_start=$(rss_kb "$alpha") b_start=$(rss_kb "$beta") # case 7's bound is over these
finish_case "three nodes from one config link up"

# ---- 1: typed calls ------------------------------------------------------------------
begin
step typed
finish_case "1 typed calls across nodes: Lua->C, C->Lua, Lua->Lua, by name@node and by address"

# ---- 7: a slow receiver; VmRSS sampled meanwhile ---------------------------------------
RSS_BOUND_KB=32768 # 32 MiB over each node's VmRSS at the start; hundreds of MiB are attempted
begin
a0=$(rss_kb "$alpha") b0=$(rss_kb "$beta")
amax=${a0:-0} bmax=${b0:-0}
timeout "$LIMIT" "$client" "$gate" step slow 3000 >"$tmp/slow.out" 2>&1 &
cl=$!
while kill -0 "$cl" 2>/dev/null; do
    a=$(rss_kb "$alpha") b=$(rss_kb "$beta")
    [ "${a:-0}" -le "$amax" ] || amax=$a
    [ "${b:-0}" -le "$bmax" ] || bmax=$b
    sleep 0.1
done
wait "$cl"
s=$?
cl=
out=$(cat "$tmp/slow.out")
[ "$s" -ne 124 ] || out="FAIL step slow took over ${LIMIT} s"
echo "step slow: $out" >>"$tmp/script.log"
judge "${out:-FAIL step slow: no answer}"
# rss_bounded NAME START BEFORE MAX (kB)
rss_bounded() {
    [ $(($4 - $2)) -le $RSS_BOUND_KB ] ||
        fail "$1's VmRSS went from $(($2 / 1024)) MiB at the start to $(($4 / 1024)) MiB"
    note "$1's VmRSS: $(($2 / 1024)) MiB at the start, $(($3 / 1024)) before the flood, at most $(($4 / 1024)) during it"
}
if [ -n "$tsan" ]; then
    note "VmRSS not bounded under TSan (see the top of this script)"
else
    [ -n "$a_start" ] && [ -n "$b_start" ] && [ -n "$a0" ] && [ -n "$b0" ] || fail "no VmRSS in /proc"
    mib=$(echo "$out" | sed -n 's/.*attempted_mib=\([0-9]*\).*/\1/p')
    [ "${mib:-0}" -ge $((4 * RSS_BOUND_KB / 1024)) ] ||
        fail "only ${mib:-?} MiB attempted, not far over the bound of $((RSS_BOUND_KB / 1024)) MiB"
    rss_bounded alpha "${a_start:-0}" "${a0:-0}" "$amax"
    rss_bounded beta "${b_start:-0}" "${b0:-0}" "$bmax"
fi
finish_case "7 a slow receiver on beta: EBUSY on alpha, nothing lost, memory bounded"

# ---- 2, 3, 9: a flood, order, the gate ---------------------------------------------------

begin
step flood $flood
finish_case "2 a flood of $flood oneways alpha->beta, counted to the last"

begin
step order 60
finish_case "3 one pair's order: 10-byte and 1-MiB messages; a reply, then a oneway"

begin
step remote_lua
client remote
r=$(cat "$tmp/client.out")
echo "remote: $r" >>"$tmp/script.log"
judge "${r:-FAIL cluster_client remote said nothing}"
finish_case "9 an outside client through alpha's gate to default_name \"remote@beta\""

# log_line TEXT: alpha's log gets one more line with TEXT (docs/cluster.md:
# "The log gets one line per change"); $1 counted before the case in $2.
log_line() {
    wait_for "$tmp/alpha.log" "$1" $(($2 + 1)) || fail "no new line \"$1\" in alpha's log"
}
count_lines() { grep -cF -- "$1" "$tmp/alpha.log"; }

# ---- 5: kill -STOP, kill -CONT -------------------------------------------------------
begin
downs=$(count_lines "cluster: node 'beta' is down: ") ups=$(count_lines "cluster: node 'beta' (id 2) is up")
step mark
kill -STOP "$beta"
step stopped
log_line "cluster: node 'beta' is down: " "$downs"
sleep 0.5
kill -CONT "$beta"
step resumed
log_line "cluster: node 'beta' (id 2) is up" "$ups"
finish_case "5 a silent peer (kill -STOP beta): down in time, ENODEDOWN; kill -CONT: back"

# ---- 4: kill -9 ------------------------------------------------------------------
begin
# (the connection closed, or was reset: beta had unread mail)
closed=$(count_lines "cluster: node 'beta' is down: ")
step kill_prep
kill -9 "$beta"
wait "$beta" 2>/dev/null
beta=
step kill_check ${tsan:-0}
log_line "cluster: node 'beta' is down: " "$closed"
finish_case "4 kill -9 beta mid-traffic: ENODEDOWN at once, noconnection, gamma serves on"

# ---- 6: beta restarted -------------------------------------------------------------
begin
start beta
step restarted
finish_case "6 beta restarted: its old run's addresses ENOSVC, name@beta works"

# ---- 8: alpha's cluster_file and SIGHUP ----------------------------------------------
begin
stop alpha
[ "$stopped" = 0 ] || fail "alpha exited $stopped on SIGTERM"
members alpha beta
start alpha
wait_gate 2
step hello 2
step hup_before
members alpha beta gamma
kill -HUP "$alpha"
wait_for "$tmp/alpha.log" "re-read: 3 members" 1 || fail "no 're-read: 3 members' line in alpha's log"
step hup_added
step hup_prep_remove
members alpha gamma
kill -HUP "$alpha"
wait_for "$tmp/alpha.log" "re-read: 2 members" 1 || fail "no 're-read: 2 members' line in alpha's log"
step hup_removed
finish_case "8 SIGHUP re-reads alpha's cluster_file: gamma added, then beta removed"

# ---- 10: the nodes' ends -------------------------------------------------------------
begin
for n in alpha beta gamma; do
    stop $n
    [ "$stopped" = 0 ] || fail "$n exited $stopped on SIGTERM"
done
finish_case "10 every node exits 0 on SIGTERM"

finish

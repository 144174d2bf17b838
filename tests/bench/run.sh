#!/usr/bin/env bash
# make bench: runs sky_bench, one fresh process per benchmark, and, when
# Erlang and the peers directory are there, the Erlang peer in the same run
# (for `process`, our own Erlang twin tests/bench/process_bench.erl),
# interleaved (sky, erlang, sky, erlang, ... for SKY_BENCH_ROUNDS rounds) so
# both see the same machine load. Prints the best figure per key (max for
# *_per_s, min for times, latencies and memory), Erlang's as erlang_<key>,
# and ratio_<key> = sky / erlang. See docs/benchmarks.md.
#
# Environment:
#   SKY_BENCH         the sky_bench binary (required; make bench sets it)
#   SKY_BENCH_ROUNDS  rounds (default 3)
#   SKY_BENCH_ONLY    benchmarks to run (default "ring pingpong fanin spawn payload lua process
#                     supervisor cluster"; the Erlang peer has no lua* and cluster benchmarks:
#                     Skynet's figures for them are in docs/benchmarks.md; Erlang's
#                     process and supervisor figures come from tests/bench/process_bench.erl
#                     and tests/bench/sup_bench.erl)
#   SKY_BENCH_ARGS    extra sky_bench options, e.g. "--threads 1"
#   SKY_PEERS         the peers directory (default: <srcdir>/../shared/peers)
#   SKY_BENCH_ERLANG  set to 0 to skip the Erlang peer
set -u

bench=${SKY_BENCH:?SKY_BENCH must name the sky_bench binary}
rounds=${SKY_BENCH_ROUNDS:-3}
only=${SKY_BENCH_ONLY:-ring pingpong fanin spawn payload lua process supervisor cluster}
extra=${SKY_BENCH_ARGS:-}
srcdir=${SKY_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
peers=${SKY_PEERS:-$(dirname "$srcdir")/shared/peers}

case $rounds in '' | *[!0-9]* | 0) echo "run.sh: SKY_BENCH_ROUNDS must be a positive integer" >&2; exit 2 ;; esac
[ -x "$bench" ] || { echo "run.sh: $bench is not executable" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sky-bench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/sky.txt"
: >"$tmp/erlang.txt"
status=0
# shellcheck source=tests/bench/lib.sh
. "$srcdir/tests/bench/lib.sh"

erlang=0      # the peer, for ring .. payload
erlang_proc=0 # our twin of `process`
if [ "${SKY_BENCH_ERLANG:-1}" = 0 ]; then
    echo "# Erlang peer skipped (SKY_BENCH_ERLANG=0)"
elif command -v erl >/dev/null && command -v erlc >/dev/null; then
    if [ ! -f "$peers/peer_bench.erl" ]; then
        echo "# Erlang peer skipped (no $peers/peer_bench.erl)"
    elif erlc -o "$tmp" "$peers/peer_bench.erl"; then
        erlang=1
    else
        echo "# erlc failed on $peers/peer_bench.erl: no Erlang figures" >&2
    fi
    if erlc -o "$tmp" "$srcdir/tests/bench/process_bench.erl"; then
        erlang_proc=1
    else
        echo "# erlc failed on tests/bench/process_bench.erl: no Erlang process figures" >&2
    fi
else
    echo "# Erlang peer skipped (needs erl and erlc)"
fi

echo "# $(date -u '+%Y-%m-%d %H:%M:%S UTC') $(uname -srm), $(nproc) cpus, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# rounds=$rounds benchmarks: $only; sky: $bench $extra"

# The supervisor benchmark's Erlang side: tests/bench/sup_bench.erl (a
# supervisor and a gen_server), when escript is there.
run_sup_erlang() {
    [ "${SKY_BENCH_ERLANG:-1}" != 0 ] || return 0
    if ! command -v escript >/dev/null; then
        [ "$1" = 1 ] && echo "# Erlang supervisor benchmark skipped (needs escript)"
        return 0
    fi
    run_one "$tmp/erlang.txt" "round $1 erlang" escript "$srcdir/tests/bench/sup_bench.erl"
}

for ((r = 1; r <= rounds; r++)); do
    for b in $only; do
        # shellcheck disable=SC2086 # extra holds separate options
        run_one "$tmp/sky.txt" "round $r sky" "$bench" "$b" $extra
        case $b in
        lua* | cluster) ;; # no Erlang twin: Skynet's figures are in docs/benchmarks.md
        supervisor) run_sup_erlang "$r" ;;
        process | link_exit | monitor_down)
            if [ $erlang_proc = 1 ]; then
                run_one "$tmp/erlang.txt" "round $r erlang" erl -noshell -pa "$tmp" -run process_bench main "$b"
            fi ;;
        *)
            if [ $erlang = 1 ]; then
                run_one "$tmp/erlang.txt" "round $r erlang" erl -noshell -pa "$tmp" -run peer_bench main "$b"
            fi ;;
        esac
    done
done

if grep -q "built with sanitizers" "$tmp/sky.txt.log" 2>/dev/null; then
    echo "# WARNING: $bench was built with sanitizers; configure without them to measure the runtime"
fi
rounds "$tmp/sky.txt" sky
best "$tmp/sky.txt" >"$tmp/sky.best"
echo "# sky: best of $rounds rounds (max for *_per_s, min otherwise)"
cat "$tmp/sky.best"

if [ -s "$tmp/erlang.txt" ]; then
    rounds "$tmp/erlang.txt" erlang
    best "$tmp/erlang.txt" >"$tmp/erlang.best"
    echo "# erlang: best of $rounds rounds"
    sed 's/^/erlang_/' "$tmp/erlang.best"
    echo "# ratio_<key> = sky / erlang: above 1 is better for *_per_s, below 1 for times, latencies and bytes"
    # fanin_spin_* (our other fan-in variant) is set against Erlang's fanin_*
    awk 'NR == FNR { e[$1] = $2; next }
         { k = $1; sub(/^fanin_spin_/, "fanin_", k) }
         (k in e) && e[k] != 0 && k !~ /^(spawn_n|fanin_producers|link_chain_n|monitor_down_n|supervisor_restarts)$/ {
             printf "ratio_%s %.3f\n", $1, $2 / e[k] }' "$tmp/erlang.best" "$tmp/sky.best"
fi
exit $status

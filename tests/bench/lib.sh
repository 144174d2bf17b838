# shellcheck shell=bash disable=SC2154,SC2034 # $tmp and status belong to the caller
# Shell functions shared by tests/bench/run.sh and tests/bench/gate.sh
# (sourced, bash). run_one needs $tmp (a scratch directory) and sets
# status=1 when its command fails.

# run_one OUT LABEL CMD...: runs CMD (bounded), echoes its output as
# comments, appends its `key value` lines to OUT.
run_one() {
    local out=$1 label=$2
    shift 2
    local log="$tmp/last.txt"
    timeout 300 "$@" >"$log" 2>"$tmp/err.txt"
    local rc=$?
    sed "s/^/# $label: /" "$log"
    if [ $rc -ne 0 ]; then
        echo "# $label: FAILED (exit $rc): $(tr '\n' ' ' <"$tmp/err.txt")"
        cat "$tmp/err.txt" >&2
        status=1
    elif [ -s "$tmp/err.txt" ]; then
        sed "s/^/# $label stderr: /" "$tmp/err.txt"
    fi
    grep -E '^[a-z][a-z0-9_]* [-0-9.e+]+$' "$log" >>"$out"
    cat "$log" >>"$out.log"
}

# best KEYFILE: one `key value` line per key, the best over the rounds
# (max for *_per_s, min for times, latencies and memory).
best() {
    awk '
        !($1 in v) { v[$1] = $2 + 0; text[$1] = $2; order[n++] = $1; next }
        ($1 ~ /_per_s($|_)/) ? ($2 + 0 > v[$1]) : ($2 + 0 < v[$1]) { v[$1] = $2 + 0; text[$1] = $2 }
        END { for (i = 0; i < n; i++) print order[i], text[order[i]] }' "$1"
}

# rounds KEYFILE LABEL: every round's value of each key, as comments.
rounds() {
    awk -v label="$2" '
        !($1 in all) { order[n++] = $1 }
        { all[$1] = all[$1] " " $2 }
        END { for (i = 0; i < n; i++) printf "# %s %s:%s\n", label, order[i], all[order[i]] }' "$1"
}

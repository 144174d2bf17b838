#!/bin/sh
# Golden tests: pins the shape of skyc's generated C. For each X.proto in
# tests/skyc/golden/, skyc --c_out must produce X.sky.h and X.sky.c equal
# to the committed tests/skyc/golden/X.sky.{h,c}.expected (named so that
# no build rule takes them for outputs to remake); a difference is printed
# as a unified diff. Also checks that two runs give identical output (no
# timestamps) and that protoc-gen-sky, run as a plain protoc plugin, gives
# the same stubs as skyc.
#
# After an intended change to the templates, refresh the expected files
# (then review them with git diff):
#
#   SKY_GOLDEN_UPDATE=1 tests/skyc/test_golden.sh
#
# Environment (exported by make check):
#   SKY_SRCDIR          the source tree (default: two levels above this script)
#   SKY_BUILDDIR        the build tree holding skyc (default: SKY_SRCDIR)
#   SKY_SKYC            the skyc to test (default: found in the build tree)
#   SKY_PROTOC_GEN_SKY  the plugin to test (default: found in the build tree)
#   SKY_IDL_DIR         where sky/options.proto is (default: SKY_SRCDIR/idl)
#   SKY_GOLDEN_UPDATE=1 rewrite the expected files instead of comparing
#
# Every command is bounded by `timeout`. Prints one line per case and ends
# with "N passed, M failed"; exits non-zero if any case failed.

set -u

here=$(cd "$(dirname "$0")" && pwd)
: "${SKY_SRCDIR:=$(cd "$here/../.." && pwd)}"
: "${SKY_BUILDDIR:=$SKY_SRCDIR}"
# skyc of a VPATH build tree does not find the source tree's idl/ by itself.
: "${SKY_IDL_DIR:=$SKY_SRCDIR/idl}"
export SKY_IDL_DIR
: "${PROTOC:=protoc}"

golden="$SKY_SRCDIR/tests/skyc/golden"
LIMIT=60

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sky-golden.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

passed=0
failed=0

# report NAME WHY [LOG]: one line per case; a non-empty WHY is a failure,
# shown with LOG (up to 200 lines).
report() {
    if [ -z "$2" ]; then
        passed=$((passed + 1))
        echo "ok    $1"
    else
        failed=$((failed + 1))
        echo "FAIL  $1: $2"
        if [ -n "${3:-}" ] && [ -s "$3" ]; then
            awk 'NR <= 200 { print "      | " $0 }' "$3"
        fi
    fi
}

why() {
    case $1 in
    0) echo "" ;;
    124) echo "timed out after ${LIMIT}s" ;;
    *) echo "exit status $1" ;;
    esac
}

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

# find_tool ENV_VALUE NAME: the first executable among the candidates.
find_tool() {
    if [ -n "$1" ]; then
        echo "$1"
        return
    fi
    for c in "$SKY_BUILDDIR/skyc/$2" "$SKY_BUILDDIR/bin/$2" "$SKY_BUILDDIR/$2"; do
        if [ -f "$c" ] && [ -x "$c" ]; then
            echo "$c"
            return
        fi
    done
}

skyc=$(find_tool "${SKY_SKYC:-}" skyc)
plugin=$(find_tool "${SKY_PROTOC_GEN_SKY:-}" protoc-gen-sky)
if [ -z "$skyc" ]; then
    report "find skyc" "no skyc in $SKY_BUILDDIR (set SKY_SKYC)"
    finish
fi

protos=$(cd "$golden" && find . -maxdepth 1 -name "*.proto" | sed "s|^\./||" | LC_ALL=C sort)

# gen DIR: runs skyc on every golden .proto into DIR.
gen() {
    mkdir -p "$1"
    # shellcheck disable=SC2086
    (cd "$golden" && timeout "$LIMIT" "$skyc" -I . --c_out="$1" $protos) >"$1.log" 2>&1
}

gen "$tmp/a"
w=$(why $?)
report "skyc  golden/*.proto" "$w" "$tmp/a.log"
[ -z "$w" ] || finish

if [ "${SKY_GOLDEN_UPDATE:-}" = 1 ]; then
    for p in $protos; do
        for ext in sky.h sky.c; do
            f="${p%.proto}.$ext"
            if cp "$tmp/a/$f" "$golden/$f.expected"; then
                report "wrote golden/$f.expected" ""
            else
                report "write golden/$f.expected" "cannot copy"
            fi
        done
    done
    finish
fi

for p in $protos; do
    for ext in sky.h sky.c; do
        f="${p%.proto}.$ext"
        if [ ! -f "$golden/$f.expected" ]; then
            report "diff  $f" "no golden/$f.expected (make it with SKY_GOLDEN_UPDATE=1 $0)"
        elif [ ! -f "$tmp/a/$f" ]; then
            report "diff  $f" "skyc wrote no $f"
        elif diff -u "$golden/$f.expected" "$tmp/a/$f" >"$tmp/diff" 2>&1; then
            report "diff  $f" ""
        else
            report "diff  $f" "differs from golden/$f.expected (refresh: SKY_GOLDEN_UPDATE=1 $0)" "$tmp/diff"
        fi
    done
done

# Two runs, the same bytes: nothing depends on time, paths or addresses.
gen "$tmp/b"
w=$(why $?)
if [ -z "$w" ] && ! diff -r "$tmp/a" "$tmp/b" >"$tmp/diff" 2>&1; then
    w="two runs differ"
fi
report "same output on a second run" "$w" "$tmp/diff"

# protoc-gen-sky as a plain plugin: the same stubs.
if [ -z "$plugin" ] || ! command -v "$PROTOC" >/dev/null 2>&1; then
    echo "skip  protoc-gen-sky as a protoc plugin (no plugin or no protoc)"
else
    mkdir -p "$tmp/p"
    idl="${SKY_IDL_DIR:-$SKY_SRCDIR/idl}"
    # shellcheck disable=SC2086
    (cd "$golden" && timeout "$LIMIT" "$PROTOC" --plugin=protoc-gen-sky="$plugin" --sky_out="$tmp/p" \
        -I . -I "$idl" -I /usr/include $protos) >"$tmp/p.log" 2>&1
    w=$(why $?)
    if [ -z "$w" ]; then
        : >"$tmp/p.log"
        for p in $protos; do
            for ext in sky.h sky.c; do
                f="${p%.proto}.$ext"
                diff -u "$tmp/a/$f" "$tmp/p/$f" >>"$tmp/p.log" 2>&1 || w="differs from skyc's output"
            done
        done
    fi
    report "protoc-gen-sky as a protoc plugin" "$w" "$tmp/p.log"
fi

finish

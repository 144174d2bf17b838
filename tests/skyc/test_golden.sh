#!/bin/sh
# Golden tests: pins the shape of skyc's generated C and Lua. For each
# X.proto in tests/skyc/golden/, skyc --c_out --lua_out --nanopb_out must
# produce X.sky.h, X.sky.c, X.sky-client.h, X.sky-nano.h and X_sky.lua
# equal to the committed tests/skyc/golden/X{...}.expected (named so that
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

NAME=golden
REPORT_LINES=200
. "$(dirname "$0")/lib.sh"
: "${PROTOC:=protoc}"
golden="$SKY_SRCDIR/tests/skyc/golden"

need_skyc
plugin=$(find_tool "${SKY_PROTOC_GEN_SKY:-}" protoc-gen-sky)

protos=$(cd "$golden" && find . -maxdepth 1 -name "*.proto" | sed "s|^\./||" | LC_ALL=C sort)

# gen DIR: runs skyc on every golden .proto into DIR.
gen() {
    mkdir -p "$1"
    # shellcheck disable=SC2086
    (cd "$golden" && timeout "$LIMIT" "$skyc" -I . --c_out="$1" --lua_out="$1" --nanopb_out="$1" $protos) >"$1.log" 2>&1
}

# outs X.proto: the stubs skyc makes of it.
outs() {
    echo "${1%.proto}.sky.h ${1%.proto}.sky.c ${1%.proto}.sky-client.h ${1%.proto}.sky-nano.h ${1%.proto}_sky.lua"
}

gen "$tmp/a"
w=$(why $?)
report "skyc  golden/*.proto" "$w" "$tmp/a.log"
[ -z "$w" ] || finish

if [ "${SKY_GOLDEN_UPDATE:-}" = 1 ]; then
    for p in $protos; do
        for f in $(outs "$p"); do
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
    for f in $(outs "$p"); do
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
    (cd "$golden" && timeout "$LIMIT" "$PROTOC" --plugin=protoc-gen-sky="$plugin" --sky_opt=lang=c+lua+nanopb \
        --sky_out="$tmp/p" \
        -I . -I "$idl" -I /usr/include $protos) >"$tmp/p.log" 2>&1
    w=$(why $?)
    if [ -z "$w" ]; then
        : >"$tmp/p.log"
        for p in $protos; do
            for f in $(outs "$p"); do
                diff -u "$tmp/a/$f" "$tmp/p/$f" >>"$tmp/p.log" 2>&1 || w="differs from skyc's output"
            done
        done
    fi
    report "protoc-gen-sky as a protoc plugin" "$w" "$tmp/p.log"
fi

finish

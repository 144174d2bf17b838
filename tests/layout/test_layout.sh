#!/bin/sh
# The runtime's layout holds (docs/architecture.md, "The map"): runtime/
# holds wings and the node's assembly only, and arrows point down. Wings
# from the bottom up:
#
#   core < schema < io < cluster < lua < admin
#
# A wing may include a header of its own wing or one below it, never one
# above; and, read off the built objects, it may call (or reference) only
# symbols defined in its own wing or below: a declaration written out by
# hand instead of included is caught too. The core reaches up only through
# the hooks in core/node.h, which runtime/node.c (the assembly) fills.
#
# Environment: SKY_SRCDIR (the source tree), SKY_BUILDDIR (where the
# objects are). Prints one line per case and ends with "test_layout: N passed, M failed".

set -u

: "${SKY_SRCDIR:=.}"
: "${SKY_BUILDDIR:=.}"
WINGS="core schema io cluster lua admin"

passed=0
failed=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sky-layout.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

pass() { echo "PASS: $1"; passed=$((passed + 1)); }
fail() { echo "FAIL: $1"; shift; for l in "$@"; do echo "  $l"; done; failed=$((failed + 1)); }

# rank WING: its place from the bottom (0 = core); empty if not a wing.
rank() {
    i=0
    for w in $WINGS; do
        [ "$w" = "$1" ] && { echo $i; return; }
        i=$((i + 1))
    done
}

# 1. runtime/ itself holds folders and the assembly only.
stray=$(cd "$SKY_SRCDIR/runtime" && ls -- *.c *.h 2>/dev/null | grep -vx 'node.c')
if [ -z "$stray" ]; then
    pass "runtime/ holds no .c or .h file but node.c"
else
    fail "runtime/ holds no .c or .h file but node.c" $stray
fi

# 2. Includes: a wing includes its own wing or those below, by wing name.
for w in $WINGS; do
    dir="$SKY_SRCDIR/runtime/$w"
    [ -n "$(find "$dir" -name '*.[ch]' 2>/dev/null)" ] || continue # an empty wing (a README)
    me=$(rank "$w")
    bad=""
    for f in $(find "$dir" -name '*.[ch]' | sort); do
        for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
            case $inc in
            */*) ;;
            *) bad="$bad ${f#"$SKY_SRCDIR"/}:\"$inc\"(no-wing)"; continue ;;
            esac
            top=${inc%%/*}
            r=$(rank "$top")
            [ -n "$r" ] || continue # sky/..., google/...: not a wing
            [ "$r" -le "$me" ] || bad="$bad ${f#"$SKY_SRCDIR"/}:\"$inc\""
        done
    done
    if [ -z "$bad" ]; then
        pass "runtime/$w/ includes only its own wing and those below, by wing name"
    else
        # shellcheck disable=SC2086
        fail "runtime/$w/ includes only its own wing and those below, by wing name" $bad
    fi
done

# 3. Symbols: what a wing's objects need is defined in that wing or below.
# defs WING: "symbol wing" for every global symbol its objects define.
objects() { find "$SKY_BUILDDIR/runtime/$1" -name '*.o' ! -path '*/.libs/*' 2>/dev/null | sort; }
nobjs=0
for w in $WINGS; do
    for o in $(objects "$w"); do
        nobjs=$((nobjs + 1))
        nm -g --defined-only "$o" | awk -v w="$w" 'NF == 3 { print $3, w }' >>"$tmp/defs"
    done
done
for o in $(find "$SKY_BUILDDIR/runtime" -maxdepth 1 -name '*node.o' 2>/dev/null); do
    nm -g --defined-only "$o" | awk 'NF == 3 { print $3, "node.c" }' >>"$tmp/defs"
done
if [ "$nobjs" -eq 0 ]; then
    fail "the runtime's objects are built" "no runtime/<wing>/*.o under $SKY_BUILDDIR: build first"
else
    LC_ALL=C sort -u "$tmp/defs" >"$tmp/defs.sorted"
    for w in $WINGS; do
        [ -n "$(objects "$w")" ] || continue
        me=$(rank "$w")
        bad=""
        for o in $(objects "$w"); do
            for up in $(nm -u "$o" | awk '{ print $2 }' | LC_ALL=C sort -u | LC_ALL=C join - "$tmp/defs.sorted" | awk '{ print $1 ":" $2 }'); do
                sym=${up%%:*}
                where=${up#*:}
                r=$(rank "$where")
                if [ -z "$r" ] || [ "$r" -gt "$me" ]; then
                    bad="$bad $(basename "$o"):$sym(in-$where)"
                fi
            done
        done
        if [ -z "$bad" ]; then
            pass "runtime/$w/ objects use only symbols of their wing and those below"
        else
            # shellcheck disable=SC2086
            fail "runtime/$w/ objects use only symbols of their wing and those below" $bad
        fi
    done
fi

echo "test_layout: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/bin/sh
# The template model skyc gives templates (docs/skyc.md), and its template
# engine:
#
#   dump   `skyc --dump-model` of each fixture in tests/skyc/model/ equals
#          X.expected: names, ids, options, comments, nested messages, no
#          package, keyword method names (int -> int_, linux -> linux_,
#          while -> while_ in C, end -> end_ in Lua), imported messages;
#   names  every c_type, c_descriptor and c_init in the dumps is declared in
#          the X.pb-c.h protobuf-c made for the same files, and that code
#          and the stubs compile with -Wall -Wextra -Werror;
#   engine rendering templates/c/probe.txt.tmpl with --templates gives
#          names.probe.expected (% lines, $(expr), $$, comment_c with */);
#   error  a template naming a missing field fails with
#          `template:line: message`, exit 1 and no output.
#
# Environment (exported by make check):
#   SKY_SRCDIR    the source tree (default: two levels above this script)
#   SKY_BUILDDIR  the build tree holding skyc (default: SKY_SRCDIR)
#   SKY_SKYC      the skyc to test (default: $SKY_BUILDDIR/skyc/skyc)
#   SKY_IDL_DIR   sky's schemas (default: $SKY_SRCDIR/idl)
#   CC            the C compiler (default: cc)
#   SKY_MODEL_UPDATE=1  rewrite the expected files instead of comparing
#
# Prints one line per case and "N passed, M failed"; exits 1 if any failed.

set -u

NAME=model
. "$(dirname "$0")/lib.sh"
: "${CC:=cc}"
: "${PKG_CONFIG:=pkg-config}"
model="$SKY_SRCDIR/tests/skyc/model"
need_skyc

run() {
    timeout "$LIMIT" "$SKY_SKYC" "$@"
}

# ---- dump -------------------------------------------------------------------

for f in names nopkg; do
    if ! run --dump-model -I "$model" "$model/$f.proto" >"$tmp/$f.model" 2>"$tmp/err"; then
        report "dump   $f.proto" "skyc --dump-model failed" "$tmp/err"
        continue
    fi
    if [ "${SKY_MODEL_UPDATE:-}" = 1 ]; then
        cp "$tmp/$f.model" "$model/$f.expected"
        report "dump   $f.proto (expected file rewritten)" ""
    elif diff -u "$model/$f.expected" "$tmp/$f.model" >"$tmp/diff"; then
        report "dump   $f.proto" ""
    else
        report "dump   $f.proto" "differs from $f.expected (SKY_MODEL_UPDATE=1 $0 to accept)" "$tmp/diff"
    fi
done

# ---- names ------------------------------------------------------------------

mkdir "$tmp/out"
if ! run -I "$model" --c_out="$tmp/out" "$model/names.proto" "$model/nopkg.proto" 2>"$tmp/err"; then
    report "names  skyc --c_out" "skyc failed" "$tmp/err"
else
    missing=
    for f in names nopkg; do
        [ -f "$tmp/$f.model" ] || continue
        for kind in c_type c_descriptor c_init; do
            sed -n "s/.*\\.$kind = \"\\([^\"]*\\)\"\$/$kind \\1/p" "$tmp/$f.model"
        done | sort -u >"$tmp/names"
        while read -r kind name; do
            case $kind in
            c_type) pattern="^typedef (struct|enum) _?$name $name;|} $name;" ;;
            c_descriptor) pattern="^extern const ProtobufC(Message|Enum)Descriptor +$name;" ;;
            c_init) pattern="^#define $name " ;;
            esac
            cat "$tmp"/out/*.pb-c.h | grep -Eq "$pattern" || missing="$missing $kind:$name"
        done <"$tmp/names"
    done
    if [ -n "$missing" ]; then
        report "names  match protobuf-c's" "not declared by protoc-c:$missing"
    else
        report "names  match protobuf-c's" ""
    fi

    pbc_cflags=$($PKG_CONFIG --cflags libprotobuf-c 2>/dev/null) || pbc_cflags=
    why=
    : >"$tmp/cc.log"
    for c in "$tmp"/out/*.c; do
        # shellcheck disable=SC2086
        timeout "$LIMIT" $CC -std=gnu11 -Wall -Wextra -Werror -I"$SKY_SRCDIR/include" -I"$tmp/out" \
            $pbc_cflags -c "$c" -o "$tmp/obj.o" >>"$tmp/cc.log" 2>&1 || why="${why:+$why, }$(basename "$c")"
    done
    report "names  generated code compiles with -Werror" "${why:+does not compile: $why}" "$tmp/cc.log"
fi

# ---- engine -----------------------------------------------------------------

mkdir "$tmp/probe"
if ! run -I "$model" --templates="$model/templates" --c_out="$tmp/probe" "$model/names.proto" 2>"$tmp/err"; then
    report "engine probe template" "skyc failed" "$tmp/err"
elif [ "${SKY_MODEL_UPDATE:-}" = 1 ]; then
    cp "$tmp/probe/names.probe.txt" "$model/names.probe.expected"
    report "engine probe template (expected file rewritten)" ""
elif diff -u "$model/names.probe.expected" "$tmp/probe/names.probe.txt" >"$tmp/diff"; then
    report "engine probe template" ""
else
    report "engine probe template" "differs from names.probe.expected" "$tmp/diff"
fi

# ---- error ------------------------------------------------------------------

run -I "$model" --templates="$model/badtemplates" --c_out="$tmp/bad" "$model/names.proto" 2>"$tmp/err"
rc=$?
why=
[ "$rc" -eq 1 ] || why="exit status $rc, not 1"
grep -q '^c/bad\.txt\.tmpl:3: \$(file\.no_such_field) is nil (rendering names\.proto)$' "$tmp/err" ||
    why="${why:+$why; }no \"c/bad.txt.tmpl:3: ...\" line"
[ ! -e "$tmp/bad" ] || why="${why:+$why; }output written"
report "error  template error names the template line" "$why" "$tmp/err"

finish

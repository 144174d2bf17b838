#!/bin/sh
# skyc on bad input: each case must exit 1, print a `file:line:col: message`
# line on stderr, and leave nothing behind — no output file in --c_out (an
# existing directory stays empty, a missing one is not created) and no
# temporary directory in $TMPDIR.
#
#   syntax        a syntax error (protoc's message)
#   unknown_type  a field of an undefined type (protoc's message)
#   streaming     streaming rpcs (skyc's message, one per rpc)
#   collision     two methods whose ids collide (skyc's message)
#   imports_bad   an import that does not exist
#   missing       an input file that does not exist
#   groups        proto2 groups (skyc's message, one per group)
#   file_names    two files whose stubs would define the same <name>_file
#   nanopb_field  with --nanopb_out: fields and a oneof named like C
#                 keywords (skyc's message; the same file with --c_out
#                 compiles)
#   nanopb_toplevel  with --nanopb_out: top-level types of a file without
#                 a package named like C keywords (likewise)
#
# and a few command-line cases (exit status 2 for a bad command line).
#
# Environment (exported by make check):
#   SKY_SRCDIR    the source tree (default: two levels above this script)
#   SKY_BUILDDIR  the build tree holding skyc (default: SKY_SRCDIR)
#   SKY_SKYC      the skyc to test (default: $SKY_BUILDDIR/skyc/skyc)
#   SKY_IDL_DIR   sky's schemas (default: $SKY_SRCDIR/idl)
#
# Prints one line per case and "N passed, M failed"; exits 1 if any failed.

set -u

NAME=bad
REPORT_LINES=20
. "$(dirname "$0")/lib.sh"
bad="$SKY_SRCDIR/tests/skyc/bad"
need_skyc

# skyc ARGS...: runs skyc with a private TMPDIR; status in $rc, stderr in
# $tmp/err.
skyc() {
    rm -rf "$tmp/t" && mkdir "$tmp/t"
    TMPDIR="$tmp/t" timeout "$LIMIT" "$SKY_SKYC" "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
}

# bad NAME FILE PATTERN [LINES [LANG]]: skyc --LANG_out (default c) FILE
# must fail as described above, with a stderr line matching
# `FILE:LINE:COL: ` + PATTERN (extended regex), LINES such lines if given.
bad() {
    name=$1 file=$2 pattern=$3 lines=${4:-} lang=${5:-c}
    why=
    rm -rf "$tmp/existing" "$tmp/fresh"
    mkdir "$tmp/existing"
    skyc --"${lang}_out=$tmp/existing" "$file"
    [ "$rc" -eq 1 ] || why="exit status $rc, not 1"
    loc="^$(printf '%s' "$file" | sed 's/[][\.*^$]/\\&/g'):[0-9]+:[0-9]+: "
    n=$(grep -Ec "$loc$pattern" "$tmp/err")
    if [ "$n" -eq 0 ]; then
        why="${why:+$why; }no \"$file:line:col: $pattern\" line on stderr"
    elif [ -n "$lines" ] && [ "$n" -ne "$lines" ]; then
        why="${why:+$why; }$n error lines, not $lines"
    fi
    [ -z "$(ls -A "$tmp/existing")" ] || why="${why:+$why; }files left in --c_out: $(ls -A "$tmp/existing" | tr '\n' ' ')"
    [ -z "$(ls -A "$tmp/t")" ] || why="${why:+$why; }temporary files left: $(ls -A "$tmp/t" | tr '\n' ' ')"
    # The same with an output directory that does not exist yet.
    skyc --"${lang}_out=$tmp/fresh" "$file"
    [ "$rc" -eq 1 ] || why="${why:+$why; }exit status $rc with a new --c_out"
    [ ! -e "$tmp/fresh" ] || why="${why:+$why; }a new --c_out was created"
    report "$name" "$why" "$tmp/err"
}

bad syntax "$bad/syntax.proto" 'Expected ";"'
bad unknown_type "$bad/unknown_type.proto" '"Missing" is not defined'
bad streaming "$bad/streaming.proto" 'bad\.streaming\.Clock\.(Watch|Upload): streaming rpc not supported yet' 2
bad collision "$bad/collision.proto" 'method id 0xd583205f of coll\.Clash\.M700384 collides with coll\.Clash\.M74379' 1
bad imports_bad "$bad/imports_bad.proto" 'Import "no/such/file\.proto" was not found'
bad missing "$bad/no_such_file.proto" 'file not found'
bad groups "$bad/groups.proto" 'bad\.groups\.SearchResponse(\.Page)?\.(result|cursor): groups are not supported' 2
bad file_names "$bad/clash/a-b.proto" 'the C name of this file, a_b_file, is also that of a_b\.proto' 1
kw='a C keyword or reserved name, which nanopb cannot use as'
bad nanopb_field "$bad/nanopb_field.proto" "bad\.nanopb\.(Bool\.bool|Flags\.int|Flags\.default): $kw a (field|oneof) name" 3 nanopb
bad nanopb_toplevel "$bad/nanopb_toplevel.proto" "(int|char): $kw the name of a type without a package" 2 nanopb

# What nanopb cannot take, the C and Lua stubs can.
for f in nanopb_field nanopb_toplevel; do
    rm -rf "$tmp/ok"
    skyc --c_out="$tmp/ok" --lua_out="$tmp/ok" "$bad/$f.proto"
    why=
    [ "$rc" -eq 0 ] || why="exit status $rc, not 0"
    [ -f "$tmp/ok/$f.sky.c" ] && [ -f "$tmp/ok/${f}_sky.lua" ] || why="${why:+$why; }no stubs written"
    report "$f.proto with --c_out and --lua_out" "$why" "$tmp/err"
done

# A good file next to a bad one: nothing at all is written.
rm -rf "$tmp/mixed"
skyc --c_out="$tmp/mixed" "$SKY_SRCDIR/tests/skyc/model/names.proto" "$bad/streaming.proto"
why=
[ "$rc" -eq 1 ] || why="exit status $rc, not 1"
[ ! -e "$tmp/mixed" ] || why="${why:+$why; }output written: $(cd "$tmp/mixed" && find . -type f | tr '\n' ' ')"
report "good and bad file together" "$why" "$tmp/err"

# The command line: exit status 2 and a hint.
usage() {
    name=$1
    shift
    skyc "$@"
    why=
    [ "$rc" -eq 2 ] || why="exit status $rc, not 2"
    grep -q 'skyc --help' "$tmp/err" || why="${why:+$why; }no hint at skyc --help"
    report "usage: $name" "$why" "$tmp/err"
}
usage "no input" --c_out="$tmp/x"
usage "no output" "$bad/syntax.proto"
usage "unknown option" --bogus --c_out="$tmp/x" "$bad/syntax.proto"
usage "missing templates dir" --templates="$tmp/none" --c_out="$tmp/x" "$bad/syntax.proto"

# A language without templates yet: a note, exit 0, nothing written.
for lang in lua nanopb; do
    [ -d "$SKY_SRCDIR/templates/$lang" ] && continue
    rm -rf "$tmp/l"
    skyc --"${lang}_out=$tmp/l" "$SKY_SRCDIR/tests/skyc/model/names.proto"
    why=
    [ "$rc" -eq 0 ] || why="exit status $rc, not 0"
    grep -q "^skyc: --${lang}_out: no $lang templates" "$tmp/err" || why="${why:+$why; }no note on stderr"
    [ ! -e "$tmp/l" ] || why="${why:+$why; }output written"
    report "--${lang}_out without templates" "$why" "$tmp/err"
done

finish

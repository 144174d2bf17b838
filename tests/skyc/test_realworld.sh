#!/bin/sh
# Shapes of real-world .proto files (issue 12: etcd, OpenTelemetry,
# googleapis, game servers, ...) that broke skyc's output at compile, link
# or load time. Each case runs skyc as a project's Makefile would (one
# run per file), compiles everything with -Wall -Wextra -Werror, links a
# program of tests/skyc/realworld/ against libsky and runs it:
#
#   codesize  `option optimize_for = CODE_SIZE` (codesize/adder.proto):
#             the program finds the schema by name, serves Adder.Add and
#             calls it once through a node (protoc-c's descriptors had no
#             names, and loading crashed in sky_schema_register);
#   samename  client/msg.proto and server/msg.proto (no package),
#             lobby/types.proto and arena/types.proto (package game):
#             linked into one program, each registered under its own name
#             (their stubs defined the same msg_file / game_types_file);
#   skyapi    sky.proto, without a package, with services sky, sky_typed
#             and SKY: the stubs (proto_sky_...) compile next to sky's API
#             and sky.typed is served and called once (they were sky_serve,
#             sky_typed_call, ..., conflicting with sky's own);
#   nanopb    googleapis-style custom options (tests/skyc/corpus: shop/v1,
#             google/api/annotations.proto, gogoproto/gogo.proto) with
#             --nanopb_out: no output for the files of options only, and
#             shop.pb.h includes none of their headers nor descriptor.proto's.
#
# Environment (exported by make check): SKY_SRCDIR, SKY_BUILDDIR, SKY_SKYC,
# SKY_IDL_DIR, CC (default cc), SKY_SAN_FLAGS, SKY_KEEP=1 (keep the
# temporary directory). Prints one line per case and "N passed, M failed";
# exits 1 if any failed.

set -u

NAME=realworld
LIMIT=120
. "$(dirname "$0")/lib.sh"
: "${CC:=cc}"
: "${PKG_CONFIG:=pkg-config}"
rw="$SKY_SRCDIR/tests/skyc/realworld"
need_skyc

link_flags

# build CASE DIR MAIN PROTOS...: skyc -I DIR --c_out for each .proto on its
# own, every generated .c and MAIN compiled with -Werror, linked into
# $tmp/CASE/prog and run. One report line for the case.
build() {
    case=$1 dir=$2 main=$3
    shift 3
    d="$tmp/$case"
    mkdir -p "$d/out" "$d/obj"
    log="$d/log"
    : >"$log"
    w=
    for p in "$@"; do
        timeout "$LIMIT" "$SKY_SKYC" -I "$dir" --c_out="$d/out" "$p" >>"$log" 2>&1 || {
            w="skyc $p failed"
            break
        }
    done
    flags="$WFLAGS -I$d/out -I$rw -I$SKY_SRCDIR/include -I$SKY_BUILDDIR/include $pbc_cflags"
    objs=
    srcs=
    [ -n "$w" ] || srcs="$(cd "$d/out" && find "$PWD" -name '*.c' | LC_ALL=C sort) $main"
    for src in $srcs; do
        o="$d/obj/$(basename "$(dirname "$src")")_$(basename "$src" .c).o"
        objs="$objs $o"
        # shellcheck disable=SC2086
        timeout "$LIMIT" "$CC" $flags -c "$src" -o "$o" >>"$log" 2>&1 || w="${w:+$w, }$src does not compile"
    done
    # shellcheck disable=SC2086
    [ -n "$w" ] || timeout "$LIMIT" "$CC" ${SKY_SAN_FLAGS:-} -o "$d/prog" $objs $sky_libs $pbc_libs >>"$log" 2>&1 ||
        w="does not link"
    if [ -z "$w" ]; then
        timeout 30 "$d/prog" >>"$log" 2>&1
        w=$(why $?)
        [ -z "$w" ] || w="the program failed: $w"
    fi
    report "$case" "$w" "$log"
}

build codesize "$rw" "$rw/codesize.c" codesize/adder.proto
build samename "$rw/samename" "$rw/samename.c" client/msg.proto server/msg.proto lobby/types.proto arena/types.proto
build skyapi "$rw" "$rw/skyapi.c" sky.proto

# ---- nanopb and custom options ----------------------------------------------

corpus="$SKY_SRCDIR/tests/skyc/corpus"
n="$tmp/nanopb"
mkdir -p "$n"
w=
for p in google/api/annotations.proto gogoproto/gogo.proto shop/v1/shop.proto; do
    timeout "$LIMIT" "$SKY_SKYC" -I "$corpus" --nanopb_out="$n" "$p" >>"$n.log" 2>&1 || w="${w:+$w; }skyc $p failed"
done
left=$(cd "$n" && find . -type f \( -path './google/api/annotations*' -o -path './gogoproto/*' \
    -o -path './google/protobuf/*' \) | LC_ALL=C sort | tr '\n' ' ')
[ -z "$left" ] || w="${w:+$w; }output for files of options only: $left"
if [ ! -f "$n/shop/v1/shop.pb.h" ]; then
    w="${w:+$w; }no shop/v1/shop.pb.h"
elif grep -n 'annotations\.pb\.h\|gogo\.pb\.h\|descriptor\.pb\.h' "$n/shop/v1/shop.pb.h" >>"$n.log"; then
    w="${w:+$w; }shop.pb.h includes headers of options"
fi
report "nanopb options" "$w" "$n.log"

finish

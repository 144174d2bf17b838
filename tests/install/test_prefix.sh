#!/bin/sh
# Installing to a new prefix after an earlier build, as a user does after
# the quickstart: configure, build, then `./configure --prefix=DIR` and
# `make install`; the installed sky must run with no environment set.
#
# The earlier build is this build tree: a copy of it (the source tree too
# when the build is in it or below it) is configured again with the same
# options and --prefix=TMP/prefix, and installed. Then, with `env -i`:
# the installed sky prints its version and runs a node (a Lua service),
# the installed skyc compiles a .proto importing sky/options.proto; the
# installed .la files and sky.pc name the prefix; a program linked by
# libtool against the installed libsky.la links without "was moved" and
# runs; and make install said what programs linked with -lsky need.
#
# Environment (from Makefile.am's AM_TESTS_ENVIRONMENT): SKY_SRCDIR,
# SKY_BUILDDIR, CC, SKY_SAN_FLAGS. SKY_KEEP=1 keeps the temporary directory.
# Skips (77) when the build tree has no config.status, or when its source
# tree is elsewhere by a relative path that the copy would break.
# Every step runs under `timeout`. Prints one line per case and closes
# with "test_prefix: N passed, M failed"; exits 1 if any case failed.

set -u
NAME=install-prefix
LIMIT=600
REPORT_LINES=40
. "${SKY_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/skyc/lib.sh"
unset SKY_IDL_DIR # lib.sh's default: the installed skyc must not need it

build=$(cd "$SKY_BUILDDIR" && pwd)
if [ ! -f "$build/config.status" ]; then
    echo "SKIP: $build has no config.status (not a configured build tree)"
    exit 77
fi

# The makes below must not inherit this make's flags or variables.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS
MAKE_CMD=${MAKE:-make}
case $MAKE_CMD in *' '* | '') MAKE_CMD=make ;; esac

# What to copy: the build tree, or the source tree holding it when the
# Makefile names the sources by a relative path.
srcdir=$(sed -n 's/^srcdir = //p' "$build/Makefile")
case $srcdir in
. | /*) root=$build rel=. ;;
*)
    root=$(cd "$build/$srcdir" && pwd)
    case $build/ in
    "$root"/*) rel=${build#"$root"/} ;;
    *)
        echo "SKIP: the build tree names its sources by $srcdir, outside it: a copy would not find them"
        exit 77
        ;;
    esac
    ;;
esac

prefix=$tmp/prefix
mkdir -p "$tmp/tree"
# tar keeps the timestamps: the copy is as up to date as the build tree.
(cd "$root" && tar cf - --exclude=./.git --exclude='*.trs' --exclude='test-suite.log' .) |
    (cd "$tmp/tree" && tar xpf -)
st=$?
report "copy the built tree" "$(why $st)"
[ $st -eq 0 ] || finish
chmod -R u+w "$tmp/tree" # a copy of a read-only distcheck tree
copy=$tmp/tree/$rel

# The earlier build was made for another libdir.
old=$(sed -n "s/^libdir='\(.*\)'$/\1/p" "$copy/libsky.la")
w=
[ -n "$old" ] || w="no libdir in the build tree's libsky.la (not built?)"
[ "$old" != "$prefix/lib" ] || w="the build tree is already configured for $prefix"
report "the earlier build has libdir $old" "$w"
[ -z "$w" ] || finish

# ./configure again: the same options, another prefix.
eval "set -- $(cd "$build" && ./config.status --config)"
(cd "$copy" && timeout "$LIMIT" "$srcdir/configure" "$@" --prefix="$prefix") >"$tmp/configure.log" 2>&1
st=$?
report "configure --prefix=TMP/prefix (the earlier options kept)" "$(why $st)" "$tmp/configure.log"
[ $st -eq 0 ] || finish

(cd "$copy" && timeout "$LIMIT" "$MAKE_CMD" -j2 install) >"$tmp/install.log" 2>&1
st=$?
w=$(why $st)
if [ -z "$w" ] && grep -q 'has not been installed in\|was moved' "$tmp/install.log"; then
    w="libtool warns: $(grep -m1 'has not been installed in\|was moved' "$tmp/install.log")"
fi
report "make install" "$w" "$tmp/install.log"
[ $st -eq 0 ] || finish

w=
grep -qF "ldconfig" "$tmp/install.log" || w="no ldconfig note"
grep -qF "LD_LIBRARY_PATH=$prefix/lib" "$tmp/install.log" || w="${w:+$w; }no LD_LIBRARY_PATH=$prefix/lib in the note"
report "make install says what programs linked with -lsky need" "$w" "$tmp/install.log"

# ---- the installed programs, with no environment -------------------------
timeout 30 env -i "$prefix/bin/sky" --version >"$tmp/out" 2>&1
st=$?
w=$(why $st)
[ -n "$w" ] || grep -qx 'sky [0-9.]*' "$tmp/out" || w="printed $(head -c 200 "$tmp/out")"
report "env -i PREFIX/bin/sky --version" "$w" "$tmp/out"

mkdir -p "$tmp/node"
cat >"$tmp/node/hello.lua" <<'END'
print("hello from the installed sky")
sky.start(function() sky.shutdown() end)
END
cat >"$tmp/node/node.lua" <<END
threads = 1
service_path = "$tmp/node/?.lua"
bootstrap = "lua"
bootstrap_args = "hello"
END
timeout 30 env -i "$prefix/bin/sky" "$tmp/node/node.lua" >"$tmp/out" 2>&1
st=$?
w=$(why $st)
[ -n "$w" ] || grep -qx 'hello from the installed sky' "$tmp/out" || w="no hello line"
report "env -i PREFIX/bin/sky node.lua (a Lua service)" "$w" "$tmp/out"

mkdir -p "$tmp/proto/out"
cat >"$tmp/proto/probe.proto" <<'END'
syntax = "proto3";
package probe;
import "sky/options.proto";
message M { string s = 1; }
service S { rpc Send(M) returns (M) { option (sky.oneway) = true; } }
END
(cd "$tmp/proto" && timeout 60 env -i "$prefix/bin/skyc" --c_out=out --lua_out=out probe.proto) >"$tmp/out" 2>&1
st=$?
w=$(why $st)
for f in probe.pb-c.c probe.sky.c probe.sky-client.h probe_sky.lua; do
    [ -n "$w" ] || [ -f "$tmp/proto/out/$f" ] || w="$f not written"
done
report "env -i PREFIX/bin/skyc --c_out --lua_out" "$w" "$tmp/out"

# ---- what a user's project reads: the .la files and sky.pc ----------------
w=
for la in libsky.la libsky-client.la; do
    grep -qx "libdir='$prefix/lib'" "$prefix/lib/$la" ||
        w="${w:+$w; }$la has $(grep '^libdir=' "$prefix/lib/$la")"
done
report "installed .la files name PREFIX/lib" "$w"

w=
for kv in "prefix=$prefix" "libdir=$prefix/lib" "includedir=$prefix/include"; do
    got=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --variable="${kv%%=*}" sky 2>&1)
    [ "${kv%%=*}=$got" = "$kv" ] || w="${w:+$w; }${kv%%=*}=$got"
done
report "installed sky.pc names PREFIX" "$w"

# A user project linking through libtool: no "was moved", and the program
# runs from the run path libtool gives it.
san=${SKY_SAN_FLAGS:-}
(cd "$tmp" && timeout 120 ${CC:-cc} $san -I"$prefix/include" -c "$SKY_SRCDIR/tests/install/embed.c" -o embed.o &&
    timeout 120 "$copy/libtool" --tag=CC --mode=link ${CC:-cc} $san -o embed embed.o "$prefix/lib/libsky.la") \
    >"$tmp/out" 2>&1
st=$?
w=$(why $st)
[ -n "$w" ] || ! grep -q 'was moved' "$tmp/out" || w="libtool: $(grep -m1 'was moved' "$tmp/out")"
report "libtool links a program with PREFIX/lib/libsky.la" "$w" "$tmp/out"
if [ -z "$w" ]; then
    timeout 30 env -i "$tmp/embed" >"$tmp/out" 2>&1
    report "env -i that program" "$(why $?)" "$tmp/out"
fi

finish

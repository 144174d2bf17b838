#!/bin/sh
# Builds examples/echo, a standalone autotools project, against sky
# installed into a temporary prefix, the way a user's project would be:
#
#   0. docs/skyc.md's make snippets        (must be examples/echo's lines)
#   1. make install prefix=TMP/prefix      (in sky's build directory)
#   2. autoreconf -fi                      (a copy of examples/echo; aclocal
#                                           finds sky.m4 through ACLOCAL_PATH)
#   3. configure                           (in a separate build directory;
#                                           sky found through PKG_CONFIG_PATH)
#   4. make with -Werror; make again       (skyc must not run again); make
#      after deleting one output           (skyc must run again)
#   5. make check                          (runs the node, checks its output)
#   6. make distcheck                      (of the example)
#   7. configure without skyc              (must fail, saying how to get it)
#   8. configure with a sky that does not run (must fail, saying why)
#
# Installing with prefix= at install time (not configure time) installs a
# sky.pc for that prefix (checked), but the installed programs keep
# configure's libdir as their run path, which the script corrects
# (LD_LIBRARY_PATH), and, only if the installed skyc does not find
# sky/options.proto next to itself, SKY_IDL_DIR (a "note:").
# tests/install/test_prefix.sh installs with configure's --prefix instead.
#
# Environment (from Makefile.am's AM_TESTS_ENVIRONMENT):
#   SKY_SRCDIR    sky's source tree (examples/echo is copied from it)
#   SKY_BUILDDIR  sky's build tree (where `make install` runs)
#   SKY_KEEP_TMP  if set, keep the temporary directory (its path is printed)
#
# Skips (exit 77) when SKY_BUILDDIR has no Makefile, or when autoreconf is
# missing. Every step runs under `timeout`. Prints one line per case and
# "test_echo_example: N passed, M failed"; exits 1 if any case failed.

set -u

: "${SKY_SRCDIR:?set SKY_SRCDIR to sky's source tree}"
: "${SKY_BUILDDIR:?set SKY_BUILDDIR to sky's build tree}"

if [ ! -f "$SKY_BUILDDIR/Makefile" ]; then
    echo "SKIP: $SKY_BUILDDIR has no Makefile (not a configured build tree)"
    exit 77
fi
for tool in autoreconf pkg-config timeout; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "SKIP: $tool not found"
        exit 77
    fi
done

# The example's own makes must not inherit this make's flags or command-line
# variables (make check TESTS=... would become the example's TESTS).
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES GNUMAKEFLAGS
MAKE_CMD=${MAKE:-make}
case $MAKE_CMD in *' '* | '') MAKE_CMD=make ;; esac

# A sanitizer build's libsky needs the sanitizer's runtime first in every
# program linked with it (the example's echo_embed); configure, and the
# configure of the example's distcheck, take these from the environment.
if [ -n "${SKY_SAN_FLAGS:-}" ]; then
    CFLAGS="-g -O2 $SKY_SAN_FLAGS"
    LDFLAGS="$SKY_SAN_FLAGS"
    export CFLAGS LDFLAGS
fi

LIMIT=600 # seconds per step
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sky-echo-example.XXXXXX") || exit 1
if [ -n "${SKY_KEEP_TMP:-}" ]; then
    echo "keeping $tmp"
    trap 'chmod -R u+w "$tmp" 2>/dev/null' EXIT
else
    # make distcheck leaves read-only directories behind when it fails.
    trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
fi
trap 'exit 1' INT TERM HUP

prefix=$tmp/prefix
src=$tmp/echo
build=$tmp/build
log=$tmp/log

passed=0
failed=0

# report NAME WHY: WHY empty is a pass; a failure shows the step's log tail.
report() {
    if [ -z "$2" ]; then
        passed=$((passed + 1))
        echo "PASS: $1"
    else
        failed=$((failed + 1))
        echo "FAIL: $1: $2"
        if [ -s "$log" ]; then
            echo "  --- last lines of its output:"
            tail -n 40 "$log" | sed 's/^/  | /'
        fi
    fi
}

# step NAME DIR COMMAND...: runs COMMAND in DIR under the time limit,
# output to $log; reports it; returns its status.
step() {
    name=$1 dir=$2
    shift 2
    (cd "$dir" && timeout "$LIMIT" "$@") >"$log" 2>&1
    st=$?
    case $st in
    0) report "$name" "" ;;
    124) report "$name" "timed out after ${LIMIT}s" ;;
    *) report "$name" "exit status $st" ;;
    esac
    return $st
}

finish() {
    echo "test_echo_example: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit $?
}

# ---- 0. docs/skyc.md shows examples/echo's Makefile.am ----------------------
# Each make snippet of "Building a project with autotools" must be a run of
# the example's lines (blank and comment lines aside).
code_lines() { grep -v '^[[:space:]]*#' "$1" | grep -v '^[[:space:]]*$'; }
code_lines "$SKY_SRCDIR/examples/echo/Makefile.am" >"$tmp/am.lines"
awk 'BEGIN { n = 1 }
     /^## / { in_sec = ($0 == "## Building a project with autotools") }
     in_sec && /^```/ { if (block) { block = 0; n++ } else if ($0 == "```make") block = 1; next }
     block { print > (dir "/snippet." n) }' dir="$tmp" "$SKY_SRCDIR/docs/skyc.md"
why=
n=0
for f in "$tmp"/snippet.*; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    code_lines "$f" >"$f.lines"
    awk 'NR == FNR { want[++w] = $0; next }
         { have[++h] = $0 }
         END {
             for (i = 1; i + w - 1 <= h; i++) {
                 for (j = 1; j <= w && have[i + j - 1] == want[j]; j++) ;
                 if (j > w) exit 0
             }
             exit 1
         }' "$f.lines" "$tmp/am.lines" || why="${why:+$why; }snippet $n ($(head -n 1 "$f.lines")) is not in the Makefile.am"
done
[ "$n" -ge 3 ] || why="${why:+$why; }$n make snippets found, expected 3"
: >"$log"
report "docs/skyc.md's Makefile.am snippets are examples/echo's" "$why"

# ---- 1. install sky into the temporary prefix ------------------------------
# prefix=, not DESTDIR=: the files land where sky.pc and the libraries say.
if ! step "make install prefix=TMP" "$SKY_BUILDDIR" "$MAKE_CMD" install prefix="$prefix"; then
    finish
fi

why=
for f in bin/sky bin/skyc include/sky/sky.h include/sky/typed.h lib/pkgconfig/sky.pc \
    include/sky/client.h include/sky/client_pb.h include/sky/nanoclient.h lib/pkgconfig/sky-client.pc \
    share/sky/nanoclient/nanoclient.c \
    share/aclocal/sky.m4; do
    [ -e "$prefix/$f" ] || why="${why:+$why, }$f missing"
done
: >"$log"
report "installed files" "$why"
[ -z "$why" ] || finish

# sky.pc is written by make for the prefix it installs to.
pc=$prefix/lib/pkgconfig/sky.pc
why=
grep -qx "prefix=$prefix" "$pc" || why="it has '$(grep '^prefix=' "$pc")'"
grep -qx "libdir=$prefix/lib" "$pc" || why="${why:+$why, }'$(grep '^libdir=' "$pc")'"
report "installed sky.pc names prefix=TMP/prefix" "$why"

PKG_CONFIG_PATH=$prefix/lib/pkgconfig
ACLOCAL_PATH=$prefix/share/aclocal
# The installed programs were linked for configure's libdir, not this one.
LD_LIBRARY_PATH=$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
saved_path=$PATH
PATH=$prefix/bin:$PATH
export PKG_CONFIG_PATH ACLOCAL_PATH LD_LIBRARY_PATH PATH

# skyc looks for sky/options.proto where configure's prefix put it; after
# `make install prefix=` it is in this prefix instead (SKY_IDL_DIR: skyc --help).
mkdir -p "$tmp/probe"
cat >"$tmp/probe/probe.proto" <<'END'
syntax = "proto3";
package probe;
import "sky/options.proto";
message M {}
service S { rpc Send(M) returns (M) { option (sky.oneway) = true; } }
END
if ! (cd "$tmp/probe" && timeout 60 skyc --c_out=. probe.proto) >/dev/null 2>&1; then
    echo "note: the installed skyc does not find sky/options.proto by itself; SKY_IDL_DIR=$prefix/include"
    SKY_IDL_DIR=$prefix/include
    export SKY_IDL_DIR
fi

# ---- 2. a fresh copy of the example, and autoreconf -------------------------
mkdir -p "$src" "$build"
files="configure.ac Makefile.am README.md echo.proto echo_server.c echo_client.c echo_embed.c echo_server.lua echo_client.lua node.lua test_echo.sh"
for f in $files; do
    cp "$SKY_SRCDIR/examples/echo/$f" "$src/" || { report "copy examples/echo" "cannot copy $f"; finish; }
done
chmod -R u+w "$src" # a copy from a read-only source tree (distcheck) is read-only
chmod +x "$src/test_echo.sh"

step "autoreconf -fi" "$src" autoreconf -fi || finish

# ---- 3..5. configure in a separate directory, make, make check -------------
step "configure (VPATH build)" "$build" "$src/configure" || finish
why=
grep -q "whether $prefix/bin/sky runs... yes" "$log" || why="no 'checking whether $prefix/bin/sky runs... yes'"
grep -q "^SKYC = $prefix/bin/skyc\$" "$build/Makefile" || why="SKYC is not $prefix/bin/skyc"
grep -q "^SKY = $prefix/bin/sky\$" "$build/Makefile" || why="${why:+$why; }SKY is not $prefix/bin/sky"
: >"$log"
report "configure found skyc and sky in the prefix" "$why"

# -Werror here, not at configure time, where it would fail configure's own tests.
step "make (-Wall -Wextra -Werror)" "$build" "$MAKE_CMD" -j2 CFLAGS="-g -O2 -Wall -Wextra -Werror" || finish

why=
for f in echo.pb-c.c echo.pb-c.h echo.sky.c echo.sky.h echo.sky-client.h echo_sky.lua echo.skyc-stamp \
    .libs/echo_server.so .libs/echo_client.so echo_embed; do
    [ -e "$build/$f" ] || why="${why:+$why, }$f missing"
done
for f in echo.pb-c.c echo.sky.c echo.skyc-stamp; do
    [ ! -e "$src/$f" ] || why="${why:+$why, }$f written to the source directory"
done
: >"$log"
report "generated files in the build directory" "$why"

# A second make has nothing to do: the stamp keeps skyc from running again.
(cd "$build" && timeout "$LIMIT" "$MAKE_CMD" V=1 CFLAGS="-g -O2 -Wall -Wextra -Werror") >"$log" 2>&1
st=$?
why=
if [ "$st" -ne 0 ]; then
    why="exit status $st"
elif grep -q "$prefix/bin/skyc " "$log"; then
    why="skyc ran again"
fi
report "second make does not rerun skyc" "$why"

# Deleting one output makes skyc run once more, and make still succeeds.
rm -f "$build/echo.sky.h"
(cd "$build" && timeout "$LIMIT" "$MAKE_CMD" V=1 CFLAGS="-g -O2 -Wall -Wextra -Werror") >"$log" 2>&1
st=$?
why=
if [ "$st" -ne 0 ]; then
    why="exit status $st"
elif [ ! -f "$build/echo.sky.h" ]; then
    why="echo.sky.h not remade"
fi
report "a deleted output is remade" "$why"

if ! step "make check (runs the node)" "$build" "$MAKE_CMD" check; then
    [ -f "$build/test-suite.log" ] && sed 's/^/  | /' "$build/test-suite.log"
fi

# ---- 6. make distcheck of the example --------------------------------------
step "make distcheck (of the example)" "$build" "$MAKE_CMD" distcheck

# configure_fails NAME MESSAGE HINT [VAR=VALUE...]: configure, in a new
# directory and with the VAR=VALUE settings, must fail, printing MESSAGE
# and HINT (what to do about it).
configure_fails() {
    name=$1 message=$2 hint=$3
    shift 3
    dir=$(mktemp -d "$tmp/build.XXXXXX")
    (cd "$dir" && env "$@" timeout "$LIMIT" "$src/configure") >"$log" 2>&1
    st=$?
    why=
    if [ "$st" -eq 0 ]; then
        why="configure succeeded"
    elif [ "$st" -eq 124 ]; then
        why="timed out"
    elif ! grep -qF "$message" "$log"; then
        why="no '$message' message"
    elif ! grep -qF "$hint" "$log"; then
        why="the message does not say '$hint'"
    fi
    report "$name" "$why"
}

# ---- 7. configure without skyc ---------------------------------------------
# A sky.pc whose prefix has no bin/skyc, and PATH without the prefix.
PATH=$saved_path
if command -v skyc >/dev/null 2>&1; then
    : >"$log"
    echo "SKIP: configure without skyc (a skyc is on PATH: $(command -v skyc))"
else
    mkdir -p "$tmp/noskyc/lib/pkgconfig"
    sed "s|^prefix=.*|prefix=$prefix|; s|^exec_prefix=.*|exec_prefix=$tmp/noskyc|" "$pc" \
        >"$tmp/noskyc/lib/pkgconfig/sky.pc"
    configure_fails "configure without skyc fails, saying how to get it" \
        "skyc, the sky .proto compiler, was not found" "make install" PKG_CONFIG_PATH="$tmp/noskyc/lib/pkgconfig"
fi

# ---- 8. configure with a sky that does not run -----------------------------
# As an installed sky that does not find its libsky.so behaves.
mkdir -p "$tmp/badsky"
cat >"$tmp/badsky/sky" <<'END'
#!/bin/sh
echo "$0: error while loading shared libraries: libsky.so.0: cannot open shared object file: No such file or directory" >&2
exit 127
END
chmod +x "$tmp/badsky/sky"
configure_fails "configure with a sky that does not run fails, saying why" \
    "$tmp/badsky/sky does not run" "ldconfig" SKY="$tmp/badsky/sky"

finish

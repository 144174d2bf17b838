# The harness shared by the skyc test scripts; sourced, not run.
#
# Before sourcing, a script sets NAME (its temp dir is sky-NAME.XXXXXX) and,
# if it likes, LIMIT (seconds per command, default 60) and REPORT_LINES
# (lines of a failing case's log shown, default 25). It gets:
#   SKY_SRCDIR, SKY_BUILDDIR, SKY_IDL_DIR (exported) with their defaults;
#   $tmp, removed at exit (kept and named when SKY_KEEP=1);
#   report NAME WHY [LOG]  one line per case; a non-empty WHY is a failure
#   why STATUS             the reason a command with that status failed, or ""
#   finish                 prints "SCRIPT: N passed, M failed" (SCRIPT: the
#                          script's name without .sh) and exits 1 on failures
#   find_tool VALUE NAME   VALUE if set, else the first executable NAME in
#                          the build tree ("" if none)
#   need_skyc              sets $skyc (and SKY_SKYC) or fails the script
#   link_flags             sets WFLAGS (-Werror and sanitizers), pbc_cflags,
#                          pbc_libs, and sky_libs and client_libs (libsky and
#                          libsky-client of the build tree, shared or static)

here=$(cd "$(dirname "$0")" && pwd)
: "${SKY_SRCDIR:=$(cd "$here/../.." && pwd)}"
: "${SKY_BUILDDIR:=$SKY_SRCDIR}"
# skyc of a VPATH build tree does not find the source tree's idl/ by itself.
: "${SKY_IDL_DIR:=$SKY_SRCDIR/idl}"
export SKY_IDL_DIR
: "${LIMIT:=60}"
: "${REPORT_LINES:=25}"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sky-$NAME.XXXXXX") || exit 1
if [ "${SKY_KEEP:-}" = 1 ]; then
    trap 'echo "kept $tmp"' EXIT
else
    trap 'rm -rf "$tmp"' EXIT
fi
trap 'exit 1' INT TERM HUP

passed=0
failed=0

report() {
    if [ -z "$2" ]; then
        passed=$((passed + 1))
        echo "ok    $1"
    else
        failed=$((failed + 1))
        echo "FAIL  $1: $2"
        if [ -n "${3:-}" ] && [ -s "$3" ]; then
            awk -v n="$REPORT_LINES" 'NR <= n { print "      | " $0 }' "$3"
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
    echo "$(basename "$0" .sh): $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

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

need_skyc() {
    skyc=$(find_tool "${SKY_SKYC:-}" skyc)
    if [ -z "$skyc" ] || [ ! -x "$skyc" ]; then
        report "find skyc" "no skyc in $SKY_BUILDDIR (set SKY_SKYC)"
        finish
    fi
    SKY_SKYC=$skyc
}

link_flags() {
    pbc_cflags=$(${PKG_CONFIG:-pkg-config} --cflags libprotobuf-c) || pbc_cflags=
    pbc_libs=$(${PKG_CONFIG:-pkg-config} --libs libprotobuf-c) || pbc_libs=-lprotobuf-c
    # SKY_SAN_FLAGS: the sanitizer flags libsky was built with (from make
    # check), which a program linking it needs too.
    WFLAGS="-std=gnu11 -Wall -Wextra -Werror ${SKY_SAN_FLAGS:-}"
    libdir="$SKY_BUILDDIR/.libs"
    if [ -f "$libdir/libsky-client.so" ]; then
        client_libs="-L$libdir -lsky-client -Wl,-rpath,$libdir"
    else
        client_libs="$libdir/libsky-client.a"
    fi
    if [ -f "$libdir/libsky.so" ]; then
        sky_libs="-L$libdir -lsky -Wl,-rpath,$libdir"
    elif [ -f "$libdir/libsky.a" ]; then
        sky_libs="$libdir/libsky.a -lev -ldl -lpthread"
    else
        sky_libs=
    fi
}

#!/bin/sh
# The generated C stubs are typed: tests/runtime/typed_wrong.c compiles
# against typed_test.sky.h with -Wall -Wextra -Werror when every message
# has the method's own type (WRONG=0), and fails to when one does not
# (WRONG=1..5). With $CC (default cc) and, when installed, clang.
#
# Environment (exported by make check): SKY_SRCDIR, SKY_BUILDDIR (holding
# the generated tests/runtime/typed_test.*.h).
set -u
here=$(cd "$(dirname "$0")" && pwd)
: "${SKY_SRCDIR:=$(cd "$here/../.." && pwd)}"
: "${SKY_BUILDDIR:=$SKY_SRCDIR}"
: "${PKG_CONFIG:=pkg-config}"
src="$SKY_SRCDIR/tests/runtime/typed_wrong.c"
flags="-std=gnu11 -Wall -Wextra -Werror -I$SKY_SRCDIR/include -I$SKY_BUILDDIR/tests/runtime"
flags="$flags $($PKG_CONFIG --cflags libprotobuf-c 2>/dev/null)"

compilers=${CC:-cc}
command -v clang >/dev/null 2>&1 && compilers="$compilers clang"
failed=0
for cc in $compilers; do
    for w in 0 1 2 3 4 5; do
        # shellcheck disable=SC2086
        if timeout 60 $cc $flags -DWRONG=$w -c "$src" -o /dev/null 2>/dev/null; then got=compiles; else got=refused; fi
        want=refused
        [ $w = 0 ] && want=compiles
        if [ $got = $want ]; then
            echo "ok    $cc WRONG=$w $got"
        else
            echo "FAIL  $cc WRONG=$w $got (expected: $want)"
            failed=$((failed + 1))
        fi
    done
done
[ $failed = 0 ]

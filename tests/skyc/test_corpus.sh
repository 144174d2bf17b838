#!/bin/sh
# Compiles the .proto corpus (tests/skyc/corpus/) with skyc and checks that
# what comes out is usable C. For each corpus file (with the corpus files
# it imports), and once for all of them in one skyc call:
#
#   skyc   skyc -I corpus --c_out=TMP exits 0 and writes X.pb-c.{h,c} and
#          X.sky.{h,c} for every input file;
#   cc     every generated .c compiles with -Wall -Wextra -Werror;
#   clang  the same with clang, when it is installed;
#   link   a program that includes every generated .sky.h and takes the
#          address of every global the generated code defines and declares
#          (descriptors, serve and call functions, ...) links against libsky
#          (only its exported sky_* API) and protobuf-c;
#   run    that program registers each file's schema and checks it: the
#          service and method counts match the .proto, every method id is
#          sky_method_id() of its full name, and messages, enums, services
#          and methods are found again by name and id.
#
# and, for optional3.proto, that proto3 `optional` keeps presence on the
# wire: zero values that are set survive a trip between skyc's C code
# (tests/skyc/presence.c) and protoc's own encoder and decoder.
#
# Environment (exported by make check):
#   SKY_SRCDIR    the source tree (default: two levels above this script)
#   SKY_BUILDDIR  the build tree holding skyc and libsky (default: SKY_SRCDIR)
#   SKY_SKYC      the skyc to test (default: found in the build tree)
#   SKY_IDL_DIR   where sky/options.proto is (default: SKY_SRCDIR/idl)
#   CC            the compiler (default: cc); CLANG (default: clang; set it
#                 empty to skip the clang pass)
#   SKY_KEEP=1    keep the temporary directory and say where it is
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
: "${CC:=cc}"
: "${CLANG=clang}"
: "${PKG_CONFIG:=pkg-config}"

corpus="$SKY_SRCDIR/tests/skyc/corpus"
LIMIT=120

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sky-corpus.XXXXXX") || exit 1
if [ "${SKY_KEEP:-}" = 1 ]; then
    trap 'echo "kept $tmp"' EXIT
else
    trap 'rm -rf "$tmp"' EXIT
fi
trap 'exit 1' INT TERM HUP

passed=0
failed=0

# report NAME WHY [LOG]: one line per case; a non-empty WHY is a failure,
# shown with the first lines of LOG.
report() {
    if [ -z "$2" ]; then
        passed=$((passed + 1))
        echo "ok    $1"
    else
        failed=$((failed + 1))
        echo "FAIL  $1: $2"
        if [ -n "${3:-}" ] && [ -s "$3" ]; then
            awk 'NR <= 25 { print "      | " $0 }' "$3"
        fi
    fi
}

# why STATUS: the reason a command with that exit status failed, or "".
why() {
    case $1 in
    0) echo "" ;;
    124) echo "timed out after ${LIMIT}s" ;;
    *) echo "exit status $1" ;;
    esac
}

# ---- tools ----------------------------------------------------------------

skyc=${SKY_SKYC:-}
if [ -z "$skyc" ]; then
    for c in "$SKY_BUILDDIR/skyc/skyc" "$SKY_BUILDDIR/bin/skyc" "$SKY_BUILDDIR/skyc"; do
        if [ -f "$c" ] && [ -x "$c" ]; then
            skyc=$c
            break
        fi
    done
fi
if [ -z "$skyc" ]; then
    report "find skyc" "no skyc in $SKY_BUILDDIR (set SKY_SKYC)"
    echo "$passed passed, $failed failed"
    exit 1
fi

pbc_cflags=$($PKG_CONFIG --cflags libprotobuf-c) || pbc_cflags=
pbc_libs=$($PKG_CONFIG --libs libprotobuf-c) || pbc_libs=-lprotobuf-c
# SKY_SAN_FLAGS: the sanitizer flags libsky was built with (from make check),
# which a program linking it needs too.
WFLAGS="-std=gnu11 -Wall -Wextra -Werror ${SKY_SAN_FLAGS:-}"

libdir="$SKY_BUILDDIR/.libs"
if [ -f "$libdir/libsky.so" ]; then
    sky_libs="-L$libdir -lsky -Wl,-rpath,$libdir"
elif [ -f "$libdir/libsky.a" ]; then
    sky_libs="$libdir/libsky.a -lev -ldl -lpthread"
else
    sky_libs=
fi

have_clang=
if [ -n "$CLANG" ] && command -v "$CLANG" >/dev/null 2>&1; then
    have_clang=1
fi

# ---- the corpus -------------------------------------------------------------

# imports FILE: the corpus files FILE imports (directly), one a line.
imports() {
    sed -n 's/^[[:space:]]*import[[:space:]]*\(public[[:space:]]*\|weak[[:space:]]*\)\{0,1\}"\([^"]*\)".*/\2/p' \
        "$corpus/$1" | while read -r dep; do
        [ -f "$corpus/$dep" ] && echo "$dep"
    done
}

# closure FILE: FILE and every corpus file it imports, directly or not,
# dependencies first.
closure() {
    seen=" "
    todo=$1
    order=
    while :; do
        # shellcheck disable=SC2086
        set -- $todo
        [ $# -gt 0 ] || break
        cur=$1
        shift
        todo="$*"
        case $seen in *" $cur "*) continue ;; esac
        seen="$seen$cur "
        order="$cur $order"
        todo="$todo $(imports "$cur" | tr '\n' ' ')"
    done
    echo "$order"
}

files=$(cd "$corpus" && find . -name '*.proto' | sed 's|^\./||' | LC_ALL=C sort)
if [ -z "$files" ]; then
    report "corpus" "no .proto files in $corpus"
fi

# count WHAT FILE: the number of `service` or `rpc` declarations in FILE.
count() {
    grep -c "^[[:space:]]*$1[[:space:]]" "$corpus/$2"
}

# gen_main DIR PROTOS...: writes DIR/main.c, the link-and-run check for the
# outputs in DIR/out of the given .proto files.
gen_main() {
    d=$1
    shift
    out="$d/out"
    : >"$d/headers"
    {
        echo '/* Generated by test_corpus.sh. */'
        echo '#include <stdio.h>'
        echo '#include <string.h>'
        echo '#include "sky/typed.h"'
        for p in "$@"; do
            h="${p%.proto}.sky.h"
            echo "#include \"$h\""
            cat "$out/$h" >>"$d/headers"
        done
        # protobuf-c headers too: generated sky.h files normally include
        # them, but the descriptors are referenced below either way.
        find "$out" -name '*.pb-c.h' | sed "s|^$out/||" | LC_ALL=C sort | while read -r h; do
            echo "#include \"$h\""
            cat "$out/$h" >>"$d/headers"
        done
        echo
        echo 'struct expect { const char *name; size_t services, methods; };'
        echo 'static const struct expect expected[] = {'
        for p in "$@"; do
            echo "    { \"$p\", $(count service "$p"), $(count rpc "$p") },"
        done
        echo '};'
        echo
        # Every global the generated objects define that a header declares.
        echo 'typedef void (*fn)(void);'
        echo 'static const fn fns[] = {'
        awk '$2 == "T" { print $3 }' "$d/syms" | LC_ALL=C sort -u >"$d/syms.fn"
        grep -owF -f "$d/syms.fn" "$d/headers" | LC_ALL=C sort -u | sed 's/.*/    (fn)&,/'
        echo '    NULL'
        echo '};'
        echo 'static const void *const data[] = {'
        awk '$2 ~ /^[DRBGS]$/ { print $3 }' "$d/syms" | LC_ALL=C sort -u >"$d/syms.data"
        grep -owF -f "$d/syms.data" "$d/headers" | LC_ALL=C sort -u | sed 's/.*/    (const void *)\&&,/'
        echo '    NULL'
        echo '};'
        echo
        cat <<'EOF'
static int fails;

static void bad(const char *file, const char *what, const char *name)
{
    fprintf(stderr, "%s: %s: %s\n", file, what, name ? name : "(null)");
    fails++;
}

static void check_file(const sky_file_desc *f)
{
    const struct expect *e = NULL;
    size_t methods = 0;

    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
        if (f->name && strcmp(f->name, expected[i].name) == 0)
            e = &expected[i];
    if (!e) {
        bad("?", "file descriptor with an unexpected name", f->name);
        return;
    }
    if (sky_schema_register(f) != 0)
        bad(f->name, "sky_schema_register failed", f->name);
    if (sky_schema_register(f) != 0)
        bad(f->name, "registering the file again failed", f->name);
    for (size_t i = 0; i < f->n_messages; i++) {
        const ProtobufCMessageDescriptor *m = f->messages[i];
        if (!m || m->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC)
            bad(f->name, "not a message descriptor", m ? m->name : NULL);
        else if (sky_schema_message(m->name) != m)
            bad(f->name, "message not found by name", m->name);
    }
    for (size_t i = 0; i < f->n_enums; i++) {
        const ProtobufCEnumDescriptor *en = f->enums[i];
        if (!en || en->magic != PROTOBUF_C__ENUM_DESCRIPTOR_MAGIC)
            bad(f->name, "not an enum descriptor", en ? en->name : NULL);
        else if (sky_schema_enum(en->name) != en)
            bad(f->name, "enum not found by name", en->name);
    }
    if (f->n_services != e->services)
        bad(f->name, "wrong number of services", f->name);
    for (size_t i = 0; i < f->n_services; i++) {
        const sky_service_desc *s = f->services[i];
        const sky_service_desc *found = sky_schema_service(s->full_name);
        if (!found || strcmp(found->full_name, s->full_name) != 0)
            bad(f->name, "service not found by name", s->full_name);
        if (s->n_methods > 0 && !s->dispatch)
            bad(f->name, "service without dispatch", s->full_name);
        methods += s->n_methods;
        for (size_t j = 0; j < s->n_methods; j++) {
            const sky_method_desc *m = &s->methods[j];
            char full[512];
            snprintf(full, sizeof full, "%s.%s", s->full_name, m->name);
            if (strcmp(full, m->full_name) != 0)
                bad(f->name, "method full name is not service.method", m->full_name);
            if (m->id != sky_method_id(m->full_name))
                bad(f->name, "method id is not sky_method_id(full name)", m->full_name);
            const sky_method_desc *byid = sky_schema_method(m->id);
            if (!byid || strcmp(byid->full_name, m->full_name) != 0)
                bad(f->name, "method not found by id", m->full_name);
            if (!m->input || m->input->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC)
                bad(f->name, "method input is not a message descriptor", m->full_name);
            if (!m->output || m->output->magic != PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC)
                bad(f->name, "method output is not a message descriptor", m->full_name);
        }
    }
    if (methods != e->methods)
        bad(f->name, "wrong number of methods", f->name);
}

int main(void)
{
    size_t n = 0;
    for (const fn *p = fns; *p; p++)
        n++;
    for (const void *const *p = data; *p; p++)
        n++;
EOF
        # The file descriptors the generated headers declare.
        sed -n 's/.*sky_file_desc[[:space:]]\{1,\}\([A-Za-z_][A-Za-z0-9_]*\)[[:space:]]*;.*/\1/p' \
            "$d/headers" | LC_ALL=C sort -u | while read -r s; do
            echo "    check_file(&$s);"
            echo "    n++;"
        done
        cat <<'EOF'
    printf("%zu symbols referenced\n", n);
    return fails != 0;
}
EOF
    } >"$d/main.c"
    # The number of file descriptors found, for the caller.
    grep -c 'check_file(&' "$d/main.c"
}

# run_case NAME PROTOS...: the five steps above for one skyc call.
run_case() {
    name=$1
    shift
    d="$tmp/$(echo "$name" | tr '/ .' '___')"
    out="$d/out"
    mkdir -p "$out"

    timeout "$LIMIT" "$skyc" -I "$corpus" --c_out="$out" "$@" >"$d/skyc.log" 2>&1
    w=$(why $?)
    if [ -z "$w" ]; then
        for p in "$@"; do
            for ext in pb-c.h pb-c.c sky.h sky.c; do
                g="${p%.proto}.$ext"
                if [ ! -f "$out/$g" ]; then
                    w="no $g"
                    break 2
                fi
            done
        done
    fi
    report "skyc  $name" "$w" "$d/skyc.log"
    [ -z "$w" ] || return

    srcs=$(cd "$out" && find . -name '*.c' | sed 's|^\./||' | LC_ALL=C sort)
    cflags="$WFLAGS -I$out -I$SKY_SRCDIR/include -I$SKY_BUILDDIR/include $pbc_cflags"

    w=
    mkdir -p "$d/obj"
    : >"$d/cc.log"
    objs=
    for s in $srcs; do
        o="$d/obj/$(echo "$s" | tr '/' '_').o"
        objs="$objs $o"
        # shellcheck disable=SC2086
        if ! timeout "$LIMIT" "$CC" $cflags -c "$out/$s" -o "$o" >>"$d/cc.log" 2>&1; then
            w="${w:+$w, }$s"
        fi
    done
    report "cc    $name" "${w:+does not compile: $w}" "$d/cc.log"
    cc_ok=$w

    if [ -n "$have_clang" ]; then
        w=
        : >"$d/clang.log"
        for s in $srcs; do
            # shellcheck disable=SC2086
            if ! timeout "$LIMIT" "$CLANG" $cflags -c "$out/$s" -o "$d/clang.o" >>"$d/clang.log" 2>&1; then
                w="${w:+$w, }$s"
            fi
        done
        report "clang $name" "${w:+does not compile: $w}" "$d/clang.log"
    fi
    [ -z "$cc_ok" ] || return

    # shellcheck disable=SC2086
    nm -g --defined-only $objs >"$d/syms" 2>/dev/null
    ndesc=$(gen_main "$d" "$@")
    w=
    # shellcheck disable=SC2086
    timeout "$LIMIT" "$CC" $cflags -I"$out" -c "$d/main.c" -o "$d/main.o" >"$d/link.log" 2>&1 &&
        timeout "$LIMIT" "$CC" ${SKY_SAN_FLAGS:-} -o "$d/prog" "$d/main.o" $objs $sky_libs $pbc_libs >>"$d/link.log" 2>&1
    w=$(why $?)
    [ -n "$w" ] && w="$w (program: $d/main.c)"
    report "link  $name" "$w" "$d/link.log"
    [ -z "$w" ] || return

    timeout 30 "$d/prog" >"$d/run.log" 2>&1
    w=$(why $?)
    if [ -z "$w" ] && [ "$ndesc" -ne "$#" ]; then
        w="$ndesc sky_file_desc declared in the headers for $# files"
    fi
    report "run   $name" "$w" "$d/run.log"
}

# presence DIR: proto3 `optional` keeps presence on the wire, checked
# against protoc (the reference codec) both ways, with optional3.proto's
# code in DIR/out and tests/skyc/presence.c.
presence() {
    d=$1
    w=
    if ! command -v protoc >/dev/null 2>&1; then
        echo "skip  presence: no protoc"
        return
    fi
    # shellcheck disable=SC2086
    timeout "$LIMIT" "$CC" $WFLAGS -I"$d/out" $pbc_cflags -o "$d/presence" \
        "$SKY_SRCDIR/tests/skyc/presence.c" "$d/out/optional3.pb-c.c" $pbc_libs >"$d/presence.log" 2>&1
    w=$(why $?)
    report "cc    presence.c" "$w" "$d/presence.log"
    [ -z "$w" ] || return

    # Zero values that are set must reach protoc's decoder.
    timeout 10 "$d/presence" encode >"$d/enc.bin" 2>"$d/presence.log" &&
        timeout 10 protoc -I"$corpus" --decode=corpus.presence.Patch optional3.proto \
            <"$d/enc.bin" >"$d/dec.txt" 2>>"$d/presence.log"
    w=$(why $?)
    printf '%s\n' 'count: 0' 'flag: false' 'name: ""' 'mode: MODE_UNSPECIFIED' 'next {' '}' >"$d/dec.want"
    if [ -z "$w" ] && ! diff -u "$d/dec.want" "$d/dec.txt" >"$d/presence.log" 2>&1; then
        w="protoc decodes something else"
    fi
    report "presence: set zero values, encoded by C, decoded by protoc" "$w" "$d/presence.log"

    # And zero values protoc sets must be seen as present, others as absent.
    printf '%s\n' 'count: 0' 'big: 0' 'blob: ""' 'next { count: 5 }' |
        timeout 10 protoc -I"$corpus" --encode=corpus.presence.Patch optional3.proto \
            >"$d/in.bin" 2>"$d/presence.log" &&
        timeout 10 "$d/presence" decode <"$d/in.bin" >"$d/got.txt" 2>>"$d/presence.log"
    w=$(why $?)
    printf '%s\n' 'count 0' 'big 0' 'blob 0 bytes' 'next' 'next.count 5' 'plain 0' >"$d/got.want"
    if [ -z "$w" ] && ! diff -u "$d/got.want" "$d/got.txt" >"$d/presence.log" 2>&1; then
        w="C decodes something else"
    fi
    report "presence: set zero values, encoded by protoc, decoded by C" "$w" "$d/presence.log"
}

for f in $files; do
    # shellcheck disable=SC2046
    run_case "$f" $(closure "$f")
    if [ "$f" = optional3.proto ] && [ -f "$tmp/optional3_proto/out/optional3.pb-c.c" ]; then
        presence "$tmp/optional3_proto"
    fi
done
if [ -n "$files" ]; then
    # shellcheck disable=SC2086
    run_case "(all files in one call)" $files
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

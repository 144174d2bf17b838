# sky.m4 — autoconf macros for projects built against sky.
#
# Installed as $(datadir)/aclocal/sky.m4. aclocal finds it there when sky is
# installed under /usr; for another prefix, point aclocal at it before
# running autoreconf:
#
#   ACLOCAL_PATH=/usr/local/share/aclocal autoreconf -fi
#
# In configure.ac:
#
#   PKG_CHECK_MODULES([SKY], [sky])   # SKY_CFLAGS, SKY_LIBS
#   SKY_PROG_SKYC                     # SKYC: the .proto compiler
#   SKY_PROG_SKY                      # SKY: the node launcher (optional)
#
# and see "Building a project with autotools" in sky's docs/skyc.md for the
# Makefile.am rule that runs $(SKYC).
#
# Both macros also look in the bin directory of the sky that pkg-config
# finds (its exec_prefix), so PKG_CONFIG_PATH alone is enough to pick an
# installation that is not on PATH.

#serial 2

# _SKY_BINDIR: sets sky_bindir to $exec_prefix/bin of sky.pc, or empty.
AC_DEFUN([_SKY_BINDIR], [
m4_ifdef([PKG_PROG_PKG_CONFIG], [AC_REQUIRE([PKG_PROG_PKG_CONFIG])])
sky_bindir=
AS_IF([test -n "$PKG_CONFIG"],
  [sky_bindir=`$PKG_CONFIG --variable=exec_prefix sky 2>/dev/null`
   AS_IF([test -n "$sky_bindir"], [sky_bindir=$sky_bindir/bin])])
])

# SKY_PROG_SKYC([ACTION-IF-NOT-FOUND])
#
# Finds skyc, the sky .proto compiler, on PATH or in sky's bin directory,
# checks that it compiles a small .proto file, and substitutes SKYC. The
# user may set SKYC to a skyc of their choice. When there is no working
# skyc, runs ACTION-IF-NOT-FOUND, by default an error saying how to get one.
AC_DEFUN([SKY_PROG_SKYC], [
AC_REQUIRE([_SKY_BINDIR])
AC_ARG_VAR([SKYC], [the sky .proto compiler (skyc)])
AC_PATH_PROG([SKYC], [skyc], [], [$PATH$PATH_SEPARATOR$sky_bindir])
sky_skyc_ok=no
AS_IF([test -n "$SKYC"], [
  AC_CACHE_CHECK([whether $SKYC compiles a .proto file], [sky_cv_skyc_works], [
    sky_cv_skyc_works=no
    rm -rf conftest.skyc
    mkdir conftest.skyc conftest.skyc/out
    cat >conftest.skyc/conftest.proto <<'_SKY_EOF'
syntax = "proto3";
package conftest;
import "google/protobuf/empty.proto";
import "sky/options.proto";
message Note { string text = 1; }
service Conftest {
  option (sky.default_name) = "conftest";
  rpc Send(Note) returns (google.protobuf.Empty) { option (sky.oneway) = true; }
}
_SKY_EOF
    echo "$as_me:$LINENO: cd conftest.skyc && $SKYC -I. --c_out=out conftest.proto" >&AS_MESSAGE_LOG_FD
    AS_IF([(cd conftest.skyc && "$SKYC" -I. --c_out=out conftest.proto) >&AS_MESSAGE_LOG_FD 2>&1 &&
           test -f conftest.skyc/out/conftest.pb-c.c && test -f conftest.skyc/out/conftest.sky.c],
      [sky_cv_skyc_works=yes])
    rm -rf conftest.skyc])
  sky_skyc_ok=$sky_cv_skyc_works])
AS_IF([test "x$sky_skyc_ok" != xyes], [
  m4_default([$1], [
    AS_IF([test -z "$SKYC"],
      [AC_MSG_ERROR([skyc, the sky .proto compiler, was not found on PATH${sky_bindir:+ or in $sky_bindir}.
Install sky ('make install' in its source tree or your distribution's sky
package), then make sure its bin directory is on PATH, or that
PKG_CONFIG_PATH finds its sky.pc, or set SKYC=/path/to/skyc.])],
      [AC_MSG_ERROR([$SKYC does not compile a simple .proto file (its messages are in config.log).
skyc runs protoc and protoc-gen-c (Debian: apt-get install protobuf-compiler
protobuf-c-compiler) and reads sky/options.proto from sky's include directory
(SKY_IDL_DIR overrides it); or set SKYC to a working skyc.])])])
  SKYC=])
])

# SKY_PROG_SKY([ACTION-IF-NOT-FOUND])
#
# Finds sky, the node launcher ('sky CONFIG.lua'), on PATH or in sky's bin
# directory, checks that it runs ('sky --version' prints 'sky VERSION': a
# sky that does not find libsky.so fails here, not in your tests), and
# substitutes SKY. For projects whose tests run a node. The user may set
# SKY to a sky of their choice. When there is no working sky, runs
# ACTION-IF-NOT-FOUND, by default an error saying how to get one.
AC_DEFUN([SKY_PROG_SKY], [
AC_REQUIRE([_SKY_BINDIR])
AC_ARG_VAR([SKY], [the sky node launcher])
AC_PATH_PROG([SKY], [sky], [], [$PATH$PATH_SEPARATOR$sky_bindir])
sky_sky_ok=no
AS_IF([test -n "$SKY"], [
  AC_CACHE_CHECK([whether $SKY runs], [sky_cv_sky_works], [
    sky_cv_sky_works=no
    echo "$as_me:$LINENO: $SKY --version" >&AS_MESSAGE_LOG_FD
    sky_out=`"$SKY" --version 2>&1`
    sky_status=$?
    echo "$sky_out" >&AS_MESSAGE_LOG_FD
    AS_IF([test $sky_status -eq 0], [
      AS_CASE([$sky_out], ["sky "*], [sky_cv_sky_works=yes])])])
  sky_sky_ok=$sky_cv_sky_works])
AS_IF([test "x$sky_sky_ok" != xyes], [
  m4_default([$1], [
    AS_IF([test -z "$SKY"],
      [AC_MSG_ERROR([sky, the node launcher, was not found on PATH${sky_bindir:+ or in $sky_bindir}.
Install sky ('make install' in its source tree or your distribution's sky
package), or set SKY=/path/to/sky.])],
      [AC_MSG_ERROR([$SKY does not run: '$SKY --version' fails (its output is in
config.log). If it cannot find libsky.so.0, install sky again with the prefix
given to configure ('./configure --prefix=PREFIX && make install' in its
source tree), or run ldconfig (as root) when its lib directory is a system
one; or set SKY to a working sky.])])])
  SKY=])
])

# sky_flags.m4 — compiler flag options for sky's configure.
#
# SKY_ARG_SANITIZERS: --enable-sanitizers=address|thread|no.
#   address: ASan + UBSan, undefined behaviour is fatal.
#   thread:  TSan.
#   Sets SKY_SAN_FLAGS (compile and link flags) after checking that the
#   compiler can build and link a program with them.
AC_DEFUN([SKY_ARG_SANITIZERS], [
AC_ARG_ENABLE([sanitizers],
  [AS_HELP_STRING([--enable-sanitizers=KIND],
    [build with sanitizers: address (ASan+UBSan) or thread (TSan) @<:@no@:>@])],
  [], [enable_sanitizers=no])
SKY_SAN_FLAGS=
AS_CASE([$enable_sanitizers],
  [no], [],
  [address|asan|yes],
    [SKY_SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
     enable_sanitizers=address],
  [thread|tsan],
    [SKY_SAN_FLAGS="-fsanitize=thread -fno-omit-frame-pointer"
     enable_sanitizers=thread],
  [AC_MSG_ERROR([--enable-sanitizers takes 'address' or 'thread', not '$enable_sanitizers'])])
AS_IF([test -n "$SKY_SAN_FLAGS"], [
  AC_MSG_CHECKING([whether $CC can link with $SKY_SAN_FLAGS])
  sky_save_CFLAGS=$CFLAGS
  sky_save_LDFLAGS=$LDFLAGS
  CFLAGS="$CFLAGS $SKY_SAN_FLAGS"
  LDFLAGS="$LDFLAGS $SKY_SAN_FLAGS"
  AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])],
    [AC_MSG_RESULT([yes])],
    [AC_MSG_RESULT([no])
     AC_MSG_ERROR([$CC cannot build with $SKY_SAN_FLAGS (on Debian the sanitizer runtimes come with gcc: libasan8, libubsan1, libtsan2)])])
  CFLAGS=$sky_save_CFLAGS
  LDFLAGS=$sky_save_LDFLAGS
])
AC_SUBST([SKY_SAN_FLAGS])
])

# SKY_ARG_WERROR: --enable-werror turns warnings into errors (CI does).
AC_DEFUN([SKY_ARG_WERROR], [
AC_ARG_ENABLE([werror],
  [AS_HELP_STRING([--enable-werror], [treat compiler warnings as errors @<:@no@:>@])],
  [], [enable_werror=no])
AS_CASE([$enable_werror],
  [yes], [SKY_WERROR=-Werror],
  [no], [SKY_WERROR=],
  [AC_MSG_ERROR([--enable-werror takes yes or no, not '$enable_werror'])])
AC_SUBST([SKY_WERROR])
])

# SKY_CHECK_PTHREAD: make sure -pthread compiles and links; sets PTHREAD_LIBS.
AC_DEFUN([SKY_CHECK_PTHREAD], [
AC_MSG_CHECKING([whether $CC accepts -pthread])
sky_save_CFLAGS=$CFLAGS
CFLAGS="$CFLAGS -pthread"
AC_LINK_IFELSE([AC_LANG_PROGRAM([[#include <pthread.h>]],
    [[pthread_t t; return pthread_create(&t, 0, 0, 0);]])],
  [AC_MSG_RESULT([yes])],
  [AC_MSG_RESULT([no])
   AC_MSG_ERROR([cannot build threaded programs with -pthread (install build-essential / libc6-dev)])])
CFLAGS=$sky_save_CFLAGS
AC_CHECK_LIB([pthread], [pthread_create], [PTHREAD_LIBS=-lpthread],
  [AC_MSG_ERROR([libpthread not found (install libc6-dev)])])
AC_SUBST([PTHREAD_LIBS])
])

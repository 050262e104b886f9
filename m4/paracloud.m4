dnl paracloud's configure checks: each optional part sets have_X=yes|no, an AM_CONDITIONAL and a reason.

AC_DEFUN([PARACLOUD_CXX17], [
  AC_MSG_CHECKING([whether $CXX accepts -std=c++17])
  save_CXXFLAGS=$CXXFLAGS; CXXFLAGS="$CXXFLAGS -std=c++17"
  AC_COMPILE_IFELSE([AC_LANG_PROGRAM([[#include <optional>
#include <string_view>]], [[std::optional<std::string_view> v; return v.has_value();]])],
    [AC_MSG_RESULT([yes])], [AC_MSG_RESULT([no]); AC_MSG_ERROR([a C++17 compiler is required])])
  CXXFLAGS=$save_CXXFLAGS
  CXX_STD=-std=c++17
  AC_SUBST([CXX_STD])
])

AC_DEFUN([AX_PTHREAD_SIMPLE], [
  AC_CHECK_LIB([pthread], [pthread_create], [PTHREAD_LIBS=-lpthread], [AC_MSG_ERROR([pthreads required])])
  AC_SUBST([PTHREAD_LIBS])
  AC_CHECK_LIB([dl], [dlsym], [DL_LIBS=-ldl], [DL_LIBS=])
  AC_SUBST([DL_LIBS])
])

dnl Slurm 22.05 public headers: pkg-config 'slurm' when it exists, else --with-slurm=DIR, else /usr.
AC_DEFUN([PARACLOUD_SLURM], [
  AC_ARG_WITH([slurm], [AS_HELP_STRING([--with-slurm=DIR], [Slurm install prefix (DIR/include/slurm/slurm.h)])],
    [], [with_slurm=check])
  AC_ARG_WITH([slurm-plugindir], [AS_HELP_STRING([--with-slurm-plugindir=DIR], [where plugins are installed (default: Slurm's PluginDir)])],
    [], [with_slurm_plugindir=])
  have_slurm=no
  SLURM_CPPFLAGS=
  AS_IF([test "x$with_slurm" != xno], [
    PKG_CHECK_MODULES([SLURM], [slurm >= 22.05], [SLURM_CPPFLAGS=$SLURM_CFLAGS; have_slurm=yes], [:])
    AS_IF([test $have_slurm = no], [
      for d in "$with_slurm" /usr /usr/local; do
        test "x$d" = xcheck && continue
        if test -f "$d/include/slurm/slurm.h"; then
          test "$d" = /usr || SLURM_CPPFLAGS="-I$d/include"
          have_slurm=yes; slurm_prefix=$d; break
        fi
      done])
    AS_IF([test $have_slurm = yes], [
      save_CPPFLAGS=$CPPFLAGS; CPPFLAGS="$CPPFLAGS $SLURM_CPPFLAGS"
      AC_MSG_CHECKING([for Slurm 22.05])
      AC_COMPILE_IFELSE([AC_LANG_PROGRAM([[#include <slurm/slurm_version.h>]],
        [[#if SLURM_VERSION_NUMBER < SLURM_VERSION_NUM(22,5,0) || SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(22,6,0)
#error not 22.05
#endif]])], [AC_MSG_RESULT([yes])], [AC_MSG_RESULT([no]); have_slurm=no])
      CPPFLAGS=$save_CPPFLAGS])
    AS_IF([test "x$with_slurm" != xcheck && test $have_slurm = no],
      [AC_MSG_ERROR([--with-slurm=$with_slurm: no Slurm 22.05 headers found (apt-get install libslurm-dev)])])
  ])
  slurm_plugindir=$with_slurm_plugindir
  AS_IF([test -z "$slurm_plugindir"], [
    for d in /usr/lib/x86_64-linux-gnu/slurm-wlm /usr/lib64/slurm /usr/lib/slurm "${slurm_prefix:-/usr}/lib/slurm"; do
      if test -f "$d/libslurmfull.so" || test -f "$d/job_submit_defaults.so"; then slurm_plugindir=$d; break; fi
    done
    test -n "$slurm_plugindir" || slurm_plugindir='${libdir}/slurm'])
  AC_SUBST([SLURM_CPPFLAGS])
  AC_SUBST([slurm_plugindir])
  AM_CONDITIONAL([HAVE_SLURM], [test $have_slurm = yes])
])

dnl Slurm's configured source tree (internal headers for jobcomp): --with-slurm-src=DIR,
dnl as prepared by scripts/fetch-slurm-src.sh (DIR holds src/ and a configured config.h).
AC_DEFUN([PARACLOUD_SLURM_SRC], [
  AC_ARG_WITH([slurm-src], [AS_HELP_STRING([--with-slurm-src=DIR], [configured Slurm source tree of the installed version (scripts/fetch-slurm-src.sh)])],
    [], [with_slurm_src=check])
  have_slurm_src=no
  SLURM_SRC_CPPFLAGS=
  AS_IF([test "x$with_slurm_src" = xcheck], [
    for d in "$ac_pwd/slurm-src" "$srcdir/slurm-src"; do
      if test -f "$d/config.h" && test -f "$d/src/slurmctld/slurmctld.h"; then with_slurm_src=$d; break; fi
    done])
  AS_IF([test "x$with_slurm_src" != xcheck && test "x$with_slurm_src" != xno], [
    AS_IF([test -f "$with_slurm_src/config.h" && test -f "$with_slurm_src/src/slurmctld/slurmctld.h" && test $have_slurm = yes],
      [have_slurm_src=yes; SLURM_SRC_CPPFLAGS="-I$with_slurm_src"],
      [AC_MSG_WARN([--with-slurm-src=$with_slurm_src is not a configured Slurm source tree: jobcomp/paracloud disabled (run scripts/fetch-slurm-src.sh)])])])
  SLURM_SRC_DIR=no
  test $have_slurm_src = yes && SLURM_SRC_DIR=$with_slurm_src
  test $have_slurm_src = yes || with_slurm_src="(not found: run scripts/fetch-slurm-src.sh)"
  AC_SUBST([SLURM_SRC_CPPFLAGS])
  AC_SUBST([SLURM_SRC_DIR])
  AM_CONDITIONAL([HAVE_SLURM_SRC], [test $have_slurm_src = yes])
])

AC_DEFUN([PARACLOUD_MPI], [
  AC_ARG_WITH([mpi], [AS_HELP_STRING([--without-mpi], [build without the MPI runtime and MPI tests])], [], [with_mpi=check])
  have_mpi=no
  AS_IF([test "x$with_mpi" != xno], [
    PKG_CHECK_MODULES([MPI], [ompi-c >= 4.0], [have_mpi=yes], [have_mpi=no])
    AC_PATH_PROGS([MPICC], [mpicc], [])
    AC_PATH_PROGS([MPICXX], [mpicxx mpic++], [])
    AC_PATH_PROGS([MPIFORT], [mpifort mpif90], [])
    AC_PATH_PROGS([MPIRUN], [mpirun], [])
    test -n "$MPICC" && test -n "$MPIRUN" || have_mpi=no])
  AM_CONDITIONAL([HAVE_MPI], [test $have_mpi = yes])
  AM_CONDITIONAL([HAVE_MPIFORT], [test $have_mpi = yes && test -n "$MPIFORT"])
])

AC_DEFUN([PARACLOUD_HDF5], [
  PKG_CHECK_MODULES([HDF5], [hdf5-openmpi], [have_hdf5=yes], [have_hdf5=no])
  AM_CONDITIONAL([HAVE_HDF5], [test $have_hdf5 = yes])
])

AC_DEFUN([PARACLOUD_HWLOC], [
  PKG_CHECK_MODULES([HWLOC], [hwloc >= 2.0], [have_hwloc=yes], [have_hwloc=no])
  AM_CONDITIONAL([HAVE_HWLOC], [test $have_hwloc = yes])
])

AC_DEFUN([PARACLOUD_CRITERION], [
  PKG_CHECK_MODULES([CRITERION], [criterion], [have_criterion=yes],
    [have_criterion=no; AC_MSG_WARN([Criterion not found: unit tests disabled (apt-get install libcriterion-dev)])])
  AM_CONDITIONAL([HAVE_CRITERION], [test $have_criterion = yes])
])

dnl libFuzzer targets need clang++ with -fsanitize=fuzzer.
AC_DEFUN([PARACLOUD_FUZZER], [
  AC_PATH_PROGS([CLANGXX], [clang++ clang++-14], [])
  have_fuzzer=no
  AS_IF([test -n "$CLANGXX"], [
    AC_MSG_CHECKING([whether $CLANGXX supports -fsanitize=fuzzer])
    echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long){return 0;}' > conftest_fuzz.cpp
    AS_IF([$CLANGXX -fsanitize=fuzzer,address conftest_fuzz.cpp -o conftest_fuzz >/dev/null 2>&1],
      [have_fuzzer=yes], [have_fuzzer=no])
    rm -f conftest_fuzz conftest_fuzz.cpp
    AC_MSG_RESULT([$have_fuzzer])])
  AM_CONDITIONAL([HAVE_FUZZER], [test $have_fuzzer = yes])
])

dnl MariaDB/MySQL client library (shared ledger backend): pkg-config libmariadb; --without-mariadb disables it.
AC_DEFUN([PARACLOUD_MARIADB], [
  AC_ARG_WITH([mariadb], [AS_HELP_STRING([--without-mariadb], [build without the MariaDB/MySQL ledger backend])],
    [], [with_mariadb=check])
  have_mariadb=no
  AS_IF([test "x$with_mariadb" != xno], [
    PKG_CHECK_MODULES([MARIADB], [libmariadb >= 3.0], [have_mariadb=yes],
      [AS_IF([test "x$with_mariadb" = xyes],
        [AC_MSG_ERROR([--with-mariadb: libmariadb not found (apt-get install libmariadb-dev)])])])])
  AS_IF([test $have_mariadb = yes], [AC_DEFINE([HAVE_MARIADB], [1], [MariaDB/MySQL ledger backend built])])
  AM_CONDITIONAL([HAVE_MARIADB], [test $have_mariadb = yes])
])

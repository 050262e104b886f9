#!/bin/bash
# The preload library links neither libmpi, libhdf5 nor libstdc++, references no MPI/HDF5 data,
# and is inert in processes that are not MPI programs: bash, python3, hostname and mpirun itself
# print the same output and write no profile, even with every PARACLOUD_* knob turned on.
. "$PC_SRCDIR/tests/lib.sh"
[ -f "$PC_RT" ] || { echo "FAIL: $PC_RT not built"; exit 1; }

needed=$(readelf -d "$PC_RT" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
case "$needed" in
  *mpi*|*hdf5*|*stdc++*) fail "libparacloud_rt.so needs: $needed" ;;
  *) ok "needs only: $needed" ;;
esac
undefined=$(nm -D --undefined-only "$PC_RT" | grep -E ' (ompi_|MPI_|PMPI_|mpi_|H5|_Z)' || true)
[ -z "$undefined" ] && ok "no undefined MPI/HDF5/C++ symbols" || fail "undefined symbols: $undefined"

# Every knob on: a bad PARACLOUD_TUNE (warns when active), DUMP_CONFIG, NONMPI off, a profile dir.
export PARACLOUD_TUNE=bogus PARACLOUD_DUMP_CONFIG=1 PARACLOUD_PROFILE_DIR="$work/prof"
mkdir -p "$work/prof" "$work/cwd"
run_both() {
  local name=$1; shift
  (cd "$work/cwd" && "$@") >"$work/$name.plain" 2>&1; local rc_plain=$?
  (cd "$work/cwd" && LD_PRELOAD="$PC_RT" "$@") >"$work/$name.rt" 2>&1; local rc_rt=$?
  if [ $rc_plain -eq $rc_rt ] && cmp -s "$work/$name.plain" "$work/$name.rt"; then
    ok "$name: same output and exit code ($rc_rt) with the preload"
  else
    fail "$name: exit $rc_plain vs $rc_rt, or output differs:"; diff "$work/$name.plain" "$work/$name.rt" | head -10
  fi
}
run_both bash bash -c 'echo hello; x=$(cat /etc/hostname); echo ${#x}; exit 3'
run_both python3 "$PYTHON3" -c 'import os, sys; print(sum(range(10))); print(open("/proc/self/exe","rb").read(4)[1:]); sys.exit(0)'
run_both hostname hostname
if [ "${PC_HAVE_MPI:-no}" = yes ]; then
  run_both mpirun-version "$MPIRUN" --version
  # mpirun itself preloaded, launching a non-MPI program (which inherits LD_PRELOAD).
  run_both mpirun-hostname "$MPIRUN" --oversubscribe -np 2 hostname
fi
left=$(find "$work/prof" "$work/cwd" -mindepth 1)
[ -z "$left" ] && ok "no profile written by non-MPI programs" || fail "files written: $left"
finish

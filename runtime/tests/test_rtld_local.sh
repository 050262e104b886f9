#!/usr/bin/env bash
# A program that is not linked with MPI loads an MPI plugin with dlopen(RTLD_LOCAL), as Python loads
# mpi4py: its libmpi is not in the global scope, so dlsym(RTLD_NEXT) finds no PMPI_* there. The
# runtime must find the library the caller loaded: same output as without the preload, every MPI
# call counted, in profile and auto mode (test_compat.sh runs the real mpi4py/h5py/netCDF4). The
# plugin's own functions named mpi_comm_rank/mpi_barrier (as in Rmpi) must stay its own (own=13).
. "$(dirname "$0")/lib.sh"
need_mpi
[ -x "$PC_TESTBIN/local_loader" ] && [ -f "$PC_TESTBIN/local_plugin.so" ] || { echo "FAIL: local_loader/local_plugin.so not built"; exit 1; }
prog=("$PC_TESTBIN/local_loader" "$PC_TESTBIN/local_plugin.so")
for mode in profile auto; do
  for np in 1 2; do
    name=local_${mode}_np$np
    if PARACLOUD_TUNE=$mode compare_runs "$np" "$name" "${prog[@]}"; then
      grep -q "plugin: size=$np .* own=13$" "$work/$name.plain" || fail "$name: unexpected output: $(cat "$work/$name.plain")"
      if python3 "$PC_SRCDIR/tests/check_profile.py" "$profile" --np "$np" \
           --expect MPI_Init_thread=n --expect "MPI_Allreduce=101*n" --expect MPI_Bcast=n \
           --expect MPI_Sendrecv=n --expect MPI_Comm_dup=n --expect MPI_Finalize=n >"$work/$name.check" 2>&1; then
        ok "$name: every MPI call of the RTLD_LOCAL plugin counted"
      else
        fail "$name: profile: $(cat "$work/$name.check")"
      fi
    fi
  done
done
finish

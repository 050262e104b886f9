#!/usr/bin/env bash
# One-sided MPI, persistent requests, neighbourhood collectives and alltoallw (onesided_c.c,
# persistent_c.c), and Fortran entry points called through every symbol form Open MPI exports
# (manglings_c.c): same output with and without the preload, exact counts and bytes per call.
. "$(dirname "$0")/lib.sh"
need_mpi
for p in onesided_c persistent_c manglings_c; do
  [ -x "$PC_TESTBIN/$p" ] || { echo "FAIL: $PC_TESTBIN/$p not built"; exit 1; }
done
chk() {  # chk NAME NP ARGS...: check_profile.py on $profile
  local name=$1 np=$2; shift 2
  if python3 "$PC_SRCDIR/tests/check_profile.py" "$profile" --np "$np" "$@" >"$work/$name.check" 2>&1; then
    ok "$name: counts and bytes"
  else
    fail "$name: $(cat "$work/$name.check")"
  fi
}
for mode in profile auto; do
  for np in 2 3; do
    n=onesided_${mode}_np$np
    if PARACLOUD_TUNE=$mode compare_runs "$np" "$n" "$PC_TESTBIN/onesided_c"; then
      chk "$n" "$np" --expect "MPI_Win_create=n" --bytes "MPI_Win_create=64*n" \
        --expect "MPI_Win_allocate=n" --bytes "MPI_Win_allocate=32*n" --expect "MPI_Win_free=2*n" \
        --expect "MPI_Win_fence=9*n" --expect "MPI_Put=4*n" --bytes "MPI_Put=(3*16+4)*n" \
        --expect "MPI_Get=3*n" --bytes "MPI_Get=3*16*n" --expect "MPI_Accumulate=3*n" \
        --expect "MPI_Fetch_and_op=n" --bytes "MPI_Fetch_and_op=4*n" --expect "MPI_Compare_and_swap=n" \
        --expect "MPI_Win_lock=3*n" --expect "MPI_Win_unlock=3*n" --expect "MPI_Win_lock_all=n" \
        --expect "MPI_Win_unlock_all=n" --expect "MPI_Win_flush=n" --expect "MPI_Win_flush_all=n" \
        --expect "MPI_Rget=n" --expect "MPI_Rput=n" --bytes "MPI_Rput=8*n" \
        --expect "MPI_Win_post=n" --expect "MPI_Win_start=n" --expect "MPI_Win_complete=n" --expect "MPI_Win_wait=n" \
        --comm "MPI_Win_create=$np:n"
    fi
    n=persistent_${mode}_np$np
    if PARACLOUD_TUNE=$mode compare_runs "$np" "$n" "$PC_TESTBIN/persistent_c"; then
      chk "$n" "$np" --expect "MPI_Send_init=2*n" --bytes "MPI_Send_init=2*256*n" --expect "MPI_Recv_init=3*n" \
        --expect "MPI_Startall=50*n" --expect "MPI_Start=n" --expect "MPI_Waitall=50*n" \
        --expect "MPI_Request_free=5*n" --expect "MPI_Neighbor_alltoall=n" --expect "MPI_Neighbor_allgather=n" \
        --bytes "MPI_Neighbor_alltoall=4*n" --expect "MPI_Alltoallw=n" --bytes "MPI_Alltoallw=4*n*n"
    fi
  done
  n=manglings_$mode
  if PARACLOUD_TUNE=$mode compare_runs 2 "$n" "$PC_TESTBIN/manglings_c"; then
    grep -q '^manglings: errors=0 ranks=0 0 0 0 0$' "$work/$n.plain" || fail "$n: $(cat "$work/$n.plain")"
    # 1+2+4+5 barriers and 4 ranks: the bare mpi_barrier/mpi_comm_rank form is not wrapped (gen_wrappers.py)
    chk "$n" 2 --expect "MPI_Barrier=12*n" --expect "MPI_Comm_rank=4*n" --fortran
  fi
done
finish

#!/bin/bash
# The C++ program's profile counts every call exactly at -np 1..4, with identical output, also
# the calls of three threads (MPI_THREAD_MULTIPLE).
. "$PC_SRCDIR/tests/lib.sh"
need_mpi
for np in 1 2 3 4; do
  compare_runs "$np" "cxx$np" "$PC_TESTBIN/calls_cxx" || continue
  grep -q "MPI_THREAD_MULTIPLE 1" "$work/cxx$np.rt" || fail "MPI_THREAD_MULTIPLE not provided: the thread counts below will be off"
  check_profile "$profile" --np "$np" --exact mpi \
    --expect MPI_Init_thread=n --expect MPI_Finalize=n --expect MPI_Comm_rank=3001*n --expect MPI_Comm_size=n \
    --expect MPI_Bcast=4*n --expect MPI_Allgather=n --expect MPI_Sendrecv=5*n --expect MPI_Reduce=n \
    --bytes MPI_Bcast=4*8000*n --bytes MPI_Allgather=24*n --bytes MPI_Sendrecv=5*2*256*n \
    --hist MPI_Bcast=8000:4*n --comm MPI_Bcast=$np:4*n
done
finish

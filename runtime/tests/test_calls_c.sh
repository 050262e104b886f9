#!/bin/bash
# The C program's profile counts every call exactly at -np 1..4, with identical output.
. "$PC_SRCDIR/tests/lib.sh"
need_mpi
for np in 1 2 3 4; do
  compare_runs "$np" "c$np" "$PC_TESTBIN/calls_c" || continue
  # Per-rank counts times n ranks; rank 0 sends to every other rank.
  check_profile "$profile" --np "$np" --exact mpi \
    --expect MPI_Init=n --expect MPI_Finalize=n --expect MPI_Comm_rank=2*n --expect MPI_Comm_size=n \
    --expect MPI_Allreduce=9*n --expect MPI_Irecv=4*n --expect MPI_Isend=4*n --expect MPI_Waitall=4*n \
    --expect MPI_Send=n-1 --expect MPI_Recv=n-1 --expect MPI_Sendrecv=2*n --expect MPI_Wait=2*n \
    --expect MPI_Test=n --expect MPI_Testall=n --expect MPI_Waitany=n \
    --expect MPI_Barrier=n --expect MPI_Bcast=3*n --expect MPI_Reduce=2*n --expect MPI_Gather=n \
    --expect MPI_Gatherv=n --expect MPI_Scatter=n --expect MPI_Scatterv=n --expect MPI_Allgather=n \
    --expect MPI_Allgatherv=n --expect MPI_Alltoall=n --expect MPI_Alltoallv=n \
    --expect MPI_Reduce_scatter=n --expect MPI_Reduce_scatter_block=n --expect MPI_Scan=n \
    --expect MPI_Exscan=n --expect MPI_Ibarrier=n --expect MPI_Ibcast=n --expect MPI_Ireduce=n \
    --expect MPI_Iallreduce=n --expect MPI_Igather=n --expect MPI_Igatherv=n --expect MPI_Iscatter=n \
    --expect MPI_Iscatterv=n --expect MPI_Iallgather=n --expect MPI_Iallgatherv=n \
    --expect MPI_Ialltoall=n --expect MPI_Ialltoallv=n --expect MPI_Ireduce_scatter=n \
    --expect MPI_Ireduce_scatter_block=n --expect MPI_Iscan=n --expect MPI_Iexscan=n \
    --expect MPI_Comm_dup=n --expect MPI_Comm_split=n --expect MPI_Comm_create=n \
    --expect MPI_Comm_free=3*n --expect MPI_Type_free=n \
    --bytes MPI_Allreduce='(7*8+16+8)*n' --bytes MPI_Bcast='(20+8+12)*n' --bytes 'MPI_Send=128*(n-1)' \
    --bytes MPI_Alltoall='4*n*n' --bytes MPI_Alltoallv='4*n*n' --bytes MPI_Reduce_scatter='4*n*n' \
    --bytes MPI_Sendrecv='8*2*n' --bytes MPI_Comm_rank=0 \
    --hist MPI_Allreduce=8:8*n --hist MPI_Allreduce=16:n --comm MPI_Barrier=$np:n \
    --comm MPI_Allreduce=$np:'8*n+(n==1)*n' --field mpi=true --field mode=profile
done
finish

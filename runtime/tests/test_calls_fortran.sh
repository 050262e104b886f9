#!/bin/bash
# Fortran through mpif.h, `use mpi` and `use mpi_f08`: Open MPI's Fortran bindings call PMPI_*
# directly, so these counts prove the Fortran wrappers. Output identical with and without the
# preload (MPI_IN_PLACE allreduce included: each program prints its in-place result and checks it).
# The same counts, bytes and sizes in PARACLOUD_TUNE=auto, where the tuned collectives' Fortran
# wrappers call the tuner instead of the Fortran binding (test_coll_fortran.sh proves that).
. "$PC_SRCDIR/tests/lib.sh"
need_mpi
[ "${PC_HAVE_MPIFORT:-no}" = yes ] || skip "no Fortran MPI compiler (mpifort) found by configure"
for mode in profile auto; do
  tuning=()
  [ "$mode" = auto ] && tuning=(--field tuning.enabled=true)
  for binding in f77 f90 f08; do
    for np in 1 2 3 4; do
      name="$binding.$np"
      [ "$mode" = auto ] && name="$binding.$np.auto"
      PARACLOUD_TUNE=$mode compare_runs "$np" "$name" "$PC_TESTBIN/calls_$binding" || continue
      want_v="$((np * (np + 1) / 2)) $((np * (np + 1)))"
      if grep -q "in-place allreduce *$(echo $want_v | sed 's/ / */')\$" "$work/$name.rt" &&
         ! grep -q WRONG "$work/$name.rt"; then
        ok "$name ($mode): MPI_IN_PLACE allreduce gives $want_v with the preload"
      else
        fail "$name ($mode): MPI_IN_PLACE allreduce result wrong with the preload:"; cat "$work/$name.rt"
      fi
      check_profile "$profile" --np "$np" --exact mpi --fortran "${tuning[@]}" \
        --expect MPI_Init=n --expect MPI_Finalize=n --expect MPI_Comm_rank=n --expect MPI_Comm_size=2*n \
        --expect MPI_Allreduce=4*n --expect MPI_Bcast=n --expect MPI_Sendrecv=n --expect MPI_Irecv=n \
        --expect MPI_Isend=n --expect MPI_Waitall=n --expect MPI_Barrier=n --expect MPI_Reduce=n \
        --expect MPI_Gather=n --expect MPI_Allgather=n --expect MPI_Alltoall=n --expect MPI_Comm_dup=n \
        --expect MPI_Comm_split=n --expect MPI_Comm_free=2*n \
        --bytes MPI_Allreduce='(8+3*4)*n' --bytes MPI_Allgather=4*n --bytes MPI_Bcast=32*n \
        --bytes MPI_Alltoall=4*n*n --hist MPI_Allreduce=8:n --hist MPI_Allreduce=4:3*n --comm MPI_Barrier=$np:n
    done
  done
done
finish

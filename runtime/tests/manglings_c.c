/* Calls Open MPI's Fortran entry points through each of their symbol forms, as compilers other
 * than gfortran do (test_onesided.sh): mpi_barrier_ x1, mpi_barrier__ x2, mpi_barrier x3,
 * MPI_BARRIER x4, mpi_barrier_f08_ x5, and mpi_comm_rank in the same five forms once each. The
 * runtime wraps every form but the bare lower-case one (mpi_barrier, mpi_comm_rank: ordinary C
 * names, see gen_wrappers.py), whose calls reach Open MPI unrecorded. */
#include <mpi.h>
#include <stdio.h>

typedef void fbarrier(MPI_Fint *comm, MPI_Fint *ierr);
typedef void frank(MPI_Fint *comm, MPI_Fint *rank, MPI_Fint *ierr);
fbarrier mpi_barrier_, mpi_barrier__, mpi_barrier, MPI_BARRIER, mpi_barrier_f08_;
frank mpi_comm_rank_, mpi_comm_rank__, mpi_comm_rank, MPI_COMM_RANK, mpi_comm_rank_f08_;

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Fint world = MPI_Comm_c2f(MPI_COMM_WORLD), ierr = -1, r[5] = {-1, -1, -1, -1, -1};
  fbarrier *b[5] = {mpi_barrier_, mpi_barrier__, mpi_barrier, MPI_BARRIER, mpi_barrier_f08_};
  frank *q[5] = {mpi_comm_rank_, mpi_comm_rank__, mpi_comm_rank, MPI_COMM_RANK, mpi_comm_rank_f08_};
  int bad = 0;
  for (int form = 0; form < 5; form++) {
    for (int k = 0; k <= form; k++) {
      b[form](&world, &ierr);
      bad += ierr != MPI_SUCCESS;
    }
    q[form](&world, &r[form], &ierr);
    bad += ierr != MPI_SUCCESS;
  }
  if (r[0] == 0) printf("manglings: errors=%d ranks=%d %d %d %d %d\n", bad, r[0], r[1], r[2], r[3], r[4]);
  MPI_Finalize();
  return 0;
}

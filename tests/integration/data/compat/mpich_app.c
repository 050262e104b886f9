/* An MPICH program (built with mpicc.mpich, run with mpiexec.mpich): the preload must see it is
 * not Open MPI and pass every call through untouched. */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv) {
  int rank, size, provided;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  double a[256], s[256];
  for (int i = 0; i < 256; i++) a[i] = i * (rank + 1);
  for (int k = 0; k < 50; k++) MPI_Allreduce(a, s, 256, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  int tok = rank, got = -1;
  MPI_Sendrecv(&tok, 1, MPI_INT, (rank + 1) % size, 3, &got, 1, MPI_INT, (rank + size - 1) % size,
               3, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  MPI_Comm half;
  MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &half);
  int hs = 0;
  MPI_Allreduce(&rank, &hs, 1, MPI_INT, MPI_SUM, half);
  MPI_Comm_free(&half);
  int all[64] = {0};
  MPI_Gather(&got, 1, MPI_INT, all, 1, MPI_INT, 0, MPI_COMM_WORLD);
  double tot = 0;
  for (int i = 0; i < 256; i++) tot += s[i];
  if (rank == 0) {
    printf("mpich: size=%d allreduce=%.1f ring=", size, tot);
    for (int i = 0; i < size; i++) printf("%d ", all[i]);
    printf("half=%d\n", hs);
  }
  MPI_Finalize();
  return 0;
}

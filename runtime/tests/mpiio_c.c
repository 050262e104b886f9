/* mpiio_c.c: each rank writes and reads back its own region of one file with MPI-IO (test_mpiio.sh). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#define N 1000 /* ints per rank in the collective part */
#define M 100  /* ints per rank in the independent part */

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc < 2) {
    if (rank == 0) fprintf(stderr, "usage: mpiio_c FILE\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  int out[N], in[N];
  for (int i = 0; i < N; i++) out[i] = rank * N + i;
  const MPI_Offset coll = (MPI_Offset)rank * N * sizeof(int);
  const MPI_Offset indep = (MPI_Offset)size * N * sizeof(int) + (MPI_Offset)rank * M * sizeof(int);
  MPI_File fh;
  MPI_File_open(MPI_COMM_WORLD, argv[1], MPI_MODE_CREATE | MPI_MODE_WRONLY, MPI_INFO_NULL, &fh);
  MPI_File_write_at_all(fh, coll, out, N, MPI_INT, MPI_STATUS_IGNORE);
  MPI_File_write_at(fh, indep, out, M, MPI_INT, MPI_STATUS_IGNORE);
  MPI_File_sync(fh);
  MPI_File_close(&fh);

  MPI_File_open(MPI_COMM_WORLD, argv[1], MPI_MODE_RDONLY, MPI_INFO_NULL, &fh);
  MPI_File_read_at_all(fh, coll, in, N, MPI_INT, MPI_STATUS_IGNORE);
  long bad = 0;
  for (int i = 0; i < N; i++) bad += in[i] != out[i];
  MPI_File_read_at(fh, indep, in, M, MPI_INT, MPI_STATUS_IGNORE);
  for (int i = 0; i < M; i++) bad += in[i] != out[i];
  MPI_File_close(&fh);
  long total = 0;
  MPI_Reduce(&bad, &total, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
  if (rank == 0) printf("mpiio_c: %d ranks, %ld wrong values\n", size, total);
  MPI_Finalize();
  return total != 0;
}

/* overhead.c: ns per call of tight MPI loops (run_bench.sh runs it without the preload, with
 * PARACLOUD_TUNE=off and with profile). Prints one line from rank 0: name=ns pairs. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static double loop_ns(int which, long n, MPI_Comm w, int rank) {
  int r = 0, x = 0, y = 0;
  MPI_Barrier(w);
  double t0 = MPI_Wtime();
  switch (which) {
    case 0:
      for (long i = 0; i < n; i++) MPI_Comm_rank(w, &r);
      break;
    case 1:
      for (long i = 0; i < n; i++) MPI_Allreduce(&x, &y, 0, MPI_INT, MPI_SUM, w);
      break;
    case 2: /* 0-byte send to self, then the matching receive: 2 calls per iteration */
      for (long i = 0; i < n; i++) {
        MPI_Send(&x, 0, MPI_INT, rank, 5, w);
        MPI_Recv(&y, 0, MPI_INT, rank, 5, w, MPI_STATUS_IGNORE);
      }
      n *= 2;
      break;
  }
  double dt = MPI_Wtime() - t0, max = 0;
  MPI_Reduce(&dt, &max, 1, MPI_DOUBLE, MPI_MAX, 0, w);
  return max / n * 1e9;
}

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const long scale = argc > 1 ? atol(argv[1]) : 1;
  const long n[3] = {2000000 * scale, 200000 * scale, 300000 * scale};
  const char* names[3] = {"comm_rank", "allreduce0", "send_recv_self"};
  for (int k = 0; k < 3; k++) loop_ns(k, n[k] / 10, MPI_COMM_WORLD, rank); /* warm up */
  double ns[3];
  for (int k = 0; k < 3; k++) ns[k] = loop_ns(k, n[k], MPI_COMM_WORLD, rank);
  if (rank == 0) printf("%s=%.2f %s=%.2f %s=%.2f\n", names[0], ns[0], names[1], ns[1], names[2], ns[2]);
  MPI_Finalize();
  return 0;
}

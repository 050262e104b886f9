/* STREAM-triad (a[i] = b[i] + s*c[i]) over MPI ranks with OpenMP threads, for bench-bind
 * (issue 11 item 6). Arrays are first-touched by the threads that use them (static schedule), so
 * memory lands where binding puts the threads. Prints the aggregate bandwidth (GB/s, the slowest
 * rank's time) and, with "init" as argument, only MPI_Init/MPI_Finalize (the start-up cost). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  if (argc > 1 && !strcmp(argv[1], "init")) {
    MPI_Finalize();
    return 0;
  }
  const long n = argc > 1 ? atol(argv[1]) : 4000000;
  const int reps = argc > 2 ? atoi(argv[2]) : 20;
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  double* a = malloc(sizeof(double) * (size_t)n);
  double* b = malloc(sizeof(double) * (size_t)n);
  double* c = malloc(sizeof(double) * (size_t)n);
  if (!a || !b || !c) MPI_Abort(MPI_COMM_WORLD, 1);
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; i++) {
    a[i] = 0;
    b[i] = 1;
    c[i] = 2;
  }
  MPI_Barrier(MPI_COMM_WORLD);
  const double t0 = MPI_Wtime();
  for (int r = 0; r < reps; r++) {
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) a[i] = b[i] + 3.0 * c[i];
  }
  double t = MPI_Wtime() - t0, tmax = 0;
  MPI_Reduce(&t, &tmax, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  if (rank == 0)
    printf("triad_GBps %.3f check %.1f\n", 3.0 * 8.0 * (double)n * reps * size / tmax / 1e9, a[n / 2]);
  free(a);
  free(b);
  free(c);
  MPI_Finalize();
  return 0;
}

/* Binding test program with OpenMP (issue 11): each rank prints its cpus, its OpenMP thread count
 * and the distinct CPUs its threads ran on (sched_getcpu inside a parallel region, repeated). */
#define _GNU_SOURCE
#include <mpi.h>
#include <omp.h>
#include <sched.h>
#include <stdio.h>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int seen[1024] = {0};
  int threads = 0;
  for (int rep = 0; rep < 50; rep++) {
#pragma omp parallel
    {
      int c = sched_getcpu();
#pragma omp critical
      {
        if (c >= 0 && c < 1024) seen[c] = 1;
        threads = omp_get_num_threads();
      }
      volatile double x = 0;
      for (int i = 0; i < 100000; i++) x += i;
    }
  }
  char list[4096] = "";
  size_t n = 0;
  for (int c = 0; c < 1024 && n + 16 < sizeof(list); c++)
    if (seen[c]) n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%d", n ? "," : "", c);
  printf("rank %d threads %d ran_on %s\n", rank, threads, list);
  MPI_Finalize();
  return 0;
}

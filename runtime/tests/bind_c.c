/* Binding test program (issue 11): each rank prints the PUs it may run on, read back with
 * sched_getaffinity after MPI_Init, and OMP_PLACES / OMP_PROC_BIND as it sees them. */
#define _GNU_SOURCE
#include <mpi.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  cpu_set_t set;
  CPU_ZERO(&set);
  char list[4096] = "";
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    size_t n = 0;
    for (int c = 0; c < CPU_SETSIZE && n + 16 < sizeof(list); c++)
      if (CPU_ISSET(c, &set)) n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%d", n ? "," : "", c);
  }
  const char* places = getenv("OMP_PLACES");
  const char* bind = getenv("OMP_PROC_BIND");
  printf("rank %d cpus %s places %s bind %s\n", rank, list, places ? places : "-", bind ? bind : "-");
  MPI_Finalize();
  return 0;
}

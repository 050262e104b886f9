/* An MPI plugin loaded with dlopen(RTLD_LOCAL) by local_loader.c, the way Python loads mpi4py:
 * its libmpi is then not in the global scope (test_rtld_local.sh). It also has functions of its
 * own named like the bare lower-case Fortran manglings, as Rmpi's C code has SEXP
 * mpi_comm_rank(SEXP): exported and called through the PLT (-fPIC), so a preloaded definition of
 * those names would take the calls (the runtime wraps only the underscored and upper-case forms). */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

int mpi_comm_rank(const char *s) { return (int)strlen(s); }
int mpi_barrier(const char *s) { return 2 * (int)strlen(s); }

int plugin_main(int argc, char **argv) {
  int provided = 0, rank = 0, size = 1;
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) return 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  double a[64], s[64];
  for (int i = 0; i < 64; i++) a[i] = i + rank;
  for (int k = 0; k < 100; k++) MPI_Allreduce(a, s, 64, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  int root_value = rank == 0 ? 42 : -1;
  MPI_Bcast(&root_value, 1, MPI_INT, 0, MPI_COMM_WORLD);
  int token = rank, got = -1;
  MPI_Sendrecv(&token, 1, MPI_INT, (rank + 1) % size, 5, &got, 1, MPI_INT,
               (rank + size - 1) % size, 5, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  MPI_Comm dup;
  MPI_Comm_dup(MPI_COMM_WORLD, &dup);
  int r2 = -1;
  MPI_Allreduce(&rank, &r2, 1, MPI_INT, MPI_MAX, dup);
  MPI_Comm_free(&dup);
  double total = 0;
  for (int i = 0; i < 64; i++) total += s[i];
  if (rank == 0)
    printf("plugin: size=%d allreduce=%.1f bcast=%d ring=%d max=%d own=%d\n", size, total,
           root_value, got, r2, mpi_comm_rank("abc") + mpi_barrier("hello"));
  MPI_Finalize();
  return 0;
}

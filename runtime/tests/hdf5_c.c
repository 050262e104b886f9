/* hdf5_c.c: parallel HDF5 (MPI-IO driver): each rank writes its slab of one dataset, then every
 * rank reads the whole dataset back (test_hdf5.sh). Linked with the shared libhdf5. */
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#define N 500 /* doubles per rank */

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc < 2) {
    if (rank == 0) fprintf(stderr, "usage: hdf5_c FILE\n");
    MPI_Abort(MPI_COMM_WORLD, 2);
  }
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL);
  hid_t file = H5Fcreate(argv[1], H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  hsize_t dims[1] = {(hsize_t)size * N};
  hid_t space = H5Screate_simple(1, dims, NULL);
  hid_t dset = H5Dcreate2(file, "x", H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  double mine[N];
  for (int i = 0; i < N; i++) mine[i] = rank * N + i;
  hsize_t start[1] = {(hsize_t)rank * N}, count[1] = {N};
  H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL);
  hid_t mem = H5Screate_simple(1, count, NULL);
  H5Dwrite(dset, H5T_NATIVE_DOUBLE, mem, space, H5P_DEFAULT, mine);
  H5Sclose(mem);
  H5Sclose(space);
  H5Dclose(dset);
  H5Fclose(file);

  file = H5Fopen(argv[1], H5F_ACC_RDONLY, fapl);
  dset = H5Dopen2(file, "x", H5P_DEFAULT);
  double* all = malloc(sizeof(double) * size * N);
  H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, all);
  long bad = 0;
  for (long i = 0; i < (long)size * N; i++) bad += all[i] != (double)i;
  H5Dclose(dset);
  H5Fclose(file);
  H5Pclose(fapl);
  free(all);
  long total = 0;
  MPI_Reduce(&bad, &total, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
  if (rank == 0) printf("hdf5_c: %d ranks, %ld wrong values\n", size, total);
  MPI_Finalize();
  return total != 0;
}

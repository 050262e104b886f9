/* Issue 12: the chunk-cache thrash pattern. Writes a ROWS x COLS double dataset "/data" in deflated
 * CR x CC chunks (unless the file exists and "read" is given), closes the file, reopens it and
 * reads it back one row at a time (H5Dopen2 with H5P_DEFAULT, or with its own dataset access plist
 * given "own-dapl"). stdout: the data checksum (identical with and without the runtime); stderr:
 * the effective chunk cache of the opened dataset (H5Pget_chunk_cache on H5Dget_access_plist)
 * and, with own-dapl, that plist's own chunk cache after H5Dopen2 (the runtime must not touch it).
 * Usage: hdf5_rows_c FILE ROWS COLS CR CC [write|read|both] [own-dapl] */
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  if (argc < 6) {
    fprintf(stderr, "usage: %s FILE ROWS COLS CR CC [write|read|both] [own-dapl]\n", argv[0]);
    return 2;
  }
  const char* path = argv[1];
  const hsize_t rows = strtoull(argv[2], 0, 10), cols = strtoull(argv[3], 0, 10);
  const hsize_t chunk[2] = {strtoull(argv[4], 0, 10), strtoull(argv[5], 0, 10)};
  const char* what = argc > 6 ? argv[6] : "both";
  const int own_dapl = argc > 7 && !strcmp(argv[7], "own-dapl");
  double* row = malloc(sizeof(double) * cols);
  if (strcmp(what, "read")) {
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[2] = {rows, cols};
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, chunk);
    H5Pset_deflate(dcpl, 1);
    hid_t d = H5Dcreate2(f, "/data", H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    hsize_t count[2] = {1, cols};
    hid_t mem = H5Screate_simple(2, count, NULL);
    for (hsize_t r = 0; r < rows; r++) {
      for (hsize_t c = 0; c < cols; c++) row[c] = (double)((r * 7 + c * 13) % 1000) * 0.5;
      hsize_t start[2] = {r, 0};
      H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL);
      H5Dwrite(d, H5T_NATIVE_DOUBLE, mem, space, H5P_DEFAULT, row);
    }
    H5Sclose(mem);
    H5Dclose(d);
    H5Pclose(dcpl);
    H5Sclose(space);
    H5Fclose(f);
  }
  if (strcmp(what, "write")) {
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t dapl = own_dapl ? H5Pcreate(H5P_DATASET_ACCESS) : H5P_DEFAULT;
    hid_t d = H5Dopen2(f, "/data", dapl);
    if (d < 0) {
      fprintf(stderr, "H5Dopen2 failed\n");
      return 1;
    }
    size_t nslots = 0, nbytes = 0;
    double w0 = 0;
    hid_t eff = H5Dget_access_plist(d);
    H5Pget_chunk_cache(eff, &nslots, &nbytes, &w0);
    H5Pclose(eff);
    fprintf(stderr, "effective chunk cache: nslots=%zu nbytes=%zu w0=%.2f\n", nslots, nbytes, w0);
    if (own_dapl) {
      H5Pget_chunk_cache(dapl, &nslots, &nbytes, &w0);
      fprintf(stderr, "application dapl chunk cache: nslots=%zd nbytes=%zd w0=%.2f\n",
              (ssize_t)nslots, (ssize_t)nbytes, w0);
      H5Pclose(dapl);
    }
    hid_t space = H5Dget_space(d);
    hsize_t count[2] = {1, cols};
    hid_t mem = H5Screate_simple(2, count, NULL);
    unsigned long long sum = 0;
    for (hsize_t r = 0; r < rows; r++) {
      hsize_t start[2] = {r, 0};
      H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL);
      H5Dread(d, H5T_NATIVE_DOUBLE, mem, space, H5P_DEFAULT, row);
      for (hsize_t c = 0; c < cols; c++) sum = sum * 31 + (unsigned long long)(row[c] * 2);
    }
    printf("rows %llu cols %llu checksum %016llx\n", (unsigned long long)rows,
           (unsigned long long)cols, sum);
    H5Sclose(mem);
    H5Sclose(space);
    H5Dclose(d);
    H5Fclose(f);
  }
  free(row);
  MPI_Finalize();
  return 0;
}

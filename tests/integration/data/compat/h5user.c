/* A plugin that uses HDF5 (linked against libhdf5_serial), loaded and unloaded several times by
 * dlcycle_app.c the way Python loads extension modules: RTLD_LOCAL, so its libhdf5 is not in the
 * global scope. The few HDF5 1.10 declarations it needs are written here (no -dev package). */
#include <stdint.h>
#include <stdio.h>

typedef int64_t hid_t;
typedef int herr_t;
typedef unsigned long long hsize_t;
extern hid_t H5T_NATIVE_INT_g;
herr_t H5open(void);
hid_t H5Fcreate(const char *name, unsigned flags, hid_t fcpl, hid_t fapl);
hid_t H5Fopen(const char *name, unsigned flags, hid_t fapl);
herr_t H5Fclose(hid_t f);
hid_t H5Screate_simple(int rank, const hsize_t *dims, const hsize_t *max);
herr_t H5Sclose(hid_t s);
hid_t H5Dcreate2(hid_t loc, const char *name, hid_t type, hid_t space, hid_t lcpl, hid_t dcpl,
                 hid_t dapl);
hid_t H5Dopen2(hid_t loc, const char *name, hid_t dapl);
herr_t H5Dwrite(hid_t d, hid_t mt, hid_t ms, hid_t fs, hid_t xfer, const void *buf);
herr_t H5Dread(hid_t d, hid_t mt, hid_t ms, hid_t fs, hid_t xfer, void *buf);
herr_t H5Dclose(hid_t d);

/* Writes 100 ints to PATH and reads them back: their sum, or -1 on any HDF5 error. */
long h5user_roundtrip(const char *path, int seed) {
  int data[100], back[100];
  hsize_t dims[1] = {100};
  long sum = 0;
  if (H5open() < 0) return -1;
  for (int i = 0; i < 100; i++) data[i] = i + seed;
  hid_t f = H5Fcreate(path, 2u /* H5F_ACC_TRUNC */, 0, 0);
  if (f < 0) return -1;
  hid_t s = H5Screate_simple(1, dims, NULL);
  hid_t d = H5Dcreate2(f, "v", H5T_NATIVE_INT_g, s, 0, 0, 0);
  if (s < 0 || d < 0 || H5Dwrite(d, H5T_NATIVE_INT_g, 0, 0, 0, data) < 0) return -1;
  H5Dclose(d);
  H5Sclose(s);
  H5Fclose(f);
  f = H5Fopen(path, 0u /* H5F_ACC_RDONLY */, 0);
  if (f < 0) return -1;
  d = H5Dopen2(f, "v", 0);
  if (d < 0 || H5Dread(d, H5T_NATIVE_INT_g, 0, 0, 0, back) < 0) return -1;
  H5Dclose(d);
  H5Fclose(f);
  for (int i = 0; i < 100; i++) sum += back[i];
  return sum;
}

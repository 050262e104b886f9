#!/bin/bash
# A parallel HDF5 program (shared libhdf5): the hdf5 layer counts its calls and bytes exactly and
# the MPI-IO calls HDF5 makes underneath show in the mpiio layer.
. "$PC_SRCDIR/tests/lib.sh"
need_mpi
[ "${PC_HAVE_HDF5:-no}" = yes ] || skip "HDF5 (pkg-config hdf5-openmpi) not found by configure (apt-get install libhdf5-openmpi-dev)"
for np in 1 2; do
  rm -f "$work/data.$np.h5"
  compare_runs "$np" "h5.$np" "$PC_TESTBIN/hdf5_c" "$work/data.$np.h5" || continue
  grep -q "0 wrong values" "$work/h5.$np.rt" || fail "hdf5 np=$np: data read back wrong"
  check_profile "$profile" --np "$np" --exact hdf5 \
    --expect H5Fcreate=n --expect H5Fopen=n --expect H5Fclose=2*n --expect H5Dcreate2=n \
    --expect H5Dopen2=n --expect H5Dwrite=n --expect H5Dread=n --expect H5Dclose=2*n \
    --bytes H5Dwrite=4000*n --bytes H5Dread=4000*n*n \
    --layer hdf5.bytes_written=4000*n --layer hdf5.bytes_read=4000*n*n \
    --layer-min mpiio.calls=1 --layer-min mpiio.bytes_written=4000*n
done
finish

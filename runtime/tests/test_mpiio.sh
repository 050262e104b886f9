#!/bin/bash
# An MPI-IO program: the mpiio layer counts its calls and bytes exactly; the posix layer sees the
# file's reads and writes underneath (Open MPI's ompio writes with pwrite/pread).
. "$PC_SRCDIR/tests/lib.sh"
need_mpi
for np in 1 3; do
  rm -f "$work/data.$np"
  compare_runs "$np" "io$np" "$PC_TESTBIN/mpiio_c" "$work/data.$np" || continue
  grep -q "0 wrong values" "$work/io$np.rt" || fail "mpiio np=$np: data read back wrong"
  check_profile "$profile" --np "$np" --exact mpiio \
    --expect MPI_File_open=2*n --expect MPI_File_close=2*n --expect MPI_File_write_at_all=n \
    --expect MPI_File_write_at=n --expect MPI_File_sync=n --expect MPI_File_read_at_all=n \
    --expect MPI_File_read_at=n \
    --bytes MPI_File_write_at_all=4000*n --bytes MPI_File_read_at_all=4000*n \
    --bytes MPI_File_write_at=400*n --bytes MPI_File_read_at=400*n \
    --layer mpiio.bytes_written=4400*n --layer mpiio.bytes_read=4400*n \
    --layer-min posix.bytes_written=4400*n --layer-min posix.bytes_read=4400*n \
    --comm MPI_File_open=$np:2*n
done
finish

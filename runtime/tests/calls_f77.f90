! calls_f77.f90: deterministic MPI program through mpif.h (test_calls_fortran.sh), incl. MPI_IN_PLACE.
program calls_f77
  ! mpif.h has no interfaces: buffers are passed as elements (x(1), v(1)) so that every call of a
  ! routine passes the same kind of actual argument (gfortran checks that across calls).
  implicit none
  include 'mpif.h'
  integer :: ierr, rank, nranks, right, left, i, dup, half, hsize
  integer :: v(2), got(2), reqs(2), gathered(64), alltoall_in(64), alltoall_out(64), one
  integer :: x(1), y(1), total
  double precision :: buf(4)
  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, nranks, ierr)
  ! in-place allreduce: v = (n(n+1)/2, n(n+1))
  v(1) = rank + 1
  v(2) = 2 * (rank + 1)
  call MPI_Allreduce(MPI_IN_PLACE, v(1), 2, MPI_INTEGER, MPI_SUM, MPI_COMM_WORLD, ierr)
  total = 0
  x = rank + 1
  do i = 1, 3
    call MPI_Allreduce(x(1), y(1), 1, MPI_INTEGER, MPI_SUM, MPI_COMM_WORLD, ierr)
    total = total + y(1)
  end do
  buf = rank
  call MPI_Bcast(buf, 4, MPI_DOUBLE_PRECISION, 0, MPI_COMM_WORLD, ierr)
  right = mod(rank + 1, nranks)
  left = mod(rank - 1 + nranks, nranks)
  call MPI_Sendrecv(rank, 1, MPI_INTEGER, right, 1, got(1), 1, MPI_INTEGER, left, 1, &
                    MPI_COMM_WORLD, MPI_STATUS_IGNORE, ierr)
  call MPI_Irecv(got(2), 1, MPI_INTEGER, left, 2, MPI_COMM_WORLD, reqs(1), ierr)
  call MPI_Isend(rank, 1, MPI_INTEGER, right, 2, MPI_COMM_WORLD, reqs(2), ierr)
  call MPI_Waitall(2, reqs, MPI_STATUSES_IGNORE, ierr)
  call MPI_Barrier(MPI_COMM_WORLD, ierr)
  call MPI_Reduce(x, y, 1, MPI_INTEGER, MPI_SUM, 0, MPI_COMM_WORLD, ierr)
  one = rank + 1
  call MPI_Gather(one, 1, MPI_INTEGER, gathered, 1, MPI_INTEGER, 0, MPI_COMM_WORLD, ierr)
  gathered(rank + 1) = 10 * (rank + 1)
  call MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, gathered, 1, MPI_INTEGER, MPI_COMM_WORLD, ierr)
  alltoall_in = rank
  call MPI_Alltoall(alltoall_in, 1, MPI_INTEGER, alltoall_out, 1, MPI_INTEGER, MPI_COMM_WORLD, ierr)
  call MPI_Comm_dup(MPI_COMM_WORLD, dup, ierr)
  call MPI_Comm_split(MPI_COMM_WORLD, mod(rank, 2), rank, half, ierr)
  call MPI_Comm_size(half, hsize, ierr)
  call MPI_Comm_free(half, ierr)
  call MPI_Comm_free(dup, ierr)
  if (rank == 0) then
    write (*, '(a,i0,a,2i6)') 'calls_f77: ', nranks, ' ranks, in-place allreduce ', v
    if (v(1) /= nranks * (nranks + 1) / 2 .or. v(2) /= nranks * (nranks + 1)) write (*, '(a)') 'WRONG in-place result'
    write (*, '(a,i6,f6.1,2i4,i6,i4)') 'calls_f77: ', total + y(1), buf(1), got, sum(gathered(1:nranks)), alltoall_out(nranks)
  end if
  call MPI_Finalize(ierr)
end program calls_f77

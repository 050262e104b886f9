! coll_fortran.F90: the tuned collectives called from Fortran, results checked (test_coll_fortran.sh);
! built once per binding: -DBINDING_F77 (mpif.h), -DBINDING_F90 (`use mpi`), -DBINDING_F08 (`use mpi_f08`).
!
! Usage: coll_F?? [ITERATIONS]   (default 10). Prints, from rank 0:
!   fp WHAT count=1000 rank=R calls=C elems=E   the counting user op's calls and elements on each
!        rank in one MPI_Allreduce ("allreduce"), one in-place MPI_Allreduce ("allreduce_in_place")
!        and one MPI_Reduce to root 0 ("reduce"): the algorithm's fingerprint (coll_fp.py)
!   made barrier=.. bcast=.. reduce=.. allreduce=.. allgather=.. alltoall=..   calls per rank
!   coll_fortran: N ranks, C checks, F failures
! and from any rank "WRONG ..." for each wrong result or error code (the first 10 per rank).
! Every checked loop runs on MPI_COMM_WORLD and on a split of it in reversed rank order, with 7 and
! 20000 elements: barrier, bcast, reduce (sum), allreduce (sum, in-place max, in-place
! counting op), allgather (and in place), alltoall; all on INTEGER data.
#if defined(BINDING_F08)
#define HANDLE(t) type(t)
#else
#define HANDLE(t) integer
#endif
! mpif.h has no interfaces: buffers go as their first element, so that every call of a routine
! passes the same kind of actual argument (gfortran checks that across calls); hence integers only.
#if defined(BINDING_F77)
#define BUF(x) x(1)
#else
#define BUF(x) x
#endif

module coll_fortran_counts
  implicit none
  integer(8) :: op_calls = 0, op_elems = 0
  integer :: op_wrong_type = 0  ! calls whose datatype argument was not MPI_INTEGER
end module coll_fortran_counts

! The counting op: a commutative integer sum that counts its calls and elements.
#if defined(BINDING_F08)
subroutine count_sum(invec, inoutvec, n, dtype)
  use, intrinsic :: iso_c_binding, only : c_ptr, c_f_pointer
  use mpi_f08, only : MPI_Datatype, MPI_INTEGER
  use coll_fortran_counts
  implicit none
  type(c_ptr), value :: invec, inoutvec
  integer :: n
  type(MPI_Datatype) :: dtype
  integer, pointer :: a(:), b(:)
  call c_f_pointer(invec, a, [n])
  call c_f_pointer(inoutvec, b, [n])
  if (dtype%MPI_VAL /= MPI_INTEGER%MPI_VAL) op_wrong_type = op_wrong_type + 1
  b = b + a
  op_calls = op_calls + 1
  op_elems = op_elems + n
end subroutine count_sum
#else
subroutine count_sum(invec, inoutvec, n, dtype)
  use coll_fortran_counts
  implicit none
  include 'mpif.h'
  integer :: n, dtype
  integer :: invec(n), inoutvec(n)
  if (dtype /= MPI_INTEGER) op_wrong_type = op_wrong_type + 1
  inoutvec = inoutvec + invec
  op_calls = op_calls + 1
  op_elems = op_elems + n
end subroutine count_sum
#endif

program coll_fortran
#if defined(BINDING_F77)
  use coll_fortran_counts
  implicit none
  include 'mpif.h'
#elif defined(BINDING_F90)
  use mpi
  use coll_fortran_counts
  implicit none
#else
  use mpi_f08
  use coll_fortran_counts
  implicit none
#endif
  integer, parameter :: nfp = 1000, nbig = 20000
  integer, parameter :: kBarrier = 1, kBcast = 2, kReduce = 3, kAllreduce = 4, kAllgather = 5, &
                        kAlltoall = 6
  integer :: ierr, rank, np, iters, it, k, i, failures, total, checks
  integer :: made(6)
  HANDLE(MPI_Comm) :: rev
  HANDLE(MPI_Op) :: countop
  integer, allocatable :: a(:), b(:), g(:), t_in(:), t_out(:)
  character(len=32) :: arg
#if defined(BINDING_F08)
  procedure(MPI_User_function) :: count_sum
#else
  external count_sum
#endif

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  call MPI_Comm_size(MPI_COMM_WORLD, np, ierr)
  iters = 10
  if (command_argument_count() >= 1) then
    call get_command_argument(1, arg)
    read (arg, *) iters
  end if
  made = 0
  failures = 0
  checks = 0
  call MPI_Op_create(count_sum, .true., countop, ierr)
  allocate (a(nbig), b(nbig), g(nbig * np), t_in(nbig * np), t_out(nbig * np))

  ! Fingerprints of the counting op (nothing else runs between resetting and printing them).
  a(1:nfp) = [(rank + i, i = 1, nfp)]
  op_calls = 0
  op_elems = 0
  call MPI_Allreduce(BUF(a), BUF(b), nfp, MPI_INTEGER, countop, MPI_COMM_WORLD, ierr)
  made(kAllreduce) = made(kAllreduce) + 1
  call expect('fp allreduce', ierr, all(b(1:nfp) == [(np * i + np * (np - 1) / 2, i = 1, nfp)]))
  call print_fp('allreduce')
  b(1:nfp) = a(1:nfp)
  call MPI_Allreduce(MPI_IN_PLACE, BUF(b), nfp, MPI_INTEGER, countop, MPI_COMM_WORLD, ierr)
  made(kAllreduce) = made(kAllreduce) + 1
  call expect('fp allreduce in place', ierr, all(b(1:nfp) == [(np * i + np * (np - 1) / 2, i = 1, nfp)]))
  call print_fp('allreduce_in_place')
  b(1:nfp) = -1
  call MPI_Reduce(BUF(a), BUF(b), nfp, MPI_INTEGER, countop, 0, MPI_COMM_WORLD, ierr)
  made(kReduce) = made(kReduce) + 1
  call expect('fp reduce', ierr, rank /= 0 .or. all(b(1:nfp) == [(np * i + np * (np - 1) / 2, i = 1, nfp)]))
  call print_fp('reduce')

  ! A loop of small calls: once a call kind is sampled and its call decided native (explored, or
  ! forced: barrier:native in one configuration of test_coll_fortran.sh), the tuner records the
  ! calls in its decided-call cache entry (Fortran counted apart) instead of the probes; the profile
  ! must count every one (counts_ok in test_coll_fortran.sh: count and fortran_calls).
  a(1:2) = [rank, 1]
  do i = 1, 2000
    call MPI_Allreduce(BUF(a), BUF(b), 2, MPI_INTEGER, MPI_SUM, MPI_COMM_WORLD, ierr)
    call MPI_Barrier(MPI_COMM_WORLD, ierr)
  end do
  made(kAllreduce) = made(kAllreduce) + 2000
  made(kBarrier) = made(kBarrier) + 2000
  call expect('small allreduce loop', ierr, b(1) == np * (np - 1) / 2 .and. b(2) == np)

  ! Reversed rank order: a wrong communicator conversion gives wrong roots and blocks.
  call MPI_Comm_split(MPI_COMM_WORLD, 0, np - rank, rev, ierr)
  do it = 1, iters
    do k = 1, 2
      call run_all(MPI_COMM_WORLD, merge(7, nbig, k == 1), it)
      call run_all(rev, merge(7, nbig, k == 1), it)
    end do
  end do
  call MPI_Comm_free(rev, ierr)

  call expect('datatype argument of the user op', MPI_SUCCESS, op_wrong_type == 0)
  call MPI_Allreduce(failures, total, 1, MPI_INTEGER, MPI_SUM, MPI_COMM_WORLD, ierr)
  made(kAllreduce) = made(kAllreduce) + 1
  if (rank == 0) then
    write (*, '(a,6(a,i0))') 'made', ' barrier=', made(kBarrier), ' bcast=', made(kBcast), &
      ' reduce=', made(kReduce), ' allreduce=', made(kAllreduce), ' allgather=', made(kAllgather), &
      ' alltoall=', made(kAlltoall)
    write (*, '(a,i0,a,i0,a,i0,a)') 'coll_fortran: ', np, ' ranks, ', checks, ' checks, ', total, ' failures'
  end if
  call MPI_Op_free(countop, ierr)
  call MPI_Finalize(ierr)

contains

  ! Counts a check; prints the first 10 failures of this rank.
  subroutine expect(what, rc, good)
    character(len=*), intent(in) :: what
    integer, intent(in) :: rc
    logical, intent(in) :: good
    checks = checks + 1
    if (rc == MPI_SUCCESS .and. good) return
    failures = failures + 1
    if (failures <= 10) write (*, '(a,a,a,i0,a,i0)') 'WRONG ', what, ': rank ', rank, ' ierror ', rc
  end subroutine expect

  ! Rank 0 prints every rank's (calls, elements) of the counting op since the last reset, then resets.
  subroutine print_fp(what)
    character(len=*), intent(in) :: what
    integer(8) :: mine(2), every(2 * np)
    integer :: r, rc
    mine = [op_calls, op_elems]
    call MPI_Gather(BUF(mine), 2, MPI_INTEGER8, BUF(every), 2, MPI_INTEGER8, 0, MPI_COMM_WORLD, rc)
    if (rank == 0) then
      do r = 0, np - 1
        write (*, '(a,a,a,i0,a,i0,a,i0,a,i0)') 'fp ', what, ' count=', nfp, ' rank=', r, &
          ' calls=', every(2 * r + 1), ' elems=', every(2 * r + 2)
      end do
    end if
    op_calls = 0
    op_elems = 0
  end subroutine print_fp

  ! Every tuned collective once on comm with n elements per block (alltoall: n/8), iteration it.
  subroutine run_all(comm, n, it)
    HANDLE(MPI_Comm), intent(in) :: comm
    integer, intent(in) :: n, it
    integer :: me, p, root, rc, r, j, m
    logical :: good
    call MPI_Comm_rank(comm, me, rc)
    call MPI_Comm_size(comm, p, rc)
    root = mod(it + n, p)

    call MPI_Barrier(comm, rc)
    made(kBarrier) = made(kBarrier) + 1
    call expect('barrier', rc, .true.)

    a(1:n) = -1
    if (me == root) a(1:n) = [(1000 * root + i + it, i = 1, n)]
    call MPI_Bcast(BUF(a), n, MPI_INTEGER, root, comm, rc)
    made(kBcast) = made(kBcast) + 1
    call expect('bcast', rc, all(a(1:n) == [(1000 * root + i + it, i = 1, n)]))

    ! Sums over the ranks of (me + i + it): p * (i + it) + p * (p - 1) / 2.
    a(1:n) = [(me + i + it, i = 1, n)]
    b(1:n) = -1
    call MPI_Reduce(BUF(a), BUF(b), n, MPI_INTEGER, MPI_SUM, root, comm, rc)
    made(kReduce) = made(kReduce) + 1
    call expect('reduce', rc, me /= root .or. all(b(1:n) == [(p * (i + it) + p * (p - 1) / 2, i = 1, n)]))

    b(1:n) = -1
    call MPI_Allreduce(BUF(a), BUF(b), n, MPI_INTEGER, MPI_SUM, comm, rc)
    made(kAllreduce) = made(kAllreduce) + 1
    call expect('allreduce', rc, all(b(1:n) == [(p * (i + it) + p * (p - 1) / 2, i = 1, n)]))

    g(1:n) = [(me * n + i, i = 1, n)]
    call MPI_Allreduce(MPI_IN_PLACE, BUF(g), n, MPI_INTEGER, MPI_MAX, comm, rc)
    made(kAllreduce) = made(kAllreduce) + 1
    call expect('allreduce in place (max)', rc, all(g(1:n) == [((p - 1) * n + i, i = 1, n)]))

    b(1:n) = a(1:n)
    call MPI_Allreduce(MPI_IN_PLACE, BUF(b), n, MPI_INTEGER, countop, comm, rc)
    made(kAllreduce) = made(kAllreduce) + 1
    call expect('allreduce in place (user op)', rc, all(b(1:n) == [(p * (i + it) + p * (p - 1) / 2, i = 1, n)]))

    g(1:n * p) = -1
    call MPI_Allgather(BUF(a), n, MPI_INTEGER, BUF(g), n, MPI_INTEGER, comm, rc)
    made(kAllgather) = made(kAllgather) + 1
    good = .true.
    do r = 0, p - 1
      good = good .and. all(g(r * n + 1:r * n + n) == [(r + i + it, i = 1, n)])
    end do
    call expect('allgather', rc, good)

    g(1:n * p) = -1
    g(me * n + 1:me * n + n) = a(1:n)
    call MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, BUF(g), n, MPI_INTEGER, comm, rc)
    made(kAllgather) = made(kAllgather) + 1
    good = .true.
    do r = 0, p - 1
      good = good .and. all(g(r * n + 1:r * n + n) == [(r + i + it, i = 1, n)])
    end do
    call expect('allgather in place', rc, good)

    ! Block j of rank s for rank d: 1000000 * s + 10000 * d + j + it.
    m = max(1, n / 8)
    do r = 0, p - 1
      t_in(r * m + 1:r * m + m) = [(1000000 * me + 10000 * r + j + it, j = 1, m)]
    end do
    t_out(1:m * p) = -1
    call MPI_Alltoall(BUF(t_in), m, MPI_INTEGER, BUF(t_out), m, MPI_INTEGER, comm, rc)
    made(kAlltoall) = made(kAlltoall) + 1
    good = .true.
    do r = 0, p - 1
      good = good .and. all(t_out(r * m + 1:r * m + m) == [(1000000 * r + 10000 * me + j + it, j = 1, m)])
    end do
    call expect('alltoall', rc, good)
  end subroutine run_all

end program coll_fortran

/* One-sided MPI with known operation counts per rank (test_onesided.sh): fence epochs with
 * put/get/accumulate, passive-target lock/unlock with fetch_and_op and compare_and_swap, an
 * allocated window with lock_all/flush and request-based rput/rget, and a post/start/complete/wait
 * epoch. Prints results from rank 0 only. */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int right = (rank + 1) % size;
  int buf[16] = {0};
  MPI_Win win;
  MPI_Win_create(buf, sizeof(buf), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &win);  /* 64 B */
  int mine[4] = {rank, rank + 1, rank + 2, rank + 3}, got[4] = {0};
  for (int round = 0; round < 3; round++) { /* 3 x (fence, put, fence, get, accumulate, fence) */
    MPI_Win_fence(0, win);
    MPI_Put(mine, 4, MPI_INT, right, 0, 4, MPI_INT, win);
    MPI_Win_fence(0, win);
    MPI_Get(got, 4, MPI_INT, right, 0, 4, MPI_INT, win);
    MPI_Accumulate(mine, 4, MPI_INT, right, 4, 4, MPI_INT, MPI_SUM, win);
    MPI_Win_fence(0, win);
  }
  int one = 1, old = -1, cmp = 0, newv = 7, res = -1;
  MPI_Win_lock(MPI_LOCK_EXCLUSIVE, right, 0, win);
  MPI_Fetch_and_op(&one, &old, MPI_INT, right, 8, MPI_SUM, win);
  MPI_Compare_and_swap(&newv, &cmp, &res, MPI_INT, right, 9, win);
  MPI_Win_unlock(right, win);
  MPI_Barrier(MPI_COMM_WORLD);
  int snapshot[16];
  MPI_Win_lock(MPI_LOCK_SHARED, rank, 0, win);
  for (int i = 0; i < 16; i++) snapshot[i] = buf[i];
  MPI_Win_unlock(rank, win);
  MPI_Win_free(&win);

  int *base = NULL;
  MPI_Win w2;
  MPI_Win_allocate(8 * sizeof(int), sizeof(int), MPI_INFO_NULL, MPI_COMM_WORLD, &base, &w2); /* 32 B */
  for (int i = 0; i < 8; i++) base[i] = 100 * rank + i;
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Win_lock_all(0, w2);
  MPI_Request rq[2];
  int r8[2] = {0}, w8[2] = {rank, -rank};
  MPI_Rget(r8, 2, MPI_INT, right, 0, 2, MPI_INT, w2, &rq[0]);
  MPI_Wait(&rq[0], MPI_STATUS_IGNORE);
  MPI_Rput(w8, 2, MPI_INT, right, 6, 2, MPI_INT, w2, &rq[1]);
  MPI_Wait(&rq[1], MPI_STATUS_IGNORE);
  MPI_Win_flush(right, w2);
  MPI_Win_flush_all(w2);
  MPI_Win_unlock_all(w2);
  MPI_Barrier(MPI_COMM_WORLD);
  MPI_Group world, peer;
  MPI_Comm_group(MPI_COMM_WORLD, &world);
  int left = (rank + size - 1) % size;
  MPI_Group_incl(world, 1, &left, &peer);
  MPI_Group target;
  MPI_Group_incl(world, 1, &right, &target);
  MPI_Win_post(peer, 0, w2);       /* exposes to the left neighbour */
  MPI_Win_start(target, 0, w2);    /* accesses the right neighbour */
  int z = 1000 + rank;
  MPI_Put(&z, 1, MPI_INT, right, 5, 1, MPI_INT, w2);
  MPI_Win_complete(w2);
  MPI_Win_wait(w2);
  int after[8];
  MPI_Win_lock(MPI_LOCK_SHARED, rank, 0, w2);
  for (int i = 0; i < 8; i++) after[i] = base[i];
  MPI_Win_unlock(rank, w2);
  MPI_Group_free(&peer);
  MPI_Group_free(&target);
  MPI_Group_free(&world);
  MPI_Win_free(&w2);

  int all[64 * 2];
  int row[2] = {snapshot[4] + snapshot[8] + snapshot[9] + got[0], r8[0] + after[5] + after[6]};
  MPI_Gather(row, 2, MPI_INT, all, 2, MPI_INT, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    printf("onesided: size=%d old=%d res=%d", size, old, res);
    for (int i = 0; i < 2 * size; i++) printf(" %d", all[i]);
    printf("\n");
  }
  MPI_Finalize();
  return 0;
}

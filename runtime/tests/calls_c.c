/* calls_c.c: a deterministic C MPI program with known per-rank call counts (test_calls_c.sh). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm w = MPI_COMM_WORLD;
  int rank, size;
  MPI_Comm_rank(w, &rank);
  MPI_Comm_size(w, &size);
  long check = 0;

  /* 7 allreduces of one double, 1 in place of 4 ints */
  double x = rank + 1, y = 0;
  for (int i = 0; i < 7; i++) {
    MPI_Allreduce(&x, &y, 1, MPI_DOUBLE, MPI_SUM, w);
    check += (long)y;
  }
  int v[4] = {rank, 1, 2, 3};
  MPI_Allreduce(MPI_IN_PLACE, v, 4, MPI_INT, MPI_SUM, w);
  check += v[0] + v[1];

  /* ring: 3 x (Irecv, Isend, Waitall) */
  int right = (rank + 1) % size, left = (rank - 1 + size) % size;
  for (int i = 0; i < 3; i++) {
    int s = rank * 10 + i, r = -1;
    MPI_Request q[2];
    MPI_Irecv(&r, 1, MPI_INT, left, i, w, &q[0]);
    MPI_Isend(&s, 1, MPI_INT, right, i, w, &q[1]);
    MPI_Waitall(2, q, MPI_STATUSES_IGNORE);
    check += r;
  }

  /* rank 0 sends 16 doubles to every other rank */
  double buf[16];
  for (int i = 0; i < 16; i++) buf[i] = rank == 0 ? i : -1;
  if (rank == 0) {
    for (int d = 1; d < size; d++) MPI_Send(buf, 16, MPI_DOUBLE, d, 99, w);
  } else {
    MPI_Recv(buf, 16, MPI_DOUBLE, 0, 99, w, MPI_STATUS_IGNORE);
  }
  check += (long)buf[15];

  /* 2 Sendrecv around the ring */
  for (int i = 0; i < 2; i++) {
    int s = rank, r = -1;
    MPI_Sendrecv(&s, 1, MPI_INT, right, 7, &r, 1, MPI_INT, left, 7, w, MPI_STATUS_IGNORE);
    check += r;
  }

  /* Wait x2, then Test / Testall / Waitany on the completed (null) requests */
  MPI_Request rq[2];
  int s50 = rank, r50 = -1, flag = 0, idx = 0;
  MPI_Irecv(&r50, 1, MPI_INT, left, 50, w, &rq[0]);
  MPI_Isend(&s50, 1, MPI_INT, right, 50, w, &rq[1]);
  MPI_Wait(&rq[0], MPI_STATUS_IGNORE);
  MPI_Wait(&rq[1], MPI_STATUS_IGNORE);
  MPI_Test(&rq[0], &flag, MPI_STATUS_IGNORE);
  MPI_Testall(2, rq, &flag, MPI_STATUSES_IGNORE);
  MPI_Waitany(2, rq, &idx, MPI_STATUS_IGNORE);
  check += r50 + flag;

  /* every blocking collective once (Bcast twice) */
  int* counts = malloc(sizeof(int) * size);
  int* displs = malloc(sizeof(int) * size);
  int* all = malloc(sizeof(int) * size);
  int* all2 = malloc(sizeof(int) * size);
  for (int i = 0; i < size; i++) { counts[i] = 1; displs[i] = i; all[i] = rank * 100 + i; }
  int five[5] = {rank, rank, rank, rank, rank}, one = rank + 1, got = 0;
  MPI_Barrier(w);
  MPI_Bcast(five, 5, MPI_INT, 0, w);
  MPI_Bcast(&x, 1, MPI_DOUBLE, 0, w);
  MPI_Reduce(&one, &got, 1, MPI_INT, MPI_SUM, 0, w);
  check += rank == 0 ? got : 0;
  MPI_Gather(&one, 1, MPI_INT, all2, 1, MPI_INT, 0, w);
  MPI_Gatherv(&one, 1, MPI_INT, all2, counts, displs, MPI_INT, 0, w);
  MPI_Scatter(all, 1, MPI_INT, &got, 1, MPI_INT, 0, w);
  check += got;
  MPI_Scatterv(all, counts, displs, MPI_INT, &got, 1, MPI_INT, 0, w);
  MPI_Allgather(&one, 1, MPI_INT, all2, 1, MPI_INT, w);
  MPI_Allgatherv(&one, 1, MPI_INT, all2, counts, displs, MPI_INT, w);
  MPI_Alltoall(all, 1, MPI_INT, all2, 1, MPI_INT, w);
  check += all2[0];
  MPI_Alltoallv(all, counts, displs, MPI_INT, all2, counts, displs, MPI_INT, w);
  MPI_Reduce_scatter(all, &got, counts, MPI_INT, MPI_SUM, w);
  MPI_Reduce_scatter_block(all, &got, 1, MPI_INT, MPI_SUM, w);
  check += got;
  MPI_Scan(&one, &got, 1, MPI_INT, MPI_SUM, w);
  MPI_Exscan(&one, &got, 1, MPI_INT, MPI_SUM, w);

  /* every non-blocking collective once, completed by one Waitall */
  MPI_Request nb[16];
  int a[16][8];
  MPI_Ibarrier(w, &nb[0]);
  MPI_Ibcast(five, 5, MPI_INT, 0, w, &nb[1]);
  MPI_Ireduce(&one, a[2], 1, MPI_INT, MPI_SUM, 0, w, &nb[2]);
  MPI_Iallreduce(&one, a[3], 1, MPI_INT, MPI_SUM, w, &nb[3]);
  int* g1 = malloc(sizeof(int) * size * 8);
  int* g2 = malloc(sizeof(int) * size * 8);
  int* g3 = malloc(sizeof(int) * size * 8);
  int* g4 = malloc(sizeof(int) * size * 8);
  int* g5 = malloc(sizeof(int) * size * 8);
  int* g6 = malloc(sizeof(int) * size * 8);
  MPI_Igather(&one, 1, MPI_INT, g1, 1, MPI_INT, 0, w, &nb[4]);
  MPI_Igatherv(&one, 1, MPI_INT, g2, counts, displs, MPI_INT, 0, w, &nb[5]);
  MPI_Iscatter(all, 1, MPI_INT, a[6], 1, MPI_INT, 0, w, &nb[6]);
  MPI_Iscatterv(all, counts, displs, MPI_INT, a[7], 1, MPI_INT, 0, w, &nb[7]);
  MPI_Iallgather(&one, 1, MPI_INT, g3, 1, MPI_INT, w, &nb[8]);
  MPI_Iallgatherv(&one, 1, MPI_INT, g4, counts, displs, MPI_INT, w, &nb[9]);
  MPI_Ialltoall(all, 1, MPI_INT, g5, 1, MPI_INT, w, &nb[10]);
  MPI_Ialltoallv(all, counts, displs, MPI_INT, g6, counts, displs, MPI_INT, w, &nb[11]);
  MPI_Ireduce_scatter(all, a[12], counts, MPI_INT, MPI_SUM, w, &nb[12]);
  MPI_Ireduce_scatter_block(all, a[13], 1, MPI_INT, MPI_SUM, w, &nb[13]);
  MPI_Iscan(&one, a[14], 1, MPI_INT, MPI_SUM, w, &nb[14]);
  MPI_Iexscan(&one, a[15], 1, MPI_INT, MPI_SUM, w, &nb[15]);
  MPI_Waitall(16, nb, MPI_STATUSES_IGNORE);
  check += a[3][0] + a[12][0] + a[14][0];

  /* communicators: dup, split, create; a derived type (Bcast of 12 bytes) */
  MPI_Comm dup, half, made;
  MPI_Group group;
  MPI_Comm_dup(w, &dup);
  MPI_Comm_split(w, rank % 2, rank, &half);
  int hrank;
  MPI_Comm_rank(half, &hrank);
  double hx = 1, hy = 0;
  MPI_Allreduce(&hx, &hy, 1, MPI_DOUBLE, MPI_SUM, half);
  check += (long)hy * 1000 + hrank;
  MPI_Comm_group(w, &group);
  MPI_Comm_create(w, group, &made);
  MPI_Group_free(&group);
  MPI_Datatype three;
  MPI_Type_contiguous(3, MPI_INT, &three);
  MPI_Type_commit(&three);
  MPI_Bcast(five, 1, three, 0, made);
  MPI_Type_free(&three);
  MPI_Comm_free(&made);
  MPI_Comm_free(&half);
  MPI_Comm_free(&dup);

  long total = 0;
  MPI_Reduce(&check, &total, 1, MPI_LONG, MPI_SUM, 0, w);
  if (rank == 0) printf("calls_c: %d ranks, checksum %ld\n", size, total);
  free(counts); free(displs); free(all); free(all2);
  free(g1); free(g2); free(g3); free(g4); free(g5); free(g6);
  MPI_Finalize();
  return 0;
}

/* Persistent requests (a 1-D halo exchange: send_init/recv_init once, startall + waitall 50 times),
 * MPI_Start, neighbourhood collectives on a periodic Cartesian topology, and MPI_Alltoallw, with
 * known counts per rank (test_onesided.sh). Prints from rank 0 only. */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int left = (rank + size - 1) % size, right = (rank + 1) % size;
  double halo_out[2][32], halo_in[2][32];
  MPI_Request req[4];
  MPI_Send_init(halo_out[0], 32, MPI_DOUBLE, left, 1, MPI_COMM_WORLD, &req[0]);
  MPI_Send_init(halo_out[1], 32, MPI_DOUBLE, right, 2, MPI_COMM_WORLD, &req[1]);
  MPI_Recv_init(halo_in[0], 32, MPI_DOUBLE, right, 1, MPI_COMM_WORLD, &req[2]);
  MPI_Recv_init(halo_in[1], 32, MPI_DOUBLE, left, 2, MPI_COMM_WORLD, &req[3]);
  double acc = 0;
  for (int it = 0; it < 50; it++) {
    for (int i = 0; i < 32; i++) halo_out[0][i] = halo_out[1][i] = rank * 1000 + it + i;
    MPI_Startall(4, req);
    MPI_Waitall(4, req, MPI_STATUSES_IGNORE);
    acc += halo_in[0][it % 32] + halo_in[1][31 - it % 32];
  }
  MPI_Request single;
  int token = rank, back = -1;
  MPI_Recv_init(&back, 1, MPI_INT, left, 3, MPI_COMM_WORLD, &single);
  MPI_Start(&single);
  MPI_Send(&token, 1, MPI_INT, right, 3, MPI_COMM_WORLD);
  MPI_Wait(&single, MPI_STATUS_IGNORE);
  MPI_Request_free(&single);
  for (int i = 0; i < 4; i++) MPI_Request_free(&req[i]);

  MPI_Comm ring;
  int dims[1] = {size}, periods[1] = {1};
  MPI_Cart_create(MPI_COMM_WORLD, 1, dims, periods, 0, &ring);
  int nb_out[2] = {rank, rank + 10}, nb_in[2] = {-1, -1}, g_in[2] = {-1, -1};
  MPI_Neighbor_alltoall(nb_out, 1, MPI_INT, nb_in, 1, MPI_INT, ring);
  MPI_Neighbor_allgather(&rank, 1, MPI_INT, g_in, 1, MPI_INT, ring);
  MPI_Comm_free(&ring);

  int sc[64], sd[64], rc[64], rd[64], sv[64], rv[64];
  MPI_Datatype ty[64];
  for (int i = 0; i < size; i++) {
    sc[i] = rc[i] = 1;
    sd[i] = rd[i] = i * (int)sizeof(int);
    ty[i] = MPI_INT;
    sv[i] = rank * 100 + i;
  }
  MPI_Alltoallw(sv, sc, sd, ty, rv, rc, rd, ty, MPI_COMM_WORLD);
  int sum = 0;
  for (int i = 0; i < size; i++) sum += rv[i];
  double row[5] = {acc, back, nb_in[0] + nb_in[1], g_in[0] + g_in[1], sum}, all[5 * 64];
  MPI_Gather(row, 5, MPI_DOUBLE, all, 5, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    printf("persistent: size=%d", size);
    for (int i = 0; i < 5 * size; i++) printf(" %.0f", all[i]);
    printf("\n");
  }
  MPI_Finalize();
  return 0;
}

/* Vector IO, mmap and stdio with known counts and bytes per rank (test_vecio.sh): writev x10 of
 * 3 iovecs (300 B each), pwritev x2 (300 B), readv x10, preadv x2, mmap of 3000 B, then stdio:
 * fopen, fwrite x4 of 256 B, fclose, fopen, fread x4 of 256 B (the 5th returns 0 at end of file),
 * fclose. Each rank its own file in the current directory; rank 0 prints a checksum. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  char path[64], spath[64];
  snprintf(path, sizeof(path), "vecio.%d.dat", rank);
  snprintf(spath, sizeof(spath), "stdio.%d.dat", rank);
  char a[100], b[100], c[100];
  memset(a, 'a' + rank, sizeof(a));
  memset(b, 'b', sizeof(b));
  memset(c, 'c', sizeof(c));
  struct iovec w[3] = {{a, 100}, {b, 100}, {c, 100}};
  int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
  for (int i = 0; i < 10; i++) writev(fd, w, 3);
  pwritev(fd, w, 3, 3000);
  pwritev(fd, w, 3, 3300);
  lseek(fd, 0, SEEK_SET);
  char r1[100], r2[200];
  struct iovec r[2] = {{r1, 100}, {r2, 200}};
  long sum = 0;
  for (int i = 0; i < 10; i++) {
    readv(fd, r, 2);
    sum += r1[0] + r2[199];
  }
  preadv(fd, r, 2, 0);
  preadv(fd, r, 2, 3300);
  char *m = mmap(NULL, 3000, PROT_READ, MAP_SHARED, fd, 0);
  if (m != MAP_FAILED) {
    sum += m[0] + m[2999];
    munmap(m, 3000);
  }
  close(fd);
  unlink(path);
  char blk[256];
  memset(blk, 'x', sizeof(blk));
  FILE *f = fopen(spath, "w");
  for (int i = 0; i < 4; i++) fwrite(blk, 1, sizeof(blk), f);
  fclose(f);
  f = fopen(spath, "r");
  size_t got = 0;
  while (fread(blk, 256, 1, f) == 1) got++;
  fclose(f);
  unlink(spath);
  long total = 0;
  MPI_Reduce(&sum, &total, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
  if (rank == 0) printf("vecio: sum=%ld stdio_blocks=%zu\n", total, got);
  MPI_Finalize();
  return 0;
}

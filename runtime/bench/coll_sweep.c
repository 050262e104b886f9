/* coll_sweep: latency of MPI_Allreduce, MPI_Bcast, MPI_Allgather, MPI_Alltoall, MPI_Reduce
 * (doubles, sum) and MPI_Barrier per message size, 8 B .. MAX bytes in powers of 4 (powers of 2
 * with -2), MAX itself always included. Each size runs ITERS calls, more for small sizes: ITERS x
 * SCALE/bytes when that is larger (default SCALE 8192: an 8 B call runs 1024 x ITERS times, so that
 * sub-microsecond latencies are averaged over ~10 ms, not ~10 us; -s 0 turns the scaling off); the
 * reported time is the mean of the last half (the tuner explores in the first calls), max over
 * ranks, in microseconds. Under
 * PARACLOUD_TUNE=auto the runtime tunes every (collective, size) key: this is also the sweep
 * `paracloud tune bench` runs (runtime/bench/coll_bench.sh compares configurations with it).
 * Output: one comment line, then "COLLECTIVE BYTES US" per size (barrier: BYTES 0).
 *   coll_sweep [-i ITERS] [-s SCALE] [-m MAX_BYTES] [-c allreduce,bcast,...] [-2] */
#include <errno.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *names[] = {"allreduce", "bcast", "allgather", "alltoall", "reduce", "barrier"};

/* A positive integer option in [lo, hi], else a usage error on rank 0 and exit status 2. */
static long number(const char *opt, const char *v, long lo, long hi, int rank) {
  char *end = NULL;
  errno = 0;
  long n = strtol(v, &end, 10);
  if (errno || end == v || *end || n < lo || n > hi) {
    if (rank == 0)
      fprintf(stderr, "coll_sweep: -%s '%s' is not an integer in [%ld, %ld]\n", opt, v, lo, hi);
    MPI_Finalize();
    exit(2);
  }
  return n;
}

/* Whether NAME is one of the comma-separated LIST (whole items: "allreduce" does not select
 * reduce). */
static int listed(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *p = list; *p;) {
    const char *end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len == n && !strncmp(p, name, n)) return 1;
    if (!end) break;
    p = end + 1;
  }
  return 0;
}

static void run(int c, void *a, void *b, int count, int p) {
  switch (c) {
    case 0:
      MPI_Allreduce(a, b, count, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
      break;
    case 1:
      MPI_Bcast(a, count, MPI_DOUBLE, 0, MPI_COMM_WORLD);
      break;
    case 2:
      MPI_Allgather(a, count / p > 0 ? count / p : 1, MPI_DOUBLE, b, count / p > 0 ? count / p : 1,
                    MPI_DOUBLE, MPI_COMM_WORLD);
      break;
    case 3:
      MPI_Alltoall(a, count / p > 0 ? count / p : 1, MPI_DOUBLE, b, count / p > 0 ? count / p : 1,
                   MPI_DOUBLE, MPI_COMM_WORLD);
      break;
    case 4:
      MPI_Reduce(a, b, count, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
      break;
    default:
      MPI_Barrier(MPI_COMM_WORLD);
  }
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank, p, iters = 40, step = 4, opt;
  long max = 16L << 20, scale = 8192;
  char colls[256] = "allreduce,bcast,allgather,alltoall,reduce,barrier";
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &p);
  while ((opt = getopt(argc, argv, "i:s:m:c:2")) != -1) {
    if (opt == 'i')
      iters = (int)number("i", optarg, 1, 1000000, rank);
    else if (opt == 's')
      scale = number("s", optarg, 0, 1L << 30, rank);
    else if (opt == 'm')
      max = number("m", optarg, 8, 1L << 30, rank);
    else if (opt == 'c')
      snprintf(colls, sizeof(colls), "%s", optarg);
    else if (opt == '2')
      step = 2;
    else {
      if (rank == 0)
        fprintf(stderr,
                "usage: coll_sweep [-i ITERS] [-s SCALE] [-m MAX_BYTES] [-c "
                "allreduce,bcast,allgather,alltoall,reduce,barrier] [-2]\n");
      MPI_Finalize();
      return 2;
    }
  }
  int known = 0;
  for (int c = 0; c < 6; c++) known += listed(colls, names[c]);
  if (!known) {
    if (rank == 0)
      fprintf(
          stderr,
          "coll_sweep: -c '%s' names none of allreduce,bcast,allgather,alltoall,reduce,barrier\n",
          colls);
    MPI_Finalize();
    return 2;
  }
  /* Buffers for the largest case: alltoall/allgather receive p blocks of count/p doubles. */
  size_t cap = (size_t)(max / 8 + p) * sizeof(double) * 2;
  double *a = malloc(cap), *b = malloc(cap);
  for (size_t i = 0; i < cap / sizeof(double); i++) a[i] = rank + 1, b[i] = 0;
  if (rank == 0)
    printf("# coll_sweep: %d ranks, %d calls per size (x %ld/bytes when larger), mean of the last "
           "half, max over ranks (us)\n",
           p, iters, scale);
  for (int c = 0; c < 6; c++) {
    if (!listed(colls, names[c])) continue;
    for (long bytes = 8; bytes <= max;
         bytes = bytes * step > max && bytes < max ? max : bytes * step) {
      if (c == 5 && bytes > 8) break;
      int count = (int)(bytes / 8);
      /* The same number of calls on every rank (it depends on the size only). */
      long n = scale / bytes > 1 ? (long)iters * (scale / bytes) : iters;
      if (n > 100000000L) n = 100000000L;
      double t = 0;
      for (long it = 0; it < n; it++) {
        double t0 = MPI_Wtime();
        run(c, a, b, count, p);
        if (it >= n / 2) t += MPI_Wtime() - t0;
      }
      t /= (double)(n - n / 2);
      double tmax = 0;
      PMPI_Allreduce(&t, &tmax, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
      if (rank == 0) {
        printf("%s %ld %.3f\n", names[c], c == 5 ? 0 : bytes, tmax * 1e6);
        fflush(stdout); /* progress for `paracloud tune bench` */
      }
    }
  }
  free(a);
  free(b);
  MPI_Finalize();
  return 0;
}

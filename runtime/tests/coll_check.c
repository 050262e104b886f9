/* Collective checks for the tuner's algorithm library (runtime/coll): every result is compared with
 * the value computed here from every rank's inputs, on MPI_COMM_WORLD, a split and a dup.
 *   coll_check correct          results of allreduce/reduce/bcast/allgather/alltoall/barrier for
 *                               counts 0, 1, 7, 65537 x types x ops, in place and not
 *   coll_check fp COUNT         per-rank fingerprint (calls, elements) of a counting user op in one
 *                               MPI_Allreduce and one MPI_Reduce (root 0) of COUNT ints
 *   coll_check loop ITERS       ITERS rounds of allreduce (16 B with the counting op, 64 KiB doubles),
 *                               bcast, allgather, barrier; prints how many distinct allreduce
 *                               fingerprints rank 0 saw and checks every result
 *   coll_check sub ITERS        the loop on a communicator of world ranks 1..p-1 (world rank 0
 *                               makes no collective call)
 *   coll_check handles          8 B allreduce, bcast, reduce, allgather, barrier on MPI_COMM_WORLD,
 *                               then prints the Fortran handle of a new MPI_Comm_dup: it tells how
 *                               many communicators were created before (by the tuner)
 *   coll_check threads COUNT    as fp, under MPI_Init_thread(MPI_THREAD_MULTIPLE)
 *   coll_check record ITERS     steady-state profile accounting: ITERS 8 B allreduces on
 *                               MPI_COMM_WORLD; ITERS/2 8 B allreduces on a dup, freed, then
 *                               ITERS/2 4 B allreduces on a new dup (Open MPI may reuse the handle);
 *                               ITERS 4 B allreduces on MPI_COMM_SELF; ITERS 8 B bcasts with 3
 *                               failing ones (invalid root, MPI_ERRORS_RETURN) among them; prints
 *                               the seconds its allreduce and bcast loops took to stderr
 * Exit status 0 when every check passed; failures are printed by the rank that saw them. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long long g_calls, g_elems;
static int g_fail, g_checks;

/* Commutative counting op: integer sum that counts its calls and elements on this rank. */
static void count_sum(void *in, void *inout, int *len, MPI_Datatype *dt) {
  (void)dt;
  g_calls++;
  g_elems += *len;
  for (int i = 0; i < *len; i++) ((int *)inout)[i] += ((int *)in)[i];
}

static void fail(MPI_Comm comm, const char *what, int count, int i, double got, double want) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  if (g_fail < 10)
    printf("FAIL: %s size=%d rank=%d count=%d element %d: got %.17g, want %.17g\n", what, size,
           rank, count, i, got, want);
  g_fail++;
}

/* Inputs: rank r's element i. Small integers, so that every reduction order gives exact results. */
static int ival(int r, int i) { return (r + 1) * (i % 13 + 1) - (i % 3 == 0 ? 5 * r : 0); }
static double dval(int r, int i) { return (double)ival(r, i) * 0.5; }

enum { OP_SUM, OP_MAX, OP_BAND, OP_USER, OP_MINLOC };
static const char *op_names[] = {"sum", "max", "band", "user", "minloc"};

typedef struct {
  double d;
  int i;
} dint;

static void check_reduction(MPI_Comm comm, MPI_Op user, int count, int opk, int is_double,
                            int all, int root, int in_place) {
  int rank, p;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &p);
  MPI_Op op = opk == OP_SUM ? MPI_SUM : opk == OP_MAX ? MPI_MAX : opk == OP_BAND ? MPI_BAND
            : opk == OP_USER ? user : MPI_MINLOC;
  MPI_Datatype dt = opk == OP_MINLOC ? MPI_DOUBLE_INT : is_double ? MPI_DOUBLE : MPI_INT;
  size_t esz = opk == OP_MINLOC ? sizeof(dint) : is_double ? sizeof(double) : sizeof(int);
  char *sbuf = malloc(esz * (count + 1)), *rbuf = malloc(esz * (count + 1));
  for (int i = 0; i < count; i++) {
    if (opk == OP_MINLOC) {
      ((dint *)sbuf)[i].d = (double)((rank * 7 + i) % p);
      ((dint *)sbuf)[i].i = rank;
    } else if (is_double) {
      ((double *)sbuf)[i] = dval(rank, i);
    } else {
      ((int *)sbuf)[i] = opk == OP_BAND ? (ival(rank, i) | 0x100) : ival(rank, i);
    }
  }
  memset(rbuf, 0x5a, esz * (count + 1));
  const int am_root = all || rank == root;
  if (in_place && am_root) memcpy(rbuf, sbuf, esz * count);
  const void *s = in_place && am_root ? MPI_IN_PLACE : sbuf;
  int rc = all ? MPI_Allreduce(s, rbuf, count, dt, op, comm)
               : MPI_Reduce(s, rbuf, count, dt, op, root, comm);
  char what[96];
  snprintf(what, sizeof(what), "%s %s %s%s", all ? "allreduce" : "reduce", op_names[opk],
           opk == OP_MINLOC ? "double_int" : is_double ? "double" : "int",
           in_place ? " in_place" : "");
  g_checks++;
  if (rc != MPI_SUCCESS) fail(comm, what, count, -1, rc, MPI_SUCCESS);
  if (am_root) {
    for (int i = 0; i < count; i++) {
      double want = 0, got = 0;
      int want_loc = 0;
      for (int r = 0; r < p; r++) {
        if (opk == OP_MINLOC) {
          double v = (double)((r * 7 + i) % p);
          if (r == 0 || v < want) want = v, want_loc = r;
          continue;
        }
        double v = is_double ? dval(r, i) : opk == OP_BAND ? (ival(r, i) | 0x100) : ival(r, i);
        if (r == 0) want = v;
        else if (opk == OP_SUM || opk == OP_USER) want += v;
        else if (opk == OP_MAX) want = v > want ? v : want;
        else want = (double)((int)want & (int)v);
      }
      if (opk == OP_MINLOC) {
        got = ((dint *)rbuf)[i].d;
        if (((dint *)rbuf)[i].i != want_loc) fail(comm, what, count, i, ((dint *)rbuf)[i].i, want_loc);
      } else {
        got = is_double ? ((double *)rbuf)[i] : ((int *)rbuf)[i];
      }
      if (got != want) {
        fail(comm, what, count, i, got, want);
        break;
      }
    }
  }
  free(sbuf);
  free(rbuf);
}

static void check_bcast(MPI_Comm comm, int count, int pair) {
  int rank, p;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &p);
  const int root = p / 2;
  g_checks++;
  if (pair) {
    dint *b = calloc(count + 1, sizeof(dint));
    for (int i = 0; i < count; i++) b[i].d = rank == root ? i * 0.25 : -1, b[i].i = rank == root ? i : -1;
    MPI_Bcast(b, count, MPI_DOUBLE_INT, root, comm);
    for (int i = 0; i < count; i++)
      if (b[i].d != i * 0.25 || b[i].i != i) { fail(comm, "bcast double_int", count, i, b[i].d, i * 0.25); break; }
    free(b);
  } else {
    char *b = calloc(count + 1, 1);
    for (int i = 0; i < count; i++) b[i] = rank == root ? (char)(i * 7 + 1) : 0;
    MPI_Bcast(b, count, MPI_CHAR, root, comm);
    for (int i = 0; i < count; i++)
      if (b[i] != (char)(i * 7 + 1)) { fail(comm, "bcast char", count, i, b[i], (char)(i * 7 + 1)); break; }
    free(b);
  }
}

static void check_allgather(MPI_Comm comm, int count, int in_place) {
  int rank, p;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &p);
  int *s = malloc(sizeof(int) * (count + 1)), *r = malloc(sizeof(int) * ((size_t)count * p + 1));
  for (int i = 0; i < count; i++) s[i] = rank * 100000 + i;
  for (int i = 0; i < count * p; i++) r[i] = -1;
  if (in_place) memcpy(r + (size_t)rank * count, s, sizeof(int) * count);
  g_checks++;
  MPI_Allgather(in_place ? MPI_IN_PLACE : s, count, MPI_INT, r, count, MPI_INT, comm);
  for (int q = 0; q < p; q++)
    for (int i = 0; i < count; i++)
      if (r[(size_t)q * count + i] != q * 100000 + i) {
        fail(comm, in_place ? "allgather in_place" : "allgather", count, q * count + i,
             r[(size_t)q * count + i], q * 100000 + i);
        q = p;
        break;
      }
  free(s);
  free(r);
}

static void check_alltoall(MPI_Comm comm, int count, int pair) {
  int rank, p;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &p);
  size_t n = (size_t)count * p;
  g_checks++;
  if (pair) {
    dint *s = malloc(sizeof(dint) * (n + 1)), *r = malloc(sizeof(dint) * (n + 1));
    for (size_t k = 0; k < n; k++) s[k].d = rank + 0.5, s[k].i = (int)k;
    MPI_Alltoall(s, count, MPI_DOUBLE_INT, r, count, MPI_DOUBLE_INT, comm);
    for (int q = 0; q < p; q++)
      for (int i = 0; i < count; i++) {
        dint v = r[(size_t)q * count + i];
        if (v.d != q + 0.5 || v.i != rank * count + i) {
          fail(comm, "alltoall double_int", count, q * count + i, v.i, rank * count + i);
          q = p;
          break;
        }
      }
    free(s);
    free(r);
    return;
  }
  int *s = malloc(sizeof(int) * (n + 1)), *r = malloc(sizeof(int) * (n + 1));
  for (size_t k = 0; k < n; k++) s[k] = rank * 1000000 + (int)k;
  MPI_Alltoall(s, count, MPI_INT, r, count, MPI_INT, comm);
  for (int q = 0; q < p; q++)
    for (int i = 0; i < count; i++)
      if (r[(size_t)q * count + i] != q * 1000000 + rank * count + i) {
        fail(comm, "alltoall int", count, q * count + i, r[(size_t)q * count + i],
             q * 1000000 + rank * count + i);
        q = p;
        break;
      }
  free(s);
  free(r);
}

static void check_all(MPI_Comm comm, MPI_Op user) {
  static const int counts[] = {0, 1, 7, 65537};
  int p;
  MPI_Comm_size(comm, &p);
  for (unsigned c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
    int n = counts[c];
    for (int opk = OP_SUM; opk <= OP_MINLOC; opk++)
      for (int dbl = 0; dbl <= 1; dbl++) {
        if (dbl && (opk == OP_BAND || opk == OP_USER || opk == OP_MINLOC)) continue;
        for (int in_place = 0; in_place <= 1; in_place++) {
          if (n > 7 && in_place && opk != OP_SUM) continue;  /* keep the large cases few */
          check_reduction(comm, user, n, opk, dbl, 1, 0, in_place);
          check_reduction(comm, user, n, opk, dbl, 0, p - 1, in_place);
        }
      }
    check_bcast(comm, n, 0);
    check_bcast(comm, n, 1);
    check_allgather(comm, n, 0);
    check_allgather(comm, n, 1);
    check_alltoall(comm, n > 7 ? n / 8 : n, 0);
    check_alltoall(comm, n > 7 ? n / 8 : n, 1);
    g_checks++;
    if (MPI_Barrier(comm) != MPI_SUCCESS) fail(comm, "barrier", 0, -1, 1, 0);
  }
}

/* Gathers (calls, elements) of the counting op to rank 0 and prints them per rank. */
static void print_fp(const char *what, int count) {
  int rank, p;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &p);
  long long mine[2] = {g_calls, g_elems}, *all = malloc(sizeof(long long) * 2 * p);
  PMPI_Gather(mine, 2, MPI_LONG_LONG, all, 2, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
  if (rank == 0)
    for (int r = 0; r < p; r++)
      printf("fp %s count=%d rank=%d calls=%lld elems=%lld\n", what, count, r, all[2 * r],
             all[2 * r + 1]);
  free(all);
  g_calls = g_elems = 0;
}

/* ITERS rounds of allreduce (16 B with the counting op, 64 KiB doubles), bcast, allgather, barrier
 * on comm, every result checked; returns how many distinct allreduce fingerprints this rank saw. */
static int loop(MPI_Comm comm, int iters, MPI_Op user) {
  int rank, p;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &p);
  int small_in[4], small_out[4], distinct = 0;
  long long seen[16][2];
  const int big = 8192;
  double *d = malloc(sizeof(double) * big), *e = malloc(sizeof(double) * big);
  int *g = malloc(sizeof(int) * 64 * p);
  for (int it = 0; it < iters; it++) {
    for (int i = 0; i < 4; i++) small_in[i] = rank + i + it;
    long long c0 = g_calls, e0 = g_elems;
    MPI_Allreduce(small_in, small_out, 4, MPI_INT, user, comm);
    long long fp[2] = {g_calls - c0, g_elems - e0};
    int k;
    for (k = 0; k < distinct; k++)
      if (seen[k][0] == fp[0] && seen[k][1] == fp[1]) break;
    if (k == distinct && distinct < 16) seen[distinct][0] = fp[0], seen[distinct][1] = fp[1], distinct++;
    for (int i = 0; i < 4; i++)
      if (small_out[i] != p * (i + it) + p * (p - 1) / 2) { fail(comm, "loop allreduce", 4, i, small_out[i], p * (i + it) + p * (p - 1) / 2); break; }
    for (int i = 0; i < big; i++) d[i] = rank + i;
    MPI_Allreduce(d, e, big, MPI_DOUBLE, MPI_SUM, comm);
    if (e[big - 1] != (double)p * (big - 1) + p * (p - 1) / 2.0) fail(comm, "loop allreduce double", big, big - 1, e[big - 1], (double)p * (big - 1) + p * (p - 1) / 2.0);
    for (int i = 0; i < big; i++) d[i] = rank == 0 ? i + it : -1;
    MPI_Bcast(d, big, MPI_DOUBLE, 0, comm);
    if (d[big - 1] != big - 1 + it) fail(comm, "loop bcast", big, big - 1, d[big - 1], big - 1 + it);
    for (int i = 0; i < 64; i++) g[rank * 64 + i] = rank + it;
    MPI_Allgather(MPI_IN_PLACE, 64, MPI_INT, g, 64, MPI_INT, comm);
    if (g[(p - 1) * 64] != p - 1 + it) fail(comm, "loop allgather", 64, (p - 1) * 64, g[(p - 1) * 64], p - 1 + it);
    MPI_Barrier(comm);
  }
  free(d);
  free(e);
  free(g);
  return distinct;
}

/* coll_check record ITERS (see the top). Every result is checked (once per loop: the last call). */
static void record(int iters) {
  int rank, p;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &p);
  double x = rank + 1, y = 0;
  int xi = rank + 1, yi = 0;
  const double want = p * (p + 1) / 2.0;
  double t_allreduce = 0, t_bcast = 0, t0 = MPI_Wtime();
  for (int i = 0; i < iters; i++) MPI_Allreduce(&x, &y, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  t_allreduce += MPI_Wtime() - t0;
  g_checks++;
  if (y != want) fail(MPI_COMM_WORLD, "record world allreduce", 1, 0, y, want);
  MPI_Comm c;
  MPI_Comm_dup(MPI_COMM_WORLD, &c);
  y = 0;
  t0 = MPI_Wtime();
  for (int i = 0; i < iters / 2; i++) MPI_Allreduce(&x, &y, 1, MPI_DOUBLE, MPI_SUM, c);
  t_allreduce += MPI_Wtime() - t0;
  g_checks++;
  if (y != want) fail(c, "record dup allreduce", 1, 0, y, want);
  MPI_Comm_free(&c);
  MPI_Comm_dup(MPI_COMM_WORLD, &c);
  t0 = MPI_Wtime();
  for (int i = 0; i < iters / 2; i++) MPI_Allreduce(&xi, &yi, 1, MPI_INT, MPI_SUM, c);
  t_allreduce += MPI_Wtime() - t0;
  g_checks++;
  if (yi != (int)want) fail(c, "record second dup allreduce", 1, 0, yi, want);
  MPI_Comm_free(&c);
  t0 = MPI_Wtime();
  for (int i = 0; i < iters; i++) MPI_Allreduce(&xi, &yi, 1, MPI_INT, MPI_SUM, MPI_COMM_SELF);
  t_allreduce += MPI_Wtime() - t0;
  g_checks++;
  if (yi != rank + 1) fail(MPI_COMM_SELF, "record self allreduce", 1, 0, yi, rank + 1);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  int errors = 0;
  t0 = MPI_Wtime();
  for (int i = 0; i < iters; i++) {
    x = rank == 0 ? i : -1;
    MPI_Bcast(&x, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (x != i) fail(MPI_COMM_WORLD, "record bcast", 1, 0, x, i);
    if (i % (iters / 3 + 1) == 7) errors += MPI_Bcast(&x, 1, MPI_DOUBLE, p, MPI_COMM_WORLD) != MPI_SUCCESS;
  }
  t_bcast = MPI_Wtime() - t0;
  fprintf(stderr, "record_seconds rank=%d allreduce=%.9f bcast=%.9f\n", rank, t_allreduce, t_bcast);
  g_checks++;
  if (errors != 3) fail(MPI_COMM_WORLD, "record bcast errors", 1, 0, errors, 3);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
}

int main(int argc, char **argv) {
  int provided = 0;
  if (argc > 1 && !strcmp(argv[1], "threads"))
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  else
    MPI_Init(&argc, &argv);
  int rank, p;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &p);
  MPI_Op user;
  MPI_Op_create(count_sum, 1, &user);
  const char *mode = argc > 1 ? argv[1] : "correct";
  if (!strcmp(mode, "correct")) {
    check_all(MPI_COMM_WORLD, user);
    MPI_Comm half, dup;
    MPI_Comm_split(MPI_COMM_WORLD, rank % 2, p - rank, &half); /* reversed rank order */
    check_all(half, user);
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    check_all(dup, user);
    MPI_Comm_free(&half);
    MPI_Comm_free(&dup);
    /* Communicators freed and created again (Open MPI reuses freed handles), alternating sizes:
       nothing the tuner cached for a freed communicator may serve the next one. */
    for (int k = 0; k < 6; k++) {
      MPI_Comm c;
      if (k % 2) MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &c);
      else MPI_Comm_dup(MPI_COMM_WORLD, &c);
      for (int again = 0; again < 2; again++) {
        check_reduction(c, user, 7, OP_SUM, 0, 1, 0, 0);
        check_reduction(c, user, 7, OP_USER, 0, 1, 0, 0);
        check_reduction(c, user, 7, OP_SUM, 1, 0, 0, 0);
        check_bcast(c, 7, 0);
        check_allgather(c, 7, 0);
        check_alltoall(c, 7, 0);
      }
      MPI_Comm_free(&c);
    }
  } else if (!strcmp(mode, "fp") || !strcmp(mode, "threads")) {
    int count = argc > 2 ? atoi(argv[2]) : 1000;
    int *s = malloc(sizeof(int) * count), *r = malloc(sizeof(int) * count);
    for (int i = 0; i < count; i++) s[i] = rank + i;
    g_calls = g_elems = 0;
    MPI_Allreduce(s, r, count, MPI_INT, user, MPI_COMM_WORLD);
    for (int i = 0; i < count; i++)
      if (r[i] != p * i + p * (p - 1) / 2) { fail(MPI_COMM_WORLD, "fp allreduce", count, i, r[i], p * i + p * (p - 1) / 2); break; }
    print_fp("allreduce", count);
    MPI_Reduce(s, r, count, MPI_INT, user, 0, MPI_COMM_WORLD);
    print_fp("reduce", count);
    free(s);
    free(r);
  } else if (!strcmp(mode, "loop")) {
    const int distinct = loop(MPI_COMM_WORLD, argc > 2 ? atoi(argv[2]) : 50, user);
    if (rank == 0) printf("distinct_allreduce_fingerprints %d\n", distinct);
  } else if (!strcmp(mode, "sub")) {
    MPI_Comm sub;
    MPI_Comm_split(MPI_COMM_WORLD, rank == 0 ? MPI_UNDEFINED : 1, rank, &sub);
    if (sub != MPI_COMM_NULL) {
      loop(sub, argc > 2 ? atoi(argv[2]) : 50, user);
      MPI_Comm_free(&sub);
    }
  } else if (!strcmp(mode, "record")) {
    record(argc > 2 ? atoi(argv[2]) : 100000);
  } else if (!strcmp(mode, "handles")) {
    int x[2] = {rank, 1}, y[2 * 64];
    for (int i = 0; i < 100; i++) {
      MPI_Allreduce(x, y, 2, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
      MPI_Bcast(x, 2, MPI_INT, 0, MPI_COMM_WORLD);
      MPI_Reduce(x, y, 2, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
      MPI_Allgather(x, 2, MPI_INT, y, 2, MPI_INT, MPI_COMM_WORLD);
      MPI_Barrier(MPI_COMM_WORLD);
    }
    MPI_Comm c;
    MPI_Comm_dup(MPI_COMM_WORLD, &c);
    if (rank == 0) printf("new_comm_handle %d\n", (int)MPI_Comm_c2f(c));
    MPI_Comm_free(&c);
  }
  int fails = 0;
  PMPI_Allreduce(&g_fail, &fails, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) printf("coll_check %s: %d checks per rank, %d failures\n", mode, g_checks, fails);
  MPI_Op_free(&user);
  MPI_Finalize();
  return fails ? 1 : 0;
}

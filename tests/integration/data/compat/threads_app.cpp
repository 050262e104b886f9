// A C++ program with std::thread and MPI_THREAD_MULTIPLE: four threads per rank, each with its own
// duplicated communicator, run collectives and point-to-point concurrently.
#include <mpi.h>

#include <cstdio>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  if (provided != MPI_THREAD_MULTIPLE) {
    std::printf("threads: MPI_THREAD_MULTIPLE not provided (%d)\n", provided);
    MPI_Finalize();
    return 0;
  }
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int nthreads = 4;
  std::vector<MPI_Comm> comms(nthreads);
  for (auto& c : comms) MPI_Comm_dup(MPI_COMM_WORLD, &c);
  std::vector<long> result(nthreads, 0);
  std::vector<std::thread> pool;
  for (int t = 0; t < nthreads; t++) {
    pool.emplace_back([&, t] {
      long acc = 0;
      std::vector<int> a(512), s(512);
      for (int it = 0; it < 200; it++) {
        for (int i = 0; i < 512; i++) a[i] = i + rank + t + it;
        MPI_Allreduce(a.data(), s.data(), 512, MPI_INT, MPI_SUM, comms[t]);
        acc += s[it % 512];
        int tok = rank * 100 + t, got = -1;
        MPI_Sendrecv(&tok, 1, MPI_INT, (rank + 1) % size, t, &got, 1, MPI_INT,
                     (rank + size - 1) % size, t, comms[t], MPI_STATUS_IGNORE);
        acc += got;
        int b = it;
        MPI_Bcast(&b, 1, MPI_INT, it % size, comms[t]);
        acc += b;
      }
      result[t] = acc;
    });
  }
  for (auto& th : pool) th.join();
  for (auto& c : comms) MPI_Comm_free(&c);
  std::vector<long> all(static_cast<size_t>(nthreads) * size);
  MPI_Gather(result.data(), nthreads, MPI_LONG, all.data(), nthreads, MPI_LONG, 0, MPI_COMM_WORLD);
  if (rank == 0) {
    std::printf("threads: ranks=%d", size);
    for (long v : all) std::printf(" %ld", v);
    std::printf("\n");
  }
  MPI_Finalize();
  return 0;
}

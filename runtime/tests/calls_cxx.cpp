// calls_cxx.cpp: a deterministic C++ MPI program with known per-rank call counts
// (test_calls_cxx.sh).
#include <mpi.h>

#include <cstdio>
#include <numeric>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);

  std::vector<double> v(1000, rank == 0 ? 1.5 : 0.0);  // 8000 bytes
  for (int i = 0; i < 4; i++)
    MPI_Bcast(v.data(), static_cast<int>(v.size()), MPI_DOUBLE, 0, MPI_COMM_WORLD);

  std::vector<long> mine(3, rank + 1), all(3 * static_cast<size_t>(size));
  MPI_Allgather(mine.data(), 3, MPI_LONG, all.data(), 3, MPI_LONG, MPI_COMM_WORLD);

  const int right = (rank + 1) % size, left = (rank - 1 + size) % size;
  std::vector<int> out(64, rank), in(64, -1);
  for (int i = 0; i < 5; i++)
    MPI_Sendrecv(out.data(), 64, MPI_INT, right, i, in.data(), 64, MPI_INT, left, i, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);

  // Three threads, 1000 MPI_Comm_rank each: every thread's counters must reach the profile.
  std::vector<std::thread> threads;
  std::vector<int> seen(3, -1);
  if (provided >= MPI_THREAD_MULTIPLE) {
    for (int t = 0; t < 3; t++)
      threads.emplace_back([t, &seen] {
        for (int i = 0; i < 1000; i++) MPI_Comm_rank(MPI_COMM_WORLD, &seen[static_cast<size_t>(t)]);
      });
    for (auto& t : threads) t.join();
  }

  double local = seen[2] + std::accumulate(v.begin(), v.end(), 0.0) +
                 std::accumulate(all.begin(), all.end(), 0L) + in[0];
  double total = 0;
  MPI_Reduce(&local, &total, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
  if (rank == 0)
    std::printf("calls_cxx: %d ranks, MPI_THREAD_MULTIPLE %d, total %.1f\n", size,
                provided >= MPI_THREAD_MULTIPLE, total);
  MPI_Finalize();
  return 0;
}

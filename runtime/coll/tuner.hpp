// The online collective tuner's entry points: the tuned dispatch the generated C wrappers call
// (spec attribute `tune`), and the session hooks (after PMPI_Init, before PMPI_Finalize).
#pragma once
#include "../mpi_helpers.hpp"

namespace pc {

// True while tuned dispatch is on (PARACLOUD_TUNE=auto, MPI up, not MPI_THREAD_MULTIPLE).
extern std::atomic<bool> g_tune_on;
PC_HOT bool tune_on() { return g_tune_on.load(std::memory_order_relaxed); }

// One per collective with `tune` in mpi.spec: `real` is the library's PMPI_X, the rest are the
// application's arguments. Any call the tuner does not handle goes to `real` unchanged.
int tuned_MPI_Allreduce(decltype(&PMPI_Allreduce) real, const void* sbuf, void* rbuf, int count,
                        MPI_Datatype dt, MPI_Op op, MPI_Comm comm);
int tuned_MPI_Bcast(decltype(&PMPI_Bcast) real, void* buf, int count, MPI_Datatype dt, int root,
                    MPI_Comm comm);
int tuned_MPI_Allgather(decltype(&PMPI_Allgather) real, const void* sbuf, int scount,
                        MPI_Datatype stype, void* rbuf, int rcount, MPI_Datatype rtype,
                        MPI_Comm comm);
int tuned_MPI_Alltoall(decltype(&PMPI_Alltoall) real, const void* sbuf, int scount,
                       MPI_Datatype stype, void* rbuf, int rcount, MPI_Datatype rtype,
                       MPI_Comm comm);
int tuned_MPI_Reduce(decltype(&PMPI_Reduce) real, const void* sbuf, void* rbuf, int count,
                     MPI_Datatype dt, MPI_Op op, int root, MPI_Comm comm);
int tuned_MPI_Barrier(decltype(&PMPI_Barrier) real, MPI_Comm comm);

}  // namespace pc

// Barrier over PMPI: dissemination (ceil(log2 p) rounds of zero-byte exchanges, any size).
#include "coll.hpp"

namespace pc {
namespace coll {

int barrier_dissemination(const Args& a) {
  const int p = a.ci->size, rank = a.ci->rank;
  char dummy = 0;
  for (int k = 1; k < p; k <<= 1) {
    const int rc = P.sendrecv(&dummy, 0, g_mpi.chr, (rank + k) % p, kTag, &dummy, 0, g_mpi.chr,
                              (rank - k + p) % p, kTag, a.ci->comm, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) return rc;
  }
  return MPI_SUCCESS;
}

}  // namespace coll
}  // namespace pc

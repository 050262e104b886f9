// Alltoall algorithms over PMPI: pairwise exchange (any types) and Bruck (send type and count
// equal to the receive ones, see registry.cpp).
#include <string.h>

#include "coll.hpp"

namespace pc {
namespace coll {

int alltoall_pairwise(const Args& a) {
  const int p = a.ci->size, rank = a.ci->rank;
  for (int step = 0; step < p; step++) {
    const int dst = (rank + step) % p, src = (rank - step + p) % p;
    const int rc =
        P.sendrecv(at(a.sbuf, 1L * dst * a.scount, a.sextent), a.scount, a.stype, dst, kTag,
                   at(a.rbuf, 1L * src * a.count, a.extent), a.count, a.dt, src, kTag, a.ci->comm,
                   MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) return rc;
  }
  return MPI_SUCCESS;
}

int alltoall_bruck(const Args& a) {
  const int p = a.ci->size, rank = a.ci->rank;
  const size_t blk = static_cast<size_t>(a.count) * static_cast<size_t>(a.extent);
  Scratch tmp(blk * static_cast<size_t>(p)), pack(blk * static_cast<size_t>((p + 1) / 2)),
      unpack(blk * static_cast<size_t>((p + 1) / 2));
  if (!tmp.ok() || !pack.ok() || !unpack.ok()) return MPI_ERR_NO_MEM;
  // Local rotation: tmp[i] is the block for rank (rank + i) % p.
  for (int i = 0; i < p; i++)
    memcpy(tmp.get() + blk * i, at(a.sbuf, 1L * ((rank + i) % p) * a.count, a.extent), blk);
  for (int pof = 1; pof < p; pof <<= 1) {
    int n = 0;
    for (int i = 1; i < p; i++)
      if (i & pof) memcpy(pack.get() + blk * n++, tmp.get() + blk * i, blk);
    const int rc = sendrecv(pack.get(), n * a.count, (rank + pof) % p, unpack.get(), n * a.count,
                            (rank - pof + p) % p, a.dt, a.ci->comm);
    if (rc != MPI_SUCCESS) return rc;
    n = 0;
    for (int i = 1; i < p; i++)
      if (i & pof) memcpy(tmp.get() + blk * i, unpack.get() + blk * n++, blk);
  }
  // tmp[i] now holds the block that rank (rank - i) % p sent to this rank.
  for (int i = 0; i < p; i++)
    memcpy(at(a.rbuf, 1L * ((rank - i + p) % p) * a.count, a.extent), tmp.get() + blk * i, blk);
  return MPI_SUCCESS;
}

}  // namespace coll
}  // namespace pc

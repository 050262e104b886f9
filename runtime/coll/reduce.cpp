// Reduce algorithms over PMPI (commutative ops; the dispatcher gives each rank a working copy in
// rbuf): binomial tree, and ring reduce-scatter + gather to the root.
#include "coll.hpp"

namespace pc {
namespace coll {

int reduce_binomial(const Args& a) {
  const int p = a.ci->size, rel = (a.ci->rank - a.root + p) % p;
  Scratch tmp(static_cast<size_t>(a.count) * static_cast<size_t>(a.extent));
  if (!tmp.ok()) return MPI_ERR_NO_MEM;
  for (int mask = 1; mask < p; mask <<= 1) {
    if (rel & mask)
      return P.send(a.rbuf, a.count, a.dt, (rel - mask + a.root) % p, kTag, a.ci->comm);
    if (rel + mask < p) {
      int rc = P.recv(tmp.get(), a.count, a.dt, (rel + mask + a.root) % p, kTag, a.ci->comm,
                      MPI_STATUS_IGNORE);
      if (rc == MPI_SUCCESS) rc = P.reduce_local(tmp.get(), a.rbuf, a.count, a.dt, a.op);
      if (rc != MPI_SUCCESS) return rc;
    }
  }
  return MPI_SUCCESS;
}

int reduce_scatter_gather(const Args& a) {
  const int p = a.ci->size, rank = a.ci->rank;
  const int right = (rank + 1) % p, left = (rank + p - 1) % p;
  Scratch tmp(static_cast<size_t>(block_count(a.count, p, 0)) * static_cast<size_t>(a.extent));
  Scratch counts(sizeof(int) * 2 * static_cast<size_t>(p));
  if (!tmp.ok() || !counts.ok()) return MPI_ERR_NO_MEM;
  for (int step = 0; step < p - 1; step++) {
    const int sidx = (rank - step + p) % p, ridx = (rank - step - 1 + 2 * p) % p;
    const int rcount = block_count(a.count, p, ridx);
    int rc = sendrecv(at(a.rbuf, block_start(a.count, p, sidx), a.extent),
                      block_count(a.count, p, sidx), right, tmp.get(), rcount, left, a.dt,
                      a.ci->comm);
    if (rc == MPI_SUCCESS && rcount > 0)
      rc = P.reduce_local(tmp.get(), at(a.rbuf, block_start(a.count, p, ridx), a.extent), rcount,
                          a.dt, a.op);
    if (rc != MPI_SUCCESS) return rc;
  }
  // Rank r now owns block (r + 1) % p: gather the blocks (in rank order of owners) to the root.
  int* cnt = reinterpret_cast<int*>(counts.get());
  int* disp = cnt + p;
  for (int r = 0; r < p; r++) {
    const int b = (r + 1) % p;
    cnt[r] = block_count(a.count, p, b);
    disp[r] = block_start(a.count, p, b);
  }
  const int mine = (rank + 1) % p;
  const bool root = rank == a.root;
  return P.gatherv(root ? MPI_IN_PLACE : at(a.rbuf, block_start(a.count, p, mine), a.extent),
                   block_count(a.count, p, mine), a.dt, a.rbuf, cnt, disp, a.dt, a.root,
                   a.ci->comm);
}

}  // namespace coll
}  // namespace pc

// Allgather algorithms over PMPI (own block already in place in rbuf): ring, recursive doubling
// (power-of-two sizes) and Bruck (any size).
#include <string.h>

#include "coll.hpp"

namespace pc {
namespace coll {

int allgather_ring(const Args& a) {
  const int p = a.ci->size, rank = a.ci->rank;
  const int right = (rank + 1) % p, left = (rank - 1 + p) % p;
  for (int step = 0; step < p - 1; step++) {
    const int sidx = (rank - step + p) % p, ridx = (rank - step - 1 + p) % p;
    const int rc = sendrecv(at(a.rbuf, 1L * sidx * a.count, a.extent), a.count, right,
                            at(a.rbuf, 1L * ridx * a.count, a.extent), a.count, left, a.dt,
                            a.ci->comm);
    if (rc != MPI_SUCCESS) return rc;
  }
  return MPI_SUCCESS;
}

// Power-of-two sizes only (see the applicability predicate in registry.cpp).
int allgather_recursive_doubling(const Args& a) {
  const int p = a.ci->size, rank = a.ci->rank;
  for (int mask = 1; mask < p; mask <<= 1) {
    const int dst = rank ^ mask;
    // This rank holds the aligned group of `mask` blocks containing it; the partner the other.
    const int mine = rank & ~(mask - 1), theirs = dst & ~(mask - 1);
    const int rc = sendrecv(at(a.rbuf, 1L * mine * a.count, a.extent), mask * a.count, dst,
                            at(a.rbuf, 1L * theirs * a.count, a.extent), mask * a.count, dst, a.dt,
                            a.ci->comm);
    if (rc != MPI_SUCCESS) return rc;
  }
  return MPI_SUCCESS;
}

int allgather_bruck(const Args& a) {
  const int p = a.ci->size, rank = a.ci->rank;
  const size_t blk = static_cast<size_t>(a.count) * static_cast<size_t>(a.extent);
  Scratch tmp(blk * static_cast<size_t>(p));
  if (!tmp.ok()) return MPI_ERR_NO_MEM;
  // tmp[i] holds the block of rank (rank + i) % p.
  memcpy(tmp.get(), at(a.rbuf, 1L * rank * a.count, a.extent), blk);
  for (int pof = 1; pof < p; pof <<= 1) {
    const int n = pof < p - pof ? pof : p - pof;
    const int rc = sendrecv(tmp.get(), n * a.count, (rank - pof + p) % p,
                            tmp.get() + blk * static_cast<size_t>(pof), n * a.count,
                            (rank + pof) % p, a.dt, a.ci->comm);
    if (rc != MPI_SUCCESS) return rc;
  }
  for (int i = 1; i < p; i++)
    memcpy(at(a.rbuf, 1L * ((rank + i) % p) * a.count, a.extent), tmp.get() + blk * i, blk);
  return MPI_SUCCESS;
}

}  // namespace coll
}  // namespace pc

// Allreduce algorithms over PMPI (in place on rbuf): recursive doubling, ring (reduce-scatter +
// allgather), Rabenseifner (recursive halving + doubling) and node-aware hierarchical.
#include "coll.hpp"

namespace pc {
namespace coll {

namespace {

// Folds the ranks beyond the largest power of two into their neighbours (MPICH's pre-step): even
// ranks below 2*rem hand their vector to rank+1 and sit out. Returns the rank in the power-of-two
// group, or -1 for a rank that sits out.
int fold_in(const Args& a, void* tmp, int rem, int* rc) {
  const int rank = a.ci->rank;
  *rc = MPI_SUCCESS;
  if (rank < 2 * rem) {
    if (rank % 2 == 0) {
      *rc = P.send(a.rbuf, a.count, a.dt, rank + 1, kTag, a.ci->comm);
      return -1;
    }
    *rc = P.recv(tmp, a.count, a.dt, rank - 1, kTag, a.ci->comm, MPI_STATUS_IGNORE);
    if (*rc == MPI_SUCCESS) *rc = P.reduce_local(tmp, a.rbuf, a.count, a.dt, a.op);
    return rank / 2;
  }
  return rank - rem;
}

// The folded-out ranks get the result back from their neighbour.
int fold_out(const Args& a, int rem) {
  const int rank = a.ci->rank;
  if (rank >= 2 * rem) return MPI_SUCCESS;
  if (rank % 2) return P.send(a.rbuf, a.count, a.dt, rank - 1, kTag, a.ci->comm);
  return P.recv(a.rbuf, a.count, a.dt, rank + 1, kTag, a.ci->comm, MPI_STATUS_IGNORE);
}

inline int real_rank(int newrank, int rem) { return newrank < rem ? newrank * 2 + 1 : newrank + rem; }

}  // namespace

int allreduce_recursive_doubling(const Args& a) {
  Scratch tmp(static_cast<size_t>(a.count) * static_cast<size_t>(a.extent));
  if (!tmp.ok()) return MPI_ERR_NO_MEM;
  const int pof2 = largest_pow2_le(a.ci->size), rem = a.ci->size - pof2;
  int rc;
  const int newrank = fold_in(a, tmp.get(), rem, &rc);
  if (rc != MPI_SUCCESS) return rc;
  if (newrank >= 0) {
    for (int mask = 1; mask < pof2; mask <<= 1) {
      const int dst = real_rank(newrank ^ mask, rem);
      rc = sendrecv(a.rbuf, a.count, dst, tmp.get(), a.count, dst, a.dt, a.ci->comm);
      if (rc == MPI_SUCCESS) rc = P.reduce_local(tmp.get(), a.rbuf, a.count, a.dt, a.op);
      if (rc != MPI_SUCCESS) return rc;
    }
  }
  return fold_out(a, rem);
}

int allreduce_ring(const Args& a) {
  const int p = a.ci->size, rank = a.ci->rank;
  const int right = (rank + 1) % p, left = (rank + p - 1) % p;
  Scratch tmp(static_cast<size_t>(block_count(a.count, p, 0)) * static_cast<size_t>(a.extent));
  if (!tmp.ok()) return MPI_ERR_NO_MEM;
  // Reduce-scatter: after p-1 steps this rank holds block (rank+1) % p fully reduced.
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
  // Allgather of the reduced blocks around the same ring.
  for (int step = 0; step < p - 1; step++) {
    const int sidx = (rank - step + 1 + p) % p, ridx = (rank - step + p) % p;
    const int rc = sendrecv(at(a.rbuf, block_start(a.count, p, sidx), a.extent),
                            block_count(a.count, p, sidx), right,
                            at(a.rbuf, block_start(a.count, p, ridx), a.extent),
                            block_count(a.count, p, ridx), left, a.dt, a.ci->comm);
    if (rc != MPI_SUCCESS) return rc;
  }
  return MPI_SUCCESS;
}

int allreduce_rabenseifner(const Args& a) {
  const int pof2 = largest_pow2_le(a.ci->size), rem = a.ci->size - pof2;
  Scratch tmp(static_cast<size_t>(a.count) * static_cast<size_t>(a.extent));
  if (!tmp.ok()) return MPI_ERR_NO_MEM;
  int rc;
  const int newrank = fold_in(a, tmp.get(), rem, &rc);
  if (rc != MPI_SUCCESS) return rc;
  if (newrank >= 0) {
    // pof2 blocks of the vector; a range [lo, hi) of blocks is what a rank is responsible for.
    auto start = [&](int b) { return block_start(a.count, pof2, b); };
    auto span = [&](int lo, int hi) { return start(hi) - start(lo); };
    // block_start(count, n, n) == count, so start(pof2) is the end of the vector.
    int lo = 0, hi = pof2;
    int los[32], his[32], steps = 0;
    // Recursive halving reduce-scatter: keep the half on this side of the partner.
    for (int mask = pof2 / 2; mask >= 1; mask >>= 1) {
      const int newdst = newrank ^ mask, dst = real_rank(newdst, rem);
      const int mid = lo + (hi - lo) / 2;
      int keep_lo, keep_hi, send_lo, send_hi;
      if (newrank < newdst) {
        keep_lo = lo, keep_hi = mid, send_lo = mid, send_hi = hi;
      } else {
        keep_lo = mid, keep_hi = hi, send_lo = lo, send_hi = mid;
      }
      los[steps] = lo, his[steps] = hi, steps++;
      rc = sendrecv(at(a.rbuf, start(send_lo), a.extent), span(send_lo, send_hi), dst,
                    at(tmp.get(), start(keep_lo), a.extent), span(keep_lo, keep_hi), dst, a.dt,
                    a.ci->comm);
      if (rc == MPI_SUCCESS && span(keep_lo, keep_hi) > 0)
        rc = P.reduce_local(at(tmp.get(), start(keep_lo), a.extent),
                            at(a.rbuf, start(keep_lo), a.extent), span(keep_lo, keep_hi), a.dt,
                            a.op);
      if (rc != MPI_SUCCESS) return rc;
      lo = keep_lo, hi = keep_hi;
    }
    // Recursive doubling allgather: retrace the steps, exchanging the owned range each time.
    for (int mask = 1; mask < pof2; mask <<= 1) {
      const int newdst = newrank ^ mask, dst = real_rank(newdst, rem);
      steps--;
      const int plo = los[steps], phi = his[steps];
      // The partner owns the other half of [plo, phi).
      const int olo = lo == plo ? hi : plo, ohi = lo == plo ? phi : lo;
      rc = sendrecv(at(a.rbuf, start(lo), a.extent), span(lo, hi), dst,
                    at(a.rbuf, start(olo), a.extent), span(olo, ohi), dst, a.dt, a.ci->comm);
      if (rc != MPI_SUCCESS) return rc;
      lo = plo, hi = phi;
    }
  }
  return fold_out(a, rem);
}

// Intra-node reduce to node rank 0, allreduce among the node leaders, intra-node bcast: native
// sub-collectives on the node and leader communicators built with the private duplicate.
int allreduce_hierarchical(const Args& a) {
  const CommInfo& ci = *a.ci;
  int rc = P.reduce(ci.node_rank == 0 ? MPI_IN_PLACE : a.rbuf, a.rbuf, a.count, a.dt, a.op, 0,
                    ci.node);
  if (rc == MPI_SUCCESS && ci.node_rank == 0 && ci.nodes > 1)
    rc = P.allreduce(MPI_IN_PLACE, a.rbuf, a.count, a.dt, a.op, ci.leaders);
  if (rc == MPI_SUCCESS) rc = P.bcast(a.rbuf, a.count, a.dt, 0, ci.node);
  return rc;
}

}  // namespace coll
}  // namespace pc

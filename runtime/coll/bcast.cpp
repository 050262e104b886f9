// Bcast algorithms over PMPI: binomial tree, scatter + ring allgather (van de Geijn) and a
// pipelined chain.
#include "coll.hpp"

namespace pc {
namespace coll {

int bcast_binomial(const Args& a) {
  const int p = a.ci->size, rel = (a.ci->rank - a.root + p) % p;
  int mask = 1;
  while (mask < p) {
    if (rel & mask) {
      const int src = (a.ci->rank - mask + p) % p;
      const int rc = P.recv(a.rbuf, a.count, a.dt, src, kTag, a.ci->comm, MPI_STATUS_IGNORE);
      if (rc != MPI_SUCCESS) return rc;
      break;
    }
    mask <<= 1;
  }
  for (mask >>= 1; mask > 0; mask >>= 1) {
    if (rel + mask < p) {
      const int rc = P.send(a.rbuf, a.count, a.dt, (a.ci->rank + mask) % p, kTag, a.ci->comm);
      if (rc != MPI_SUCCESS) return rc;
    }
  }
  return MPI_SUCCESS;
}

int bcast_scatter_allgather(const Args& a) {
  const int p = a.ci->size, rank = a.ci->rank, rel = (rank - a.root + p) % p;
  const int chunk = (a.count + p - 1) / p;
  // Elements [i*chunk, min((i+1)*chunk, count)) belong to relative rank i.
  auto first = [&](int i) { return static_cast<int>(std::min<long>(1L * i * chunk, a.count)); };
  auto blk = [&](int i) { return first(i + 1) - first(i); };
  // Binomial scatter: relative rank r receives the blocks of its subtree [r, r + lowbit(r)).
  int mask = 1;
  while (mask < p) {
    if (rel & mask) {
      const int hi = std::min(rel + mask, p);
      const int n = first(hi) - first(rel);
      if (n > 0) {
        const int rc = P.recv(at(a.rbuf, first(rel), a.extent), n, a.dt, (rank - mask + p) % p,
                              kTag, a.ci->comm, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) return rc;
      }
      break;
    }
    mask <<= 1;
  }
  for (mask >>= 1; mask > 0; mask >>= 1) {
    const int child = rel + mask;
    if (child >= p) continue;
    const int n = first(std::min(child + mask, p)) - first(child);
    if (n > 0) {
      const int rc = P.send(at(a.rbuf, first(child), a.extent), n, a.dt, (rank + mask) % p, kTag,
                            a.ci->comm);
      if (rc != MPI_SUCCESS) return rc;
    }
  }
  // Ring allgather of the blocks (in relative numbering).
  const int right = (rank + 1) % p, left = (rank - 1 + p) % p;
  for (int step = 0; step < p - 1; step++) {
    const int sidx = (rel - step + p) % p, ridx = (rel - step - 1 + p) % p;
    const int rc = sendrecv(at(a.rbuf, first(sidx), a.extent), blk(sidx), right,
                            at(a.rbuf, first(ridx), a.extent), blk(ridx), left, a.dt, a.ci->comm);
    if (rc != MPI_SUCCESS) return rc;
  }
  return MPI_SUCCESS;
}

int bcast_chain(const Args& a) {
  const int p = a.ci->size, rank = a.ci->rank, rel = (rank - a.root + p) % p;
  const int prev = (rank - 1 + p) % p, next = (rank + 1) % p;
  // Segments of about 64 KiB: the next rank forwards segment k while this one receives k+1.
  const MPI_Aint seg_bytes = 64 * 1024;
  int seg = static_cast<int>(seg_bytes / (a.extent > 0 ? a.extent : 1));
  if (seg < 1) seg = 1;
  const int nseg = (a.count + seg - 1) / seg;
  Scratch reqs(sizeof(MPI_Request) * static_cast<size_t>(nseg > 0 ? nseg : 1));
  if (!reqs.ok()) return MPI_ERR_NO_MEM;
  MPI_Request* r = reinterpret_cast<MPI_Request*>(reqs.get());
  int nreq = 0;
  for (int s = 0; s < nseg; s++) {
    const int off = s * seg, n = std::min(seg, a.count - off);
    if (rel > 0) {
      const int rc =
          P.recv(at(a.rbuf, off, a.extent), n, a.dt, prev, kTag, a.ci->comm, MPI_STATUS_IGNORE);
      if (rc != MPI_SUCCESS) return rc;
    }
    if (rel < p - 1) {
      const int rc = P.isend(at(a.rbuf, off, a.extent), n, a.dt, next, kTag, a.ci->comm, &r[nreq]);
      if (rc != MPI_SUCCESS) return rc;
      nreq++;
    }
  }
  return nreq ? P.waitall(nreq, r, MPI_STATUSES_IGNORE) : MPI_SUCCESS;
}

}  // namespace coll
}  // namespace pc

// The online collective tuner's entry points: the tuned dispatch the generated wrappers call
// (spec attribute `tune`), the decided-call cache their inline fast path reads, and the session
// hooks (after PMPI_Init, before PMPI_Finalize).
#pragma once
#include "coll.hpp"

namespace pc {

// True while tuned dispatch is on (PARACLOUD_TUNE=auto, MPI up, not MPI_THREAD_MULTIPLE).
extern std::atomic<bool> g_tune_on;
PC_HOT bool tune_on() { return g_tune_on.load(std::memory_order_relaxed); }

// ------------------------------------------------------------------ the decided-call cache
// Once a call's key is decided, the same call again (same communicator, collective, datatypes, op,
// counts, in-place or not) is routed without asking MPI anything (no attribute lookup, no type or
// op query, no timer): one hash and one compare in a direct-mapped table that tuner.cpp fills.
// A cached native decision is handled inline in the caller's wrapper (count, then the library);
// everything else goes to the out-of-line tuned_slow_MPI_* (tuner.cpp). The tuner is off under
// MPI_THREAD_MULTIPLE, so collectives (and this table) are used by one thread at a time.
// Validity: an entry names the communicator's handle, and the tuner drops a communicator's entries
// when it is freed; datatypes that can be decided non-native are predefined (never freed); ops:
// only predefined ones are cached (a user op's handle may be reused after MPI_Op_free).
struct TuneFastKey {
  MPI_Comm comm;     // nullptr: empty slot
  const void* type;  // datatype (allgather/alltoall: receive type)
  const void* aux;   // reductions: the op; allgather/alltoall: the send type
  int32_t count, scount;
  uint8_t coll, in_place;
  bool operator==(const TuneFastKey& o) const {
    return comm == o.comm && type == o.type && aux == o.aux && count == o.count &&
           scount == o.scount && coll == o.coll && in_place == o.in_place;
  }
};
// One cache line holds what a native call touches: the key and its call count.
struct alignas(64) TuneFastEntry {
  TuneFastKey key;
  int16_t alg;        // algorithm index; -1: native
  uint64_t pending;   // calls counted here, not yet added to *calls (tuner.cpp: fast_flush)
  uint64_t* calls;    // the key's call counter (profile); a sink for forced decisions
  coll::CommInfo* ci;
  MPI_Aint extent, sextent;
};
constexpr int kTuneFastSlots = 64;
extern TuneFastEntry g_tune_fast[kTuneFastSlots];

PC_HOT TuneFastEntry& tune_fast_slot(const TuneFastKey& k) {
  uint64_t h = reinterpret_cast<uintptr_t>(k.comm) ^ (reinterpret_cast<uintptr_t>(k.type) << 7) ^
               (static_cast<uint64_t>(static_cast<uint32_t>(k.count)) << 21) ^
               (static_cast<uint64_t>(k.coll) << 56);
  h *= 0x9E3779B97F4A7C15ull;
  return g_tune_fast[h >> 58];  // 64 slots
}
PC_HOT TuneFastEntry* tune_fast_find(const TuneFastKey& k) {
  TuneFastEntry& e = tune_fast_slot(k);
  return PC_LIKELY(e.key == k) ? &e : nullptr;  // an empty slot's null comm never matches
}

// ------------------------------------------------------------------ tuned entry points
// One per collective with `tune` in mpi.spec: `real` is the library's PMPI_X, the rest are the
// application's arguments. Any call the tuner does not handle goes to `real` unchanged. The
// tuned_slow_MPI_* functions take the cache entry found for the call (nullptr: none).
int tuned_slow_MPI_Allreduce(const TuneFastEntry* e, decltype(&PMPI_Allreduce) real,
                             const void* sbuf, void* rbuf, int count, MPI_Datatype dt, MPI_Op op,
                             MPI_Comm comm);
int tuned_slow_MPI_Bcast(const TuneFastEntry* e, decltype(&PMPI_Bcast) real, void* buf, int count,
                         MPI_Datatype dt, int root, MPI_Comm comm);
int tuned_slow_MPI_Allgather(const TuneFastEntry* e, decltype(&PMPI_Allgather) real,
                             const void* sbuf, int scount, MPI_Datatype stype, void* rbuf,
                             int rcount, MPI_Datatype rtype, MPI_Comm comm);
int tuned_slow_MPI_Alltoall(const TuneFastEntry* e, decltype(&PMPI_Alltoall) real,
                            const void* sbuf, int scount, MPI_Datatype stype, void* rbuf,
                            int rcount, MPI_Datatype rtype, MPI_Comm comm);
int tuned_slow_MPI_Reduce(const TuneFastEntry* e, decltype(&PMPI_Reduce) real, const void* sbuf,
                          void* rbuf, int count, MPI_Datatype dt, MPI_Op op, int root,
                          MPI_Comm comm);
int tuned_slow_MPI_Barrier(const TuneFastEntry* e, decltype(&PMPI_Barrier) real, MPI_Comm comm);

PC_HOT int tuned_MPI_Allreduce(decltype(&PMPI_Allreduce) real, const void* sbuf, void* rbuf,
                               int count, MPI_Datatype dt, MPI_Op op, MPI_Comm comm) {
  TuneFastEntry* e =
      tune_fast_find({comm, dt, op, count, 0, coll::kAllreduce, sbuf == MPI_IN_PLACE});
  if (PC_LIKELY(e && e->alg < 0)) {
    e->pending++;
    return real(sbuf, rbuf, count, dt, op, comm);
  }
  return tuned_slow_MPI_Allreduce(e, real, sbuf, rbuf, count, dt, op, comm);
}
PC_HOT int tuned_MPI_Bcast(decltype(&PMPI_Bcast) real, void* buf, int count, MPI_Datatype dt,
                           int root, MPI_Comm comm) {
  TuneFastEntry* e = tune_fast_find({comm, dt, nullptr, count, 0, coll::kBcast, 0});
  if (PC_LIKELY(e && e->alg < 0)) {
    e->pending++;
    return real(buf, count, dt, root, comm);
  }
  return tuned_slow_MPI_Bcast(e, real, buf, count, dt, root, comm);
}
PC_HOT int tuned_MPI_Allgather(decltype(&PMPI_Allgather) real, const void* sbuf, int scount,
                               MPI_Datatype stype, void* rbuf, int rcount, MPI_Datatype rtype,
                               MPI_Comm comm) {
  const bool in_place = sbuf == MPI_IN_PLACE;  // then stype and scount are ignored
  TuneFastEntry* e = tune_fast_find({comm, rtype, in_place ? nullptr : stype, rcount,
                                     in_place ? 0 : scount, coll::kAllgather, in_place});
  if (PC_LIKELY(e && e->alg < 0)) {
    e->pending++;
    return real(sbuf, scount, stype, rbuf, rcount, rtype, comm);
  }
  return tuned_slow_MPI_Allgather(e, real, sbuf, scount, stype, rbuf, rcount, rtype, comm);
}
PC_HOT int tuned_MPI_Alltoall(decltype(&PMPI_Alltoall) real, const void* sbuf, int scount,
                              MPI_Datatype stype, void* rbuf, int rcount, MPI_Datatype rtype,
                              MPI_Comm comm) {
  TuneFastEntry* e = tune_fast_find(
      {comm, rtype, stype, rcount, scount, coll::kAlltoall, sbuf == MPI_IN_PLACE});
  if (PC_LIKELY(e && e->alg < 0)) {
    e->pending++;
    return real(sbuf, scount, stype, rbuf, rcount, rtype, comm);
  }
  return tuned_slow_MPI_Alltoall(e, real, sbuf, scount, stype, rbuf, rcount, rtype, comm);
}
PC_HOT int tuned_MPI_Reduce(decltype(&PMPI_Reduce) real, const void* sbuf, void* rbuf, int count,
                            MPI_Datatype dt, MPI_Op op, int root, MPI_Comm comm) {
  TuneFastEntry* e = tune_fast_find({comm, dt, op, count, 0, coll::kReduce, sbuf == MPI_IN_PLACE});
  if (PC_LIKELY(e && e->alg < 0)) {
    e->pending++;
    return real(sbuf, rbuf, count, dt, op, root, comm);
  }
  return tuned_slow_MPI_Reduce(e, real, sbuf, rbuf, count, dt, op, root, comm);
}
PC_HOT int tuned_MPI_Barrier(decltype(&PMPI_Barrier) real, MPI_Comm comm) {
  TuneFastEntry* e = tune_fast_find({comm, nullptr, nullptr, 0, 0, coll::kBarrier, 0});
  if (PC_LIKELY(e && e->alg < 0)) {
    e->pending++;
    return real(comm);
  }
  return tuned_slow_MPI_Barrier(e, real, comm);
}

}  // namespace pc

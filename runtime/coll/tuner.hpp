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
// A cached native decision is handled inline in the caller's wrapper (counted, in steady state
// also recorded for the profile in the entry: see "profile recording" below, then the library);
// everything else goes to the out-of-line tuned_slow_MPI_* (tuner.cpp). The tuner is off under
// MPI_THREAD_MULTIPLE, so collectives (and this table) are used by one thread at a time (under
// MPI_THREAD_SERIALIZED possibly by several threads in turn: entries record one owner's calls).
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
// The first cache line holds what a native call touches: the key, the decision, the calls
// recorded in the entry (owner, rec). The second: what flushing and non-native calls need.
// Profile recording through the entry (tune_rec_*): once a successful call through the profile
// probe has stamped the entry (tune_fast_stamp: the owning thread, call id, payload bytes and
// communicator size, all fixed by the key), the owner's further calls at depth 0 are counted in
// `rec` (`rec_f`: of which Fortran) instead of its CallStats; tuner.cpp adds them there (count,
// fortran, bytes, histogram, communicator class) and to *calls when the entry is replaced or
// forgotten and at MPI_Finalize before the profile is reduced (fast_flush).
struct alignas(64) TuneFastEntry {
  TuneFastKey key;
  int16_t alg;         // algorithm index; -1: native
  uint16_t id;         // CallId of the recorded calls (valid while owner != nullptr)
  int32_t csize;       // their communicator size (comm_size(); -1: none)
  ThreadBlock* owner;  // the thread whose calls are recorded here; nullptr: not stamped
  uint64_t rec;        // successful calls recorded here, not yet in owner's CallStats
  // ---- second cache line
  uint64_t rec_f;    // of which through a Fortran binding
  uint64_t bytes;    // payload bytes of one recorded call
  uint64_t pending;  // tuner-only calls counted here, not yet added to *calls (fast_flush)
  uint64_t* calls;   // the key's call counter (profile); a sink for forced decisions
  coll::CommInfo* ci;
  MPI_Aint extent, sextent;
};
static_assert(offsetof(TuneFastEntry, rec) + sizeof(uint64_t) <= 64,
              "a recorded native call touches one cache line");
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
int tuned_slow_MPI_Alltoall(const TuneFastEntry* e, decltype(&PMPI_Alltoall) real, const void* sbuf,
                            int scount, MPI_Datatype stype, void* rbuf, int rcount,
                            MPI_Datatype rtype, MPI_Comm comm);
int tuned_slow_MPI_Reduce(const TuneFastEntry* e, decltype(&PMPI_Reduce) real, const void* sbuf,
                          void* rbuf, int count, MPI_Datatype dt, MPI_Op op, int root,
                          MPI_Comm comm);
int tuned_slow_MPI_Barrier(const TuneFastEntry* e, decltype(&PMPI_Barrier) real, MPI_Comm comm);

// ------------------------------------------------------------------ keys
// The decided-call cache key of a call, from the C collective's arguments.
PC_HOT TuneFastKey tune_key_MPI_Allreduce(const void* sbuf, void*, int count, MPI_Datatype dt,
                                          MPI_Op op, MPI_Comm comm) {
  return {comm, dt, op, count, 0, coll::kAllreduce, sbuf == MPI_IN_PLACE};
}
PC_HOT TuneFastKey tune_key_MPI_Bcast(void*, int count, MPI_Datatype dt, int, MPI_Comm comm) {
  return {comm, dt, nullptr, count, 0, coll::kBcast, 0};
}
PC_HOT TuneFastKey tune_key_MPI_Allgather(const void* sbuf, int scount, MPI_Datatype stype, void*,
                                          int rcount, MPI_Datatype rtype, MPI_Comm comm) {
  const bool in_place = sbuf == MPI_IN_PLACE;  // then stype and scount are ignored
  return {
      comm,    rtype, in_place ? nullptr : stype, rcount, in_place ? 0 : scount, coll::kAllgather,
      in_place};
}
PC_HOT TuneFastKey tune_key_MPI_Alltoall(const void* sbuf, int scount, MPI_Datatype stype, void*,
                                         int rcount, MPI_Datatype rtype, MPI_Comm comm) {
  return {comm, rtype, stype, rcount, scount, coll::kAlltoall, sbuf == MPI_IN_PLACE};
}
PC_HOT TuneFastKey tune_key_MPI_Reduce(const void* sbuf, void*, int count, MPI_Datatype dt,
                                       MPI_Op op, int, MPI_Comm comm) {
  return {comm, dt, op, count, 0, coll::kReduce, sbuf == MPI_IN_PLACE};
}
PC_HOT TuneFastKey tune_key_MPI_Barrier(MPI_Comm comm) {
  return {comm, nullptr, nullptr, 0, 0, coll::kBarrier, 0};
}

// ------------------------------------------------------------------ tuned dispatch
// tuned_MPI_X(e, real, args...): e is the entry tune_fast_find found for the call (or nullptr).
// A cached native decision: counted in the entry, then the library; anything else: tuner.cpp.
// tuned_MPI_X(real, args...) looks the entry up itself.
PC_HOT int tuned_MPI_Allreduce(TuneFastEntry* e, decltype(&PMPI_Allreduce) real, const void* sbuf,
                               void* rbuf, int count, MPI_Datatype dt, MPI_Op op, MPI_Comm comm) {
  if (PC_LIKELY(e && e->alg < 0)) {
    e->pending++;
    return real(sbuf, rbuf, count, dt, op, comm);
  }
  return tuned_slow_MPI_Allreduce(e, real, sbuf, rbuf, count, dt, op, comm);
}
PC_HOT int tuned_MPI_Allreduce(decltype(&PMPI_Allreduce) real, const void* sbuf, void* rbuf,
                               int count, MPI_Datatype dt, MPI_Op op, MPI_Comm comm) {
  return tuned_MPI_Allreduce(
      tune_fast_find(tune_key_MPI_Allreduce(sbuf, rbuf, count, dt, op, comm)), real, sbuf, rbuf,
      count, dt, op, comm);
}
PC_HOT int tuned_MPI_Bcast(TuneFastEntry* e, decltype(&PMPI_Bcast) real, void* buf, int count,
                           MPI_Datatype dt, int root, MPI_Comm comm) {
  if (PC_LIKELY(e && e->alg < 0)) {
    e->pending++;
    return real(buf, count, dt, root, comm);
  }
  return tuned_slow_MPI_Bcast(e, real, buf, count, dt, root, comm);
}
PC_HOT int tuned_MPI_Bcast(decltype(&PMPI_Bcast) real, void* buf, int count, MPI_Datatype dt,
                           int root, MPI_Comm comm) {
  return tuned_MPI_Bcast(tune_fast_find(tune_key_MPI_Bcast(buf, count, dt, root, comm)), real, buf,
                         count, dt, root, comm);
}
PC_HOT int tuned_MPI_Allgather(TuneFastEntry* e, decltype(&PMPI_Allgather) real, const void* sbuf,
                               int scount, MPI_Datatype stype, void* rbuf, int rcount,
                               MPI_Datatype rtype, MPI_Comm comm) {
  if (PC_LIKELY(e && e->alg < 0)) {
    e->pending++;
    return real(sbuf, scount, stype, rbuf, rcount, rtype, comm);
  }
  return tuned_slow_MPI_Allgather(e, real, sbuf, scount, stype, rbuf, rcount, rtype, comm);
}
PC_HOT int tuned_MPI_Allgather(decltype(&PMPI_Allgather) real, const void* sbuf, int scount,
                               MPI_Datatype stype, void* rbuf, int rcount, MPI_Datatype rtype,
                               MPI_Comm comm) {
  return tuned_MPI_Allgather(
      tune_fast_find(tune_key_MPI_Allgather(sbuf, scount, stype, rbuf, rcount, rtype, comm)), real,
      sbuf, scount, stype, rbuf, rcount, rtype, comm);
}
PC_HOT int tuned_MPI_Alltoall(TuneFastEntry* e, decltype(&PMPI_Alltoall) real, const void* sbuf,
                              int scount, MPI_Datatype stype, void* rbuf, int rcount,
                              MPI_Datatype rtype, MPI_Comm comm) {
  if (PC_LIKELY(e && e->alg < 0)) {
    e->pending++;
    return real(sbuf, scount, stype, rbuf, rcount, rtype, comm);
  }
  return tuned_slow_MPI_Alltoall(e, real, sbuf, scount, stype, rbuf, rcount, rtype, comm);
}
PC_HOT int tuned_MPI_Alltoall(decltype(&PMPI_Alltoall) real, const void* sbuf, int scount,
                              MPI_Datatype stype, void* rbuf, int rcount, MPI_Datatype rtype,
                              MPI_Comm comm) {
  return tuned_MPI_Alltoall(
      tune_fast_find(tune_key_MPI_Alltoall(sbuf, scount, stype, rbuf, rcount, rtype, comm)), real,
      sbuf, scount, stype, rbuf, rcount, rtype, comm);
}
PC_HOT int tuned_MPI_Reduce(TuneFastEntry* e, decltype(&PMPI_Reduce) real, const void* sbuf,
                            void* rbuf, int count, MPI_Datatype dt, MPI_Op op, int root,
                            MPI_Comm comm) {
  if (PC_LIKELY(e && e->alg < 0)) {
    e->pending++;
    return real(sbuf, rbuf, count, dt, op, root, comm);
  }
  return tuned_slow_MPI_Reduce(e, real, sbuf, rbuf, count, dt, op, root, comm);
}
PC_HOT int tuned_MPI_Reduce(decltype(&PMPI_Reduce) real, const void* sbuf, void* rbuf, int count,
                            MPI_Datatype dt, MPI_Op op, int root, MPI_Comm comm) {
  return tuned_MPI_Reduce(
      tune_fast_find(tune_key_MPI_Reduce(sbuf, rbuf, count, dt, op, root, comm)), real, sbuf, rbuf,
      count, dt, op, root, comm);
}
PC_HOT int tuned_MPI_Barrier(TuneFastEntry* e, decltype(&PMPI_Barrier) real, MPI_Comm comm) {
  if (PC_LIKELY(e && e->alg < 0)) {
    e->pending++;
    return real(comm);
  }
  return tuned_slow_MPI_Barrier(e, real, comm);
}
PC_HOT int tuned_MPI_Barrier(decltype(&PMPI_Barrier) real, MPI_Comm comm) {
  return tuned_MPI_Barrier(tune_fast_find(tune_key_MPI_Barrier(comm)), real, comm);
}

// ------------------------------------------------------------------ profile recording in the entry
// The generated wrapper of a tuned collective (gen_wrappers.py) records a call through its cache
// entry instead of probe_begin/probe_end when tune_rec_ready(): the entry is stamped for this
// thread (so for a native decision of this call kind, see tune_fast_stamp) and the call is
// outermost (depth 0: its time is outer time). The result is what the probes record: the same
// depth bookkeeping around the call, the same choice of timed calls (every call until the kind is
// `sampled`, then 1 in kSampleEvery drawn from the thread's generator as probe_begin draws it), the
// timing and estimator of probe_end for the timed calls (written at once: they decide `sampled`),
// failed calls as errors at once; successful calls are counted in the entry and added to the
// thread's CallStats at the next flush.
// Under MPI_THREAD_SERIALIZED other threads may call collectives too: their calls do not match the
// entry's owner and take the probes.
// Stamps the entry of key k (if it holds a native decision and is not stamped yet) for thread b's
// calls of kind id with `bytes` payload bytes on a communicator of csize ranks (tuner.cpp).
void tune_fast_stamp(const TuneFastKey& k, ThreadBlock* b, CallId id, uint64_t bytes, int csize);
// Entries filled so far (tuner.cpp: fast_fill): a probed call that found no entry stamps only
// when its own call filled one (most uncached calls never will: user ops, size-1 communicators).
extern std::atomic<uint32_t> g_tune_fills;
PC_HOT uint32_t tune_fills() { return g_tune_fills.load(std::memory_order_relaxed); }
// Whether a successful probed call that found entry e (or none, with tune_fills() == fills before
// the call) should stamp its entry.
PC_HOT bool tune_stamp_wanted(const TuneFastEntry* e, uint32_t fills) {
  return e != nullptr ? e->owner == nullptr && e->alg < 0 : tune_fills() != fills;
}
// (owner is set only on native entries and cleared whenever the entry is refilled.)
PC_HOT bool tune_rec_ready(const TuneFastEntry* e, const ThreadBlock* b) {
  return e != nullptr && e->owner == b && b->depth == 0;
}
PC_HOT void tune_rec_count(TuneFastEntry& e, ThreadBlock* b, CallId id, bool fortran, int rc) {
  if (PC_LIKELY(rc == MPI_SUCCESS)) {
    e.rec++;
    if (fortran) e.rec_f++;
  } else {
    b->calls[id].errors.add(1);
    e.pending++;  // the tuner's count of the key: every call
  }
}
// Around the library call: tune_rec_begin (probe_begin: the clock when this call is timed, with
// its weight, drawn as probe_begin draws it; the depth bookkeeping), then tune_rec_end
// (probe_clock, probe_end).
struct TuneRecClock {
  uint64_t t0;
  uint32_t weight;  // 0: not timed; else 1/p
};
PC_HOT TuneRecClock tune_rec_begin(ThreadBlock* b, CallId id) {
  TuneRecClock c{0, 1};
  if (b->calls[id].sampled.load(std::memory_order_relaxed)) {
    uint32_t x = b->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b->rng = x;
    c.weight = (x & (kSampleEvery - 1)) == 0 ? kSampleEvery : 0;
  }
  b->depth++;
  b->mpi_depth++;
  if (c.weight) c.t0 = now_ticks();
  return c;
}
// A timed call's duration dt with its weight (probe_end's timing part; tuner.cpp).
void tune_rec_time(ThreadBlock* b, CallId id, uint64_t dt, uint32_t weight);
PC_HOT int tune_rec_end(TuneFastEntry& e, ThreadBlock* b, CallId id, bool fortran,
                        TuneRecClock c, int rc) {
  const uint64_t t1 = c.weight ? now_ticks() : 0;
  b->depth--;
  b->mpi_depth--;
  if (c.weight) tune_rec_time(b, id, t1 - c.t0, c.weight);
  tune_rec_count(e, b, id, fortran, rc);
  return rc;
}

}  // namespace pc

// The online collective tuner: per (collective, communicator size, ranks per node, size bucket,
// datatype class) it explores the applicable algorithms in rounds, agrees on one winner with one
// PMPI_Allreduce (max over ranks) per round, then exploits it; decisions from the tuning store are
// used without exploring. Calls it cannot handle safely go to the library's own collective.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../session.hpp"
#include "coll.hpp"
#include "store_capi.h"
#include "tuner.hpp"

namespace pc {

std::atomic<bool> g_tune_on{false};
std::atomic<uint32_t> g_tune_fills{0};

using namespace coll;

namespace {

// ------------------------------------------------------------------ settings
enum DtClass : uint8_t { kDtInt, kDtFloat, kDtPair, kDtBytes, kDtClassCount };
const char* const kDtNames[kDtClassCount] = {"int", "float", "pair", "bytes"};

// Agreed settings: rank 0's environment, broadcast at start-up so that every rank tunes alike.
struct TuneSettings {
  int force[kCollCount];  // algorithm index forced per collective (PARACLOUD_TUNE_FORCE), or -1
  int reproducible;       // PARACLOUD_TUNE_REPRODUCIBLE=1
  int rounds;             // exploration rounds at most (PARACLOUD_TUNE_ROUNDS, default 3)
  double budget;          // exploration overhead <= budget x run time (PARACLOUD_TUNE_BUDGET)
  double margin;          // an algorithm replaces native only if faster by this share (_MARGIN)
  int ndecisions;         // decisions from the store (g_store)
};
TuneSettings g_set;
constexpr int kMaxStore = 1024;
pc_tune_decision* g_store = nullptr;  // g_set.ndecisions agreed decisions from the store
char g_store_loaded[1024] = "";
char g_store_saved[1024] = "";
const char* g_off_reason = nullptr;  // why tuned dispatch is off (profile)

// Test-only knobs, read per rank (never agreed: they exist to make ranks disagree).
uint64_t g_noise_ns = 0;  // PARACLOUD_TUNE_TEST_NOISE: random delay [0, ns) before each explored call
int g_fake_node_size = 0;  // PARACLOUD_TUNE_TEST_NODE_SIZE: node = world rank / k, not the host
uint32_t g_noise_rng = 1;

int g_keyval = MPI_KEYVAL_INVALID;
bool g_finalizing = false;
uint64_t g_init_ns = 0;
int g_world_rank = 0;
uint64_t g_node_id = 0;  // this process's node (hash of the host name; tests: world rank / k)
CommInfo g_native_marker;  // attribute value of communicators the tuner leaves alone

// ------------------------------------------------------------------ datatypes
struct TypeClass {
  MPI_Datatype t;
  DtClass c;
};
TypeClass g_types[80];
int g_ntypes = 0;

void add_types(const char* names, DtClass c) {
  char buf[64];
  while (*names) {
    const char* end = strchr(names, ' ');
    const size_t len = end ? static_cast<size_t>(end - names) : strlen(names);
    snprintf(buf, sizeof(buf), "ompi_mpi_%.*s", static_cast<int>(len), names);
    MPI_Datatype t = reinterpret_cast<MPI_Datatype>(data_symbol(buf));
    if (t && g_ntypes < static_cast<int>(sizeof(g_types) / sizeof(g_types[0])))
      g_types[g_ntypes++] = TypeClass{t, c};
    if (!end) break;
    names = end + 1;
  }
}

void init_types() {
  // Every predefined datatype of Open MPI 4.1 (mpi.h) but MPI_LB/MPI_UB/MPI_DATATYPE_NULL.
  // "int": results are exact under any predefined op (reduction order cannot change them).
  add_types("char signed_char unsigned_char byte short unsigned_short int unsigned long "
            "unsigned_long long_long_int unsigned_long_long wchar packed cxx_bool logical "
            "character integer logical1 logical2 logical4 logical8 integer1 integer2 integer4 "
            "integer8 integer16 int8_t uint8_t int16_t uint16_t int32_t uint32_t int64_t uint64_t "
            "aint offset count c_bool",
            kDtInt);
  add_types("float double long_double cxx_cplex cxx_dblcplex cxx_ldblcplex real dblprec cplex "
            "dblcplex ldblcplex real2 real4 real8 real16 complex8 complex16 complex32 "
            "c_float_complex c_double_complex c_long_double_complex",
            kDtFloat);
  // Pair types are only reduced with MINLOC/MAXLOC, whose result does not depend on the order.
  add_types("2int 2integer 2real 2dblprec 2cplex 2dblcplex float_int double_int longdbl_int "
            "short_int long_int",
            kDtPair);
}

// The class of a predefined datatype, or -1 for a derived one (those go to the native collective).
int type_class(MPI_Datatype t) {
  for (int i = 0; i < g_ntypes; i++)
    if (g_types[i].t == t) return g_types[i].c;
  return -1;
}

int bucket_of(uint64_t bytes) { return bytes ? 63 - __builtin_clzll(bytes) : -1; }

// ------------------------------------------------------------------ per-communicator state
constexpr int kMaxCand = 8;
constexpr int kMaxKeys = 256;
constexpr int kMaxTimed = 8;

struct Key {
  uint8_t coll, dtclass;
  int16_t bucket;
  int32_t comm_size, rpn;
  bool operator==(const Key& o) const {
    return coll == o.coll && dtclass == o.dtclass && bucket == o.bucket &&
           comm_size == o.comm_size && rpn == o.rpn;
  }
};

enum Source : uint8_t { kExploring, kExplored, kFromStore };

struct KeyState {
  Key key;
  Source source;
  int8_t ncand;
  int8_t pos;     // next position in the current round (over alive candidates)
  int8_t rep;     // calls of the current candidate so far in this round (0: the warm-up call)
  int8_t timed;   // timed calls per candidate per round (after one untimed warm-up call)
  int16_t round;  // rounds completed
  int16_t cand[kMaxCand];  // algorithm indices, ordered by name (the tie-break order)
  bool alive[kMaxCand];
  uint64_t round_ns[kMaxCand];  // this rank's median timed call of each candidate this round
  uint64_t batch_ns[kMaxTimed];  // this rank's timed calls of the current candidate
  uint64_t best_ns[kMaxCand];   // agreed: min over rounds of (max over ranks of round_ns)
  int winner;                   // algorithm index once decided
  uint64_t calls, explore_calls;
  uint64_t overhead_ns;  // agreed extra time spent on slower candidates
};

}  // namespace
namespace coll {
struct TuneState {
  TuneState* next;  // all states ever created (kept after MPI_Comm_free for the profile)
  bool owner;       // this rank is rank 0 of the communicator: it reports its decisions to the store
  int nkeys;
  int16_t index[2 * kMaxKeys];  // open addressing: 1 + position in keys, 0 empty
  KeyState keys[kMaxKeys];
};
}  // namespace coll
namespace {
std::atomic<TuneState*> g_states{nullptr};

// ------------------------------------------------------------------ the decided-call cache
// (tuner.hpp: TuneFastKey, TuneFastEntry, the inline lookup)
using FastKey = TuneFastKey;
using FastEntry = TuneFastEntry;
uint64_t g_forced_calls = 0;  // the call counter of forced decisions (not reported)
MPI_Op g_predefined_ops[16];  // cacheable ops (resolved in tune_after_init)

bool predefined_op(MPI_Op op) {
  for (MPI_Op p : g_predefined_ops)
    if (p != nullptr && p == op) return true;
  return false;
}
// Adds the calls an entry counted to its key's counter and the calls it recorded to its owner's
// CallStats (what probe_end would have added for each of them), and unstamps it.
void fast_flush(FastEntry& e) {
  const uint64_t n = e.rec;
  if (e.calls != nullptr) *e.calls += e.pending + n;
  if (e.owner != nullptr && n != 0) {
    CallStats& s = e.owner->calls[e.id];
    s.count.add(n);
    s.fortran.add(e.rec_f);
    s.bytes.add(n * e.bytes);
    s.hist[size_bin(e.bytes)].add(n);
    if (e.csize >= 0) {
      const int c = comm_class(e.csize);
      s.comm_count[c].add(n);
      s.comm_bytes[c].add(n * e.bytes);
    }
  }
  e.pending = e.rec = e.rec_f = 0;
  e.owner = nullptr;
}
void fast_flush_all() {
  for (FastEntry& e : g_tune_fast) fast_flush(e);
}
void fast_fill(const FastKey& k, CommInfo* ci, KeyState* s, int alg, const Args& a) {
  if (k.aux != nullptr && (k.coll == kAllreduce || k.coll == kReduce) &&
      !predefined_op(static_cast<MPI_Op>(const_cast<void*>(k.aux))))
    return;
  FastEntry& e = tune_fast_slot(k);
  fast_flush(e);  // the entry it replaces
  g_tune_fills.store(g_tune_fills.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  e.key = k;
  e.alg = static_cast<int16_t>(alg);
  e.calls = s ? &s->calls : &g_forced_calls;
  e.ci = ci;
  e.extent = a.extent;
  e.sextent = a.sextent;
}
// The application frees comm: its entries go (its handle may come back for another communicator).
void fast_forget(MPI_Comm comm) {
  for (FastEntry& e : g_tune_fast)
    if (e.key.comm == comm) {
      fast_flush(e);
      e.key.comm = nullptr;
    }
}
}  // namespace

void tune_fast_stamp(const TuneFastKey& k, ThreadBlock* b, CallId id, uint64_t bytes, int csize) {
  FastEntry& e = tune_fast_slot(k);
  if (!(e.key == k) || e.alg >= 0 || e.owner != nullptr) return;
  e.owner = b;
  e.id = static_cast<uint16_t>(id);
  e.bytes = bytes;
  e.csize = csize;
  e.rec = e.rec_f = 0;
}

void tune_rec_time(ThreadBlock* b, CallId id, uint64_t dt, uint32_t weight) {
  CallStats& s = b->calls[id];
  s.timed.add(1);
  s.raw_ticks.add(dt);
  s.est_ticks.add(dt * weight);
  if (b->depth == 0) b->outer_ticks[kLayerMpi].add(dt * weight);
  const uint64_t timed = s.timed.get();
  s.sampled.store(timed >= kWarmupCalls && s.raw_ticks.get() <= kAlwaysTimeTicks * timed,
                  std::memory_order_relaxed);
}

namespace {
// A cached call that runs native after all (a rooted call with an invalid root): counted, then the
// library's collective.
template <typename Native>
int fast_native(const FastEntry& e, Native native) {
  ++*e.calls;  // (e.pending is only for the inline path)
  return native();
}

// ------------------------------------------------------------------ communicators
void free_comm(MPI_Comm* c) {
  if (*c != g_mpi.comm_null) P.comm_free(c);
}

int delete_attr(MPI_Comm comm, int, void* value, void*) {
  fast_forget(comm);
  CommInfo* ci = static_cast<CommInfo*>(value);
  if (ci == nullptr || ci == &g_native_marker) return MPI_SUCCESS;
  // The application frees its communicator (collectively): free the private ones with it (only
  // those that exist: they were created at the same call on every rank, see ensure_comms). During
  // MPI_Finalize they go with the library.
  if (!g_finalizing) {
    free_comm(&ci->leaders);
    free_comm(&ci->node);
    free_comm(&ci->comm);
  }
  free(ci);  // its TuneState stays in g_states
  return MPI_SUCCESS;
}

int copy_attr(MPI_Comm, int, void*, void*, void*, int* flag) {
  *flag = 0;  // a duplicate gets its own CommInfo on its first collective
  return MPI_SUCCESS;
}

int cmp_u64(const void* a, const void* b) {
  const uint64_t x = *static_cast<const uint64_t*>(a), y = *static_cast<const uint64_t*>(b);
  return x < y ? -1 : x > y;
}

// What the tuning key needs: rank, size and the node structure (ranks per node, nodes, this rank's
// node colour) from one PMPI_Allgather of the node ids on the application's communicator itself.
// No communicator is created here: Open MPI's own collectives on a communicator that only ever
// runs native stay exactly as without the tuner, and a communicator costs no context id.
// Collective over comm: called from comm_info() on the first tuned collective call on comm, which
// is the same call on every rank (MPI orders collectives per communicator; the dispatch filters
// before comm_info() only look at arguments that must match across ranks). The allgather is on
// the application's communicator but in MPI's collective context, where no point-to-point message
// of the application can match it, and every rank makes it at the same point of the sequence of
// collectives on comm.
CommInfo* create_info(MPI_Comm comm, int size) {
  CommInfo* ci = static_cast<CommInfo*>(calloc(1, sizeof(CommInfo)));
  TuneState* ts = static_cast<TuneState*>(calloc(1, sizeof(TuneState)));
  uint64_t* ids = static_cast<uint64_t*>(malloc(sizeof(uint64_t) * static_cast<size_t>(size)));
  if (!ci || !ts || !ids) {
    // Out of memory on one rank is not agreed: the ranks may now diverge. Log it loudly.
    log("tuner: cannot set up a communicator (out of memory): collectives on it go to the library");
    free(ci);
    free(ts);
    free(ids);
    return &g_native_marker;
  }
  ci->user = comm;
  ci->comm = ci->node = ci->leaders = g_mpi.comm_null;
  ci->size = size;
  P.comm_rank(comm, &ci->rank);
  uint64_t mine = g_node_id;
  if (P.allgather(&mine, 1, g_mpi.uint64, ids, 1, g_mpi.uint64, comm) == MPI_SUCCESS) {
    qsort(ids, static_cast<size_t>(size), sizeof(uint64_t), cmp_u64);
    for (int i = 0, run = 0; i < size; i++) {
      run = i > 0 && ids[i] == ids[i - 1] ? run + 1 : 1;
      if (run == 1) ci->nodes++;
      if (ids[i] == mine) ci->node_color = ci->nodes - 1;
      ci->ranks_per_node = std::max(ci->ranks_per_node, run);
    }
  } else {
    log("tuner: node structure of a communicator failed: never hierarchical on it");
    ci->ranks_per_node = 0;
    ci->nodes = 1;
  }
  free(ids);
  ts->owner = ci->rank == 0;
  ci->tune = ts;
  TuneState* head = g_states.load(std::memory_order_relaxed);
  do {
    ts->next = head;
  } while (!g_states.compare_exchange_weak(head, ts));
  return ci;
}

// The tuner's view of comm, or nullptr when its collectives go to the library (intercommunicator,
// a single rank, set-up failure).
CommInfo* comm_info(MPI_Comm comm) {
  void* value = nullptr;
  int flag = 0;
  if (P.comm_get_attr(comm, g_keyval, &value, &flag) != MPI_SUCCESS) return nullptr;
  CommInfo* ci = static_cast<CommInfo*>(value);
  if (!flag) {
    int inter = 0, size = 0;
    P.comm_test_inter(comm, &inter);
    P.comm_size(comm, &size);
    ci = inter || size < 2 ? &g_native_marker : create_info(comm, size);
    P.comm_set_attr(comm, g_keyval, ci);
  }
  return ci == &g_native_marker ? nullptr : ci;
}

// Creates the private communicators before paracloud's own code first uses them on ci: the
// duplicate (every non-native algorithm, the exploration's agreement) and, for an algorithm with
// node_comms, the node and leader communicators (split from the duplicate). False when creation
// failed: the call then runs native (logged: if it failed on one rank only, the ranks diverge).
//
// Collective over ci.user, so every rank of the communicator must get here at the same call. It
// does, because whether a call runs a non-native algorithm, and which, is agreed:
//  - forced algorithms and store decisions are rank 0's, broadcast in MPI_Init (tune_after_init);
//  - a key (collective, size bucket, datatype class, communicator size, ranks per node) is the same
//    on every rank for the same call, and MPI makes every rank of a communicator call the same
//    collectives in the same order, so every rank's key states see the same sequence of calls;
//  - exploration is a deterministic schedule over that sequence (candidates ordered by name, one
//    warm-up plus `timed` calls each, per round), and it changes only in end_round() from times
//    agreed with one allreduce (pruning, decision), so the candidate of the n-th call of a key is
//    the same everywhere; a decided key's winner is the same everywhere.
// So the first call that runs a non-native algorithm (and the first that runs a node_comms one)
// is the same call on every rank, and the creations below are matched.
bool ensure_comms(CommInfo& ci, const Algorithm* alg) {
  if (ci.broken) return false;
  int rc = MPI_SUCCESS;
  if (ci.comm == g_mpi.comm_null) rc = P.comm_dup(ci.user, &ci.comm);
  if (rc == MPI_SUCCESS && alg && alg->node_comms && ci.node == g_mpi.comm_null) {
    rc = P.comm_split(ci.comm, ci.node_color, ci.rank, &ci.node);
    if (rc == MPI_SUCCESS) {
      P.comm_rank(ci.node, &ci.node_rank);
      P.comm_size(ci.node, &ci.node_size);
      rc = P.comm_split(ci.comm, ci.node_rank == 0 ? 0 : MPI_UNDEFINED, ci.rank, &ci.leaders);
    }
  }
  if (rc != MPI_SUCCESS) {
    log("tuner: creating a private communicator failed: collectives on this communicator go to "
        "the library from now on (the ranks may disagree)");
    ci.broken = true;
  }
  return !ci.broken;
}

// ------------------------------------------------------------------ choosing
bool allowed(const Algorithm& alg, const Args& a, int dtclass) {
  if (alg.run && g_set.reproducible && !alg.reproducible && dtclass != kDtInt && dtclass != kDtPair)
    return false;  // PARACLOUD_TUNE_REPRODUCIBLE: native's reduction order unless exact
  return alg.applies == nullptr || alg.applies(a);
}

// Timed calls per candidate per round (odd: a true median). Small calls are mostly skew between
// ranks and timer noise: the median of 5 back-to-back calls tracks what a loop of them costs (the
// fastest single call does not: rooted collectives pipeline). Large calls are long enough to time
// and costly to explore: the median of 3 still ignores one preempted call.
int timed_calls(int bucket) { return bucket < 16 ? 5 : 3; }
static_assert(kMaxTimed >= 5, "timed_calls");

bool is_native(int idx) { return algorithms()[idx].run == nullptr; }

KeyState* new_key(CommInfo& ci, const Key& k, const Args& a) {
  TuneState& ts = *ci.tune;
  if (ts.nkeys >= kMaxKeys) return nullptr;  // same on every rank: same call sequence
  KeyState& s = ts.keys[ts.nkeys++];
  memset(&s, 0, sizeof(s));
  s.key = k;
  s.winner = -1;
  for (int i = 0; i < g_set.ndecisions; i++) {
    const pc_tune_decision& d = g_store[i];
    if (strcmp(d.collective, kCollNames[k.coll]) || d.comm_size != k.comm_size ||
        d.ranks_per_node != k.rpn || d.bucket != k.bucket || strcmp(d.dtype, kDtNames[k.dtclass]))
      continue;
    const int idx = find_algorithm(static_cast<Coll>(k.coll), d.algorithm);
    if (idx >= 0 && allowed(algorithms()[idx], a, k.dtclass)) {
      s.source = kFromStore;
      s.winner = idx;
      return &s;
    }
  }
  // Candidates: the applicable algorithms of this collective, ordered by name.
  const Algorithm* algs = algorithms();
  for (int i = 0; i < algorithm_count() && s.ncand < kMaxCand; i++) {
    if (algs[i].coll != k.coll || !allowed(algs[i], a, k.dtclass)) continue;
    int j = s.ncand++;
    while (j > 0 && strcmp(algs[s.cand[j - 1]].name, algs[i].name) > 0) {
      s.cand[j] = s.cand[j - 1];
      j--;
    }
    s.cand[j] = static_cast<int16_t>(i);
  }
  for (int i = 0; i < s.ncand; i++) s.alive[i] = true;
  s.timed = static_cast<int8_t>(timed_calls(k.bucket));
  s.source = kExploring;
  if (s.ncand == 1) {
    s.source = kExplored;
    s.winner = s.cand[0];
  }
  return &s;
}

KeyState* key_state(CommInfo& ci, const Key& k, const Args& a) {
  TuneState& ts = *ci.tune;
  uint32_t h = (k.coll * 131u + k.dtclass) * 131u + static_cast<uint32_t>(k.bucket + 1);
  h = (h * 2654435761u) >> 7;
  for (;; h++) {
    int16_t& slot = ts.index[h % (2 * kMaxKeys)];
    if (slot == 0) {
      KeyState* s = new_key(ci, k, a);
      if (s) slot = static_cast<int16_t>(s - ts.keys + 1);
      return s;
    }
    if (ts.keys[slot - 1].key == k) return &ts.keys[slot - 1];
  }
}

// The candidate slot to run now (exploring), -1 once decided.
int exploring_slot(const KeyState& s) {
  if (s.source != kExploring) return -1;
  int n = 0;
  for (int i = 0; i < s.ncand; i++)
    if (s.alive[i] && n++ == s.pos) return i;
  return -1;
}

// The decision from the agreed times: the fastest alive candidate (ties: first by name), but
// native whenever it is within the margin of that one (a stored non-native decision must pay for
// itself on every later run, and on a shared machine small differences are noise).
int choose(const KeyState& s) {
  uint64_t best = UINT64_MAX;
  int winner = -1, native = -1;
  for (int i = 0; i < s.ncand; i++) {
    if (!s.alive[i]) continue;
    if (is_native(s.cand[i])) native = i;
    if (s.best_ns[i] < best) best = s.best_ns[i], winner = i;
  }
  if (native >= 0 && winner != native &&
      static_cast<double>(s.best_ns[native]) <= static_cast<double>(best) * (1 + g_set.margin))
    return native;
  return winner;
}

// End of a round: agree on the times (max over ranks of each rank's median timed call), keep
// each candidate's best round, prune, maybe decide. Collective over ci.
void end_round(CommInfo& ci, KeyState& s) {
  uint64_t in[kMaxCand + 1], out[kMaxCand + 1];
  for (int i = 0; i < s.ncand; i++) in[i] = s.alive[i] ? s.round_ns[i] : 0;
  in[s.ncand] = mono_ns() - g_init_ns;
  // The duplicate exists already (a non-native candidate ran this round); ensure_comms is a no-op
  // then, and end_round is reached at the same call everywhere in any case.
  if (!ensure_comms(ci, nullptr) ||
      P.allreduce(in, out, s.ncand + 1, g_mpi.uint64, g_mpi.max, ci.comm) != MPI_SUCCESS) {
    s.source = kExplored;  // cannot agree: exploring on is unsafe, take native
    s.winner = s.cand[0];
    for (int i = 0; i < s.ncand; i++)
      if (is_native(s.cand[i])) s.winner = s.cand[i];
    return;
  }
  uint64_t round_min = UINT64_MAX;
  for (int i = 0; i < s.ncand; i++)
    if (s.alive[i] && out[i] < round_min) round_min = out[i];
  for (int i = 0; i < s.ncand; i++) {
    if (!s.alive[i]) continue;
    s.overhead_ns += (out[i] - round_min) * static_cast<uint64_t>(s.timed + 1);
    if (s.round == 0 || out[i] < s.best_ns[i]) s.best_ns[i] = out[i];
    s.round_ns[i] = 0;
  }
  s.round++;
  s.pos = 0;
  s.rep = 0;
  uint64_t best = UINT64_MAX;
  for (int i = 0; i < s.ncand; i++)
    if (s.alive[i] && s.best_ns[i] < best) best = s.best_ns[i];
  // Adaptive pruning: from the second round on, drop candidates over twice the best (never
  // native: it is the reference every other candidate must beat by the margin).
  int alive = 0;
  for (int i = 0; i < s.ncand; i++) {
    if (s.alive[i] && s.round >= 2 && s.best_ns[i] > 2 * best && !is_native(s.cand[i]))
      s.alive[i] = false;
    alive += s.alive[i];
  }
  // Bounded cost: the overhead so far against the budget share of the run (at least 1 s of run).
  const uint64_t elapsed = out[s.ncand] > 1000000000u ? out[s.ncand] : 1000000000u;
  const bool over_budget = static_cast<double>(s.overhead_ns) > g_set.budget * elapsed;
  if (s.round >= g_set.rounds || alive <= 1 || over_budget) {
    s.source = kExplored;
    s.winner = s.cand[choose(s)];
  }
}

void noise_delay() {
  uint32_t x = g_noise_rng;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  g_noise_rng = x;
  const uint64_t until = mono_ns() + x % g_noise_ns;
  while (mono_ns() < until) {
  }
}

// Runs one call: native (`native`) or the chosen algorithm (prepare + run), exploring as needed.
template <typename Native, typename Prepare>
int dispatch(Coll coll, CommInfo* ci, Args& a, uint64_t bytes, int dtclass, const FastKey& fk,
             Native native, Prepare prepare) {
  a.ci = ci;
  int idx = g_set.force[coll];
  KeyState* s = nullptr;
  int slot = -1;
  if (idx >= 0) {
    if (!allowed(algorithms()[idx], a, dtclass)) idx = -1;  // forced but not applicable: native
  } else {
    const Key k{static_cast<uint8_t>(coll), static_cast<uint8_t>(dtclass),
                static_cast<int16_t>(coll == kBarrier ? -1 : bucket_of(bytes)), ci->size,
                ci->ranks_per_node};
    s = key_state(*ci, k, a);
    if (s != nullptr) {
      s->calls++;
      slot = exploring_slot(*s);
      idx = slot >= 0 ? s->cand[slot] : s->winner;
    }
  }
  const Algorithm* alg = idx >= 0 ? &algorithms()[idx] : nullptr;
  // A decided algorithm that does not fit this call's arguments (Bruck's alltoall with different
  // send and receive blocks) runs native instead.
  if (alg && alg->applies && !alg->applies(a)) alg = nullptr;
  // The private communicators are created at the first call that needs them (see ensure_comms).
  if (alg && alg->run && !ensure_comms(*ci, alg)) alg = nullptr;
  // The one "call fails" path of the tuned collectives (issue 14 item 4): an algorithm whose scratch
  // buffer cannot be allocated (prepare() or the algorithm itself) returns MPI_ERR_NO_MEM. It cannot
  // pass through to native instead: the other ranks chose the same algorithm (the decision is agreed)
  // and wait for this rank's messages on the private communicator, so a native call here would
  // deadlock the job. Open MPI's own algorithms allocate the same scratch and fail the same way.
  auto run = [&] {
    if (!alg || !alg->run) return native();
    const int rc = prepare(a);
    return rc == MPI_SUCCESS ? alg->run(a) : rc;
  };
  if (slot < 0) {
    fast_fill(fk, ci, s, alg && alg->run ? static_cast<int>(alg - algorithms()) : -1, a);
    return run();
  }
  // Exploring: per round, each candidate runs one untimed warm-up call (it absorbs the skew left
  // by the previous candidate and cold buffers), then s->timed timed calls; their median counts.
  if (g_noise_ns) noise_delay();
  int rc;
  if (s->rep == 0) {
    rc = run();
  } else {
    const uint64_t t0 = mono_ns();
    rc = run();
    s->batch_ns[s->rep - 1] = std::max<uint64_t>(1, mono_ns() - t0);
  }
  s->explore_calls++;
  if (++s->rep <= s->timed) return rc;
  std::sort(s->batch_ns, s->batch_ns + s->timed);
  s->round_ns[slot] = s->batch_ns[s->timed / 2];
  s->rep = 0;
  s->pos++;
  int alive = 0;
  for (int i = 0; i < s->ncand; i++) alive += s->alive[i];
  if (s->pos >= alive) end_round(*ci, *s);
  return rc;
}

// A cached decision for a non-native algorithm: its arguments were checked when it was cached.
template <typename Prepare>
int fast_run(const FastEntry& e, Args& a, Prepare prepare) {
  ++*e.calls;
  a.ci = e.ci, a.extent = e.extent, a.sextent = e.sextent;
  const int rc = prepare(a);
  return rc == MPI_SUCCESS ? algorithms()[e.alg].run(a) : rc;
}

MPI_Aint extent_of(MPI_Datatype t) {
  MPI_Aint lb = 0, extent = 0;
  P.type_get_extent(t, &lb, &extent);
  return extent;
}

// Reductions: predefined datatype, commutative op, something to reduce.
int reduction_class(int count, MPI_Datatype dt, MPI_Op op) {
  if (count <= 0) return -1;
  const int c = type_class(dt);
  int commutative = 0;
  if (c < 0 || P.op_commutative(op, &commutative) != MPI_SUCCESS || !commutative) return -1;
  return c;
}

}  // namespace

// ------------------------------------------------------------------ tuned entry points
// The inline tuned_MPI_* (tuner.hpp) handle cached native decisions; these get every other call,
// with the cache entry found for it (a cached non-native decision) or nullptr.
TuneFastEntry g_tune_fast[kTuneFastSlots];

int tuned_slow_MPI_Allreduce(const TuneFastEntry* e, decltype(&PMPI_Allreduce) real,
                             const void* sbuf, void* rbuf, int count, MPI_Datatype dt, MPI_Op op,
                             MPI_Comm comm) {
  auto native = [&] { return real(sbuf, rbuf, count, dt, op, comm); };
  const FastKey fk{comm, dt, op, count, 0, kAllreduce, sbuf == MPI_IN_PLACE};
  Args a{};
  a.sbuf = sbuf, a.rbuf = rbuf, a.count = count, a.dt = dt, a.op = op;
  auto prepare = [&](Args& x) {
    if (sbuf != MPI_IN_PLACE) memcpy(rbuf, sbuf, static_cast<size_t>(count) * x.extent);
    return MPI_SUCCESS;
  };
  if (e) return fast_run(*e, a, prepare);
  const int c = reduction_class(count, dt, op);
  CommInfo* ci = c >= 0 ? comm_info(comm) : nullptr;
  if (!ci) return native();
  a.extent = extent_of(dt);
  return dispatch(kAllreduce, ci, a, static_cast<uint64_t>(count) * tsize(dt), c, fk, native,
                  prepare);
}

int tuned_slow_MPI_Reduce(const TuneFastEntry* e, decltype(&PMPI_Reduce) real, const void* sbuf,
                          void* rbuf, int count, MPI_Datatype dt, MPI_Op op, int root,
                          MPI_Comm comm) {
  auto native = [&] { return real(sbuf, rbuf, count, dt, op, root, comm); };
  const FastKey fk{comm, dt, op, count, 0, kReduce, sbuf == MPI_IN_PLACE};
  if (e && (root < 0 || root >= e->ci->size)) return fast_native(*e, native);
  CommInfo* ci = nullptr;
  int c = -1;
  if (!e) {
    c = reduction_class(count, dt, op);
    ci = c >= 0 ? comm_info(comm) : nullptr;
    if (!ci || root < 0 || root >= ci->size) return native();
  }
  Args a{};
  a.count = count, a.dt = dt, a.op = op, a.root = root;
  if (!e) a.extent = extent_of(dt);
  // Every rank accumulates in a working copy: the root in rbuf, the others in scratch.
  const bool is_root = (e ? e->ci : ci)->rank == root;
  void* work = nullptr;
  auto prepare = [&](Args& x) {
    const size_t bytes = static_cast<size_t>(count) * static_cast<size_t>(x.extent);
    if (!is_root) work = malloc(bytes);
    if (!is_root && !work) return MPI_ERR_NO_MEM;
    x.rbuf = is_root ? rbuf : work;
    if (!is_root || sbuf != MPI_IN_PLACE) memcpy(x.rbuf, sbuf, bytes);
    return MPI_SUCCESS;
  };
  const int rc = e ? fast_run(*e, a, prepare)
                   : dispatch(kReduce, ci, a, static_cast<uint64_t>(count) * tsize(dt), c, fk,
                              native, prepare);
  free(work);
  return rc;
}

int tuned_slow_MPI_Bcast(const TuneFastEntry* e, decltype(&PMPI_Bcast) real, void* buf, int count,
                         MPI_Datatype dt, int root, MPI_Comm comm) {
  auto native = [&] { return real(buf, count, dt, root, comm); };
  const FastKey fk{comm, dt, nullptr, count, 0, kBcast, 0};
  if (e && (root < 0 || root >= e->ci->size)) return fast_native(*e, native);
  Args a{};
  a.rbuf = buf, a.count = count, a.dt = dt, a.root = root;
  auto prepare = [](Args&) { return MPI_SUCCESS; };
  if (e) return fast_run(*e, a, prepare);
  const uint64_t bytes = count > 0 ? static_cast<uint64_t>(count) * tsize(dt) : 0;
  CommInfo* ci = bytes && type_class(dt) >= 0 ? comm_info(comm) : nullptr;
  if (!ci || root < 0 || root >= ci->size) return native();
  a.extent = extent_of(dt);
  return dispatch(kBcast, ci, a, bytes, kDtBytes, fk, native, prepare);
}

int tuned_slow_MPI_Allgather(const TuneFastEntry* e, decltype(&PMPI_Allgather) real,
                             const void* sbuf, int scount, MPI_Datatype stype, void* rbuf,
                             int rcount, MPI_Datatype rtype, MPI_Comm comm) {
  auto native = [&] { return real(sbuf, scount, stype, rbuf, rcount, rtype, comm); };
  const bool in_place = sbuf == MPI_IN_PLACE;  // then stype and scount are ignored
  const FastKey fk{comm, rtype, in_place ? nullptr : stype, rcount, in_place ? 0 : scount,
                   kAllgather, in_place};
  Args a{};
  a.rbuf = rbuf, a.count = rcount, a.dt = rtype;
  auto prepare = [&](Args& x) {
    char* mine = at(rbuf, 1L * x.ci->rank * rcount, x.extent);
    if (sbuf == MPI_IN_PLACE) return MPI_SUCCESS;
    if (stype == rtype && scount == rcount) {
      memcpy(mine, sbuf, static_cast<size_t>(rcount) * x.extent);
      return MPI_SUCCESS;
    }
    return P.sendrecv(sbuf, scount, stype, x.ci->rank, kTag, mine, rcount, rtype, x.ci->rank,
                      kTag, x.ci->comm, MPI_STATUS_IGNORE);
  };
  if (e) return fast_run(*e, a, prepare);
  const uint64_t bytes = rcount > 0 ? static_cast<uint64_t>(rcount) * tsize(rtype) : 0;
  const bool named = type_class(rtype) >= 0 && (in_place || type_class(stype) >= 0);
  CommInfo* ci = bytes && named ? comm_info(comm) : nullptr;
  if (!ci) return native();
  a.extent = extent_of(rtype);
  return dispatch(kAllgather, ci, a, bytes, kDtBytes, fk, native, prepare);
}

int tuned_slow_MPI_Alltoall(const TuneFastEntry* e, decltype(&PMPI_Alltoall) real,
                            const void* sbuf, int scount, MPI_Datatype stype, void* rbuf,
                            int rcount, MPI_Datatype rtype, MPI_Comm comm) {
  auto native = [&] { return real(sbuf, scount, stype, rbuf, rcount, rtype, comm); };
  const bool in_place = sbuf == MPI_IN_PLACE;
  const FastKey fk{comm, rtype, stype, rcount, scount, kAlltoall, in_place};
  Args a{};
  a.sbuf = sbuf, a.rbuf = rbuf, a.count = rcount, a.dt = rtype, a.scount = scount,
  a.stype = stype;
  auto prepare = [](Args&) { return MPI_SUCCESS; };
  if (e) return fast_run(*e, a, prepare);
  const uint64_t bytes = rcount > 0 ? static_cast<uint64_t>(rcount) * tsize(rtype) : 0;
  // MPI_IN_PLACE (all ranks or none) goes to the library.
  const bool named = !in_place && type_class(rtype) >= 0 && type_class(stype) >= 0;
  CommInfo* ci = bytes && named ? comm_info(comm) : nullptr;
  if (!ci) return native();
  a.extent = extent_of(rtype), a.sextent = extent_of(stype);
  return dispatch(kAlltoall, ci, a, bytes, kDtBytes, fk, native, prepare);
}

int tuned_slow_MPI_Barrier(const TuneFastEntry* e, decltype(&PMPI_Barrier) real,
                           MPI_Comm comm) {
  auto native = [&] { return real(comm); };
  const FastKey fk{comm, nullptr, nullptr, 0, 0, kBarrier, 0};
  Args a{};
  auto prepare = [](Args&) { return MPI_SUCCESS; };
  if (e) return fast_run(*e, a, prepare);
  CommInfo* ci = comm_info(comm);
  if (!ci) return native();
  return dispatch(kBarrier, ci, a, 0, kDtBytes, fk, native, prepare);
}

// ------------------------------------------------------------------ session
namespace {

void parse_force(const char* v) {
  for (int c = 0; c < kCollCount; c++) g_set.force[c] = -1;
  if (!v) return;
  char buf[512];
  snprintf(buf, sizeof(buf), "%s", v);
  char* save = nullptr;
  for (char* item = strtok_r(buf, ",", &save); item; item = strtok_r(nullptr, ",", &save)) {
    char* colon = strchr(item, ':');
    int c = 0;
    if (colon) {
      *colon = '\0';
      for (c = 0; c < kCollCount && strcmp(kCollNames[c], item); c++) {
      }
    }
    const int idx = colon && c < kCollCount ? find_algorithm(static_cast<Coll>(c), colon + 1) : -1;
    if (idx < 0) {
      log("PARACLOUD_TUNE_FORCE item '%s%s%s' is not collective:algorithm (e.g. allreduce:ring): "
          "ignored",
          item, colon ? ":" : "", colon ? colon + 1 : "");
      continue;
    }
    g_set.force[c] = idx;
  }
}

// This host's identity for the node structure: FNV-1a of the host name (the same on every rank
// of a node; what MPI_COMM_TYPE_SHARED groups on one host). Correctness never depends on it: a
// wrong grouping only makes the hierarchical algorithm and the key's ranks_per_node less apt.
uint64_t host_id() {
  char name[256] = "";
  gethostname(name, sizeof(name) - 1);
  uint64_t h = 1469598103934665603ull;
  for (const char* p = name; *p; p++) h = (h ^ static_cast<unsigned char>(*p)) * 1099511628211ull;
  return h;
}

double env_double(const char* name, double dflt, double lo, double hi) {
  const char* v = getenv(name);
  if (!v || !*v) return dflt;
  char* end = nullptr;
  const double d = strtod(v, &end);
  if (*end || d < lo || d > hi) {
    log("%s='%s' is not a number in [%g, %g]: using %g", name, v, lo, hi, dflt);
    return dflt;
  }
  return d;
}

}  // namespace

int tune_store_load(int ranks, int rpn, pc_tune_decision* out, int max, char* loaded, size_t len);
bool tune_store_save(int ranks, int rpn, const pc_tune_decision* d, int n, char* path, size_t len);

void tune_after_init() {
  const char* missing = nullptr;
  g_init_ns = mono_ns();
  if (!live(kLayerMpi) || g_mpi.comm_world == nullptr) {
    g_off_reason = "the mpi module is disabled";
    return;
  }
  if (!resolve_pmpi(&missing)) {
    g_off_reason = "a PMPI function is missing";
    log("tuner disabled: %s not found", missing);
    return;
  }
  int provided = 0;
  P.query_thread(&provided);
  if (provided == MPI_THREAD_MULTIPLE) {
    // Collectives may run concurrently on several threads: the tuner's per-call choices could
    // differ between ranks, so every collective goes to the library.
    g_off_reason = "MPI_THREAD_MULTIPLE: collectives go to the library";
    return;
  }
  init_types();
  const char* const ops[] = {"max",  "min", "sum",  "prod",   "land",   "band",    "lor",
                             "bor",  "lxor", "bxor", "maxloc", "minloc", "replace", "no_op"};
  static_assert(sizeof(ops) / sizeof(ops[0]) <= sizeof(g_predefined_ops) / sizeof(MPI_Op), "");
  for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
    char name[64];
    snprintf(name, sizeof(name), "ompi_mpi_op_%s", ops[i]);
    g_predefined_ops[i] = reinterpret_cast<MPI_Op>(data_symbol(name));
  }
  if (P.comm_create_keyval(copy_attr, delete_attr, &g_keyval, nullptr) != MPI_SUCCESS) {
    g_off_reason = "MPI_Comm_create_keyval failed";
    return;
  }
  const char* noise = getenv("PARACLOUD_TUNE_TEST_NOISE");
  g_noise_ns = noise ? strtoull(noise, nullptr, 10) : 0;
  const char* fake = getenv("PARACLOUD_TUNE_TEST_NODE_SIZE");
  g_fake_node_size = fake ? atoi(fake) : 0;
  P.comm_rank(g_mpi.comm_world, &g_world_rank);
  g_noise_rng = 0x9e3779b9u ^ static_cast<uint32_t>(g_world_rank * 2654435761u);
  if (!g_noise_rng) g_noise_rng = 1;
  g_node_id = g_fake_node_size > 0 ? static_cast<uint64_t>(g_world_rank / g_fake_node_size)
                                   : host_id();

  // The world's key data (ranks per node for the store's geometry): one allgather on the
  // application's MPI_COMM_WORLD, the first collective on it (we are inside MPI_Init), so every
  // rank makes it at the same point. No communicator is created.
  CommInfo* world = comm_info(g_mpi.comm_world);
  g_store = static_cast<pc_tune_decision*>(calloc(kMaxStore, sizeof(pc_tune_decision)));
  if (g_world_rank == 0) {
    parse_force(getenv("PARACLOUD_TUNE_FORCE"));
    const char* r = getenv("PARACLOUD_TUNE_REPRODUCIBLE");
    g_set.reproducible = r && !strcmp(r, "1");
    g_set.rounds = static_cast<int>(env_double("PARACLOUD_TUNE_ROUNDS", 3, 1, 100));
    g_set.budget = env_double("PARACLOUD_TUNE_BUDGET", 0.02, 0, 1);
    g_set.margin = env_double("PARACLOUD_TUNE_MARGIN", 0.04, 0, 1);
    g_set.ndecisions = 0;
    int size = 1;
    P.comm_size(g_mpi.comm_world, &size);
    if (g_store && world)
      g_set.ndecisions = std::max(0, tune_store_load(size, world->ranks_per_node, g_store,
                                                     kMaxStore, g_store_loaded,
                                                     sizeof(g_store_loaded)));
  }
  if (world == nullptr) {  // a world of one: nothing to agree on
    g_tune_on.store(true);
    return;
  }
  // Rank 0's settings and store decisions, broadcast on the application's MPI_COMM_WORLD right
  // after that allgather, still inside MPI_Init (same argument).
  if (!g_store ||
      P.bcast(&g_set, sizeof(g_set), g_mpi.chr, 0, g_mpi.comm_world) != MPI_SUCCESS ||
      (g_set.ndecisions > 0 &&
       P.bcast(g_store, static_cast<int>(sizeof(pc_tune_decision)) * g_set.ndecisions, g_mpi.chr,
               0, g_mpi.comm_world) != MPI_SUCCESS)) {
    g_off_reason = "cannot agree on the settings";
    log("tuner disabled: broadcast of the settings failed");
    return;
  }
  g_tune_on.store(true);
}

namespace {

void to_decision(const KeyState& s, pc_tune_decision& d) {
  memset(&d, 0, sizeof(d));
  snprintf(d.collective, sizeof(d.collective), "%s", kCollNames[s.key.coll]);
  d.comm_size = s.key.comm_size;
  d.ranks_per_node = s.key.rpn;
  d.bucket = s.key.bucket;
  snprintf(d.dtype, sizeof(d.dtype), "%s", kDtNames[s.key.dtclass]);
  snprintf(d.algorithm, sizeof(d.algorithm), "%s", algorithms()[s.winner].name);
  snprintf(d.source, sizeof(d.source), "%s", s.source == kFromStore ? "store" : "explore");
  for (int i = 0; i < s.ncand; i++)
    if (s.cand[i] == s.winner && s.best_ns[i]) d.time_us = s.best_ns[i] / 1000.0;
  d.calls = s.calls;
}

// PARACLOUD_TUNE_TEST_TRACE=PREFIX: every rank writes its decisions to PREFIX.<world rank>.
void write_trace() {
  const char* prefix = getenv("PARACLOUD_TUNE_TEST_TRACE");
  if (!prefix || !*prefix) return;
  char path[4096];
  snprintf(path, sizeof(path), "%s.%d", prefix, g_world_rank);
  FILE* f = fopen(path, "w");
  if (!f) return;
  uint64_t explore = 0;
  for (TuneState* ts = g_states.load(); ts; ts = ts->next)
    for (int i = 0; i < ts->nkeys; i++) {
      const KeyState& s = ts->keys[i];
      explore += s.explore_calls;
      fprintf(f, "%s size=%d rpn=%d bucket=%d dtype=%s -> %s (%s) calls=%llu explored=%llu\n",
              kCollNames[s.key.coll], s.key.comm_size, s.key.rpn, s.key.bucket,
              kDtNames[s.key.dtclass], s.winner >= 0 ? algorithms()[s.winner].name : "-",
              s.source == kFromStore ? "store" : s.source == kExplored ? "explore" : "exploring",
              static_cast<unsigned long long>(s.calls),
              static_cast<unsigned long long>(s.explore_calls));
    }
  fprintf(f, "explore_calls %llu\n", static_cast<unsigned long long>(explore));
  fclose(f);
}

}  // namespace

namespace {

bool same_key(const pc_tune_decision& a, const pc_tune_decision& b) {
  return !strcmp(a.collective, b.collective) && a.comm_size == b.comm_size &&
         a.ranks_per_node == b.ranks_per_node && a.bucket == b.bucket && !strcmp(a.dtype, b.dtype);
}

// Adds d to out[0..*n) (capacity max): one decision per key, the one with the most calls.
void merge_decision(pc_tune_decision* out, int* n, int max, const pc_tune_decision& d) {
  for (int i = 0; i < *n; i++)
    if (same_key(out[i], d)) {
      if (d.calls > out[i].calls) out[i] = d;
      return;
    }
  if (*n < max) out[(*n)++] = d;
}

int by_calls_desc(const void* a, const void* b) {
  const uint64_t x = static_cast<const pc_tune_decision*>(a)->calls;
  const uint64_t y = static_cast<const pc_tune_decision*>(b)->calls;
  return x > y ? -1 : x < y;
}

// At most this many decisions reach world rank 0 in all: each rank below it sends at most
// max(1, kMaxGather / world size) (at most kMaxStore), the others none (the same caps everywhere).
constexpr int kMaxGather = 16384;
int gather_cap(int size) {
  return g_world_rank < kMaxGather ? std::max(1, std::min(kMaxStore, kMaxGather / size)) : 0;
}

// The decisions explored on the communicators this rank is rank 0 of (a communicator's decisions
// are the same on all its ranks, so one copy each is enough), merged by key, the most used first,
// at most `cap`. Returns how many are in out.
int local_decisions(pc_tune_decision* out, int cap) {
  int n = 0;
  for (TuneState* ts = g_states.load(); ts; ts = ts->next) {
    if (!ts->owner) continue;
    for (int i = 0; i < ts->nkeys; i++) {
      const KeyState& s = ts->keys[i];
      if (s.source != kExplored || s.winner < 0) continue;
      pc_tune_decision d;
      to_decision(s, d);
      merge_decision(out, &n, kMaxStore, d);
    }
  }
  qsort(out, static_cast<size_t>(n), sizeof(*out), by_calls_desc);
  return std::min(n, cap);
}

}  // namespace

// Inside MPI_Finalize, on every rank (before the library goes): world rank 0 gathers every rank's
// explored decisions (communicators without world rank 0 included) and saves them to the store.
// The gathers are on the application's MPI_COMM_WORLD: every rank calls tune_finish at the same
// point (MPI_Finalize, with the tuner on everywhere: its settings were agreed in MPI_Init) and the
// application cannot have collectives on it pending past MPI_Finalize.
void tune_finish() {
  if (!g_tune_on.exchange(false)) return;
  g_finalizing = true;
  fast_flush_all();  // every call counted in its key (trace, store, profile)
  write_trace();
  int size = 1;
  P.comm_size(g_mpi.comm_world, &size);
  pc_tune_decision* mine = static_cast<pc_tune_decision*>(calloc(kMaxStore, sizeof(*mine)));
  const int n = mine ? local_decisions(mine, gather_cap(size)) : 0;
  const int rec = static_cast<int>(sizeof(pc_tune_decision));
  pc_tune_decision* all = mine;  // what rank 0 merges: its own, or everyone's after the gather
  int total = n;
  if (size > 1) {
    // Rank 0 allocates for the most it can receive (kMaxGather records) and says whether it could
    // (one int broadcast), so that no rank sends to a root that cannot take it. Then the counts
    // (bytes: the records have the same layout on every rank) and the records.
    int* counts = nullptr;
    pc_tune_decision* recv = nullptr;
    int ready = 1;
    if (g_world_rank == 0) {
      counts = static_cast<int*>(calloc(2 * static_cast<size_t>(size), sizeof(int)));
      recv = static_cast<pc_tune_decision*>(malloc(static_cast<size_t>(kMaxGather) * rec));
      ready = counts && recv;
      if (!ready) log("tuner: out of memory at MPI_Finalize: only rank 0's decisions are saved");
    }
    int bytes = n * rec;
    int rc = P.bcast(&ready, 1, g_mpi.int32, 0, g_mpi.comm_world);
    if (rc == MPI_SUCCESS && ready)
      rc = P.gather(&bytes, 1, g_mpi.int32, counts, 1, g_mpi.int32, 0, g_mpi.comm_world);
    if (rc == MPI_SUCCESS && ready) {
      int* displs = counts ? counts + size : nullptr;
      if (g_world_rank == 0) {
        total = 0;
        for (int r = 0; r < size; r++) {
          displs[r] = total * rec;
          total += counts[r] / rec;
        }
      }
      rc = P.gatherv(mine, bytes, g_mpi.chr, recv, counts, displs, g_mpi.chr, 0, g_mpi.comm_world);
      if (g_world_rank == 0 && rc == MPI_SUCCESS) {
        all = recv;
        recv = nullptr;
      } else {
        total = n;
      }
    }
    free(counts);
    free(recv);
  }
  if (g_world_rank == 0) {
    // One decision per key: the most used.
    pc_tune_decision* out = static_cast<pc_tune_decision*>(calloc(kMaxStore, sizeof(*out)));
    int nout = 0;
    for (int i = 0; out && all && i < total; i++) merge_decision(out, &nout, kMaxStore, all[i]);
    int rpn = 1;
    void* value = nullptr;
    int flag = 0;
    if (P.comm_get_attr(g_mpi.comm_world, g_keyval, &value, &flag) == MPI_SUCCESS && flag &&
        value != &g_native_marker)
      rpn = static_cast<CommInfo*>(value)->ranks_per_node;
    if (nout > 0) tune_store_save(size, rpn, out, nout, g_store_saved, sizeof(g_store_saved));
    free(out);
  }
  if (all != mine) free(all);
  free(mine);
}

// The profile's "tuning" object (PROFILE-SCHEMA.md), malloc'd JSON text; rank 0 only.
char* tune_profile_json() {
  size_t cap = 4096, len = 0;
  char* buf = static_cast<char*>(malloc(cap));
  if (!buf) return nullptr;
  auto put = [&](const char* fmt, auto... args) {
    for (;;) {
      const int n = snprintf(buf + len, cap - len, fmt, args...);
      if (n >= 0 && static_cast<size_t>(n) < cap - len) {
        len += static_cast<size_t>(n);
        return;
      }
      char* bigger = static_cast<char*>(realloc(buf, cap * 2));
      if (!bigger) return;
      buf = bigger;
      cap *= 2;
    }
  };
  uint64_t explore_calls = 0, overhead = 0;
  for (TuneState* ts = g_states.load(); ts; ts = ts->next)
    for (int i = 0; i < ts->nkeys; i++) {
      explore_calls += ts->keys[i].explore_calls;
      overhead += ts->keys[i].overhead_ns;
    }
  put("{\"enabled\": %s, \"reason\": ", g_off_reason ? "false" : "true");
  if (g_off_reason)
    put("\"%s\"", g_off_reason);
  else
    put("null");
  put(", \"reproducible\": %s, \"budget\": %g, \"rounds\": %d, \"margin\": %g, \"forced\": [",
      g_set.reproducible ? "true" : "false", g_set.budget, g_set.rounds, g_set.margin);
  bool first = true;
  for (int c = 0; c < kCollCount; c++) {
    if (g_set.force[c] < 0) continue;
    put("%s\"%s:%s\"", first ? "" : ", ", kCollNames[c], algorithms()[g_set.force[c]].name);
    first = false;
  }
  put("], \"store_loaded\": ");
  *g_store_loaded ? put("\"%s\"", g_store_loaded) : put("null");
  put(", \"store_saved\": ");
  *g_store_saved ? put("\"%s\"", g_store_saved) : put("null");
  put(", \"exploration_calls\": %llu, \"exploration_overhead_s\": %.9g, \"decisions\": [",
      static_cast<unsigned long long>(explore_calls), overhead * 1e-9);
  first = true;
  for (TuneState* ts = g_states.load(); ts; ts = ts->next)
    for (int i = 0; i < ts->nkeys; i++) {
      const KeyState& s = ts->keys[i];
      put("%s\n  {\"collective\": \"%s\", \"comm_size\": %d, \"ranks_per_node\": %d, "
          "\"bucket\": %d, \"dtype\": \"%s\", \"algorithm\": ",
          first ? "" : ",", kCollNames[s.key.coll], s.key.comm_size, s.key.rpn, s.key.bucket,
          kDtNames[s.key.dtclass]);
      first = false;
      s.winner >= 0 ? put("\"%s\"", algorithms()[s.winner].name) : put("null");
      put(", \"source\": \"%s\", \"calls\": %llu, \"explore_calls\": %llu, \"candidates\": [",
          s.source == kFromStore ? "store" : s.source == kExplored ? "explore" : "exploring",
          static_cast<unsigned long long>(s.calls),
          static_cast<unsigned long long>(s.explore_calls));
      for (int c = 0; c < s.ncand; c++)
        put("%s{\"algorithm\": \"%s\", \"time_us\": %.3f, \"pruned\": %s}", c ? ", " : "",
            algorithms()[s.cand[c]].name, s.best_ns[c] / 1000.0, s.alive[c] ? "false" : "true");
      put("]}");
    }
  put("]}");
  return buf;
}

}  // namespace pc

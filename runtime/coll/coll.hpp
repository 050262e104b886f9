// The collective algorithm library: PMPI entry points, the per-communicator context, the uniform
// argument block and the registration shape shared by every runtime/coll/<collective>.cpp.
#pragma once
#include <algorithm>

#include "../mpi_helpers.hpp"

namespace pc {
namespace coll {

// PMPI functions the algorithms and the tuner call (resolved once by resolve_pmpi()).
struct Pmpi {
  decltype(&PMPI_Sendrecv) sendrecv;
  decltype(&PMPI_Send) send;
  decltype(&PMPI_Recv) recv;
  decltype(&PMPI_Isend) isend;
  decltype(&PMPI_Irecv) irecv;
  decltype(&PMPI_Waitall) waitall;
  decltype(&PMPI_Reduce_local) reduce_local;
  decltype(&PMPI_Type_get_extent) type_get_extent;
  decltype(&PMPI_Type_size) type_size;
  decltype(&PMPI_Type_get_envelope) type_get_envelope;
  decltype(&PMPI_Op_commutative) op_commutative;
  decltype(&PMPI_Reduce) reduce;
  decltype(&PMPI_Allreduce) allreduce;
  decltype(&PMPI_Bcast) bcast;
  decltype(&PMPI_Gather) gather;
  decltype(&PMPI_Gatherv) gatherv;
  decltype(&PMPI_Allgather) allgather;
  decltype(&PMPI_Comm_rank) comm_rank;
  decltype(&PMPI_Comm_size) comm_size;
  decltype(&PMPI_Comm_dup) comm_dup;
  decltype(&PMPI_Comm_split) comm_split;
  decltype(&PMPI_Comm_split_type) comm_split_type;
  decltype(&PMPI_Comm_free) comm_free;
  decltype(&PMPI_Comm_test_inter) comm_test_inter;
  decltype(&PMPI_Comm_create_keyval) comm_create_keyval;
  decltype(&PMPI_Comm_get_attr) comm_get_attr;
  decltype(&PMPI_Comm_set_attr) comm_set_attr;
  decltype(&PMPI_Comm_delete_attr) comm_delete_attr;
  decltype(&PMPI_Query_thread) query_thread;
};
extern Pmpi P;
// Resolves every entry of P; false (with *missing set to the first absent name) when one is absent.
bool resolve_pmpi(const char** missing);

// A communicator the tuner has seen. Only what the tuning key needs is set up on its first
// collective (size, rank, node structure: one allgather on the application's communicator, no new
// communicator); the private communicators are created by the tuner (tuner.cpp, ensure_comms) on
// the first call that runs one of paracloud's algorithms: native-only communicators never get any.
struct CommInfo {
  MPI_Comm user;     // the application's communicator
  MPI_Comm comm;     // private duplicate (the algorithms' messages never meet the application's);
                     // MPI_COMM_NULL until a non-native algorithm first runs
  int rank, size;
  MPI_Comm node;     // ranks sharing this node (or the test's fake node): node_comms algorithms only,
                     // MPI_COMM_NULL until then
  MPI_Comm leaders;  // node rank 0 of every node; MPI_COMM_NULL elsewhere and until then
  int node_rank, node_size;  // set with `node`
  int node_color;        // index of this rank's node among the communicator's nodes (split colour)
  int nodes;             // number of nodes the communicator spans
  int ranks_per_node;    // the largest node share of the communicator (0: unknown)
  bool broken;           // creating the private communicators failed: native from then on
  struct TuneState* tune;  // the tuner's per-key state for this communicator (tuner.cpp)
};

enum Coll : uint8_t { kAllreduce, kBcast, kAllgather, kAlltoall, kReduce, kBarrier, kCollCount };
extern const char* const kCollNames[kCollCount];

// Everything one collective call names; unused fields are zero. Buffers are already prepared by
// the dispatcher: allreduce works in place on rbuf; allgather finds its own block in rbuf; reduce
// accumulates in `work` (count elements) whose result the root holds at the end.
struct Args {
  const void* sbuf;
  void* rbuf;
  int count;  // elements of dt (allgather/alltoall: per-rank block of the receive type)
  MPI_Datatype dt;
  int scount;  // alltoall: per-rank block of the send type
  MPI_Datatype stype;
  MPI_Op op;
  int root;
  MPI_Aint extent;  // of dt (predefined types: lower bound 0)
  MPI_Aint sextent;
  const CommInfo* ci;
};

struct Algorithm {
  const char* name;  // as in PARACLOUD_TUNE_FORCE, the profile and the tuning store
  Coll coll;
  int (*run)(const Args&);  // nullptr: native (the MPI library's own collective)
  bool reproducible;        // same reduction order as native (true for data movement)
  bool (*applies)(const Args&);  // nullptr: any call the dispatcher lets through
  bool node_comms;          // needs CommInfo::node and ::leaders (hierarchical)
};
// The registration table (registry.cpp): every algorithm, native first for each collective.
const Algorithm* algorithms();
int algorithm_count();
int find_algorithm(Coll c, const char* name);  // index in algorithms(), -1 if unknown

// ---- algorithms (one file per collective)
int allreduce_recursive_doubling(const Args& a);
int allreduce_ring(const Args& a);
int allreduce_rabenseifner(const Args& a);
int allreduce_hierarchical(const Args& a);
int bcast_binomial(const Args& a);
int bcast_scatter_allgather(const Args& a);
int bcast_chain(const Args& a);
int allgather_ring(const Args& a);
int allgather_recursive_doubling(const Args& a);
int allgather_bruck(const Args& a);
int alltoall_pairwise(const Args& a);
int alltoall_bruck(const Args& a);
int reduce_binomial(const Args& a);
int reduce_scatter_gather(const Args& a);
int barrier_dissemination(const Args& a);

// ---- helpers shared by the algorithms
constexpr int kTag = 7331;  // one tag suffices: the private communicator carries nothing else
inline char* at(void* buf, MPI_Aint elems, MPI_Aint extent) {
  return static_cast<char*>(buf) + elems * extent;
}
inline const char* at(const void* buf, MPI_Aint elems, MPI_Aint extent) {
  return static_cast<const char*>(buf) + elems * extent;
}
inline int sendrecv(const void* sbuf, int scount, int dst, void* rbuf, int rcount, int src,
                    MPI_Datatype dt, MPI_Comm comm) {
  return P.sendrecv(sbuf, scount, dt, dst, kTag, rbuf, rcount, dt, src, kTag, comm,
                    MPI_STATUS_IGNORE);
}
// Splits count elements into n blocks as evenly as possible (the first count % n one longer).
inline int block_count(int count, int n, int i) { return count / n + (i < count % n ? 1 : 0); }
inline int block_start(int count, int n, int i) {
  return i * (count / n) + (i < count % n ? i : count % n);
}
inline int largest_pow2_le(int n) {
  int p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}
// Scratch memory for an algorithm: freed on scope exit; ok() false when malloc failed.
struct Scratch {
  void* p;
  explicit Scratch(size_t bytes);
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  bool ok() const { return p != nullptr; }
  char* get() const { return static_cast<char*>(p); }
};

}  // namespace coll
}  // namespace pc

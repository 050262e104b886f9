// The registration table of every collective algorithm (name, collective, function, reproducible
// flag, applicability), the PMPI entry points they use, and their scratch memory.
#include <stdlib.h>
#include <string.h>

#include "coll.hpp"

namespace pc {
namespace coll {

Pmpi P;
const char* const kCollNames[kCollCount] = {"allreduce", "bcast",  "allgather",
                                            "alltoall",  "reduce", "barrier"};

Scratch::Scratch(size_t bytes) : p(malloc(bytes ? bytes : 1)) {}
Scratch::~Scratch() { free(p); }

bool resolve_pmpi(const char** missing) {
#define PC_RESOLVE(field, name)                                                   \
  P.field = reinterpret_cast<decltype(P.field)>(next_function(name));            \
  if (P.field == nullptr) {                                                       \
    *missing = name;                                                              \
    return false;                                                                 \
  }
  PC_RESOLVE(sendrecv, "PMPI_Sendrecv")
  PC_RESOLVE(send, "PMPI_Send")
  PC_RESOLVE(recv, "PMPI_Recv")
  PC_RESOLVE(isend, "PMPI_Isend")
  PC_RESOLVE(irecv, "PMPI_Irecv")
  PC_RESOLVE(waitall, "PMPI_Waitall")
  PC_RESOLVE(reduce_local, "PMPI_Reduce_local")
  PC_RESOLVE(type_get_extent, "PMPI_Type_get_extent")
  PC_RESOLVE(type_size, "PMPI_Type_size")
  PC_RESOLVE(type_get_envelope, "PMPI_Type_get_envelope")
  PC_RESOLVE(op_commutative, "PMPI_Op_commutative")
  PC_RESOLVE(reduce, "PMPI_Reduce")
  PC_RESOLVE(allreduce, "PMPI_Allreduce")
  PC_RESOLVE(bcast, "PMPI_Bcast")
  PC_RESOLVE(gather, "PMPI_Gather")
  PC_RESOLVE(gatherv, "PMPI_Gatherv")
  PC_RESOLVE(allgather, "PMPI_Allgather")
  PC_RESOLVE(comm_rank, "PMPI_Comm_rank")
  PC_RESOLVE(comm_size, "PMPI_Comm_size")
  PC_RESOLVE(comm_dup, "PMPI_Comm_dup")
  PC_RESOLVE(comm_split, "PMPI_Comm_split")
  PC_RESOLVE(comm_split_type, "PMPI_Comm_split_type")
  PC_RESOLVE(comm_free, "PMPI_Comm_free")
  PC_RESOLVE(comm_test_inter, "PMPI_Comm_test_inter")
  PC_RESOLVE(comm_create_keyval, "PMPI_Comm_create_keyval")
  PC_RESOLVE(comm_get_attr, "PMPI_Comm_get_attr")
  PC_RESOLVE(comm_set_attr, "PMPI_Comm_set_attr")
  PC_RESOLVE(comm_delete_attr, "PMPI_Comm_delete_attr")
  PC_RESOLVE(query_thread, "PMPI_Query_thread")
#undef PC_RESOLVE
  return true;
}

namespace {

bool pow2_size(const Args& a) { return (a.ci->size & (a.ci->size - 1)) == 0; }
bool several_per_node(const Args& a) { return a.ci->ranks_per_node > 1; }
// Bruck's alltoall moves packed blocks: the send and receive sides must describe the same blocks.
bool same_blocks(const Args& a) { return a.stype == a.dt && a.scount == a.count; }

// Native first for each collective; within a collective the tuner orders candidates by name.
// Fields: name, collective, function, reproducible, applies, needs the node communicators.
const Algorithm kAlgorithms[] = {
    {"native", kAllreduce, nullptr, true, nullptr, false},
    {"recursive_doubling", kAllreduce, allreduce_recursive_doubling, false, nullptr, false},
    {"ring", kAllreduce, allreduce_ring, false, nullptr, false},
    {"rabenseifner", kAllreduce, allreduce_rabenseifner, false, nullptr, false},
    {"hierarchical", kAllreduce, allreduce_hierarchical, false, several_per_node, true},
    {"native", kBcast, nullptr, true, nullptr, false},
    {"binomial", kBcast, bcast_binomial, true, nullptr, false},
    {"scatter_allgather", kBcast, bcast_scatter_allgather, true, nullptr, false},
    {"chain", kBcast, bcast_chain, true, nullptr, false},
    {"native", kAllgather, nullptr, true, nullptr, false},
    {"ring", kAllgather, allgather_ring, true, nullptr, false},
    {"recursive_doubling", kAllgather, allgather_recursive_doubling, true, pow2_size, false},
    {"bruck", kAllgather, allgather_bruck, true, nullptr, false},
    {"native", kAlltoall, nullptr, true, nullptr, false},
    {"pairwise", kAlltoall, alltoall_pairwise, true, nullptr, false},
    {"bruck", kAlltoall, alltoall_bruck, true, same_blocks, false},
    {"native", kReduce, nullptr, true, nullptr, false},
    {"binomial", kReduce, reduce_binomial, false, nullptr, false},
    {"scatter_gather", kReduce, reduce_scatter_gather, false, nullptr, false},
    {"native", kBarrier, nullptr, true, nullptr, false},
    {"dissemination", kBarrier, barrier_dissemination, true, nullptr, false},
};

}  // namespace

const Algorithm* algorithms() { return kAlgorithms; }
int algorithm_count() { return static_cast<int>(sizeof(kAlgorithms) / sizeof(kAlgorithms[0])); }

int find_algorithm(Coll c, const char* name) {
  for (int i = 0; i < algorithm_count(); i++)
    if (kAlgorithms[i].coll == c && !strcmp(kAlgorithms[i].name, name)) return i;
  return -1;
}

}  // namespace coll
}  // namespace pc

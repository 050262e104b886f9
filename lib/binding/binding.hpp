// Binding core: topology model + job shape + policy -> one cpuset, memory nodes, GPUs and OpenMP
// settings per local rank. Pure: no hwloc, MPI or Slurm header; no I/O, no clock, no environment.
//
// Contract (what every caller may rely on; tests/unit/test_binding*.cpp check it):
//
// * Deterministic: the same Topology and BindRequest give the same BindMap on every host. Cores
//   are used in the order of Topology::cores (the caller gives them in topology order: package,
//   NUMA node, L3, core), PUs in the order listed per core, NUMA nodes in the order of
//   Topology::numa. No hash order, no randomness.
// * Usable PUs: the PUs of the topology that are in BindRequest::allowed (all PUs when allowed is
//   empty). Holes are fine (cgroups). A core is usable when one of its PUs is. A NUMA node is used
//   for CPUs only when one of its cores is usable; NUMA nodes without cores (HBM, CXL memory) are
//   never chosen as a rank's memory node by these policies (they stay in the model). No usable PU:
//   Error(bad_input).
// * Threads per rank: BindRequest::threads when > 0, else the share of usable cores,
//   max(1, cores / ranks). resolve_threads() turns OMP_NUM_THREADS / SLURM_CPUS_PER_TASK into it.
// * SMT rule: the unit of placement is the core (its first usable PU only) while
//   ranks x threads <= usable cores; otherwise it is the PU (every usable PU of a core, siblings
//   adjacent), and the map says so in `note`.
// * Units are handed out in a "flat" order: NUMA node by NUMA node (Topology::numa order), within
//   one the cores in Topology::cores order.
//   - spread (default, NUMA-proportional): every unit is used; rank r gets a contiguous run of
//     floor(U/R) or ceil(U/R) units (U units, R ranks: imbalance <= 1 unit). The runs are laid so
//     that each rank stays inside one NUMA node wherever the balanced sizes allow it: at every NUMA
//     boundary it looks for a number of whole ranks that exactly fills the node (the one closest to
//     the node's proportional share of ranks); only when none exists does one rank straddle the
//     boundary. So R a multiple of the NUMA nodes with equal nodes: one NUMA node per rank; R
//     smaller: each rank gets whole neighbouring nodes.
//   - compact: rank r gets units [r*T, (r+1)*T) of the flat order (T threads): ranks packed next
//     to each other, the rest of the node left free; when R*T > U, as spread.
//   - numa: ranks are laid out as spread does, and each rank gets every usable unit of each NUMA
//     node it touches (ranks on one node share it; cpusets of such ranks are equal, not disjoint).
//   - none: every rank gets all usable PUs, no memory node, no OpenMP settings (nothing to apply).
// * More ranks than units (R > U, only in PU mode): rank r gets unit floor(r*U/R) (ranks share
//   PUs evenly) and the note says "more ranks than cores: shared". R > cores but <= PUs: ranks get
//   disjoint PUs of shared cores, same note.
// * Memory: the NUMA nodes (os indices) of the rank's units, ascending.
// * GPUs: the GPUs whose NUMA node is one of the rank's, divided among the ranks touching that node
//   in rank order (g GPUs, k ranks: g >= k: rank i gets [i*g/k, (i+1)*g/k); else GPU i*g/k, shared);
//   a rank with no GPU on its NUMA nodes gets the GPUs of its packages the same way, then any GPU.
//   Listed as indices into Topology::gpus (their order is the visible-devices order).
// * OpenMP: omp_places is one place per unit, "{pu},{pu},..." (PU os indices);
//   omp_proc_bind "spread" (spread, numa) or "close" (compact); both empty for none.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace paracloud::binding {

// A set of PU os indices, kept sorted and unique.
using CpuList = std::vector<int>;
// "0-3,8,10-11" <-> {0,1,2,3,8,10,11}. parse: Error(bad_input) naming the text for junk
// (empty text: empty list).
std::string format_cpulist(const CpuList& cpus);
CpuList parse_cpulist(const std::string& text);

struct Core {
  std::vector<int> pus;  // PU os indices, in topology order (SMT siblings)
  int numa = 0;          // index into Topology::numa
  int l3 = -1;           // L3 group (logical index), -1: none/unknown
  int package = 0;       // package (logical index)
};

struct NumaNode {
  int os_index = 0;
  std::uint64_t memory_bytes = 0;  // local memory; 0 unknown
  int package = -1;                // package (logical index), -1: none (e.g. CXL memory)
};

struct Gpu {
  std::string name;  // "cuda0", "rsmi1", "gpu2": what the adapter found
  int numa = -1;     // index into Topology::numa (its locality), -1: unknown
  int package = -1;  // -1: unknown
};

struct Topology {
  std::vector<NumaNode> numa;  // every NUMA node, CPU-less ones too
  std::vector<Core> cores;     // every core, in topology order
  std::vector<Gpu> gpus;       // visible-devices order
  int packages = 1;
  std::string source;  // where it came from (file name, "this machine"); for messages only
};
// Error(bad_input) naming the problem when the model is inconsistent (core without PUs, a PU in two
// cores, a NUMA/package index out of range).
void validate(const Topology& topo);
// Summary for humans: "2 packages, 4 NUMA nodes (1 without CPUs), 16 cores, 32 PUs, 0 GPUs".
std::string describe(const Topology& topo);

enum class Policy { spread, compact, numa, none };
const char* to_string(Policy p);
// "spread", "compact", "numa", "none" (any case); Error(bad_input) naming the choices otherwise.
Policy parse_policy(const std::string& text);

struct BindRequest {
  int local_size = 1;  // ranks on this node (>= 1)
  int threads = 0;     // threads per rank; 0: the share of cores
  Policy policy = Policy::spread;
  CpuList allowed;     // the job's PUs on this node; empty: all PUs of the topology
};

// Threads per rank from the environment's values (nullptr or "" when unset): OMP_NUM_THREADS
// (its first number: "8,2" -> 8), else SLURM_CPUS_PER_TASK, else 0 (the share of cores).
// A value that is not a positive integer is ignored (0), never an error.
int resolve_threads(const char* omp_num_threads, const char* slurm_cpus_per_task);
// A decimal count from the environment: digits only, at most 1000000; -1 otherwise (nullptr, "",
// junk). resolve_threads() and detect_launch() read their variables with it.
int decimal_count(const char* text);

struct RankMap {
  int rank = 0;
  CpuList cpus;               // PU os indices it may run on
  std::vector<int> mem_numa;  // NUMA os indices for its memory; empty: no memory binding
  std::vector<int> gpus;      // indices into Topology::gpus
  std::string omp_places;     // "" : leave unset
  std::string omp_proc_bind;  // "" : leave unset
  int units = 0;              // cores (or PUs in SMT mode) it got
};

struct BindMap {
  Policy policy = Policy::spread;
  int local_size = 1;
  int threads = 1;               // resolved threads per rank
  bool smt = false;              // units are PUs (ranks x threads > usable cores)
  int usable_cores = 0, usable_pus = 0;
  std::string note;              // "" or e.g. "more ranks than cores: shared (8 ranks on 4 PUs)"
  std::vector<RankMap> ranks;    // local_size entries, rank order
};

// The map for every local rank. Error(bad_input) for local_size < 1, threads < 0, no usable PU or
// an invalid topology.
BindMap compute_map(const Topology& topo, const BindRequest& req);

// One line per rank, stable (golden files):
//   "rank 0: cpus 0-3 mem 0 gpus - units 4 places {0},{1},{2},{3} bind spread"
// preceded by one header line "policy spread threads 4 smt no ranks 2 cores 8 pus 16" and, when
// there is a note, "note: ...".
std::string format_map(const BindMap& map, const Topology& topo);

}  // namespace paracloud::binding

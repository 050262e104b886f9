// hwloc adapter of the binding core: the Topology model from this machine or an hwloc XML file, the
// allowed cpuset, and applying one rank's map (hwloc_set_cpubind / hwloc_set_membind).
// The header has no hwloc include: callers (the CLI, the runtime's libparacloud_bind.so, tests) see
// only the pure model. Built into libparacloud_bindhw.la when configure found hwloc.
#pragma once
#include <memory>
#include <string>

#include "binding/binding.hpp"

namespace paracloud::binding {

// A loaded hwloc topology (opaque), with the model built from it.
class HwTopology {
 public:
  // This machine (hwloc_topology_load). io_devices: PCI/OS devices are read too, for the GPUs and
  // their locality (~3x the time of a load without them).
  static std::unique_ptr<HwTopology> load_this_machine(bool io_devices = true);
  // An hwloc XML file (lstopo --of xml). Error(not_found) when it cannot be read,
  // Error(bad_input) naming the file when hwloc refuses it. Both hints say how to make one.
  static std::unique_ptr<HwTopology> load_xml(const std::string& path);
  // A synthetic description ("pack:2 numa:2 core:4 pu:2"); Error(bad_input) for a bad one.
  static std::unique_ptr<HwTopology> load_synthetic(const std::string& description);
  ~HwTopology();
  HwTopology(const HwTopology&) = delete;
  HwTopology& operator=(const HwTopology&) = delete;

  const Topology& model() const { return model_; }
  // The PUs this process may use (hwloc's allowed cpuset: cgroups, and for this machine also the
  // inherited affinity is NOT included; see process_binding()).
  CpuList allowed() const;
  // This machine only: the PUs the calling process is currently bound to (sched_getaffinity
  // through hwloc_get_cpubind); empty on failure.
  CpuList process_binding() const;
  // True for this machine, false for XML/synthetic (applying there changes nothing).
  bool is_this_machine() const { return this_machine_; }

  // Binds the calling process (all its threads) to `rank.cpus`, and its memory to `rank.mem_numa`
  // when membind and the list is not empty (HWLOC_MEMBIND_BIND by nodeset). Returns "" on success,
  // else what failed ("set_cpubind 0-3: Invalid argument"); never throws. On an XML/synthetic
  // topology it does nothing and returns "".
  std::string apply(const RankMap& rank, bool membind) const;

 private:
  HwTopology() = default;
  void build_model();
  struct Impl;
  Impl* impl_ = nullptr;
  Topology model_;
  bool this_machine_ = false;
};

}  // namespace paracloud::binding

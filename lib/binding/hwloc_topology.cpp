// hwloc adapter: builds the binding core's Topology from hwloc and applies a rank's map.
#include "binding/hwloc_topology.hpp"

#include <hwloc.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "common/error.hpp"

namespace paracloud::binding {

struct HwTopology::Impl {
  hwloc_topology_t topo = nullptr;
};

namespace {

CpuList to_list(hwloc_const_bitmap_t set) {
  CpuList out;
  if (!set || hwloc_bitmap_iszero(set)) return out;
  if (hwloc_bitmap_weight(set) < 0) return out;  // infinite
  int i;
  hwloc_bitmap_foreach_begin(i, set) out.push_back(i);
  hwloc_bitmap_foreach_end();
  return out;
}

// A GPU's preferred name among the OS devices of one PCI device: CUDA, ROCm, NVML, OpenCL, others.
int name_rank(const char* name) {
  static const char* order[] = {"cuda", "rsmi", "nvml", "opencl", "ze"};
  for (int i = 0; i < 5; ++i)
    if (std::strncmp(name, order[i], std::strlen(order[i])) == 0) return i;
  return 9;
}

}  // namespace

HwTopology::~HwTopology() {
  if (impl_) {
    if (impl_->topo) hwloc_topology_destroy(impl_->topo);
    delete impl_;
  }
}

std::unique_ptr<HwTopology> HwTopology::load_this_machine(bool io_devices) {
  std::unique_ptr<HwTopology> t(new HwTopology);
  t->impl_ = new Impl;
  if (hwloc_topology_init(&t->impl_->topo) != 0) throw Error(Errc::internal, "hwloc_topology_init failed");
  hwloc_topology_set_io_types_filter(t->impl_->topo, io_devices ? HWLOC_TYPE_FILTER_KEEP_IMPORTANT
                                                                : HWLOC_TYPE_FILTER_KEEP_NONE);
  hwloc_topology_set_flags(t->impl_->topo, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
  if (hwloc_topology_load(t->impl_->topo) != 0)
    throw Error(Errc::internal, std::string("hwloc cannot read this machine's topology: ") + std::strerror(errno),
                "give --topology FILE.xml (lstopo --of xml FILE.xml writes one)");
  t->this_machine_ = true;
  t->model_.source = "this machine";
  t->build_model();
  return t;
}

std::unique_ptr<HwTopology> HwTopology::load_xml(const std::string& path) {
  const std::string hint = "give an hwloc XML file, e.g. made by: lstopo --of xml FILE.xml (this machine) or "
                           "lstopo -i \"pack:2 numa:2 core:8 pu:2\" --of xml FILE.xml";
  {
    std::ifstream f(path);
    struct stat st;
    if (!f || stat(path.c_str(), &st) != 0)
      throw Error(Errc::not_found, "cannot read topology file " + path + ": " + std::strerror(errno), hint);
    if (!S_ISREG(st.st_mode)) throw Error(Errc::bad_input, "topology file " + path + " is not a regular file", hint);
  }
  std::unique_ptr<HwTopology> t(new HwTopology);
  t->impl_ = new Impl;
  if (hwloc_topology_init(&t->impl_->topo) != 0) throw Error(Errc::internal, "hwloc_topology_init failed");
  hwloc_topology_set_io_types_filter(t->impl_->topo, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  hwloc_topology_set_flags(t->impl_->topo, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED);
  // hwloc prints its XML parser's complaints to stderr unless told otherwise; our error says it.
  setenv("HWLOC_XML_VERBOSE", "0", 0);
  if (hwloc_topology_set_xml(t->impl_->topo, path.c_str()) != 0 || hwloc_topology_load(t->impl_->topo) != 0)
    throw Error(Errc::bad_input, "topology file " + path + " is not an hwloc XML topology hwloc can load", hint);
  t->model_.source = path;
  t->build_model();
  return t;
}

std::unique_ptr<HwTopology> HwTopology::load_synthetic(const std::string& description) {
  std::unique_ptr<HwTopology> t(new HwTopology);
  t->impl_ = new Impl;
  if (hwloc_topology_init(&t->impl_->topo) != 0) throw Error(Errc::internal, "hwloc_topology_init failed");
  if (hwloc_topology_set_synthetic(t->impl_->topo, description.c_str()) != 0 ||
      hwloc_topology_load(t->impl_->topo) != 0)
    throw Error(Errc::bad_input, "invalid synthetic topology '" + description + "'",
                "use hwloc's synthetic syntax, e.g. \"pack:2 numa:2 core:8 pu:2\"");
  t->model_.source = "synthetic " + description;
  t->build_model();
  return t;
}

void HwTopology::build_model() {
  hwloc_topology_t topo = impl_->topo;
  Topology& m = model_;
  int npack = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE);
  m.packages = npack > 0 ? npack : 1;

  int nnuma = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
  std::vector<hwloc_obj_t> numas;
  for (int i = 0; i < nnuma; ++i) {
    hwloc_obj_t n = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, static_cast<unsigned>(i));
    numas.push_back(n);
    NumaNode node;
    node.os_index = static_cast<int>(n->os_index);
    node.memory_bytes = n->attr ? n->attr->numanode.local_memory : 0;
    hwloc_obj_t p = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_PACKAGE, n);
    node.package = p ? static_cast<int>(p->logical_index) : (npack <= 1 ? 0 : -1);
    m.numa.push_back(node);
  }
  if (m.numa.empty()) m.numa.push_back(NumaNode{0, 0, 0});

  // Cores, or PUs standing for cores when hwloc knows no cores.
  hwloc_obj_type_t ctype = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE) > 0 ? HWLOC_OBJ_CORE : HWLOC_OBJ_PU;
  int ncores = hwloc_get_nbobjs_by_type(topo, ctype);
  for (int i = 0; i < ncores; ++i) {
    hwloc_obj_t c = hwloc_get_obj_by_type(topo, ctype, static_cast<unsigned>(i));
    Core core;
    if (ctype == HWLOC_OBJ_PU) {
      core.pus.push_back(static_cast<int>(c->os_index));
    } else {
      hwloc_obj_t pu = nullptr;
      while ((pu = hwloc_get_next_obj_inside_cpuset_by_type(topo, c->cpuset, HWLOC_OBJ_PU, pu)))
        core.pus.push_back(static_cast<int>(pu->os_index));
    }
    if (core.pus.empty()) continue;
    // The first NUMA node (logical order) local to the core; later nodes of the same locality
    // (HBM, CXL) stay without cores.
    core.numa = 0;
    for (int n = 0; n < nnuma; ++n)
      if (hwloc_bitmap_isincluded(c->cpuset, numas[n]->cpuset)) {
        core.numa = n;
        break;
      }
    hwloc_obj_t p = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_PACKAGE, c);
    core.package = p ? static_cast<int>(p->logical_index) : 0;
    hwloc_obj_t l3 = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_L3CACHE, c);
    core.l3 = l3 ? static_cast<int>(l3->logical_index) : -1;
    m.cores.push_back(core);
  }

  // GPUs: one per PCI device (or I/O parent) holding GPU/co-processor OS devices, in PCI order.
  hwloc_obj_t os = nullptr;
  std::vector<std::pair<hwloc_obj_t, Gpu>> found;  // (parent, gpu)
  std::vector<int> best;
  while ((os = hwloc_get_next_osdev(topo, os))) {
    if (os->attr->osdev.type != HWLOC_OBJ_OSDEV_GPU && os->attr->osdev.type != HWLOC_OBJ_OSDEV_COPROC) continue;
    if (!os->name) continue;
    // DRM nodes (card0, renderD128) name display devices as well: only count them with a PCI parent
    // that has no better name; they are ranked last.
    hwloc_obj_t parent = os->parent;
    std::size_t i = 0;
    for (; i < found.size(); ++i)
      if (found[i].first == parent) break;
    if (i == found.size()) {
      Gpu g;
      g.name = os->name;
      hwloc_obj_t anc = hwloc_get_non_io_ancestor_obj(topo, os);
      // The first NUMA node whose CPUs include the device's locality (as for cores); -1 when it
      // is local to several (a package or the whole machine).
      g.numa = -1;
      for (int n = 0; n < nnuma && anc; ++n)
        if (hwloc_bitmap_isincluded(anc->cpuset, numas[n]->cpuset)) {
          g.numa = n;
          break;
        }
      hwloc_obj_t p = anc ? hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_PACKAGE, anc) : nullptr;
      if (!p && anc && anc->type == HWLOC_OBJ_PACKAGE) p = anc;
      g.package = p ? static_cast<int>(p->logical_index) : -1;
      found.emplace_back(parent, g);
      best.push_back(name_rank(os->name));
    } else if (name_rank(os->name) < best[i]) {
      found[i].second.name = os->name;
      best[i] = name_rank(os->name);
    }
  }
  for (auto& f : found) m.gpus.push_back(f.second);
}

CpuList HwTopology::allowed() const {
  return to_list(hwloc_topology_get_allowed_cpuset(impl_->topo));
}

CpuList HwTopology::process_binding() const {
  if (!this_machine_) return {};
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  CpuList out;
  if (set && hwloc_get_cpubind(impl_->topo, set, HWLOC_CPUBIND_PROCESS) == 0) out = to_list(set);
  hwloc_bitmap_free(set);
  return out;
}

std::string HwTopology::apply(const RankMap& rank, bool membind) const {
  if (!this_machine_ || rank.cpus.empty()) return "";
  std::string err;
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  for (int c : rank.cpus) hwloc_bitmap_set(set, static_cast<unsigned>(c));
  if (hwloc_set_cpubind(impl_->topo, set, HWLOC_CPUBIND_PROCESS) != 0)
    err = "set_cpubind " + format_cpulist(rank.cpus) + ": " + std::strerror(errno);
  hwloc_bitmap_free(set);
  if (err.empty() && membind && !rank.mem_numa.empty()) {
    hwloc_bitmap_t nodes = hwloc_bitmap_alloc();
    for (int n : rank.mem_numa) hwloc_bitmap_set(nodes, static_cast<unsigned>(n));
    if (hwloc_set_membind(impl_->topo, nodes, HWLOC_MEMBIND_BIND, HWLOC_MEMBIND_BYNODESET) != 0)
      err = "set_membind " + format_cpulist(rank.mem_numa) + ": " + std::strerror(errno);
    hwloc_bitmap_free(nodes);
  }
  return err;
}

}  // namespace paracloud::binding

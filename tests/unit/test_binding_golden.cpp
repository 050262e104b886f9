// Golden binding maps (issue 11): every tests/unit/data/binding/<name>.golden names job shapes for
// the hwloc XML fixture tests/unit/data/topologies/<name>.xml; the maps the core computes on the
// model the hwloc adapter builds must equal the file's text. Also the adapter's loading: GPUs and
// their NUMA locality, allowed sets with holes, CPU-less NUMA nodes, and its errors.
//
// After a deliberate change of the maps: PARACLOUD_GOLDEN_UPDATE=1 make check TESTS=unit/test_binding_golden
// rewrites the files; review the diff before committing it.
#include <criterion/criterion.h>
#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "binding/binding.hpp"
#include "binding/hwloc_topology.hpp"
#include "test_helpers.hpp"

using namespace paracloud;
using namespace paracloud::binding;

#ifndef BINDING_DATA_DIR
#error BINDING_DATA_DIR must name tests/unit/data
#endif

namespace {

const std::string kTopo = std::string(BINDING_DATA_DIR) + "/topologies/";
const std::string kGolden = std::string(BINDING_DATA_DIR) + "/binding/";

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// "-n 4 -c 2 --policy compact --allowed 0-3" -> request (allowed default: the fixture's).
BindRequest parse_args(const std::string& args, const CpuList& fixture_allowed) {
  BindRequest r;
  r.allowed = fixture_allowed;
  std::istringstream in(args);
  std::string k, v;
  while (in >> k) {
    cr_assert(static_cast<bool>(in >> v), "golden job line '%s': %s needs a value", args.c_str(), k.c_str());
    if (k == "-n") r.local_size = std::stoi(v);
    else if (k == "-c") r.threads = std::stoi(v);
    else if (k == "--policy") r.policy = parse_policy(v);
    else if (k == "--allowed") r.allowed = parse_cpulist(v);
    else cr_assert_fail("golden job line '%s': unknown key %s", args.c_str(), k.c_str());
  }
  return r;
}

// The file's text regenerated: comment lines and "== ARGS" lines kept, everything else recomputed.
std::string regenerate(const std::string& golden_text, const HwTopology& hw) {
  std::istringstream in(golden_text);
  std::string line, out;
  const CpuList allowed = hw.allowed();
  out.reserve(golden_text.size());
  bool header = false;
  while (std::getline(in, line)) {
    if (line.rfind("#", 0) == 0) {
      out += line + "\n";
    } else if (line.rfind("== ", 0) == 0) {
      if (!header) {  // the model summary once, before the first job
        header = true;
      }
      out += line + "\n";
      BindRequest req = parse_args(line.substr(3), allowed);
      out += format_map(compute_map(hw.model(), req), hw.model());
    } else if (line.rfind("topology: ", 0) == 0) {
      out += "topology: " + describe(hw.model()) + "\n";
    } else if (line.rfind("allowed: ", 0) == 0) {
      out += "allowed: " + format_cpulist(allowed) + "\n";
    }
  }
  return out;
}

std::vector<std::string> golden_files() {
  std::vector<std::string> names;
  if (DIR* d = opendir(kGolden.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 7 && n.compare(n.size() - 7, 7, ".golden") == 0) names.push_back(n.substr(0, n.size() - 7));
    }
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

Test(binding_golden, every_fixture_matches_its_golden_maps, .timeout = 60) {
  const bool update = std::getenv("PARACLOUD_GOLDEN_UPDATE") != nullptr;
  std::vector<std::string> names = golden_files();
  int jobs = 0, failed = 0;
  for (const std::string& name : names) {
    std::string golden = slurp(kGolden + name + ".golden");
    auto hw = HwTopology::load_xml(kTopo + name + ".xml");
    std::string now = regenerate(golden, *hw);
    jobs += static_cast<int>(std::count(golden.begin(), golden.end(), '=') / 2);
    if (now == golden) continue;
    if (update) {
      std::ofstream(kGolden + name + ".golden") << now;
      cr_log_warn("%s.golden rewritten", name.c_str());
      continue;
    }
    ++failed;
    // Report the first differing line.
    std::istringstream a(golden), b(now);
    std::string la, lb;
    int n = 0;
    while (true) {
      bool ga = static_cast<bool>(std::getline(a, la)), gb = static_cast<bool>(std::getline(b, lb));
      ++n;
      if (!ga && !gb) break;
      if (!ga || !gb || la != lb) {
        cr_log_error("%s.golden line %d:\n  expected: %s\n  computed: %s", name.c_str(), n, ga ? la.c_str() : "(end)",
                     gb ? lb.c_str() : "(end)");
        break;
      }
    }
  }
  cr_log_info("binding golden: %zu fixtures, %d job shapes", names.size(), jobs);
  cr_assert(names.size() >= 12, "only %zu golden files in %s", names.size(), kGolden.c_str());
  cr_assert_eq(failed, 0, "%d of %zu golden files differ (see above)", failed, names.size());
}

// Every XML fixture has a golden file, and the reverse.
Test(binding_golden, fixtures_and_golden_files_pair_up) {
  std::vector<std::string> xml;
  if (DIR* d = opendir(kTopo.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 4 && n.compare(n.size() - 4, 4, ".xml") == 0) xml.push_back(n.substr(0, n.size() - 4));
    }
    closedir(d);
  }
  std::sort(xml.begin(), xml.end());
  cr_assert(xml == golden_files(), "%zu XML fixtures vs %zu golden files", xml.size(), golden_files().size());
}

Test(binding_golden, adapter_reads_gpus_with_numa_locality) {
  auto hw = HwTopology::load_xml(kTopo + "gpu4-numa2.xml");
  const Topology& t = hw->model();
  cr_assert_eq(t.gpus.size(), 4u);
  for (int g = 0; g < 4; ++g) {
    assert_str(t.gpus[g].name, "cuda" + std::to_string(g));  // CUDA preferred over the NVML device
    cr_assert_eq(t.gpus[g].numa, g / 2, "GPU %d on NUMA %d", g, t.gpus[g].numa);
    cr_assert_eq(t.gpus[g].package, g / 2);
  }
  BindRequest r;
  r.local_size = 4;
  BindMap m = compute_map(t, r);
  for (int i = 0; i < 4; ++i) cr_assert(m.ranks[i].gpus == std::vector<int>{i}, "rank %d", i);
}

Test(binding_golden, adapter_reads_holes_and_cpuless_numa) {
  auto holes = HwTopology::load_xml(kTopo + "holes-numa2.xml");
  assert_str(format_cpulist(holes->allowed()), "0-3,6,9-11,14");
  cr_assert_eq(holes->model().cores.size(), 8u);  // disallowed PUs stay in the model
  auto hbm = HwTopology::load_xml(kTopo + "cpuless-numa.xml");
  const Topology& t = hbm->model();
  cr_assert_eq(t.numa.size(), 4u);
  for (const Core& c : t.cores) cr_assert(c.numa == 0 || c.numa == 2, "a core on CPU-less NUMA %d", c.numa);
  cr_assert_eq(t.numa[1].memory_bytes, 17179869184ull);
  cr_assert(!hbm->is_this_machine());
  // applying on a file topology changes nothing and does not fail
  BindRequest r;
  assert_str(hbm->apply(compute_map(t, r).ranks[0], true), "");
}

Test(binding_golden, adapter_errors_name_the_file_and_the_fix) {
  std::string e = error_of([] { HwTopology::load_xml("/nonexistent/topo.xml"); }, Errc::not_found);
  cr_assert(contains(e, "/nonexistent/topo.xml"), "%s", e.c_str());
  std::string junk = kGolden + "pack1-core8.golden";  // a file that is not XML
  e = error_of([&] { HwTopology::load_xml(junk); }, Errc::bad_input);
  cr_assert(contains(e, junk) && contains(e, "not an hwloc XML topology"), "%s", e.c_str());
  try {
    HwTopology::load_xml(junk);
  } catch (const Error& err) {
    cr_assert(contains(err.hint(), "lstopo --of xml"), "%s", err.hint().c_str());
  }
  error_of([] { HwTopology::load_xml(BINDING_DATA_DIR); }, Errc::bad_input);  // a directory
  error_of([] { HwTopology::load_synthetic("pack:zero"); }, Errc::bad_input);
}

Test(binding_golden, synthetic_equals_its_xml) {
  auto a = HwTopology::load_synthetic("pack:2 numa:4 core:4 pu:2");
  auto b = HwTopology::load_xml(kTopo + "nps4-smt2.xml");
  BindRequest r;
  r.local_size = 8;
  assert_str(format_map(compute_map(a->model(), r), a->model()), format_map(compute_map(b->model(), r), b->model()));
}

// This machine: the model loads, the process's binding is inside the allowed set.
Test(binding_golden, this_machine_loads) {
  auto hw = HwTopology::load_this_machine();
  cr_assert(!hw->model().cores.empty());
  cr_assert(hw->is_this_machine());
  CpuList allowed = hw->allowed(), bound = hw->process_binding();
  cr_assert(!allowed.empty());
  for (int pu : bound) cr_assert(std::binary_search(allowed.begin(), allowed.end(), pu), "bound PU %d not allowed", pu);
}

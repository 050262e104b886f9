// paracloud bind show: the binding map the runtime would apply on this machine (or on an hwloc XML
// topology), for sysadmins and users, like mpibind's own tool (issue 11 item 4).
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "binding/binding.hpp"
#include "binding/launch.hpp"
#include "cli.hpp"
#include "common/error.hpp"
#ifdef PC_HAVE_HWLOC
#include "binding/hwloc_topology.hpp"
#endif

namespace paracloud::cli {

namespace {

using nlohmann::json;
namespace bd = paracloud::binding;

struct BindArgs {
  int ranks = 1;
  int threads = -1;  // -1: as the runtime resolves it (OMP_NUM_THREADS, SLURM_CPUS_PER_TASK, share)
  std::string policy = "auto";
  std::string topology;  // hwloc XML; empty: this machine
  std::string allowed;   // cpulist; empty: the topology's allowed set
};

// "auto" is what PARACLOUD_BIND=auto resolves to today: spread (the application's profile does not
// choose the policy yet).
bd::Policy policy_of(const std::string& text) {
  try {
    if (text == "keep" || text.empty()) throw Error(Errc::bad_input, "no map for this word");
    return bd::policy_for_request(text == "AUTO" ? "auto" : text);
  } catch (const Error&) {
    throw Error(Errc::bad_input, "--policy '" + text + "' is not one of auto, spread, compact, numa, none",
                "auto (the runtime's default) is spread");
  }
}

json rank_json(const bd::RankMap& r, const bd::Topology& topo) {
  json gpus = json::array();
  for (int g : r.gpus) gpus.push_back(g >= 0 && g < static_cast<int>(topo.gpus.size()) ? topo.gpus[g].name : "?");
  return {{"rank", r.rank},
          {"cpus", bd::format_cpulist(r.cpus)},
          {"mem", bd::format_cpulist(r.mem_numa)},
          {"gpus", gpus},
          {"units", r.units},
          {"omp_places", r.omp_places},
          {"omp_proc_bind", r.omp_proc_bind}};
}

void cmd_show(const Context& ctx, const BindArgs& a) {
#ifndef PC_HAVE_HWLOC
  (void)ctx;
  (void)a;
  throw Error(Errc::config, "this paracloud was built without hwloc: no binding map",
              "install libhwloc-dev and configure again");
#else
  bd::BindRequest req;
  req.local_size = a.ranks;
  req.policy = policy_of(a.policy);
  req.threads = a.threads >= 0 ? a.threads : bd::resolve_threads(std::getenv("OMP_NUM_THREADS"),
                                                                  std::getenv("SLURM_CPUS_PER_TASK"));
  std::unique_ptr<bd::HwTopology> hw =
      a.topology.empty() ? bd::HwTopology::load_this_machine() : bd::HwTopology::load_xml(a.topology);
  try {
    req.allowed = a.allowed.empty() ? hw->allowed() : bd::parse_cpulist(a.allowed);
  } catch (const Error& e) {
    throw Error(Errc::bad_input, std::string("--allowed: ") + e.what(), "a cpulist such as 0-3,8,10-11");
  }
  const bd::Topology& topo = hw->model();
  bd::BindMap map = bd::compute_map(topo, req);
  if (ctx.json) {
    json ranks = json::array();
    for (const auto& r : map.ranks) ranks.push_back(rank_json(r, topo));
    print_json({{"topology", topo.source},
                {"summary", bd::describe(topo)},
                {"allowed", bd::format_cpulist(req.allowed)},
                {"policy", bd::to_string(map.policy)},
                {"requested_policy", a.policy},
                {"ranks", map.local_size},
                {"threads", map.threads},
                {"smt", map.smt},
                {"usable_cores", map.usable_cores},
                {"usable_pus", map.usable_pus},
                {"note", map.note},
                {"map", ranks}});
    return;
  }
  std::cout << "topology: " << topo.source << ": " << bd::describe(topo) << "\n"
            << "allowed: " << bd::format_cpulist(req.allowed) << "\n"
            << bd::format_map(map, topo);
#endif
}

}  // namespace

void add_bind_commands(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<BindArgs>();
  CLI::App* b = app.add_subcommand("bind", "Process and thread binding: show the map paracloud computes for a node");
  b->require_subcommand(1);
  CLI::App* show = b->add_subcommand(
      "show", "Print each local rank's cpuset, memory node, GPUs and OpenMP places (like mpibind)");
  show->add_option("-n,--ranks", args->ranks, "ranks on the node (default 1)")->check(CLI::PositiveNumber);
  show->add_option("-c,--threads", args->threads,
                   "threads per rank (default: OMP_NUM_THREADS, else SLURM_CPUS_PER_TASK, else the share of cores)")
      ->check(CLI::NonNegativeNumber);
  show->add_option("--policy", args->policy, "auto (default, = spread), spread, compact, numa or none");
  show->add_option("--topology", args->topology, "an hwloc XML file (lstopo --of xml FILE.xml); default: this machine");
  show->add_option("--allowed", args->allowed, "the PUs the job may use, a cpulist (default: the topology's allowed set)");
  show->callback([&ctx, args] { cmd_show(ctx, *args); });
}

}  // namespace paracloud::cli

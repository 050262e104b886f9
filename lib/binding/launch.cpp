// Launcher detection and the apply/keep/skip rule (see launch.hpp).
#include "binding/launch.hpp"

#include <cstdlib>
#include <cstring>

namespace paracloud::binding {

namespace {

bool set(const char* s) { return s && *s; }

}  // namespace

int slurm_tasks_on_node(const char* spec, int node) {
  if (!spec || node < 0) return -1;
  int index = 0;
  const char* p = spec;
  while (*p) {
    char* end = nullptr;
    const long tasks = std::strtol(p, &end, 10);
    if (end == p || tasks < 0) return -1;
    long repeat = 1;
    p = end;
    if (*p == '(') {
      if (p[1] != 'x') return -1;
      repeat = std::strtol(p + 2, &end, 10);
      if (end == p + 2 || *end != ')' || repeat < 1) return -1;
      p = end + 1;
    }
    if (node < index + repeat) return static_cast<int>(tasks);
    index += static_cast<int>(repeat);
    if (*p == ',') ++p;
    else if (*p) return -1;
  }
  return -1;
}

Launch detect_launch(const EnvLookup& env) {
  Launch l;
  const int ompi_rank = decimal_count(env("OMPI_COMM_WORLD_LOCAL_RANK"));
  const int ompi_size = decimal_count(env("OMPI_COMM_WORLD_LOCAL_SIZE"));
  if (ompi_rank >= 0 && ompi_size > ompi_rank) {
    l.launcher = "mpirun";
    l.local_rank = ompi_rank;
    l.local_size = ompi_size;
    l.launcher_default_binds = true;
    const char* policy = env("OMPI_MCA_hwloc_base_binding_policy");
    if (set(policy) && std::strncmp(policy, "none", 4) != 0)
      l.user_binding = std::string("mpirun --bind-to ") + policy;
    else if (set(env("OMPI_MCA_hwloc_base_cpu_list")))
      l.user_binding = std::string("mpirun --cpu-set ") + env("OMPI_MCA_hwloc_base_cpu_list");
    else if (set(env("OMPI_MCA_rmaps_rank_file_path")))
      l.user_binding = "mpirun --rankfile";
    return l;
  }
  const int hydra_rank = decimal_count(env("MPI_LOCALRANKID"));
  const int hydra_size = decimal_count(env("MPI_LOCALNRANKS"));
  if (hydra_rank >= 0 && hydra_size > hydra_rank) {
    l.launcher = "hydra";
    l.local_rank = hydra_rank;
    l.local_size = hydra_size;
    return l;
  }
  const int slurm_rank = decimal_count(env("SLURM_LOCALID"));
  const int node = decimal_count(env("SLURM_NODEID"));
  const int slurm_size = slurm_tasks_on_node(env("SLURM_STEP_TASKS_PER_NODE"), node < 0 ? 0 : node);
  if (slurm_rank >= 0 && slurm_size > slurm_rank) {
    l.launcher = "srun";
    l.local_rank = slurm_rank;
    l.local_size = slurm_size;
    const char* type = env("SLURM_CPU_BIND_TYPE");
    if (set(type) && std::strncmp(type, "none", 4) != 0)
      l.user_binding = std::string("srun --cpu-bind=") + type;
    return l;
  }
  return l;
}

Policy policy_for_request(const std::string& request) {
  if (request == "auto" || request == "keep" || request.empty()) return Policy::spread;
  return parse_policy(request);
}

const char* to_string(Action a) {
  switch (a) {
    case Action::apply:
      return "applied";
    case Action::keep:
      return "kept";
    case Action::skip:
      return "skipped";
  }
  return "?";
}

Decision decide(const Launch& launch, const std::string& request, bool bound_narrower,
                const BindMap& map) {
  if (request == "none") return {Action::skip, "PARACLOUD_BIND=none"};
  if (request == "keep") return {Action::keep, "PARACLOUD_BIND=keep"};
  const bool explicit_policy = request != "auto";
  if (!explicit_policy && !launch.user_binding.empty())
    return {Action::keep, "the user's binding (" + launch.user_binding + ")"};
  if (!explicit_policy && bound_narrower && !launch.launcher_default_binds)
    return {Action::keep, launch.launcher == "singleton"
                              ? "already bound (a taskset/numactl mask)"
                              : "already bound by " + launch.launcher + " or the site's task plugin"};
  if (map.policy == Policy::none) return {Action::skip, "policy none"};
  if (map.local_size > map.usable_pus)
    return {Action::skip, "more ranks (" + std::to_string(map.local_size) + ") than PUs (" +
                              std::to_string(map.usable_pus) + "): left unbound, as mpirun does"};
  std::string why = explicit_policy ? "PARACLOUD_BIND=" + request : std::string("auto");
  if (bound_narrower && launch.launcher_default_binds && launch.user_binding.empty())
    why += ", replaces mpirun's default binding";
  else if (bound_narrower)
    why += ", over the binding it had";
  return {Action::apply, why};
}

}  // namespace paracloud::binding

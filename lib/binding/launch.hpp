// Which launcher started this process, its local rank and size, and whether the binding it has
// now was asked for by the user (kept) or is a launcher default (replaced). Pure: the environment
// comes in through a lookup function, the current binding as a flag (issue 11 item 3).
//
// How an explicit binding is told apart from a launcher default (documented in paracloud-bind(1)):
// * Open MPI's mpirun (OMPI_COMM_WORLD_LOCAL_RANK/_SIZE): mpirun passes a --bind-to, --cpu-set or
//   --rankfile given on its command line (or set as an MCA variable in the environment) to every
//   rank as OMPI_MCA_hwloc_base_binding_policy, OMPI_MCA_hwloc_base_cpu_list or
//   OMPI_MCA_rmaps_rank_file_path. Any of them set (binding policy other than "none") is the
//   user's binding: kept. Without them a bound rank carries mpirun's default (np <= 2: core, else
//   socket): replaced. --bind-to none leaves ranks unbound: paracloud binds them.
// * MPICH's Hydra (MPI_LOCALRANKID/MPI_LOCALNRANKS) and srun (SLURM_LOCALID with
//   SLURM_STEP_TASKS_PER_NODE): they bind nothing unless asked (Hydra -bind-to, srun --cpu-bind,
//   or the site's TaskPlugin task/affinity), so a rank already bound more narrowly than its allowed
//   set is kept; srun's SLURM_CPU_BIND_TYPE other than none is the user's binding as well.
// * Neither (a singleton MPI process): a narrower binding is a taskset/numactl mask: kept.
// * An explicit PARACLOUD_BIND policy (spread, compact, numa) is applied even over those; "auto"
//   (the default) respects them; "keep" never binds; "none" binds nothing.
#pragma once
#include <functional>
#include <string>

#include "binding/binding.hpp"

namespace paracloud::binding {

using EnvLookup = std::function<const char*(const char*)>;

struct Launch {
  std::string launcher = "singleton";  // "mpirun" (Open MPI), "hydra" (MPICH), "srun", "singleton"
  int local_rank = 0;
  int local_size = 1;
  std::string user_binding;  // non-empty: the user's explicit binding, and where it was read
  bool launcher_default_binds = false;  // a bound rank without user_binding carries a default
};
Launch detect_launch(const EnvLookup& env);

// SLURM_STEP_TASKS_PER_NODE ("2(x3),1") -> the tasks on node index `node`; -1 when malformed or
// out of range.
int slurm_tasks_on_node(const char* spec, int node);

// The map's policy for a PARACLOUD_BIND word: auto (today) and keep compute spread's map (keep
// only to say what it would have been), none and the others their own; Error(bad_input) otherwise.
Policy policy_for_request(const std::string& request);

enum class Action { apply, keep, skip };
const char* to_string(Action a);
struct Decision {
  Action action = Action::skip;
  std::string why;  // for the profile and the verbose line
};
// request: "auto", "spread", "compact", "numa", "none" or "keep". bound_narrower: the process is
// bound to a strict subset of its allowed PUs now. map: the map computed for this node.
Decision decide(const Launch& launch, const std::string& request, bool bound_narrower,
                const BindMap& map);

}  // namespace paracloud::binding

// Unit tests of lib/binding/launch: launcher detection from the environment and the rule that keeps
// a user's binding and replaces a launcher default (issue 11 item 3).
#include <criterion/criterion.h>

#include <map>
#include <string>

#include "binding/launch.hpp"

using namespace paracloud::binding;

namespace {

EnvLookup env_of(const std::map<std::string, std::string>& vars) {
  return [vars](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

BindMap map_of(int ranks, int pus, Policy p = Policy::spread) {
  BindMap m;
  m.policy = p;
  m.local_size = ranks;
  m.usable_pus = pus;
  m.usable_cores = pus;
  return m;
}

}  // namespace

Test(launch, open_mpi_local_rank_and_user_binding) {
  Launch l = detect_launch(env_of({{"OMPI_COMM_WORLD_LOCAL_RANK", "1"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"},
                                   {"SLURM_LOCALID", "0"}, {"SLURM_STEP_TASKS_PER_NODE", "1"}}));
  cr_assert_eq(l.launcher, "mpirun");  // mpirun inside a Slurm job: Open MPI's numbers win
  cr_assert_eq(l.local_rank, 1);
  cr_assert_eq(l.local_size, 4);
  cr_assert(l.user_binding.empty());
  cr_assert(l.launcher_default_binds);
  l = detect_launch(env_of({{"OMPI_COMM_WORLD_LOCAL_RANK", "0"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"},
                            {"OMPI_MCA_hwloc_base_binding_policy", "core"}}));
  cr_assert_eq(l.user_binding, "mpirun --bind-to core");
  l = detect_launch(env_of({{"OMPI_COMM_WORLD_LOCAL_RANK", "0"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"},
                            {"OMPI_MCA_hwloc_base_binding_policy", "none"}}));
  cr_assert(l.user_binding.empty(), "--bind-to none is no binding: %s", l.user_binding.c_str());
  l = detect_launch(env_of({{"OMPI_COMM_WORLD_LOCAL_RANK", "0"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"},
                            {"OMPI_MCA_hwloc_base_cpu_list", "0,2"}}));
  cr_assert_eq(l.user_binding, "mpirun --cpu-set 0,2");
}

Test(launch, hydra_srun_singleton_and_junk) {
  Launch l = detect_launch(env_of({{"MPI_LOCALRANKID", "2"}, {"MPI_LOCALNRANKS", "3"}}));
  cr_assert_eq(l.launcher, "hydra");
  cr_assert_eq(l.local_rank, 2);
  l = detect_launch(env_of({{"SLURM_LOCALID", "1"}, {"SLURM_NODEID", "2"}, {"SLURM_STEP_TASKS_PER_NODE", "4(x2),3"}}));
  cr_assert_eq(l.launcher, "srun");
  cr_assert_eq(l.local_size, 3);
  cr_assert(!l.launcher_default_binds);
  l = detect_launch(env_of({{"SLURM_LOCALID", "0"}, {"SLURM_NODEID", "0"}, {"SLURM_STEP_TASKS_PER_NODE", "2"},
                            {"SLURM_CPU_BIND_TYPE", "mask_cpu:"}}));
  cr_assert_eq(l.user_binding, "srun --cpu-bind=mask_cpu:");
  // A batch script (no step task layout), junk numbers, a rank past the size: a singleton.
  cr_assert_eq(detect_launch(env_of({{"SLURM_LOCALID", "0"}})).launcher, "singleton");
  cr_assert_eq(detect_launch(env_of({{"OMPI_COMM_WORLD_LOCAL_RANK", "x"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}})).launcher,
               "singleton");
  cr_assert_eq(detect_launch(env_of({{"OMPI_COMM_WORLD_LOCAL_RANK", "2"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "2"}})).launcher,
               "singleton");
  cr_assert_eq(detect_launch(env_of({})).launcher, "singleton");
}

Test(launch, slurm_tasks_per_node) {
  cr_assert_eq(slurm_tasks_on_node("2(x3),1", 0), 2);
  cr_assert_eq(slurm_tasks_on_node("2(x3),1", 2), 2);
  cr_assert_eq(slurm_tasks_on_node("2(x3),1", 3), 1);
  cr_assert_eq(slurm_tasks_on_node("2(x3),1", 4), -1);
  cr_assert_eq(slurm_tasks_on_node("16", 0), 16);
  cr_assert_eq(slurm_tasks_on_node("2(3)", 0), -1);
  cr_assert_eq(slurm_tasks_on_node("", 0), -1);
  cr_assert_eq(slurm_tasks_on_node(nullptr, 0), -1);
  cr_assert_eq(slurm_tasks_on_node("a,b", 0), -1);
}

Test(launch, decide_keeps_the_users_binding_and_replaces_defaults) {
  Launch mpirun;
  mpirun.launcher = "mpirun";
  mpirun.launcher_default_binds = true;
  Launch user = mpirun;
  user.user_binding = "mpirun --bind-to core";
  Launch single;
  // mpirun's default binding is replaced; the user's is kept under auto, overridden by a policy.
  cr_assert_eq(decide(mpirun, "auto", true, map_of(2, 8)).action, Action::apply);
  cr_assert(decide(mpirun, "auto", true, map_of(2, 8)).why.find("replaces mpirun's default") != std::string::npos);
  cr_assert_eq(decide(user, "auto", true, map_of(2, 8)).action, Action::keep);
  cr_assert_eq(decide(user, "compact", true, map_of(2, 8)).action, Action::apply);
  // A singleton (or srun/hydra rank) bound more narrowly: a taskset mask or a task plugin: kept.
  cr_assert_eq(decide(single, "auto", true, map_of(1, 8)).action, Action::keep);
  cr_assert_eq(decide(single, "auto", false, map_of(1, 8)).action, Action::apply);
  // keep, none, policy none, more ranks than PUs.
  cr_assert_eq(decide(mpirun, "keep", false, map_of(2, 8)).action, Action::keep);
  cr_assert_eq(decide(mpirun, "none", false, map_of(2, 8)).action, Action::skip);
  cr_assert_eq(decide(mpirun, "auto", false, map_of(2, 8, Policy::none)).action, Action::skip);
  Decision over = decide(mpirun, "auto", false, map_of(9, 8));
  cr_assert_eq(over.action, Action::skip);
  cr_assert(over.why.find("more ranks (9) than PUs (8)") != std::string::npos, "%s", over.why.c_str());
  cr_assert_eq(decide(mpirun, "auto", false, map_of(8, 8)).action, Action::apply);
}

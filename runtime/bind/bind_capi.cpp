// libparacloud_bind.so: computes this rank's map from the live topology and applies it (or keeps
// the user's binding), for the preload runtime (see bind_capi.h).
#include "bind_capi.h"

#include <dlfcn.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>

#include "binding/binding.hpp"
#include "binding/hwloc_topology.hpp"
#include "binding/launch.hpp"

namespace bd = paracloud::binding;

namespace {

template <size_t N>
void put(char (&dst)[N], const std::string& s) {
  std::snprintf(dst, N, "%s", s.c_str());
}

bool strict_subset(const bd::CpuList& a, const bd::CpuList& b) {
  if (a.empty() || a.size() >= b.size()) return false;
  size_t j = 0;
  for (int x : a) {
    while (j < b.size() && b[j] < x) ++j;
    if (j == b.size() || b[j] != x) return false;
  }
  return true;
}

// An OpenMP runtime already loaded has read OMP_* in its constructor: setting them now reaches
// only runtimes loaded later and child processes.
const char* loaded_openmp() {
  static const char* const libs[] = {"libgomp.so.1", "libomp.so.5", "libomp.so", "libiomp5.so"};
  for (const char* lib : libs) {
    if (void* h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD)) {
      dlclose(h);
      return lib;
    }
  }
  return nullptr;
}

void run(const char* request, int set_omp, pc_bind_result* out) {
  const std::string req = request && *request ? request : "auto";
  bd::Launch launch = bd::detect_launch([](const char* name) { return std::getenv(name); });
  out->local_rank = launch.local_rank;
  out->local_size = launch.local_size;
  put(out->launcher, launch.launcher);
  // GPUs matter only in a job that has some; without, the PCI/OS devices are not read, and while
  // the process has one thread (set_omp) hwloc's plugins (OpenCL, GL, ...) are not loaded either
  // (HWLOC_PLUGINS_PATH pointed nowhere during the load): 25 ms -> 4 ms on the 2-core CI VM.
  static const char* const gpu_vars[] = {"CUDA_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES",
                                         "SLURM_JOB_GPUS", "SLURM_STEP_GPUS", "GPU_DEVICE_ORDINAL"};
  bool gpus_hint = false;
  for (const char* v : gpu_vars) gpus_hint = gpus_hint || std::getenv(v) != nullptr;
  const bool no_plugins = !gpus_hint && set_omp && !std::getenv("HWLOC_PLUGINS_PATH");
  if (no_plugins) setenv("HWLOC_PLUGINS_PATH", "/nonexistent/paracloud-bind", 1);
  std::unique_ptr<bd::HwTopology> hw;
  try {
    hw = bd::HwTopology::load_this_machine(gpus_hint);
  } catch (...) {
    if (no_plugins) unsetenv("HWLOC_PLUGINS_PATH");
    throw;
  }
  if (no_plugins) unsetenv("HWLOC_PLUGINS_PATH");
  bd::BindRequest br;
  br.local_size = launch.local_size;
  br.policy = bd::policy_for_request(req);
  br.threads = bd::resolve_threads(std::getenv("OMP_NUM_THREADS"), std::getenv("SLURM_CPUS_PER_TASK"));
  br.allowed = hw->allowed();
  const bd::CpuList now = hw->process_binding();
  const bd::Topology& topo = hw->model();
  bd::BindMap map = bd::compute_map(topo, br);
  const bd::RankMap& mine = map.ranks.at(static_cast<size_t>(launch.local_rank));
  const bd::Decision d = bd::decide(launch, req, strict_subset(now, br.allowed), map);
  put(out->policy, bd::to_string(map.policy));
  out->threads = map.threads;
  std::string why = d.why;
  if (!map.note.empty()) why += "; " + map.note;
  if (d.action != bd::Action::apply) {
    put(out->action, bd::to_string(d.action));
    put(out->cpus, bd::format_cpulist(now));
    put(out->why, why);
    return;
  }
  // Memory binding only where there is a choice: more than one NUMA node with memory.
  int numa_with_memory = 0;
  for (const auto& n : topo.numa) numa_with_memory += n.memory_bytes > 0 ? 1 : 0;
  const std::string err = hw->apply(mine, numa_with_memory > 1);
  if (!err.empty()) {
    put(out->action, "failed");
    put(out->cpus, bd::format_cpulist(now));
    put(out->why, err);
    return;
  }
  put(out->action, "applied");
  put(out->cpus, bd::format_cpulist(mine.cpus));
  if (numa_with_memory > 1) put(out->mem, bd::format_cpulist(mine.mem_numa));
  std::string gpus;
  for (int g : mine.gpus)
    gpus += (gpus.empty() ? "" : ",") + (g >= 0 && g < static_cast<int>(topo.gpus.size()) ? topo.gpus[g].name : "?");
  put(out->gpus, gpus);
  const char* places = std::getenv("OMP_PLACES");
  const char* bind = std::getenv("OMP_PROC_BIND");
  std::string omp;
  if ((places && *places) || (bind && *bind)) {
    omp = "the user's OMP_PLACES/OMP_PROC_BIND kept";
  } else if (mine.omp_places.empty()) {
    omp = "not set (nothing to place)";
  } else if (!set_omp) {
    omp = "not set (bound at MPI_Init, with threads running)";
  } else {
    setenv("OMP_PLACES", mine.omp_places.c_str(), 0);
    setenv("OMP_PROC_BIND", mine.omp_proc_bind.c_str(), 0);
    omp = "set";
    const char* threads = std::getenv("OMP_NUM_THREADS");
    const bool set_threads = !(threads && *threads);
    if (set_threads) {
      setenv("OMP_NUM_THREADS", std::to_string(map.threads).c_str(), 0);
      omp += ", OMP_NUM_THREADS=" + std::to_string(map.threads);
    }
    if (const char* lib = loaded_openmp()) {
      // Linked into the program, it has read OMP_* in its constructor: the places come too late
      // (its threads stay inside the rank's cpus, unplaced), the thread count does not: the
      // initial thread's nthreads-var is set through the API.
      omp += std::string("; ") + lib + " had read its settings already: its threads stay inside the rank's cpus";
      using SetFn = void (*)(int);
      auto set_num = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
      if (set_threads && set_num) {
        set_num(map.threads);
        omp += ", omp_set_num_threads(" + std::to_string(map.threads) + ")";
      }
    }
  }
  places = std::getenv("OMP_PLACES");
  bind = std::getenv("OMP_PROC_BIND");
  put(out->omp_places, places ? places : "");
  put(out->omp_proc_bind, bind ? bind : "");
  put(out->omp, omp);
  put(out->why, why);
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int pc_bind_capi_version(void) {
  return PC_BIND_CAPI_VERSION;
}

extern "C" __attribute__((visibility("default"))) int pc_bind_run(const char* request, int set_omp,
                                                                  pc_bind_result* out) {
  const auto t0 = std::chrono::steady_clock::now();
  std::memset(out, 0, sizeof(*out));
  try {
    run(request, set_omp, out);
  } catch (const std::exception& e) {
    put(out->action, "failed");
    put(out->why, e.what());
  } catch (...) {
    put(out->action, "failed");
    put(out->why, "unknown error");
  }
  out->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return 0;
}

// bind module (issue 11 item 3): binds an MPI rank's process and memory to its share of the node,
// once, as early as possible: in the library constructor when libmpi is linked into the program,
// else in MPI_Init* before PMPI_Init* (Python's mpi4py loads libmpi with dlopen). The map, the
// launcher rule (keep the user's binding, replace mpirun's default) and hwloc live in
// libparacloud_bind.so beside this library, dlopen'ed in ranks only: processes that are not MPI
// ranks never load it and are never bound. Any failure: no binding, one warning, the program runs.
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bind/bind_capi.h"
#include "json_writer.hpp"
#include "session.hpp"

namespace pc {

namespace {

pc_bind_result g_bind;
bool g_bind_tried = false;
int g_bind_code = 0;  // bind_action_code(), set once pc_bind_run has answered
const char* g_bind_skip = nullptr;  // why binding was not even tried

}  // namespace

void bind_rank(bool early) {
  if (g_bind_tried) return;
  g_bind_tried = true;
  const Settings& s = settings();
  if (mode() == Mode::off) return;
  if (!strcmp(s.bind, "keep") || !strcmp(s.bind, "none")) {
    // Nothing to compute: no library to load either.
    g_bind_skip = s.bind;
    return;
  }
  Guard g;  // hwloc reads /proc and /sys: not the application's IO
  char path[PATH_MAX + 64];
  if (!sibling_library("libparacloud_bind.so", path, sizeof(path))) {
    g_bind_skip = "cannot locate libparacloud_rt.so";
    return;
  }
  void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  auto version = h ? reinterpret_cast<int (*)()>(dlsym(h, "pc_bind_capi_version")) : nullptr;
  auto run = h ? reinterpret_cast<pc_bind_run_fn>(dlsym(h, "pc_bind_run")) : nullptr;
  if (!run || !version || version() != PC_BIND_CAPI_VERSION) {
    if (env_rank() <= 0)
      log("binding disabled: %s", h ? "libparacloud_bind.so is not the matching version" : dlerror());
    g_bind_skip = "libparacloud_bind.so not loaded";
    return;
  }
  run(s.bind, early ? 1 : 0, &g_bind);
  static const char* const names[] = {"applied", "kept", "skipped", "failed"};
  for (int i = 0; i < 4; i++)
    if (!strcmp(g_bind.action, names[i])) g_bind_code = i + 1;
  const bool failed = g_bind_code == 4;
  if (s.bind_verbose || (failed && g_bind.local_rank == 0))
    log("bind: rank %d of %d (%s): %s %s cpus %s%s%s%s%s (%s, %.2f ms)%s%s", g_bind.local_rank,
        g_bind.local_size, g_bind.launcher, g_bind.policy, g_bind.action, g_bind.cpus,
        *g_bind.mem ? " mem " : "", g_bind.mem, *g_bind.gpus ? " gpus " : "", g_bind.gpus,
        g_bind.why, g_bind.seconds * 1e3, *g_bind.omp ? "; OpenMP: " : "", g_bind.omp);
}

int bind_action_code() { return g_bind_code; }

uint64_t bind_time_us() { return static_cast<uint64_t>(g_bind.seconds * 1e6); }

void bind_profile_write(Json& j, const uint64_t counts[5], uint64_t max_us) {
  const Settings& s = settings();
  j.key("binding");
  j.begin('{');
  j.key("request");
  j.str(s.bind);
  j.key("ranks_applied");
  j.u64(counts[1]);
  j.key("ranks_kept");
  j.u64(counts[2]);
  j.key("ranks_skipped");
  j.u64(counts[3]);
  j.key("ranks_failed");
  j.u64(counts[4]);
  j.key("time_ms_max");
  j.num(static_cast<double>(max_us) / 1e3);
  j.key("rank0");  // this (world rank 0) process's own map
  if (*g_bind.action) {
    j.begin('{');
    j.key("action");
    j.str(g_bind.action);
    j.key("launcher");
    j.str(g_bind.launcher);
    j.key("local_rank");
    j.u64(static_cast<uint64_t>(g_bind.local_rank));
    j.key("local_size");
    j.u64(static_cast<uint64_t>(g_bind.local_size));
    j.key("policy");
    j.str(g_bind.policy);
    j.key("threads");
    j.u64(static_cast<uint64_t>(g_bind.threads));
    j.key("cpus");
    j.str(g_bind.cpus);
    j.key("mem");
    j.str_or_null(g_bind.mem);
    j.key("gpus");
    j.str_or_null(g_bind.gpus);
    j.key("omp_places");
    j.str_or_null(g_bind.omp_places);
    j.key("omp_proc_bind");
    j.str_or_null(g_bind.omp_proc_bind);
    j.key("omp");
    j.str_or_null(g_bind.omp);
    j.key("why");
    j.str(g_bind.why);
    j.end('}');
  } else {
    j.begin('{');
    j.key("action");
    j.str("skipped");
    j.key("why");
    j.str(g_bind_skip ? g_bind_skip : "not an MPI rank");
    j.end('}');
  }
  j.end('}');
}

}  // namespace pc

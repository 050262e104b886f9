// spank/paracloud: `--tune=auto|profile|off` for srun/sbatch/salloc; injects the paracloud runtime into each task.
// Also `--route=cheapest|fastest|balanced`: checked here, then carried by Slurm itself (every SPANK
// option reaches job_desc->spank_job_env as _SLURM_SPANK_OPTION_paracloud_route) to
// job_submit/paracloud, which routes the job between federated sites with that policy.
//
// Also `--budget=AMOUNT`: the most the job may cost (worst case, in the site currency); checked
// here for its form and carried the same way (_SLURM_SPANK_OPTION_paracloud_budget) to
// job_submit/paracloud, which refuses a job whose quote is over it and, in a federation, routes only
// to sites within it; jobcomp/paracloud records it in the job's accounting record.
//
// Also `--bind=auto|spread|compact|numa|none|keep[,verbose]` (issue 11): the runtime's binding of
// the job's MPI ranks, given to the tasks as PARACLOUD_BIND.
//
// plugstack.conf:  optional /path/spank_paracloud.so [default=profile|auto|off] [bind=POLICY] [runtime=PATH] [profile_dir=DIR]
//   default      the mode when the user gives no --tune (site default; "profile" if unset)
//   bind         the binding when the user gives no --bind and no PARACLOUD_BIND (default: the
//                runtime's own, auto)
//   runtime      the preload library (default: the installed libparacloud_rt.so)
//   profile_dir  where profiles go (default: the step's working directory, i.e. the job's WorkDir);
//                give paracloud.conf's ProfileDir the same path, so that jobcomp/paracloud finds them
// The runtime path comes only from plugstack.conf (root-owned), never from the user: users can opt
// out (--tune=off, PARACLOUD_TUNE=off) but cannot choose what gets preloaded. LD_PRELOAD is set in
// the environment of the user's tasks only; slurmstepd and other privileged processes never see it.
#include <unistd.h>

#include <strings.h>

#include <cstdint>
#include <cstring>
#include <string>

extern "C" {
#include <slurm/slurm_version.h>
#include <slurm/spank.h>
}

#include "tune_env.hpp"

#ifndef PARACLOUD_RUNTIME_PATH
#define PARACLOUD_RUNTIME_PATH "/usr/lib/paracloud/libparacloud_rt.so"
#endif

// SPANK_PLUGIN(paracloud, 1) spelled out: in C++ a namespace-scope const has internal linkage.
extern "C" const char plugin_name[] = "paracloud";
extern "C" const char plugin_type[] = "spank";
extern "C" const unsigned int plugin_version = SLURM_VERSION_NUMBER;
extern "C" const unsigned int spank_plugin_version = 1;

namespace {

using paracloud::spank::TuneMode;

struct State {
  TuneMode site_default = TuneMode::profile;
  std::string runtime = PARACLOUD_RUNTIME_PATH;
  std::string profile_dir;       // empty: the step's working directory
  bool user_set = false;
  TuneMode user_mode = TuneMode::profile;
  std::string site_bind;  // plugstack bind=, "" : the runtime's default
  std::string user_bind;  // --bind, "" : not given
} g;

const char* const kBindHelp = "auto, spread, compact, numa, none or keep, optionally followed by ,verbose";

int bind_option_cb(int, const char* optarg, int) {
  auto v = paracloud::spank::parse_bind_value(optarg ? optarg : "");
  if (!v) {
    slurm_error("paracloud: --bind=%s is not a binding: use %s (e.g. --bind=compact,verbose)",
                optarg ? optarg : "", kBindHelp);
    return -1;
  }
  g.user_bind = *v;
  return 0;
}

struct spank_option bind_option = {
    const_cast<char*>("bind"), const_cast<char*>("POLICY[,verbose]"),
    const_cast<char*>("paracloud binding of the job's MPI ranks: auto (default: spread, keeping a binding "
                      "you asked for), spread, compact, numa, none, keep; ,verbose prints each rank's map."),
    1, 0, bind_option_cb};

int tune_option_cb(int, const char* optarg, int remote) {
  auto mode = paracloud::spank::parse_tune_mode(optarg ? optarg : "");
  if (!mode) {
    slurm_error("paracloud: --tune=%s is not a tuning mode: use --tune=auto, --tune=profile or --tune=off",
                optarg ? optarg : "");
    return -1;
  }
  (void)remote;
  g.user_set = true;
  g.user_mode = *mode;
  return 0;
}

struct spank_option tune_option = {
    const_cast<char*>("tune"), const_cast<char*>("MODE"),
    const_cast<char*>("paracloud runtime for this job: auto (profile and tune), profile "
                      "(profile only), off (no runtime). Default: site setting."),
    1, 0, tune_option_cb};

int route_option_cb(int, const char* optarg, int) {
  const char* v = optarg ? optarg : "";
  if (strcasecmp(v, "cheapest") != 0 && strcasecmp(v, "fastest") != 0 && strcasecmp(v, "balanced") != 0) {
    slurm_error("paracloud: --route=%s is not a routing policy: use --route=cheapest, --route=fastest or "
                "--route=balanced", v);
    return -1;
  }
  return 0;  // the value travels in the job's SPANK environment; job_submit/paracloud reads it
}

struct spank_option route_option = {
    const_cast<char*>("route"), const_cast<char*>("POLICY"),
    const_cast<char*>("paracloud site routing in a federation: cheapest (lowest cost), fastest (earliest "
                      "expected start; the best sites race) or balanced. Default: site setting (RoutePolicy)."),
    1, 0, route_option_cb};

int budget_option_cb(int, const char* optarg, int) {
  const char* v = optarg ? optarg : "";
  if (!paracloud::spank::looks_like_amount(v)) {
    slurm_error("paracloud: --budget=%s is not an amount: give the most the job may cost in the site's currency, "
                "e.g. --budget=50 or --budget=12.50", v);
    return -1;
  }
  return 0;  // travels in the job's SPANK environment; job_submit/paracloud enforces it
}

struct spank_option budget_option = {
    const_cast<char*>("budget"), const_cast<char*>("AMOUNT"),
    const_cast<char*>("paracloud: the most this job may cost (worst case, site currency, e.g. 50 or 12.50): a job "
                      "quoted over it is refused; in a federation only sites within it are chosen."),
    1, 0, budget_option_cb};

// Reads plugstack.conf arguments; a bad one is an error naming it (srun/sbatch/slurmd then report it).
int parse_args(int ac, char** av) {
  for (int i = 0; i < ac; ++i) {
    std::string a = av[i];
    auto eq = a.find('=');
    std::string key = a.substr(0, eq), val = eq == std::string::npos ? "" : a.substr(eq + 1);
    if (key == "default") {
      auto m = paracloud::spank::parse_tune_mode(val);
      if (!m) {
        slurm_error("paracloud: plugstack.conf argument default=%s: expected auto, profile or off", val.c_str());
        return -1;
      }
      g.site_default = *m;
    } else if (key == "bind") {
      auto b = paracloud::spank::parse_bind_value(val);
      if (!b) {
        slurm_error("paracloud: plugstack.conf argument bind=%s: expected %s", val.c_str(), kBindHelp);
        return -1;
      }
      g.site_bind = *b;
    } else if (key == "runtime" || key == "profile_dir") {
      if (val.empty() || val[0] != '/') {
        slurm_error("paracloud: plugstack.conf argument '%s': expected an absolute path (%s=/ABSOLUTE/%s)", a.c_str(),
                    key.c_str(), key == "runtime" ? "PATH/libparacloud_rt.so" : "DIR");
        return -1;
      }
      (key == "runtime" ? g.runtime : g.profile_dir) = val;
    } else {
      slurm_error("paracloud: plugstack.conf argument '%s' not understood: expected default=MODE, "
                  "bind=POLICY, runtime=/ABSOLUTE/PATH or profile_dir=/ABSOLUTE/DIR", a.c_str());
      return -1;
    }
  }
  return 0;
}

std::string get_env(spank_t sp, const char* name) {
  char buf[4096];
  if (spank_getenv(sp, name, buf, sizeof buf) == ESPANK_SUCCESS) return buf;
  return {};
}

}  // namespace

extern "C" int slurm_spank_init(spank_t sp, int ac, char** av) {
  if (parse_args(ac, av) != 0) return -1;
  if (spank_option_register(sp, &tune_option) != ESPANK_SUCCESS) {
    slurm_error("paracloud: cannot register --tune");
    return -1;
  }
  if (spank_option_register(sp, &route_option) != ESPANK_SUCCESS) {
    slurm_error("paracloud: cannot register --route");
    return -1;
  }
  if (spank_option_register(sp, &budget_option) != ESPANK_SUCCESS) {
    slurm_error("paracloud: cannot register --budget");
    return -1;
  }
  if (spank_option_register(sp, &bind_option) != ESPANK_SUCCESS) {
    slurm_error("paracloud: cannot register --bind");
    return -1;
  }
  return 0;
}

// Remote context (slurmstepd), once per step, before the tasks start: set the tasks' environment.
extern "C" int slurm_spank_user_init(spank_t sp, int, char**) {
  if (!spank_remote(sp)) return 0;
  TuneMode mode = g.user_set ? g.user_mode : g.site_default;
  // A user's own PARACLOUD_TUNE=off (exported before srun/sbatch) is an opt-out too.
  if (auto env = paracloud::spank::parse_tune_mode(get_env(sp, "PARACLOUD_TUNE"));
      !g.user_set && env && *env == TuneMode::off)
    mode = TuneMode::off;
  if (mode == TuneMode::off) {
    spank_setenv(sp, "PARACLOUD_TUNE", "off", 1);
    return 0;
  }
  // A runtime that is not installed on this node would make ld.so complain in every process of the job.
  if (access(g.runtime.c_str(), R_OK) != 0) {
    slurm_error("paracloud: runtime %s is not readable on this node (%m); the step runs without it "
                "(fix runtime= in plugstack.conf or install paracloud)", g.runtime.c_str());
    return 0;
  }
  std::string preload = paracloud::spank::prepend_preload(get_env(sp, "LD_PRELOAD"), g.runtime);
  if (spank_setenv(sp, "LD_PRELOAD", preload.c_str(), 1) != ESPANK_SUCCESS ||
      spank_setenv(sp, "PARACLOUD_TUNE", paracloud::spank::to_string(mode), 1) != ESPANK_SUCCESS) {
    slurm_error("paracloud: cannot set the task environment; the job runs without the runtime");
    return 0;  // never fail a job because of tuning
  }
  // --bind wins over the user's own PARACLOUD_BIND, which wins over the site's bind=.
  const std::string bind = !g.user_bind.empty() ? g.user_bind
                           : !get_env(sp, "PARACLOUD_BIND").empty() ? std::string()
                                                                    : g.site_bind;
  if (!bind.empty()) spank_setenv(sp, "PARACLOUD_BIND", bind.c_str(), 1);
  return 0;
}

// Remote context, in each task after slurmstepd's chdir to the step's working directory: profiles
// go there (the job's WorkDir for its batch step and plain srun steps, where jobcomp looks after
// ProfileDir) unless plugstack.conf names profile_dir= (jobcomp looks there when paracloud.conf's
// ProfileDir is the same directory) or the user chose a location. srun steps inside a batch script
// inherit the batch step's setting.
extern "C" int slurm_spank_task_init(spank_t sp, int, char**) {
  if (!spank_remote(sp)) return 0;
  std::string tune = get_env(sp, "PARACLOUD_TUNE");
  if (tune.empty() || tune == "off") return 0;
  if (!get_env(sp, "PARACLOUD_PROFILE_DIR").empty() || !get_env(sp, "PARACLOUD_PROFILE").empty()) return 0;
  std::string dir = g.profile_dir;
  if (dir.empty()) {
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd) == nullptr) return 0;  // the runtime then uses its own default
    dir = cwd;
  }
  spank_setenv(sp, "PARACLOUD_PROFILE_DIR", dir.c_str(), 1);
  return 0;
}

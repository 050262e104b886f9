// The runtime's side of the tuning store: libparacloud_tunestore.so (beside this library) is
// dlopen'ed on first use, in PARACLOUD_TUNE=auto only, and called through store_capi.h.
#include <dlfcn.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../hdf5_helpers.hpp"
#include "../session.hpp"
#include "store_capi.h"

namespace pc {

namespace {

struct StoreLib {
  bool tried = false;
  pc_tune_store_load_fn load = nullptr;
  pc_tune_store_save_fn save = nullptr;
  pc_tune_rules_write_fn rules = nullptr;
  pc_io_store_load_fn io_load = nullptr;  // issue 12: absent from an older store library
  pc_io_store_record_fn io_record = nullptr;
};
StoreLib g_lib;

// Every rank reads the store before PMPI_Init (for the rules file); only rank 0 reports problems,
// so that a bad file gives one warning per job.
bool quiet() { return env_rank() > 0; }

void warn(const char* message) {
  if (!quiet()) log("tuning store: %s", message);
}

bool open_store() {
  if (g_lib.tried) return g_lib.load != nullptr;
  g_lib.tried = true;
  char path[PATH_MAX + 64];
  if (!sibling_library("libparacloud_tunestore.so", path, sizeof(path))) {
    if (!quiet()) log("tuning store disabled: cannot locate libparacloud_rt.so");
    return false;
  }
  void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    if (!quiet()) log("tuning store disabled: %s", dlerror());
    return false;
  }
  auto version = reinterpret_cast<int (*)()>(dlsym(h, "pc_tune_capi_version"));
  g_lib.load = reinterpret_cast<pc_tune_store_load_fn>(dlsym(h, "pc_tune_store_load"));
  g_lib.save = reinterpret_cast<pc_tune_store_save_fn>(dlsym(h, "pc_tune_store_save"));
  g_lib.rules = reinterpret_cast<pc_tune_rules_write_fn>(dlsym(h, "pc_tune_rules_write"));
  g_lib.io_load = reinterpret_cast<pc_io_store_load_fn>(dlsym(h, "pc_io_store_load"));
  g_lib.io_record = reinterpret_cast<pc_io_store_record_fn>(dlsym(h, "pc_io_store_record"));
  if (!version || version() != PC_TUNE_CAPI_VERSION || !g_lib.load || !g_lib.save ||
      !g_lib.rules) {
    if (!quiet())
      log("tuning store disabled: %s is not the matching version (C API %d)", path,
          PC_TUNE_CAPI_VERSION);
    g_lib.load = nullptr;
    return false;
  }
  return true;
}

struct AppKey {
  char build_id[160], hash[64], user_dir[PATH_MAX], site_dir[PATH_MAX];
  pc_tune_app app;
};

// False (logged once, by rank 0) when the user has no store directory: PARACLOUD_TUNE_DIR unset,
// HOME unset and no passwd entry. There is no shared fallback such as /tmp: users' files would mix.
bool app_key(AppKey& k, int ranks, int rpn) {
  app_identity(k.build_id, sizeof(k.build_id), k.hash, sizeof(k.hash));
  const char* dir = getenv("PARACLOUD_TUNE_DIR");
  if (dir && *dir) {
    snprintf(k.user_dir, sizeof(k.user_dir), "%s", dir);
  } else {
    const char* home = getenv("HOME");
    if (!home || !*home) {
      const passwd* pw = getpwuid(getuid());
      home = pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : nullptr;
    }
    if (!home) {
      static bool said = false;
      if (!said && !quiet())
        log("tuning store disabled: HOME is not set and uid %d has no passwd entry (set "
            "PARACLOUD_TUNE_DIR)",
            static_cast<int>(getuid()));
      said = true;
      return false;
    }
    snprintf(k.user_dir, sizeof(k.user_dir), "%s/.cache/paracloud/tune", home);
  }
  const char* site = getenv("PARACLOUD_TUNE_SITE_DIR");
  snprintf(k.site_dir, sizeof(k.site_dir), "%s", site && *site ? site : "/var/lib/paracloud/tune");
  k.app = pc_tune_app{settings().exe_name, k.build_id, k.hash, ranks, rpn, k.user_dir, k.site_dir};
  return true;
}

}  // namespace

int tune_store_load(int ranks, int rpn, pc_tune_decision* out, int max, char* loaded,
                    size_t len) {
  if (!open_store()) return -1;
  AppKey k;
  if (!app_key(k, ranks, rpn)) return -1;
  return g_lib.load(&k.app, out, max, loaded, len, warn);
}

bool tune_store_save(int ranks, int rpn, const pc_tune_decision* d, int n, char* path,
                     size_t len) {
  if (!open_store()) return false;
  AppKey k;
  if (!app_key(k, ranks, rpn)) return false;
  return g_lib.save(&k.app, d, n, path, len, warn) == 0;
}

// Before PMPI_Init: an Open MPI coll/tuned rules file from the stored decisions for this geometry
// (ranks and ranks per node from the launcher's environment); its path in `path`, false if none.
bool tune_rules_file(int ranks, int rpn, char* path, size_t len) {
  if (!open_store()) return false;
  AppKey k;
  if (!app_key(k, ranks, rpn)) return false;
  pc_tune_decision* d = static_cast<pc_tune_decision*>(calloc(1024, sizeof(pc_tune_decision)));
  if (!d) return false;
  char loaded[1024];
  const int n = g_lib.load(&k.app, d, 1024, loaded, sizeof(loaded), warn);
  char dir[PATH_MAX + 16];
  snprintf(dir, sizeof(dir), "%s/rules", k.user_dir);
  const int rules = n > 0 ? g_lib.rules(d, n, dir, path, len, warn) : 0;
  free(d);
  return rules > 0;
}

// ---- IO decisions (issue 12; mod_hdf5.cpp): the user store's "<app key>.io.json".
int io_store_load(pc_io_decision* out, int max) {
  if (!open_store() || !g_lib.io_load) return -1;
  AppKey k;
  if (!app_key(k, world_size(), 0)) return -1;
  return g_lib.io_load(&k.app, out, max, warn);
}

bool io_store_record(const pc_io_evidence* ev, int n, uint64_t preads, char* path, size_t len) {
  if (!open_store() || !g_lib.io_record) return false;
  AppKey k;
  if (!app_key(k, world_size(), 0)) return false;
  return g_lib.io_record(&k.app, settings().io_rules, ev, n, preads, path, len, warn) == 0;
}

}  // namespace pc

// kControls: every PARACLOUD_* environment variable the preload runtime reads, and their parsing.
#include "controls.hpp"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef PC_IO_RULES_DEFAULT
#define PC_IO_RULES_DEFAULT "/usr/share/paracloud/io-rules.json"
#endif

namespace pc {

const Control kControls[kControlCount] = {
    {"PARACLOUD_TUNE", ControlType::enumeration, "profile", "off|profile|auto",
     "off: pure pass-through; profile: record and write a profile; auto: profile + autotuner hook"},
    {"PARACLOUD_DISABLE", ControlType::list, "", "mpi|posix|mpiio|hdf5",
     "comma list of modules that pass calls through unrecorded"},
    {"PARACLOUD_APPS_INCLUDE", ControlType::list, "", nullptr,
     "comma list of executable basenames/globs to trace (empty: all)"},
    {"PARACLOUD_APPS_EXCLUDE", ControlType::list, "", nullptr,
     "comma list of executable basenames/globs never traced (wins over INCLUDE)"},
    {"PARACLOUD_LOG", ControlType::path, "stderr", nullptr,
     "where the runtime's one-line messages go: a file path (appended) or stderr"},
    {"PARACLOUD_PROFILE", ControlType::path, "", nullptr,
     "profile file path (wins over PARACLOUD_PROFILE_DIR)"},
    {"PARACLOUD_PROFILE_DIR", ControlType::path, "", nullptr,
     "directory for paracloud-profile-<job>.<step>.json (Slurm) or <exe>-<pid>.json; default: cwd"},
    {"PARACLOUD_PROFILE_NONMPI", ControlType::boolean, "0", nullptr,
     "1: also profile POSIX IO of programs that are not MPI programs"},
    {"PARACLOUD_DUMP_CONFIG", ControlType::boolean, "0", nullptr,
     "1: print the effective settings to stderr once (rank 0)"},
    {"PARACLOUD_TUNE_FORCE", ControlType::list, "", nullptr,
     "auto: comma list collective:algorithm run instead of tuning (e.g. allreduce:ring)"},
    {"PARACLOUD_TUNE_REPRODUCIBLE", ControlType::boolean, "0", nullptr,
     "auto: 1 keeps native's reduction order for floating point (integers may still be tuned)"},
    {"PARACLOUD_TUNE_BUDGET", ControlType::path, "0.02", nullptr,
     "auto: exploration overhead at most this share of the run time (at least 1 s counted)"},
    {"PARACLOUD_TUNE_ROUNDS", ControlType::path, "3", nullptr,
     "auto: exploration rounds per key at most (each round runs every candidate a few times)"},
    {"PARACLOUD_TUNE_MARGIN", ControlType::path, "0.04", nullptr,
     "auto: an algorithm replaces native only when faster by more than this share"},
    {"PARACLOUD_TUNE_DIR", ControlType::path, "~/.cache/paracloud/tune", nullptr,
     "auto: the user's tuning store (decisions per application and geometry, rules files)"},
    {"PARACLOUD_TUNE_SITE_DIR", ControlType::path, "/var/lib/paracloud/tune", nullptr,
     "auto: the site-wide tuning store, read only (seeded by paracloud tune bench)"},
    {"PARACLOUD_IO", ControlType::enumeration, "on", "on|off",
     "auto: on applies stored IO decisions (HDF5 chunk cache); off: IO calls untouched"},
    {"PARACLOUD_IO_RULES", ControlType::path, PC_IO_RULES_DEFAULT, nullptr,
     "the IO tuning rules file (versioned JSON; thresholds of the IO decisions)"},
    {"PARACLOUD_BIND", ControlType::enumeration, "auto", "auto|spread|compact|numa|none|keep",
     "binding of MPI ranks (profile and auto): a policy, keep (never bind) or none; ',verbose' "
     "prints each rank's map"},
};

namespace {

const char* env_or_default(const Control& c) {
  const char* v = getenv(c.name);
  return v != nullptr ? v : c.default_value;
}

// Calls f(item, len) for each non-empty comma-separated item of list.
template <typename F>
void for_each_item(const char* list, F f) {
  while (*list) {
    const char* end = strchr(list, ',');
    size_t len = end ? static_cast<size_t>(end - list) : strlen(list);
    while (len > 0 && (*list == ' ')) {
      list++;
      len--;
    }
    while (len > 0 && list[len - 1] == ' ') len--;
    if (len > 0) f(list, len);
    if (!end) break;
    list = end + 1;
  }
}

bool glob_list_matches(const char* list, const char* name) {
  bool hit = false;
  for_each_item(list, [&](const char* item, size_t len) {
    char pat[256];
    if (len >= sizeof(pat)) return;
    memcpy(pat, item, len);
    pat[len] = '\0';
    if (fnmatch(pat, name, 0) == 0) hit = true;
  });
  return hit;
}

bool parse_bool(const char* v, bool* out) {
  if (!strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on")) {
    *out = true;
    return true;
  }
  if (!strcmp(v, "0") || !strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "off") ||
      !*v) {
    *out = false;
    return true;
  }
  return false;
}

void copy_path(char* dst, const char* src) { snprintf(dst, kPathMax, "%s", src); }

// PARACLOUD_BIND: "POLICY[,verbose]" (either part may be left out: "verbose" alone is auto).
void parse_bind(const char* text, Settings& s, void (*warn)(const char* fmt, ...)) {
  static const char* const words[] = {"auto", "spread", "compact", "numa", "none", "keep"};
  for_each_item(text, [&](const char* item, size_t len) {
    if (len == 7 && !strncmp(item, "verbose", 7)) {
      s.bind_verbose = true;
      return;
    }
    for (const char* w : words) {
      if (strlen(w) == len && !strncmp(w, item, len)) {
        snprintf(s.bind, sizeof(s.bind), "%s", w);
        return;
      }
    }
    snprintf(s.bind, sizeof(s.bind), "auto");
    warn("PARACLOUD_BIND item '%.*s' is not one of auto|spread|compact|numa|none|keep or verbose: "
         "using auto", static_cast<int>(len), item);
  });
}

}  // namespace

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::off:
      return "off";
    case Mode::profile:
      return "profile";
    case Mode::autotune:
      return "auto";
  }
  return "?";
}

void read_settings(Settings& s, void (*warn)(const char* fmt, ...)) {
  s = Settings();
  const char* tune = env_or_default(kControls[kTune]);
  if (!strcmp(tune, "off"))
    s.mode = Mode::off;
  else if (!strcmp(tune, "profile") || !*tune)
    s.mode = Mode::profile;
  else if (!strcmp(tune, "auto"))
    s.mode = Mode::autotune;
  else
    warn("PARACLOUD_TUNE='%s' is not one of off|profile|auto: using profile", tune);

  for_each_item(env_or_default(kControls[kDisable]), [&](const char* item, size_t len) {
    for (int l = 0; l < kLayerCount; l++) {
      if (strlen(kLayerNames[l]) == len && !strncmp(kLayerNames[l], item, len)) {
        s.disabled |= 1u << l;
        return;
      }
    }
    warn("PARACLOUD_DISABLE item '%.*s' is not one of mpi,posix,mpiio,hdf5: ignored",
         static_cast<int>(len), item);
  });

  ssize_t n = readlink("/proc/self/exe", s.exe, sizeof(s.exe) - 1);
  s.exe[n > 0 ? n : 0] = '\0';
  const char* slash = strrchr(s.exe, '/');
  s.exe_name = slash ? slash + 1 : s.exe;
  const char* include = env_or_default(kControls[kAppsInclude]);
  const char* exclude = env_or_default(kControls[kAppsExclude]);
  if (*include && !glob_list_matches(include, s.exe_name)) s.app_selected = false;
  if (*exclude && glob_list_matches(exclude, s.exe_name)) s.app_selected = false;

  const char* io = env_or_default(kControls[kIo]);
  if (!strcmp(io, "off"))
    s.io = false;
  else if (*io && strcmp(io, "on"))
    warn("PARACLOUD_IO='%s' is not one of on|off: using on", io);
  copy_path(s.io_rules, env_or_default(kControls[kIoRules]));
  parse_bind(env_or_default(kControls[kBind]), s, warn);
  copy_path(s.log, env_or_default(kControls[kLog]));
  if (!*s.log) copy_path(s.log, "stderr");
  copy_path(s.profile, env_or_default(kControls[kProfile]));
  copy_path(s.profile_dir, env_or_default(kControls[kProfileDir]));
  const int booleans[] = {kProfileNonMpi, kDumpConfig};
  for (int i : booleans) {
    bool v = false;
    const char* text = env_or_default(kControls[i]);
    if (!parse_bool(text, &v)) warn("%s='%s' is not 0 or 1: using 0", kControls[i].name, text);
    (i == kProfileNonMpi ? s.profile_nonmpi : s.dump_config) = v;
  }
}

void dump_settings(const Settings& s) {
  char disabled[64] = "";
  for (int l = 0; l < kLayerCount; l++) {
    if (s.disabled & (1u << l)) {
      if (*disabled) strcat(disabled, ",");
      strcat(disabled, kLayerNames[l]);
    }
  }
  const char* effective[kControlCount] = {mode_name(s.mode),
                                          disabled,
                                          nullptr,
                                          nullptr,
                                          s.log,
                                          s.profile,
                                          s.profile_dir,
                                          s.profile_nonmpi ? "1" : "0",
                                          s.dump_config ? "1" : "0",
                                          nullptr,
                                          nullptr,
                                          nullptr,
                                          nullptr,
                                          nullptr,
                                          nullptr};
  fprintf(stderr, "paracloud: effective settings for %s (pid %d):\n", s.exe,
          static_cast<int>(getpid()));
  for (int i = 0; i < kControlCount; i++) {
    const Control& c = kControls[i];
    const char* set = getenv(c.name);
    const char* value = effective[i] ? effective[i] : env_or_default(c);
    fprintf(stderr, "paracloud:   %s=%s  (%s%s%s) %s\n", c.name, value,
            set ? "environment" : "default", c.choices ? "; " : "", c.choices ? c.choices : "",
            c.doc);
  }
  if (!s.app_selected)
    fprintf(stderr,
            "paracloud:   -> %s is not selected by PARACLOUD_APPS_INCLUDE/EXCLUDE: pass-through\n",
            s.exe_name);
}

}  // namespace pc

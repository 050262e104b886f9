// The runtime's environment controls, declared once in kControls (parsing, DUMP_CONFIG, docs).
#pragma once
#include <climits>

#include "rt.hpp"

namespace pc {

enum class ControlType { enumeration, list, boolean, path };

struct Control {
  const char* name;  // environment variable
  ControlType type;
  const char* default_value;
  const char* choices;  // enumeration / list: allowed items "a|b|c"; else nullptr
  const char* doc;      // one line
};
// Index of each control in kControls (same order).
enum ControlIndex {
  kTune,
  kDisable,
  kAppsInclude,
  kAppsExclude,
  kLog,
  kProfile,
  kProfileDir,
  kProfileNonMpi,
  kDumpConfig,
  kTuneForce,  // the collective tuner's controls (read by coll/tuner.cpp, store_link.cpp)
  kTuneReproducible,
  kTuneBudget,
  kTuneRounds,
  kTuneMargin,
  kTuneDir,
  kTuneSiteDir,
  kIo,  // issue 12: IO tuning (mod_hdf5.cpp)
  kIoRules,
  kBind,  // issue 11: process and thread binding (mod_bind.cpp)
  kControlCount
};
extern const Control kControls[kControlCount];

constexpr int kPathMax = PATH_MAX;
struct Settings {
  Mode mode = Mode::profile;
  unsigned disabled = 0;     // bit (1 << Layer) per PARACLOUD_DISABLE item
  bool app_selected = true;  // PARACLOUD_APPS_INCLUDE / _EXCLUDE allow this executable
  bool profile_nonmpi = false;
  bool dump_config = false;
  char log[kPathMax] = "stderr";
  char profile[kPathMax] = "";
  char profile_dir[kPathMax] = "";
  char exe[kPathMax] = "";    // /proc/self/exe
  const char* exe_name = "";  // basename of exe
  bool io = true;             // PARACLOUD_IO: IO decisions applied in auto (off: untouched)
  char io_rules[kPathMax] = "";  // PARACLOUD_IO_RULES
  char bind[12] = "auto";        // PARACLOUD_BIND policy word
  bool bind_verbose = false;     // PARACLOUD_BIND=...,verbose
};

// Reads every control from the environment. Bad values produce one warning each (through `warn`,
// naming the variable and the allowed values) and fall back to the default.
void read_settings(Settings& s, void (*warn)(const char* fmt, ...));
// Prints the effective settings (name=value, source, doc) to stderr.
void dump_settings(const Settings& s);
const char* mode_name(Mode m);

}  // namespace pc

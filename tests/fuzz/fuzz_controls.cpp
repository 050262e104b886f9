// libFuzzer target: the runtime's controls (runtime/controls.cpp, the PARACLOUD_* environment of
// every traced process). Input: lines NAME=VALUE (NAME without the PARACLOUD_ prefix is allowed);
// each is set, read_settings runs, and the effective settings are printed to /dev/null. It must
// never crash, and every path it keeps stays terminated within its buffer.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "controls.hpp"

namespace {
void quiet(const char*, ...) {}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    size_t eq = line.find('=');
    if (eq == std::string::npos || eq == 0 || line.find('\0') != std::string::npos) continue;
    std::string name = line.substr(0, eq);
    if (name.rfind("PARACLOUD_", 0) != 0) name = "PARACLOUD_" + name;
    if (setenv(name.c_str(), line.c_str() + eq + 1, 1) == 0) names.push_back(name);
  }
  pc::Settings s;
  pc::read_settings(s, quiet);
  if (strnlen(s.log, sizeof(s.log)) == sizeof(s.log) ||
      strnlen(s.profile, sizeof(s.profile)) == sizeof(s.profile) ||
      strnlen(s.profile_dir, sizeof(s.profile_dir)) == sizeof(s.profile_dir))
    __builtin_trap();
  for (const std::string& n : names) unsetenv(n.c_str());
  return 0;
}

// libFuzzer target: parse_profile (what jobcomp and `paracloud profile` read from a job's profile
// files, written by the user's job) on arbitrary bytes. paracloud::Error is the only acceptable
// failure; what parses must summarise and serialise without throwing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "profile/profile_summary.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    paracloud::ProfileSummary s = paracloud::parse_profile(text, "fuzz.json");
    // A summary must turn into the accounting record's JSON and the compact form.
    (void)paracloud::to_json(s).dump();
    (void)paracloud::compact_profile(s).dump();
  } catch (const paracloud::Error&) {
  }
  return 0;
}

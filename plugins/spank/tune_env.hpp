// Pure helpers of the spank plugin: tuning modes and LD_PRELOAD composition (unit-tested, no Slurm headers).
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace paracloud::spank {

enum class TuneMode { off, profile, auto_ };

inline const char* to_string(TuneMode m) {
  switch (m) {
    case TuneMode::off: return "off";
    case TuneMode::profile: return "profile";
    case TuneMode::auto_: return "auto";
  }
  return "profile";
}

// "auto" | "profile" | "off" (case-insensitive, as users type them); nullopt for anything else.
inline std::optional<TuneMode> parse_tune_mode(std::string_view s) {
  std::string v;
  for (char c : s) v += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (v == "off" || v == "no" || v == "none") return TuneMode::off;
  if (v == "profile") return TuneMode::profile;
  if (v == "auto") return TuneMode::auto_;
  return std::nullopt;
}

// Puts `runtime` first in an LD_PRELOAD value, keeping the user's own preloads in their order and
// dropping an earlier copy of `runtime`. ld.so accepts both ':' and ' ' as separators; we write ':'.
inline std::string prepend_preload(std::string_view existing, std::string_view runtime) {
  std::string out(runtime);
  std::string item;
  auto flush = [&] {
    if (!item.empty() && item != runtime) out += ":" + item;
    item.clear();
  };
  for (char c : existing) {
    if (c == ':' || c == ' ' || c == '\t') flush();
    else item += c;
  }
  flush();
  return out;
}

}  // namespace paracloud::spank

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

// --bind / plugstack bind=: "POLICY[,verbose]" with POLICY one of kBindPolicies (case-insensitive)
// or "verbose" alone (= auto,verbose). Returns the value for PARACLOUD_BIND (lower case), nullopt
// when an item is not allowed.
inline constexpr const char* kBindPolicies[] = {"auto", "spread", "compact", "numa", "none", "keep"};
inline std::optional<std::string> parse_bind_value(std::string_view s) {
  std::string policy, verbose, item;
  bool bad = false, any = false;
  auto flush = [&] {
    if (item.empty()) return;
    any = true;
    bool known = false;
    for (const char* p : kBindPolicies) known = known || item == p;
    if (item == "verbose") verbose = ",verbose";
    else if (known && policy.empty()) policy = item;
    else bad = true;
    item.clear();
  };
  for (char c : s) {
    if (c == ',') flush();
    else item += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  flush();
  if (bad || !any) return std::nullopt;
  return (policy.empty() ? std::string("auto") : policy) + verbose;
}

// --budget: a non-negative decimal amount ("50", "12.50"; at most 18 digits before the point and 9
// after). The number of decimals the site's currency allows is checked by job_submit/paracloud,
// which knows paracloud.conf's Currency.
inline bool looks_like_amount(std::string_view s) {
  std::size_t i = 0, whole = 0, frac = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++whole;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++frac;
    if (frac == 0) return false;
  }
  return i == s.size() && whole >= 1 && whole <= 18 && frac <= 9;
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

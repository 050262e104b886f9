// Small text helpers shared by the core and the CLI.
#pragma once
#include <string>
#include <vector>

namespace paracloud {

// "a|b||c" split on '|' -> {"a", "b", "", "c"}: every field, empty ones included ("" -> {""}).
inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::size_t b = 0;
  for (;;) {
    std::size_t e = s.find(sep, b);
    out.push_back(s.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) return out;
    b = e + 1;
  }
}

}  // namespace paracloud

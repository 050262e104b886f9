// libFuzzer target: parse_amount, parse_rate and parse_duration; what parses must survive format -> parse.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "common/error.hpp"
#include "money/money.hpp"
#include "money/pricing.hpp"

namespace {

// Aborts (a finding) unless parse(format(v)) == v.
template <class Parse, class Format>
void round_trip(const std::string& text, Parse parse, Format format) {
  std::int64_t v = 0;
  try {
    v = parse(text);
  } catch (const paracloud::Error&) {
    return;
  }
  std::string again = format(v);
  std::int64_t w = parse(again);  // an Error here escapes: a formatted value must parse
  if (v != w) __builtin_trap();
}

}  // namespace

// First byte: currency digits (0..6) and whether negative amounts are allowed; the rest is the text.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  paracloud::Currency cur;
  cur.digits = data[0] % 7;
  bool allow_negative = (data[0] & 0x80) != 0;
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);

  round_trip(
      text, [&](const std::string& t) { return paracloud::parse_amount(t, cur, allow_negative); },
      [&](std::int64_t v) { return paracloud::format_amount(v, cur); });
  round_trip(
      text, [&](const std::string& t) { return paracloud::parse_rate(t, cur); },
      [&](std::int64_t v) { return paracloud::format_rate(v, cur); });
  round_trip(
      text, [](const std::string& t) { return paracloud::parse_duration(t); },
      [](std::int64_t v) { return paracloud::format_duration(v); });
  return 0;
}

// Money and fixed-point decimal parsing/formatting: exact integer arithmetic, no floating point.
#include "money/money.hpp"

#include <limits>

#include "common/error.hpp"

namespace paracloud {

namespace {

void check_digits(int digits) {
  if (digits < 0 || digits > 6)
    throw Error(Errc::bad_input,
                "currency has " + std::to_string(digits) + " minor-unit digits; expected 0..6",
                "set CurrencyDigits=0..6 in paracloud.conf");
}

std::string amount_form(const Currency& cur, bool allow_negative) {
  std::string f = allow_negative ? "a decimal number such as 12.34 or -5" : "a non-negative decimal number such as 12.34";
  f += " with at most " + std::to_string(cur.digits) + " decimal" + (cur.digits == 1 ? "" : "s");
  return f;
}

}  // namespace

namespace detail {

std::int64_t parse_fixed(std::string_view text, int decimals, bool allow_negative, const char* what,
                         const std::string& form) {
  auto fail = [&](const std::string& why) -> std::int64_t {
    throw Error(Errc::bad_input,
                std::string("invalid ") + what + " '" + std::string(text) + "': " + why + "; expected " + form);
  };
  if (decimals < 0 || decimals > 18) fail("unsupported precision");
  if (text.empty()) fail("empty");
  std::size_t i = 0;
  bool negative = false;
  if (text[0] == '+' || text[0] == '-') {
    negative = text[0] == '-';
    if (negative && !allow_negative) fail("negative values are not allowed here");
    i = 1;
  }
  // The largest magnitude is INT64_MAX, so that negation never overflows.
  const unsigned __int128 limit = std::numeric_limits<std::int64_t>::max();
  unsigned __int128 value = 0;
  std::size_t int_digits = 0, frac_digits = 0;
  bool dot = false;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      if (dot) fail("more than one '.'");
      dot = true;
      continue;
    }
    if (c < '0' || c > '9') {
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
        fail("contains whitespace");
      fail(std::string("unexpected character '") + c + "'");
    }
    if (dot) {
      if (++frac_digits > static_cast<std::size_t>(decimals))
        fail("more than " + std::to_string(decimals) + " decimal" + (decimals == 1 ? "" : "s"));
    } else {
      ++int_digits;
    }
    value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > limit) fail("too large");
  }
  if (int_digits == 0 && frac_digits == 0) fail("no digits");
  if (dot && frac_digits == 0) fail("no digits after '.'");
  for (std::size_t k = frac_digits; k < static_cast<std::size_t>(decimals); ++k) {
    value *= 10;
    if (value > limit) fail("too large");
  }
  auto v = static_cast<std::int64_t>(value);
  return negative ? -v : v;
}

std::string format_fixed(std::int64_t value, int decimals, bool trim_zeros) {
  bool negative = value < 0;
  // Magnitude in unsigned arithmetic: INT64_MIN has no positive int64 counterpart.
  unsigned long long mag = negative ? 0ULL - static_cast<unsigned long long>(value)
                                    : static_cast<unsigned long long>(value);
  std::string digits = std::to_string(mag);
  if (decimals > 0) {
    if (digits.size() <= static_cast<std::size_t>(decimals))
      digits.insert(0, static_cast<std::size_t>(decimals) + 1 - digits.size(), '0');
    digits.insert(digits.size() - static_cast<std::size_t>(decimals), 1, '.');
    if (trim_zeros) {
      while (digits.back() == '0') digits.pop_back();
      if (digits.back() == '.') digits.pop_back();
    }
  }
  return (negative ? "-" : "") + digits;
}

}  // namespace detail

Money parse_amount(std::string_view text, const Currency& cur, bool allow_negative) {
  check_digits(cur.digits);
  return detail::parse_fixed(text, cur.digits, allow_negative, "amount", amount_form(cur, allow_negative));
}

std::string format_amount(Money minor, const Currency& cur) {
  check_digits(cur.digits);
  return detail::format_fixed(minor, cur.digits, false);
}

std::string format_money(Money minor, const Currency& cur) { return format_amount(minor, cur) + " " + cur.code; }

}  // namespace paracloud

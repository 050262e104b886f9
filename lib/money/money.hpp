// Money: 64-bit integers in minor units (fen, cents) of one configured currency; parsing and formatting.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace paracloud {

using Money = std::int64_t;  // minor units; never floating point

struct Currency {
  std::string code = "CNY";  // ISO 4217 code, shown beside amounts
  int digits = 2;            // minor-unit digits: 2 for CNY/EUR/USD, 0 for JPY (0..6)
};

// Parses a decimal amount in major units ("12.34", "12", "0.5", "+3") into minor units.
// Rejects: empty, junk, more decimals than currency.digits, a sign when !allow_negative, overflow.
// Throws Error(Errc::bad_input) naming the text and what is expected.
Money parse_amount(std::string_view text, const Currency& cur, bool allow_negative = false);

// 1234 -> "12.34" (digits=2); -5 -> "-0.05". Without the currency code.
std::string format_amount(Money minor, const Currency& cur);
// 1234 -> "12.34 CNY".
std::string format_money(Money minor, const Currency& cur);

// Shared by amounts and rates: exact fixed-point decimals held in an int64 scaled by 10^decimals.
namespace detail {
// Accepts [+|-]DIGITS[.DIGITS] or [+|-].DIGITS with at most `decimals` fraction digits (0..18),
// no whitespace. `what` names the quantity in messages ("amount", "rate"); `form` is the expected
// form shown to the user. Throws Error(Errc::bad_input).
std::int64_t parse_fixed(std::string_view text, int decimals, bool allow_negative, const char* what,
                         const std::string& form);
// value / 10^decimals as exact decimal text; trim_zeros drops trailing fraction zeros (and a bare '.').
std::string format_fixed(std::int64_t value, int decimals, bool trim_zeros);
}  // namespace detail

}  // namespace paracloud

// Unit tests of money.hpp: exact parsing and formatting of amounts in minor units.
#include <criterion/criterion.h>

#include <cstdint>
#include <limits>

#include "common/error.hpp"
#include "test_helpers.hpp"
#include "money/money.hpp"

using namespace paracloud;

static const Currency cny{"CNY", 2};
static const Currency jpy{"JPY", 0};
static const Currency micro{"XMU", 6};

Test(money, parses_plain_amounts) {
  cr_assert_eq(parse_amount("12.34", cny), 1234);
  cr_assert_eq(parse_amount("12", cny), 1200);
  cr_assert_eq(parse_amount("0.5", cny), 50);
  cr_assert_eq(parse_amount(".5", cny), 50);
  cr_assert_eq(parse_amount("+3", cny), 300);
  cr_assert_eq(parse_amount("0", cny), 0);
  cr_assert_eq(parse_amount("007.01", cny), 701);
  cr_assert_eq(parse_amount("1500", jpy), 1500);
  cr_assert_eq(parse_amount("0.000001", micro), 1);
}

Test(money, negative_only_when_allowed) {
  cr_assert_eq(parse_amount("-5", cny, true), -500);
  cr_assert_eq(parse_amount("-0.01", cny, true), -1);
  std::string m = error_of([] { parse_amount("-5", cny); }, Errc::bad_input);
  assert_contains(m, "'-5'");
  assert_contains(m, "negative");
  assert_contains(m, "expected");
}

Test(money, rejects_junk_with_the_text_and_the_form) {
  for (const char* bad : {"", " ", "\t", " 12", "12 ", "1 2", "abc", "12a", "1e3", "1,5", "1.", ".", "+", "-", "1..2",
                          "1.2.3", "++1", "0x10", "１"}) {
    std::string m = error_of([&] { parse_amount(bad, cny, true); }, Errc::bad_input);
    assert_contains(m, std::string("'") + bad + "'");
    assert_contains(m, "expected");
  }
}

Test(money, rejects_too_many_decimals) {
  std::string m = error_of([] { parse_amount("1.234", cny); }, Errc::bad_input);
  assert_contains(m, "more than 2 decimals");
  assert_contains(m, "at most 2 decimals");
  error_of([] { parse_amount("1.5", jpy); }, Errc::bad_input);
  error_of([] { parse_amount("1.0000001", micro); }, Errc::bad_input);
}

Test(money, overflow_is_an_error_not_a_wrap) {
  // INT64_MAX = 9223372036854775807 minor units = 92233720368547758.07 CNY.
  cr_assert_eq(parse_amount("92233720368547758.07", cny), std::numeric_limits<std::int64_t>::max());
  cr_assert_eq(parse_amount("-92233720368547758.07", cny, true), -std::numeric_limits<std::int64_t>::max());
  std::string m = error_of([] { parse_amount("92233720368547758.08", cny); }, Errc::bad_input);
  assert_contains(m, "too large");
  error_of([] { parse_amount("92233720368547758", micro); }, Errc::bad_input);
  error_of([] { parse_amount("99999999999999999999999999999999", cny); }, Errc::bad_input);
}

Test(money, formats_exactly) {
  assert_str(format_amount(1234, cny), "12.34");
  assert_str(format_amount(-5, cny), "-0.05");
  assert_str(format_amount(0, cny), "0.00");
  assert_str(format_amount(100, cny), "1.00");
  assert_str(format_amount(7, jpy), "7");
  assert_str(format_amount(1, micro), "0.000001");
  assert_str(format_amount(std::numeric_limits<std::int64_t>::min(), cny), "-92233720368547758.08");
  assert_str(format_money(1234, cny), "12.34 CNY");
  assert_str(format_money(-1500, jpy), "-1500 JPY");
}

Test(money, round_trips) {
  const std::int64_t values[] = {0, 1, -1, 99, 100, 101, 123456789, -987654321,
                                 std::numeric_limits<std::int64_t>::max(), -std::numeric_limits<std::int64_t>::max()};
  for (const Currency* cur : {&cny, &jpy, &micro})
    for (std::int64_t v : values)
      cr_assert_eq(parse_amount(format_amount(v, *cur), *cur, true), v, "%lld with %d digits", (long long)v,
                   cur->digits);
}

Test(money, rejects_impossible_currency_digits) {
  Currency bad{"XXX", 7};
  error_of([&] { parse_amount("1", bad); }, Errc::bad_input);
  error_of([&] { format_amount(1, bad); }, Errc::bad_input);
}

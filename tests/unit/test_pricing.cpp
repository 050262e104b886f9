// Unit tests of pricing.hpp: rates, rule choice, and worked cost examples computed by hand.
#include <criterion/criterion.h>

#include <cstdint>
#include <limits>

#include "config/config.hpp"
#include "common/error.hpp"
#include "test_helpers.hpp"
#include "money/pricing.hpp"

using namespace paracloud;

static const Currency cny{"CNY", 2};
static const Currency jpy{"JPY", 0};

// Two sites; a:batch prices GPUs generically and the a100 type on its own; a:* is the fallback.
static const char* kConf =
    "SiteName=a\n"
    "SiteName=b\n"
    "SiteName=c  # no price line\n"
    "PriceName=a:batch cpu=0.12 mem=0.004 node=0.50 gres/gpu=2.00 gres/gpu:a100=6.50\n"
    "PriceName=a:* cpu=0.10\n"
    "PriceName=b:gpu gres/gpu:a100=5\n";

static Config conf() { return parse_config(kConf, "test.conf"); }

static JobResources job(const char* site, const char* partition, std::int64_t seconds) {
  JobResources j;
  j.site = site;
  j.partition = partition;
  j.seconds = seconds;
  return j;
}

Test(rate, parses_into_millionths_of_a_minor_unit) {
  cr_assert_eq(parse_rate("0.12", cny), 12000000);  // 12 fen x 1e6
  cr_assert_eq(parse_rate("0.000125", cny), 12500);  // 0.0125 fen
  cr_assert_eq(parse_rate("0.00000001", cny), 1);  // the smallest step: 8 decimals for CNY
  cr_assert_eq(parse_rate("2", cny), 200000000);
  cr_assert_eq(parse_rate("12", jpy), 12000000);  // 12 yen x 1e6
  cr_assert_eq(parse_rate("0.000001", jpy), 1);
}

Test(rate, rejects_negative_junk_precision_overflow) {
  std::string m = error_of([] { parse_rate("-0.12", cny); }, Errc::bad_input);
  assert_contains(m, "'-0.12'");
  assert_contains(m, "expected");
  m = error_of([] { parse_rate("0.000000001", cny); }, Errc::bad_input);
  assert_contains(m, "more than 8 decimals");
  for (const char* bad : {"", "abc", "0.1x", " 1", "1e-3", "99999999999999"})
    error_of([&] { parse_rate(bad, cny); }, Errc::bad_input);
}

Test(rate, formats_with_at_least_the_currency_digits) {
  assert_str(format_rate(12000000, cny), "0.12");
  assert_str(format_rate(200000000, cny), "2.00");
  assert_str(format_rate(400000, cny), "0.004");
  assert_str(format_rate(1, cny), "0.00000001");
  assert_str(format_rate(0, cny), "0.00");
  assert_str(format_rate(12000000, jpy), "12");
  assert_str(format_rate(1, jpy), "0.000001");
  for (Rate r : {Rate{0}, Rate{1}, Rate{12500}, Rate{123456789}, std::numeric_limits<Rate>::max()})
    cr_assert_eq(parse_rate(format_rate(r, cny), cny), r);
}

Test(price, cpu_hours) {
  // 4 cpus x 0.12 CNY/cpu-hour x 1 h = 0.48 CNY = 48 fen.
  JobResources j = job("a", "batch", 3600);
  j.cpus = 4;
  Quote q = price_job(conf(), j);
  cr_assert_eq(q.total, 48);
  cr_assert_eq(q.lines.size(), 1u);
  assert_str(q.lines[0].tres, "cpu");
  assert_str(q.lines[0].unit, "cpu-hour");
  cr_assert_eq(q.lines[0].units, 4);
  cr_assert_eq(q.lines[0].rate, 12000000);
  cr_assert_eq(q.lines[0].cost, 48);
  assert_str(q.rule_where, "test.conf:4");
}

Test(price, a_fraction_of_a_fen_rounds_up) {
  // 1 cpu x 0.10 CNY/h x 1 s = 0.1/3600 CNY = 0.00278 fen -> 1 fen.
  JobResources j = job("a", "debug", 1);
  j.cpus = 1;
  cr_assert_eq(price_job(conf(), j).total, 1);
  // 1 cpu x 0.10 CNY/h x 36 s = 0.001 CNY = 0.1 fen -> 1 fen; 360 s = exactly 1 fen stays 1.
  j.seconds = 36;
  cr_assert_eq(price_job(conf(), j).total, 1);
  j.seconds = 360;
  cr_assert_eq(price_job(conf(), j).total, 1);
  // 361 s = 1.0028 fen -> 2 fen.
  j.seconds = 361;
  cr_assert_eq(price_job(conf(), j).total, 2);
}

Test(price, memory_is_priced_per_gb_of_1024_mb) {
  // 1536 MB = 1.5 GB x 0.004 CNY/GB-hour x 2 h = 0.012 CNY = 1.2 fen -> 2 fen.
  JobResources j = job("a", "batch", 7200);
  j.mem_mb = 1536;
  Quote q = price_job(conf(), j);
  cr_assert_eq(q.total, 2);
  assert_str(q.lines[0].unit, "GB-hour");
  cr_assert_eq(q.lines[0].units, 1536);
  // 250 GB = 256000 MB x 0.004 x 1 h = 1.00 CNY exactly = 100 fen (no rounding).
  j.mem_mb = 256000;
  j.seconds = 3600;
  cr_assert_eq(price_job(conf(), j).total, 100);
}

Test(price, rounds_once_on_the_exact_sum_not_per_line) {
  // a:batch cpu 0.12, mem 0.004, node 0.50 for 60 s:
  //   cpu  1 x 0.12 x 60/3600 = 0.002 CNY = 0.2 fen
  //   mem  1024 MB = 1 GB x 0.004 x 60/3600 = 0.0000667 CNY = 0.00667 fen
  //   node 1 x 0.50 x 60/3600 = 0.00833 CNY = 0.833 fen
  //   sum = 1.04 fen -> 2 fen; each line alone rounds up to 1 fen (display only).
  JobResources j = job("a", "batch", 60);
  j.cpus = 1;
  j.mem_mb = 1024;
  j.nodes = 1;
  Quote q = price_job(conf(), j);
  cr_assert_eq(q.total, 2);
  cr_assert_eq(q.lines.size(), 3u);
  for (const auto& l : q.lines) cr_assert_eq(l.cost, 1, "%s", l.tres.c_str());
  // 120 s of 1 cpu and 1 node: cpu 0.12 x 120/3600 = 0.4 fen (line: 1), node 0.50 x 120/3600
  // = 1.667 fen (line: 2); total ceil(2.067) = 3 fen, here equal to the lines' sum.
  j.mem_mb = 0;
  j.seconds = 120;
  q = price_job(conf(), j);
  cr_assert_eq(q.lines[0].cost + q.lines[1].cost, 3);
  cr_assert_eq(q.total, 3);
  // 120 s of 1 cpu and 1 GB: cpu 0.4 fen (line: 1), mem 0.004 x 120/3600 = 0.0133 fen (line: 1);
  // total ceil(0.413) = 1 fen, one less than the rounded lines.
  j.nodes = 0;
  j.mem_mb = 1024;
  q = price_job(conf(), j);
  cr_assert_eq(q.lines[0].cost + q.lines[1].cost, 2);
  cr_assert_eq(q.total, 1);
}

Test(price, gpu_types_use_their_own_rate_else_the_generic_one) {
  // 2 x a100 x 6.50 x 1.5 h = 19.50 CNY; 1 x v100 (gres/gpu 2.00) x 1.5 h = 3.00; 1 untyped gpu = 3.00.
  JobResources j = job("a", "batch", 5400);
  j.gres["gpu:a100"] = 2;
  j.gres["gpu:v100"] = 1;
  j.gres["gpu"] = 1;
  Quote q = price_job(conf(), j);
  cr_assert_eq(q.total, 1950 + 300 + 300);
  cr_assert_eq(q.lines.size(), 3u);
  assert_str(q.lines[0].tres, "gres/gpu");
  assert_str(q.lines[1].tres, "gres/gpu:a100");
  assert_str(q.lines[1].priced_as, "gres/gpu:a100");
  assert_str(q.lines[2].tres, "gres/gpu:v100");
  assert_str(q.lines[2].priced_as, "gres/gpu");
  assert_str(q.lines[2].unit, "gpu-hour");
  // Gres names match case-insensitively, like the keys of paracloud.conf.
  JobResources upper = job("a", "batch", 3600);
  upper.gres["GPU:A100"] = 1;
  cr_assert_eq(price_job(conf(), upper).total, 650);
}

Test(price, an_unpriced_gres_is_refused_by_name) {
  // b:gpu prices only gres/gpu:a100: an h100 has neither its own nor a generic gpu rate.
  JobResources j = job("b", "gpu", 3600);
  j.gres["gpu:h100"] = 1;
  std::string m = error_of([&] { price_job(conf(), j); }, Errc::refused);
  assert_contains(m, "gres/gpu:h100");
  assert_contains(m, "test.conf:6");
  j.gres.clear();
  j.gres["fpga"] = 1;
  m = error_of([&] { price_job(conf(), j); }, Errc::refused);
  assert_contains(m, "gres/fpga");
}

Test(price, site_partition_rule_beats_site_wildcard) {
  JobResources j = job("a", "batch", 3600);
  j.cpus = 10;
  cr_assert_eq(price_job(conf(), j).total, 120);  // a:batch, 0.12
  j.partition = "debug";
  Quote q = price_job(conf(), j);
  cr_assert_eq(q.total, 100);  // a:*, 0.10
  assert_str(q.rule_where, "test.conf:5");
  j.partition = "";
  cr_assert_eq(price_job(conf(), j).total, 100);
}

Test(price, unknown_site_or_partition_is_not_found) {
  JobResources j = job("c", "batch", 3600);
  std::string m = error_of([&] { price_job(conf(), j); }, Errc::not_found);
  assert_contains(m, "'c'");
  j = job("b", "cpu", 3600);  // b has only b:gpu, no b:*
  m = error_of([&] { price_job(conf(), j); }, Errc::not_found);
  assert_contains(m, "'cpu'");
  j = job("zz", "batch", 3600);
  m = error_of([&] { price_job(conf(), j); }, Errc::not_found);
  assert_contains(m, "unknown site 'zz'");
}

Test(price, nothing_for_nothing) {
  JobResources j = job("a", "batch", 0);
  j.cpus = 64;
  j.gres["gpu:a100"] = 8;
  cr_assert_eq(price_job(conf(), j).total, 0);
  j = job("a", "batch", 3600);
  cr_assert_eq(price_job(conf(), j).total, 0);
  cr_assert_eq(price_job(conf(), j).lines.size(), 0u);
}

Test(price, negative_quantities_are_bad_input) {
  JobResources j = job("a", "batch", 3600);
  j.cpus = -1;
  error_of([&] { price_job(conf(), j); }, Errc::bad_input);
  j.cpus = 1;
  j.seconds = -5;
  error_of([&] { price_job(conf(), j); }, Errc::bad_input);
  j.seconds = 5;
  j.gres["gpu"] = -1;
  error_of([&] { price_job(conf(), j); }, Errc::bad_input);
}

Test(price, overflow_is_refused_not_wrapped) {
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  // INT64_MAX cpus x 0.12 CNY for 1 h = 12 x INT64_MAX fen: beyond int64.
  JobResources j = job("a", "batch", 3600);
  j.cpus = max;
  std::string m = error_of([&] { price_job(conf(), j); }, Errc::bad_input);
  assert_contains(m, "cpu");
  // INT64_MAX cpus x rate x INT64_MAX seconds: beyond even 128 bits.
  j.seconds = max;
  error_of([&] { price_job(conf(), j); }, Errc::bad_input);
  // Huge but representable stays exact: 1 cpu x 0.12 CNY/h x 10^15 h = 1.2e16 fen.
  j.cpus = 1;
  j.seconds = 3600LL * 1000000000000000LL;
  cr_assert_eq(price_job(conf(), j).total, 12000000000000000LL);
}

Test(price, hand_built_config_without_parse) {
  Config c;
  c.sites.push_back({"x", "x", "", "code"});
  PriceRule r;
  r.site = "x";
  r.partition = "*";
  r.rates["cpu"] = parse_rate("1", c.currency);
  r.where = "code";
  c.prices.push_back(r);
  JobResources j = job("x", "p", 1800);  // 3 cpus x 1 CNY x 0.5 h = 1.50 CNY; mem/node unpriced = 0
  j.cpus = 3;
  j.mem_mb = 4096;
  cr_assert_eq(price_job(c, j).total, 150);
}

// Pricing: rates in millionths of a minor unit, and the exact, once-rounded cost of a job.
#include "money/pricing.hpp"

#include <cctype>
#include <limits>

#include "common/error.hpp"

namespace paracloud {

namespace {

using i128 = __int128;

void check_currency(const Currency& cur) {
  if (cur.digits < 0 || cur.digits > 6)
    throw Error(Errc::bad_input, "currency has " + std::to_string(cur.digits) + " minor-unit digits; expected 0..6");
}

// a x b for non-negative a, b; Error(bad_input) when the product leaves int128.
i128 mul(i128 a, i128 b, const std::string& what) {
  const i128 max = ~(static_cast<i128>(1) << 127);
  if (a != 0 && b > max / a)
    throw Error(Errc::bad_input, "cost of " + what + " is too large to compute; expected smaller quantities or time");
  return a * b;
}

i128 ceil_div(i128 n, i128 d) { return n / d + (n % d != 0 ? 1 : 0); }  // n, d >= 0

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Rate parse_rate(std::string_view text, const Currency& cur) {
  check_currency(cur);
  int decimals = cur.digits + 6;
  return detail::parse_fixed(text, decimals, false, "rate",
                             "a non-negative price per unit-hour in " + cur.code + " such as 0.12, with at most " +
                                 std::to_string(decimals) + " decimals");
}

std::string format_rate(Rate r, const Currency& cur) {
  check_currency(cur);
  std::string s = detail::format_fixed(r, cur.digits + 6, true);
  // Keep at least the currency's own decimals: "2.00", "0.12", "0.004".
  std::size_t dot = s.find('.');
  std::size_t have = dot == std::string::npos ? 0 : s.size() - dot - 1;
  if (cur.digits > 0 && dot == std::string::npos) s += '.';
  if (have < static_cast<std::size_t>(cur.digits)) s.append(static_cast<std::size_t>(cur.digits) - have, '0');
  return s;
}

Quote price_job(const Config& cfg, const JobResources& job) {
  if (!cfg.find_site(job.site)) {
    std::string known;
    for (const auto& s : cfg.sites) known += (known.empty() ? "" : ", ") + s.name;
    throw Error(Errc::not_found, "unknown site '" + job.site + "'",
                known.empty() ? "add SiteName= and PriceName= lines to paracloud.conf" : "known sites: " + known);
  }
  const PriceRule* rule = cfg.find_price(job.site, job.partition);
  if (!rule)
    throw Error(Errc::not_found,
                "no price for site '" + job.site + "' partition '" + job.partition + "'",
                "add PriceName=" + job.site + ":" + (job.partition.empty() ? "PARTITION" : job.partition) +
                    " or PriceName=" + job.site + ":* to paracloud.conf");
  auto non_negative = [](std::int64_t v, const std::string& what) {
    if (v < 0) throw Error(Errc::bad_input, what + " is negative (" + std::to_string(v) + "); expected 0 or more");
  };
  non_negative(job.cpus, "cpu count");
  non_negative(job.nodes, "node count");
  non_negative(job.mem_mb, "memory");
  non_negative(job.seconds, "time");

  Quote q;
  q.site = job.site;
  q.partition = job.partition;
  q.seconds = job.seconds;
  q.rule_where = rule->where;
  auto rate_of = [&](const std::string& key) -> const Rate* {
    auto it = rule->rates.find(key);
    return it == rule->rates.end() ? nullptr : &it->second;
  };
  auto add = [&](const std::string& tres, std::int64_t units, const std::string& key, const std::string& unit) {
    if (units == 0) return;
    const Rate* r = rate_of(key);
    q.lines.push_back({tres, units, r ? *r : 0, unit, 0, key});
  };
  add("cpu", job.cpus, "cpu", "cpu-hour");
  add("mem", job.mem_mb, "mem", "GB-hour");
  add("node", job.nodes, "node", "node-hour");
  for (const auto& [name, count] : job.gres) {
    non_negative(count, "gres/" + name + " count");
    if (count == 0) continue;
    std::string tres = "gres/" + lower(name);
    std::string generic = tres.substr(0, tres.find(':'));
    std::string key = rate_of(tres) ? tres : generic;
    if (!rate_of(key))
      throw Error(Errc::refused,
                  "site '" + job.site + "' partition '" + job.partition + "' has no price for " + tres +
                      " (price line at " + rule->where + ")",
                  "choose a site or partition that prices " + tres + ", or add " + tres + "= to that PriceName line");
    std::string unit = generic.substr(5) + "-hour";
    add(tres, count, key, unit);
  }

  // Common denominator: 3600 s/h x 1e6 rate units/minor unit x 1024 MB/GB.
  const i128 denom = static_cast<i128>(3600) * 1000000 * 1024;
  i128 sum = 0;
  for (auto& line : q.lines) {
    std::string what = line.tres + " (" + std::to_string(line.units) + " units for " + std::to_string(job.seconds) + " s)";
    i128 n = mul(mul(line.units, line.rate, what), job.seconds, what);
    n = mul(n, line.tres == "mem" ? 1 : 1024, what);
    i128 cost = ceil_div(n, denom);
    if (cost > std::numeric_limits<Money>::max())
      throw Error(Errc::bad_input, "cost of " + what + " exceeds the largest amount; expected smaller quantities or time");
    line.cost = static_cast<Money>(cost);
    if (sum > ~(static_cast<i128>(1) << 127) - n)
      throw Error(Errc::bad_input, "job cost is too large to compute; expected smaller quantities or time");
    sum += n;
  }
  i128 total = ceil_div(sum, denom);
  if (total > std::numeric_limits<Money>::max())
    throw Error(Errc::bad_input, "job cost exceeds the largest amount; expected smaller quantities or time");
  q.total = static_cast<Money>(total);
  return q;
}

}  // namespace paracloud

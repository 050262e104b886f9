// Pricing: the worst-case or actual cost of a job from its TRES, its time and the site's rates.
//
// Rounding rule (also in paracloud.conf(5)): the cost of a job is computed exactly, as the rational
//   sum over TRES of units x rate x seconds / 3600      (memory: MB / 1024 x rate per GB-hour)
// with 128-bit integers, and rounded UP once, at the end, to a whole minor unit (fen, cent). A job
// that uses anything at all for any time therefore never costs 0 unless its rates are 0, and the
// total is never more than one minor unit above the exact value. Results beyond int64 are refused.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "money/money.hpp"

namespace paracloud {

// Parses a rate in major units per unit-hour ("0.12", "0.000125") into Rate units
// (1e-6 minor units per unit-hour): with 2-digit CNY, "0.12" -> 12000000. At most
// currency.digits + 6 decimals. Error(bad_input) for junk, negatives, too many decimals, overflow.
Rate parse_rate(std::string_view text, const Currency& cur);
// Back to major units, trailing zeros trimmed down to the currency's digits: "2.00", "0.12", "0.004".
std::string format_rate(Rate r, const Currency& cur);

// What a job asks for (submit) or got (completion).
struct JobResources {
  std::string site;                        // site name (SiteName=)
  std::string partition;
  std::int64_t cpus = 0;
  std::int64_t nodes = 0;
  std::int64_t mem_mb = 0;                 // total over the job
  std::map<std::string, std::int64_t> gres;  // "gpu" -> 2 (untyped) or "gpu:a100" -> 2
  std::int64_t seconds = 0;                // time limit (quote) or elapsed (charge)
};

struct CostLine {
  std::string tres;        // "cpu", "mem", "node", "gres/gpu:a100"
  std::int64_t units = 0;  // cpus, MB of memory, nodes, gpus
  Rate rate = 0;           // per unit-hour (memory: per GB-hour)
  std::string unit;        // "cpu-hour", "GB-hour", ...
  Money cost = 0;          // this line alone, rounded up (display only: the total rounds the exact sum
                           // once, so the lines may add up to a little more than the total)
  std::string priced_as;   // the rate's key in the rule: "gres/gpu" when a typed GPU has no own rate
};

struct Quote {
  std::string site, partition;
  std::int64_t seconds = 0;
  std::vector<CostLine> lines;
  Money total = 0;         // sum over lines of units x rate x seconds / 3600, rounded UP once to a minor unit
  std::string rule_where;  // which PriceName line priced it
};

// Throws Error(Errc::not_found) for an unknown site or when no price rule covers site/partition,
// Error(Errc::refused) when the job uses a gres (e.g. a GPU type) that the rule does not price, and
// Error(Errc::bad_input) for negative quantities or a cost beyond int64. Lines are cpu, mem, node,
// then gres in name order; quantities of 0 give no line. A typed gres "gpu:a100" is priced by
// gres/gpu:a100 when the rule has it, else by gres/gpu. Gres names match case-insensitively.
Quote price_job(const Config& cfg, const JobResources& job);

}  // namespace paracloud

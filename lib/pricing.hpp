// Pricing: the worst-case or actual cost of a job from its TRES, its time and the site's rates.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config.hpp"
#include "money.hpp"

namespace paracloud {

// Parses a rate in major units per unit-hour ("0.12", "0.000125") into Rate units
// (1e-6 minor units per unit-hour). Error(bad_input) for junk, negatives, > 6 extra decimals, overflow.
Rate parse_rate(std::string_view text, const Currency& cur);
std::string format_rate(Rate r, const Currency& cur);  // back to major units, trailing zeros trimmed

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
};

struct Quote {
  std::string site, partition;
  std::int64_t seconds = 0;
  std::vector<CostLine> lines;
  Money total = 0;         // sum over lines of units x rate x seconds / 3600, rounded UP once to a minor unit
  std::string rule_where;  // which PriceName line priced it
};

// Throws Error(Errc::not_found) when no price rule covers site/partition, and Error(Errc::refused)
// when the job uses a TRES (e.g. a GPU type) that the rule does not price.
Quote price_job(const Config& cfg, const JobResources& job);

}  // namespace paracloud

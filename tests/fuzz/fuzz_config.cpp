// libFuzzer target: parse_config on arbitrary text; paracloud::Error is the only acceptable failure.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "common/error.hpp"
#include "money/pricing.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    // Relative Include lines resolve under a directory that does not exist.
    paracloud::Config cfg = paracloud::parse_config(text, "/nonexistent-paracloud-fuzz/paracloud.conf");
    // What parsed must be usable: every rule prices a small job or refuses it with an Error.
    for (const auto& rule : cfg.prices) {
      paracloud::JobResources job;
      job.site = rule.site;
      job.partition = rule.partition == "*" ? "any" : rule.partition;
      job.cpus = 2;
      job.mem_mb = 1536;
      job.nodes = 1;
      job.seconds = 3601;
      for (const auto& [tres, rate] : rule.rates)
        if (tres.rfind("gres/", 0) == 0) job.gres[tres.substr(5)] = 1;
      try {
        paracloud::Quote q = paracloud::price_job(cfg, job);
        if (q.total < 0) __builtin_trap();
      } catch (const paracloud::Error&) {
      }
    }
    if (cfg.values.size() < 10) __builtin_trap();  // every global key has a final value
  } catch (const paracloud::Error&) {
  }
  return 0;
}

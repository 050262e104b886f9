// paracloud.conf: slurm.conf-syntax configuration, every key declared once in options_table().
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "money/money.hpp"

namespace paracloud {

// Rates are integers too: millionths of a minor unit per unit-hour ("rate units"), so that
// 0.000123 CNY per GB-hour is exact: parse_rate("0.12", CNY) == 12 fen x 1e6 == 12000000 (pricing.hpp).
using Rate = std::int64_t;

// One `PriceName=` line: the hourly rates of one site x partition. Partition "*" matches any
// partition of the site that has no line of its own.
struct PriceRule {
  std::string site;
  std::string partition;             // or "*"
  std::map<std::string, Rate> rates; // TRES -> rate per unit-hour: "cpu", "mem" (per GB), "node",
                                     // "gres/gpu" (any type), "gres/gpu:a100" (one type)
  std::string where;                 // "file:line" for messages
};

// One `SiteName=` line: a partner site, i.e. one Slurm cluster.
struct SiteConf {
  std::string name;
  std::string cluster;               // Slurm ClusterName; defaults to name
  std::string description;
  std::string where;
  // Routing (router.hpp): licensed software, how old its state may be, whether it takes jobs.
  std::map<std::string, std::int64_t> licenses = {};  // Licenses=matlab:10,ansys -> {ansys:1, matlab:10}
  std::int64_t health_max_age = 0;   // HealthMaxAge=, seconds; 0: SiteStateMaxAge
  bool drained = false;              // State=DRAIN: never routed to
};

// One `PartitionName=SITE:PARTITION` line: what a partition of a site can run (routing).
// 0 in a number means "not declared": that limit is not checked.
struct PartitionConf {
  std::string site;
  std::string name;
  std::string cpu_model;                     // CpuModel=, also matched by --constraint
  std::vector<std::string> features;         // Features=, sorted, unique
  std::map<std::string, std::int64_t> gpus;  // Gpus=a100:8 -> {a100: 8} GPUs per node by type
  std::int64_t cpus_per_node = 0;            // CpusPerNode=
  std::int64_t mem_per_node_mb = 0;          // MemPerNode=, MB
  std::int64_t max_nodes = 0;                // MaxNodes=, per job
  std::int64_t max_time = 0;                 // MaxTime=, seconds
  std::string where;
};

enum class OptType { string, path, integer, boolean, duration, amount, rate, list, enumeration };
const char* to_string(OptType t);

// The one table of every key: global keys (scope "") and the keys of repeated lines
// (scope "SiteName", "PartitionName", "PriceName"). Drives parsing, `paracloud config dump` and paracloud.conf(5).
struct OptionSpec {
  const char* scope;       // "" for global keys, else the name of the line's first key
  const char* name;        // as written in the file (matching is case-insensitive, like Slurm)
  OptType type;
  const char* default_value; // as text; "" = unset
  const char* doc;           // one line
  const char* choices;       // enumeration: "a|b|c"; list: allowed items "a|b|c"; integer: "MIN..MAX";
                             // else nullptr
};
const std::vector<OptionSpec>& options_table();
// The spec of `name` (any case) in `scope`; a key "gres/gpu:a100" matches the one pattern entry
// "gres/NAME[:TYPE]". nullptr when unknown.
const OptionSpec* find_option(const std::string& scope, const std::string& name);

struct Config {
  std::string path;                       // file it came from ("" when built in code)
  std::string cluster_name;               // this controller's site (ClusterName=), default: first site
  Currency currency;                      // Currency=, CurrencyDigits=
  std::string ledger_path;                // LedgerPath=
  std::string accounting_log;             // AccountingLog=
  std::string spool_dir;                  // SpoolDir=
  std::vector<SiteConf> sites;
  std::vector<PartitionConf> partitions;  // PartitionName= lines, in file order
  std::vector<PriceRule> prices;
  // Every global key as finally set (defaults included), by canonical name, for `config dump`
  // and for adapters that read keys added later without a typed field.
  std::map<std::string, std::string> values;
  // Where each global key's value came from: "default", "default (first SiteName)" or "file:line".
  std::map<std::string, std::string> origins;
  // Typed copies of the other global keys (defaults as in options_table()).
  std::int64_t default_time_limit = 3600;              // DefaultTimeLimit=, seconds
  std::vector<std::string> refund_policy{"NODE_FAIL"}; // RefundPolicy=, upper-case job states
  std::int64_t lien_grace = 3600;                      // LienGrace=, seconds
  std::string tune_default = "profile";                // TuneDefault=: off, profile or auto
  std::string route_policy = "cheapest";               // RoutePolicy=: cheapest, fastest or balanced
  Money route_wait_weight = 0;                         // RouteWaitWeight=, minor units per hour of wait
  std::int64_t route_top_k = 2;                        // RouteTopK=
  std::int64_t site_state_max_age = 60;                // SiteStateMaxAge=, seconds
  std::string site_state_dir;                          // SiteStateDir=
  std::int64_t site_query_timeout = 5;                 // SiteQueryTimeout=, seconds
  std::int64_t site_collect_interval = 10;             // SiteCollectInterval=, seconds

  const SiteConf* find_site(const std::string& name) const;
  const PartitionConf* find_partition(const std::string& site, const std::string& partition) const;
  // Most specific rule: (site, partition) before (site, "*"); nullptr when none.
  const PriceRule* find_price(const std::string& site, const std::string& partition) const;
  std::string get(const std::string& key) const;  // canonical or any-case name; "" when unset
};

// Parses text (slurm.conf syntax: Key=Value pairs, `#` comments, quoted values, `Include FILE`
// relative to the including file, trailing-backslash continuation). Keys match case-insensitively.
// Throws Error(Errc::config) with "file:line: key 'X': <what is wrong>; expected <what>".
// filename is used in messages and as the base of relative Include paths.
Config parse_config(const std::string& text, const std::string& filename);
Config load_config(const std::string& path);

// Where paracloud.conf is: --conf, else $PARACLOUD_CONF, else beside $SLURM_CONF, else
// SLURM_SYSCONFDIR/paracloud.conf.
std::string default_config_path();

// sbatch --time formats -> seconds: "minutes", "minutes:seconds", "hours:minutes:seconds",
// "days-hours", "days-hours:minutes", "days-hours:minutes:seconds". The first field is unbounded,
// the others must be below 24 (hours) / 60. Error(bad_input) for junk, signs, overflow.
std::int64_t parse_duration(const std::string& text);
std::string format_duration(std::int64_t seconds);  // "1-02:03:04" / "02:03:04"; negative: "-" prefix

}  // namespace paracloud

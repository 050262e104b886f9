// paracloud.conf: slurm.conf-syntax configuration, every key declared once in options_table().
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "money.hpp"

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

// One `SiteName=` line: a partner site, i.e. one Slurm cluster (routing adds more keys later).
struct SiteConf {
  std::string name;
  std::string cluster;               // Slurm ClusterName; defaults to name
  std::string description;
  std::string where;
};

enum class OptType { string, path, integer, boolean, duration, amount, rate, list, enumeration };
const char* to_string(OptType t);

// The one table of every key: global keys (scope "") and the keys of repeated lines
// (scope "SiteName", "PriceName"). Drives parsing, `paracloud config dump` and paracloud.conf(5).
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

  const SiteConf* find_site(const std::string& name) const;
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

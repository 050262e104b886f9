// Unit tests of config.hpp: paracloud.conf syntax, every error kind, Include, durations, the option table.
#include <criterion/criterion.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <set>

#include "config/config.hpp"
#include "common/error.hpp"
#include "test_helpers.hpp"
#include "money/pricing.hpp"

using namespace paracloud;

// A config error must say where (file:line), which key, and what was expected.
static void assert_config_error(const std::string& text, const std::string& where, const std::string& key,
                                const std::string& also = "") {
  std::string m = error_of([&] { parse_config(text, "t.conf"); }, Errc::config);
  assert_contains(m, where + ": ");
  assert_contains(m, "key '" + key + "'");
  assert_contains(m, "expected");
  if (!also.empty()) assert_contains(m, also);
}

// A fresh scratch directory under /tmp; each test removes its own with remove_tree().
static std::string scratch() {
  char tmpl[] = "/tmp/paracloud-test-config-XXXXXX";
  cr_assert_not_null(mkdtemp(tmpl));
  return tmpl;
}

static void write(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  cr_assert(out.good(), "cannot write %s", path.c_str());
}

static void remove_tree(const std::string& dir) {
  std::string cmd = "rm -rf '" + dir + "'";
  cr_assert_eq(std::system(cmd.c_str()), 0);
}

static const char* kValid =
    "# paracloud.conf for two sites\n"
    "ClusterName=a\n"
    "Currency=CNY CurrencyDigits=2   # several pairs on a line\n"
    "LedgerPath=/srv/paracloud/ledger.db\n"
    "DefaultTimeLimit=2:00:00 LienGrace=30\n"
    "RefundPolicy=node_fail,Preempted\n"
    "TuneDefault=AUTO\n"
    "SiteName=a Cluster=clu-a Description=\"Partner A # not a comment\"\n"
    "SiteName=b \\\n"
    "    Description=\"Partner B\"\n"
    "PriceName=a:batch cpu=0.12 mem=0.004 node=0 gres/gpu=2.00 gres/gpu:a100=6.50\n"
    "PriceName=a:* cpu=0.10\n"
    "PriceName=b:* cpu=0.05\n";

Test(config, parses_a_full_file) {
  Config c = parse_config(kValid, "site.conf");
  assert_str(c.path, "site.conf");
  assert_str(c.cluster_name, "a");
  assert_str(c.currency.code, "CNY");
  cr_assert_eq(c.currency.digits, 2);
  assert_str(c.ledger_path, "/srv/paracloud/ledger.db");
  assert_str(c.accounting_log, "/var/log/paracloud/accounting.jsonl");  // default
  assert_str(c.spool_dir, "/var/spool/paracloud");
  cr_assert_eq(c.default_time_limit, 7200);
  cr_assert_eq(c.lien_grace, 30 * 60);  // plain number = minutes, like sbatch --time
  cr_assert_eq(c.refund_policy.size(), 2u);
  assert_str(c.refund_policy[0], "NODE_FAIL");
  assert_str(c.refund_policy[1], "PREEMPTED");
  assert_str(c.tune_default, "auto");

  cr_assert_eq(c.sites.size(), 2u);
  assert_str(c.sites[0].name, "a");
  assert_str(c.sites[0].cluster, "clu-a");
  assert_str(c.sites[0].description, "Partner A # not a comment");
  assert_str(c.sites[0].where, "site.conf:8");
  assert_str(c.sites[1].cluster, "b");  // Cluster defaults to the SiteName
  assert_str(c.sites[1].description, "Partner B");
  assert_str(c.sites[1].where, "site.conf:9");  // a continued line counts from its first line

  cr_assert_eq(c.prices.size(), 3u);
  const PriceRule& p = c.prices[0];
  assert_str(p.site, "a");
  assert_str(p.partition, "batch");
  assert_str(p.where, "site.conf:11");
  cr_assert_eq(p.rates.at("cpu"), 12000000);
  cr_assert_eq(p.rates.at("mem"), 400000);
  cr_assert_eq(p.rates.at("node"), 0);
  cr_assert_eq(p.rates.at("gres/gpu"), 200000000);
  cr_assert_eq(p.rates.at("gres/gpu:a100"), 650000000);
  cr_assert_eq(c.prices[1].rates.at("mem"), 0);  // unpriced cpu/mem/node default to 0
  cr_assert_eq(c.prices[1].rates.count("gres/gpu"), 0u);
}

Test(config, values_hold_every_global_key_with_its_origin) {
  Config c = parse_config(kValid, "site.conf");
  for (const auto& o : options_table()) {
    if (*o.scope) continue;
    cr_assert(c.values.count(o.name), "values lacks %s", o.name);
    cr_assert(c.origins.count(o.name), "origins lacks %s", o.name);
  }
  assert_str(c.values.at("LedgerPath"), "/srv/paracloud/ledger.db");
  assert_str(c.origins.at("LedgerPath"), "site.conf:4");
  assert_str(c.values.at("SpoolDir"), "/var/spool/paracloud");
  assert_str(c.origins.at("SpoolDir"), "default");
  assert_str(c.values.at("DefaultTimeLimit"), "02:00:00");
  assert_str(c.values.at("RefundPolicy"), "NODE_FAIL,PREEMPTED");
  assert_str(c.get("ledgerpath"), "/srv/paracloud/ledger.db");  // any case
  assert_str(c.get("NoSuchKey"), "");
}

Test(config, empty_file_is_all_defaults) {
  Config c = parse_config("\n# nothing\n\n", "e.conf");
  assert_str(c.cluster_name, "");
  assert_str(c.currency.code, "CNY");
  assert_str(c.ledger_path, "/var/lib/paracloud/ledger.db");
  cr_assert_eq(c.default_time_limit, 3600);
  cr_assert_eq(c.lien_grace, 3600);
  cr_assert_eq(c.refund_policy.size(), 1u);
  assert_str(c.tune_default, "profile");
  assert_str(c.values.at("TuneDefault"), "profile");
}

Test(config, cluster_name_defaults_to_the_first_site) {
  Config c = parse_config("SiteName=x\nSiteName=y\n", "d.conf");
  assert_str(c.cluster_name, "x");
  assert_str(c.values.at("ClusterName"), "x");
  assert_contains(c.origins.at("ClusterName"), "d.conf:1");
}

Test(config, keys_are_case_insensitive_values_are_not) {
  Config c = parse_config(
      "clustername=Big\nCURRENCY=eur currencydigits=2\nsitename=Big cluster=BIG DESCRIPTION=x\n"
      "pricename=Big:Batch CPU=1 Mem=2 GRES/GPU:A100=3\n",
      "c.conf");
  assert_str(c.cluster_name, "Big");
  assert_str(c.currency.code, "EUR");
  assert_str(c.sites[0].cluster, "BIG");
  assert_str(c.prices[0].partition, "Batch");
  cr_assert_eq(c.prices[0].rates.at("cpu"), 100000000);
  cr_assert_eq(c.prices[0].rates.at("mem"), 200000000);
  cr_assert_eq(c.prices[0].rates.at("gres/gpu:a100"), 300000000);
  cr_assert_null(c.find_price("big", "Batch"));  // site names keep their case
  cr_assert_not_null(c.find_price("Big", "Batch"));
}

Test(config, syntax_comments_quotes_continuations_crlf) {
  Config c = parse_config(
      "  # indented comment\r\n"
      "SiteName=s Description=\"two  spaces = and # hash\"\r\n"
      "SiteName=t \\\n"
      " \\\n"
      "  Cluster=tt # comment after a continuation\n"
      "SiteName=u Description=\"\"\n"
      "LedgerPath=/a/b#c\n",
      "s.conf");
  assert_str(c.sites[0].description, "two  spaces = and # hash");
  assert_str(c.sites[1].cluster, "tt");
  assert_str(c.sites[2].description, "");
  assert_str(c.ledger_path, "/a/b");  // '#' outside quotes starts a comment, as in slurm.conf
}

Test(config, currency_digits_drive_rates) {
  // JPY has no minor unit: 12 yen per cpu-hour = 12e6 rate units; "0.5" fen-like decimals are fine up to 6.
  Config c = parse_config("Currency=JPY CurrencyDigits=0\nSiteName=j\nPriceName=j:* cpu=12 mem=0.5\n", "j.conf");
  cr_assert_eq(c.prices[0].rates.at("cpu"), 12000000);
  cr_assert_eq(c.prices[0].rates.at("mem"), 500000);
  // The order in the file does not matter: digits declared after the prices still apply.
  c = parse_config("SiteName=j\nPriceName=j:* cpu=12\nCurrencyDigits=0\n", "j.conf");
  cr_assert_eq(c.prices[0].rates.at("cpu"), 12000000);
  assert_config_error("CurrencyDigits=0\nSiteName=j\nPriceName=j:* cpu=0.0000001\n", "t.conf:3", "cpu",
                      "more than 6 decimals");
}

Test(config, find_price_prefers_site_partition) {
  Config c = parse_config(kValid, "site.conf");
  cr_assert_eq(c.find_price("a", "batch"), &c.prices[0]);
  cr_assert_eq(c.find_price("a", "debug"), &c.prices[1]);
  cr_assert_eq(c.find_price("a", ""), &c.prices[1]);
  cr_assert_eq(c.find_price("b", "batch"), &c.prices[2]);
  cr_assert_null(c.find_price("zz", "batch"));
  cr_assert_eq(c.find_site("b"), &c.sites[1]);
  cr_assert_null(c.find_site("B"));
}

// ---------------------------------------------------------------- every error kind

Test(config_error, unknown_key_suggests_the_nearest) {
  assert_config_error("SiteName=a\nLedgerPth=/x\n", "t.conf:2", "LedgerPth", "did you mean 'LedgerPath'");
  assert_config_error("currancy=EUR\n", "t.conf:1", "currancy", "did you mean 'Currency'");
  assert_config_error("Frobnicate=1\n", "t.conf:1", "Frobnicate", "unknown key");
  assert_config_error("SiteName=a\nPriceName=a:* cpus=1\n", "t.conf:2", "cpus", "did you mean 'cpu'");
  assert_config_error("SiteName=a\nPriceName=a:* gpu=1\n", "t.conf:2", "gpu", "or 'gres/gpu'");
  assert_config_error("SiteName=a Colour=red\n", "t.conf:1", "Colour", "unknown key in a SiteName line");
  assert_config_error("SiteName=a\nPriceName=a:* gres/=1\n", "t.conf:2", "gres/");
  assert_config_error("SiteName=a\nPriceName=a:* gres/gpu:=1\n", "t.conf:2", "gres/gpu:");
}

Test(config_error, keys_on_the_wrong_kind_of_line) {
  assert_config_error("SiteName=a LedgerPath=/x\n", "t.conf:1", "LedgerPath", "global key");
  assert_config_error("LedgerPath=/x SiteName=a\n", "t.conf:1", "SiteName", "must start with SiteName");
  assert_config_error("cpu=0.1\n", "t.conf:1", "cpu", "outside a SiteName or PriceName line");
}

Test(config_error, bad_values_per_type) {
  assert_config_error("CurrencyDigits=7\n", "t.conf:1", "CurrencyDigits", "0..6");
  assert_config_error("CurrencyDigits=two\n", "t.conf:1", "CurrencyDigits", "not an integer");
  assert_config_error("CurrencyDigits=\n", "t.conf:1", "CurrencyDigits", "empty value");
  assert_config_error("Currency=Yuan\n", "t.conf:1", "Currency", "three letters");
  assert_config_error("LedgerPath=ledger.db\n", "t.conf:1", "LedgerPath", "absolute path");
  assert_config_error("DefaultTimeLimit=1h\n", "t.conf:1", "DefaultTimeLimit", "'1h'");
  assert_config_error("LienGrace=-5\n", "t.conf:1", "LienGrace", "negative");
  assert_config_error("RefundPolicy=NODE_FAIL,SOMETIMES\n", "t.conf:1", "RefundPolicy", "'SOMETIMES'");
  assert_config_error("RefundPolicy=NODE_FAIL,,FAILED\n", "t.conf:1", "RefundPolicy", "empty item");
  assert_config_error("TuneDefault=always\n", "t.conf:1", "TuneDefault", "off|profile|auto");
  assert_config_error("SiteName=a\nPriceName=a:* cpu=abc\n", "t.conf:2", "cpu", "'abc'");
  assert_config_error("SiteName=a\nPriceName=a:* mem=-0.1\n", "t.conf:2", "mem", "negative");
  assert_config_error("SiteName=a\nPriceName=a:* gres/gpu=0.000000001\n", "t.conf:2", "gres/gpu", "decimals");
  assert_config_error("SiteName=a\nPriceName=a:* node=\n", "t.conf:2", "node", "empty value");
  assert_config_error("SiteName=a\nPriceName=a:* cpu=99999999999999999\n", "t.conf:2", "cpu", "too large");
}

Test(config_error, duplicates) {
  assert_config_error("LedgerPath=/x\n\nledgerpath=/y\n", "t.conf:3", "ledgerpath", "first at t.conf:1");
  assert_config_error("Currency=EUR Currency=USD\n", "t.conf:1", "Currency", "set twice");
  assert_config_error("SiteName=a\nSiteName=a Description=again\n", "t.conf:2", "SiteName", "first at t.conf:1");
  assert_config_error("SiteName=a\nPriceName=a:* cpu=1\nPriceName=a:* cpu=2\n", "t.conf:3", "PriceName",
                      "first at t.conf:2");
  assert_config_error("SiteName=a Cluster=x cluster=y\n", "t.conf:1", "cluster", "twice");
  assert_config_error("SiteName=a\nPriceName=a:* cpu=1 CPU=2\n", "t.conf:2", "CPU", "twice");
}

Test(config_error, price_names) {
  assert_config_error("SiteName=a\nPriceName=b:* cpu=1\n", "t.conf:2", "PriceName", "site 'b' has no SiteName");
  assert_config_error("SiteName=a\nPriceName=a cpu=1\n", "t.conf:2", "PriceName", "SITE:PARTITION");
  assert_config_error("SiteName=a\nPriceName=a: cpu=1\n", "t.conf:2", "PriceName", "SITE:PARTITION");
  assert_config_error("SiteName=a\nPriceName=:* cpu=1\n", "t.conf:2", "PriceName", "SITE:PARTITION");
  assert_config_error("SiteName=\n", "t.conf:1", "SiteName", "not a site name");
  assert_config_error("SiteName=a/b\n", "t.conf:1", "SiteName", "not a site name");
  assert_config_error("SiteName=a\nClusterName=b\n", "t.conf:2", "ClusterName", "site 'b' has no SiteName");
}

Test(config_error, syntax) {
  assert_config_error("LedgerPath /x\n", "t.conf:1", "LedgerPath", "missing '='");
  assert_config_error("SiteName=a Description\n", "t.conf:1", "Description", "missing '='");
  assert_config_error("\n\nSiteName=a Description=\"open\n", "t.conf:3", "Description", "unterminated quote");
  assert_config_error("SiteName=a Description=\"x\"y\n", "t.conf:1", "Description", "after the closing quote");
  assert_config_error("SiteName=a Description=x\"y\"\n", "t.conf:1", "Description", "stray");
  assert_config_error("=value\n", "t.conf:1", "=value", "without a key");
}

// ---------------------------------------------------------------- Include and files

Test(include, relative_to_the_including_file) {
  std::string d = scratch();
  cr_assert_eq(mkdir((d + "/conf.d").c_str(), 0755), 0);
  write(d + "/conf.d/sites.conf", "SiteName=a\nInclude prices.conf\n");
  write(d + "/conf.d/prices.conf", "PriceName=a:* cpu=0.5\n");
  write(d + "/paracloud.conf", "Currency=EUR\ninclude conf.d/sites.conf\nLedgerPath=/x\n");
  Config c = load_config(d + "/paracloud.conf");
  assert_str(c.currency.code, "EUR");
  cr_assert_eq(c.sites.size(), 1u);
  assert_str(c.sites[0].where, d + "/conf.d/sites.conf:1");
  assert_str(c.prices[0].where, d + "/conf.d/prices.conf:1");
  cr_assert_eq(c.prices[0].rates.at("cpu"), 50000000);
  assert_str(c.ledger_path, "/x");
  // An absolute Include path and a quoted one.
  write(d + "/abs.conf", "Include \"" + d + "/conf.d/sites.conf\"\n");
  cr_assert_eq(load_config(d + "/abs.conf").sites.size(), 1u);
  remove_tree(d);
}

Test(include, errors_name_the_including_line) {
  std::string d = scratch();
  write(d + "/loop1.conf", "SiteName=a\nInclude loop2.conf\n");
  write(d + "/loop2.conf", "\nInclude loop1.conf\n");
  std::string m = error_of([&] { load_config(d + "/loop1.conf"); }, Errc::config);
  assert_contains(m, d + "/loop2.conf:2");
  assert_contains(m, "key 'Include'");
  assert_contains(m, "includes itself");
  write(d + "/self.conf", "Include self.conf\n");
  error_of([&] { load_config(d + "/self.conf"); }, Errc::config);

  write(d + "/missing.conf", "SiteName=a\n\nInclude nope.conf\n");
  m = error_of([&] { load_config(d + "/missing.conf"); }, Errc::config);
  assert_contains(m, d + "/missing.conf:3");
  assert_contains(m, "nope.conf");
  assert_contains(m, "no such file");

  write(d + "/dir.conf", "Include .\n");
  m = error_of([&] { load_config(d + "/dir.conf"); }, Errc::config);
  assert_contains(m, "directory");

  write(d + "/empty.conf", "Include\n");
  m = error_of([&] { load_config(d + "/empty.conf"); }, Errc::config);
  assert_contains(m, "key 'Include'");

  // Errors inside an included file name that file.
  write(d + "/bad.conf", "Include inner.conf\n");
  write(d + "/inner.conf", "# inner\nCurrencyDigits=9\n");
  m = error_of([&] { load_config(d + "/bad.conf"); }, Errc::config);
  assert_contains(m, d + "/inner.conf:2: key 'CurrencyDigits'");

  // A duplicate across files names both places.
  write(d + "/dup.conf", "LedgerPath=/a\nInclude dup2.conf\n");
  write(d + "/dup2.conf", "LedgerPath=/b\n");
  m = error_of([&] { load_config(d + "/dup.conf"); }, Errc::config);
  assert_contains(m, d + "/dup2.conf:1");
  assert_contains(m, d + "/dup.conf:1");
  remove_tree(d);
}

Test(include, missing_and_unreadable_files) {
  std::string m = error_of([] { load_config("/nonexistent/paracloud.conf"); }, Errc::config);
  assert_contains(m, "/nonexistent/paracloud.conf");
  assert_contains(m, "no such file");
  std::string d = scratch();
  m = error_of([&] { load_config(d); }, Errc::config);
  assert_contains(m, "is a directory");
  if (geteuid() == 0) {
    remove_tree(d);
    cr_skip_test("running as root: file permissions cannot make a file unreadable");
  }
  write(d + "/secret.conf", "SiteName=a\n");
  cr_assert_eq(chmod((d + "/secret.conf").c_str(), 0), 0);
  m = error_of([&] { load_config(d + "/secret.conf"); }, Errc::config);
  assert_contains(m, d + "/secret.conf");
  assert_contains(m, "permissions");
  remove_tree(d);
}

// ---------------------------------------------------------------- durations

Test(duration, all_sbatch_time_formats) {
  cr_assert_eq(parse_duration("90"), 90 * 60);                          // minutes
  cr_assert_eq(parse_duration("0"), 0);
  cr_assert_eq(parse_duration("5:30"), 5 * 60 + 30);                    // minutes:seconds
  cr_assert_eq(parse_duration("120:00"), 120 * 60);                     // leading field unbounded
  cr_assert_eq(parse_duration("1:30:00"), 5400);                        // hours:minutes:seconds
  cr_assert_eq(parse_duration("48:00:00"), 48 * 3600);
  cr_assert_eq(parse_duration("2-12"), 2 * 86400 + 12 * 3600);          // days-hours
  cr_assert_eq(parse_duration("1-02:03"), 86400 + 2 * 3600 + 3 * 60);   // days-hours:minutes
  cr_assert_eq(parse_duration("1-02:03:04"), 86400 + 7200 + 180 + 4);   // days-hours:minutes:seconds
  cr_assert_eq(parse_duration("0-00:00:01"), 1);
}

Test(duration, rejects_junk_negative_out_of_range_overflow) {
  for (const char* bad : {"", "-1", "-1:00", "1h", " 10", "10 ", "1:2:3:4", "1-2:3:4:5", "1--2", "1-", "-", ":", "1:",
                          ":30", "1::2", "1:60", "1:00:60", "1:60:00", "1-24", "1-23:60", "1-1:1:60", "+5", "1.5",
                          "UNLIMITED", "99999999999999999999", "106751991167301-00:00:00", "153722867280912931"}) {
    std::string m = error_of([&] { parse_duration(bad); }, Errc::bad_input);
    assert_contains(m, std::string("'") + bad + "'");
    assert_contains(m, "expected");
  }
  // The largest duration that fits in int64 seconds is accepted.
  cr_assert_eq(parse_duration("106751991167300-15:30:07"), std::numeric_limits<std::int64_t>::max());
}

Test(duration, formats_and_round_trips) {
  assert_str(format_duration(0), "00:00:00");
  assert_str(format_duration(59), "00:00:59");
  assert_str(format_duration(3600), "01:00:00");
  assert_str(format_duration(86399), "23:59:59");
  assert_str(format_duration(86400), "1-00:00:00");
  assert_str(format_duration(93784), "1-02:03:04");
  assert_str(format_duration(-61), "-00:01:01");
  for (std::int64_t s : {std::int64_t{0}, std::int64_t{1}, std::int64_t{3599}, std::int64_t{86401},
                         std::int64_t{1234567890}, std::numeric_limits<std::int64_t>::max()})
    cr_assert_eq(parse_duration(format_duration(s)), s);
}

// ---------------------------------------------------------------- where the file is, the table

Test(default_path, env_then_slurm_conf_then_sysconfdir) {
  setenv("PARACLOUD_CONF", "/opt/pc/my.conf", 1);
  setenv("SLURM_CONF", "/etc/slurm-test/slurm.conf", 1);
  assert_str(default_config_path(), "/opt/pc/my.conf");
  unsetenv("PARACLOUD_CONF");
  assert_str(default_config_path(), "/etc/slurm-test/paracloud.conf");
  setenv("PARACLOUD_CONF", "", 1);  // empty counts as unset
  assert_str(default_config_path(), "/etc/slurm-test/paracloud.conf");
  unsetenv("SLURM_CONF");
  std::string p = default_config_path();
  cr_assert(p.size() > 15 && p.compare(p.size() - 15, 15, "/paracloud.conf") == 0, "%s", p.c_str());
  cr_assert_eq(p[0], '/');
}

Test(options, table_is_complete_and_consistent) {
  std::set<std::string> seen;
  for (const auto& o : options_table()) {
    std::string id = std::string(o.scope) + "/" + o.name;
    cr_assert(seen.insert(id).second, "duplicate %s", id.c_str());
    cr_assert(o.doc && *o.doc, "%s has no doc", id.c_str());
    cr_assert(o.type != OptType::enumeration || o.choices, "%s has no choices", id.c_str());
    cr_assert_str_neq(to_string(o.type), "?");
    // Every default must itself be a valid value.
    if (!*o.scope && *o.default_value) {
      std::string text = std::string(o.name) + "=" + o.default_value + "\n";
      parse_config(text, "defaults.conf");
    }
  }
  for (const char* k : {"ClusterName", "Currency", "CurrencyDigits", "LedgerPath", "AccountingLog", "SpoolDir",
                        "DefaultTimeLimit", "RefundPolicy", "LienGrace", "TuneDefault", "RoutePolicy",
                        "RouteWaitWeight", "RouteTopK", "SiteStateMaxAge", "SiteStateDir", "SiteQueryTimeout",
                        "SiteCollectInterval"})
    cr_assert_not_null(find_option("", k), "%s missing", k);
  cr_assert_not_null(find_option("PriceName", "gres/gpu"));
  cr_assert_not_null(find_option("PriceName", "GRES/gpu:a100"));
  cr_assert_null(find_option("PriceName", "gres/NAME[:TYPE]"));
  cr_assert_null(find_option("PriceName", "gres/gpu:a:b"));
  cr_assert_not_null(find_option("siteName", "DESCRIPTION"));
  cr_assert_null(find_option("", "Description"));
  for (const char* k : {"PartitionName", "CpuModel", "Features", "Gpus", "CpusPerNode", "MemPerNode", "MaxNodes", "MaxTime"})
    cr_assert_not_null(find_option("PartitionName", k), "PartitionName %s missing", k);
  for (const char* k : {"Licenses", "HealthMaxAge", "State"})
    cr_assert_not_null(find_option("SiteName", k), "SiteName %s missing", k);
}

// ---------------------------------------------------------------- routing keys (issue 4)

Test(config_routing, sites_partitions_and_routing_keys) {
  Config c = parse_config(
      "RoutePolicy=Fastest RouteWaitWeight=2.5 RouteTopK=3 SiteStateMaxAge=30\n"
      "SiteStateDir=/run/paracloud/sites SiteQueryTimeout=2 SiteCollectInterval=15\n"
      "SiteName=a Licenses=matlab:10,ansys HealthMaxAge=120\n"
      "SiteName=b State=drain\n"
      "PartitionName=b:gpu CpuModel=\"Xeon 8480\" Features=ib,avx512,ib Gpus=a100:8,v100:4 CpusPerNode=64 \\\n"
      "    MemPerNode=512000 MaxNodes=16 MaxTime=2-00:00:00\n"
      "PartitionName=a:batch\n",
      "r.conf");
  assert_str(c.route_policy, "fastest");
  cr_assert_eq(c.route_wait_weight, 250);
  cr_assert_eq(c.route_top_k, 3);
  cr_assert_eq(c.site_state_max_age, 30);
  assert_str(c.site_state_dir, "/run/paracloud/sites");
  cr_assert_eq(c.site_query_timeout, 2);
  cr_assert_eq(c.site_collect_interval, 15);
  assert_str(c.get("RoutePolicy"), "fastest");
  cr_assert_eq(c.sites[0].licenses.size(), 2u);
  cr_assert_eq(c.sites[0].licenses.at("matlab"), 10);
  cr_assert_eq(c.sites[0].licenses.at("ansys"), 1);
  cr_assert_eq(c.sites[0].health_max_age, 120);
  cr_assert_not(c.sites[0].drained);
  cr_assert(c.sites[1].drained);
  cr_assert_eq(c.partitions.size(), 2u);
  const PartitionConf* p = c.find_partition("b", "gpu");
  cr_assert_not_null(p);
  assert_str(p->cpu_model, "Xeon 8480");
  cr_assert_eq(p->features.size(), 2u);  // sorted, unique
  assert_str(p->features[0], "avx512");
  assert_str(p->features[1], "ib");
  cr_assert_eq(p->gpus.at("a100"), 8);
  cr_assert_eq(p->gpus.at("v100"), 4);
  cr_assert_eq(p->cpus_per_node, 64);
  cr_assert_eq(p->mem_per_node_mb, 512000);
  cr_assert_eq(p->max_nodes, 16);
  cr_assert_eq(p->max_time, 2 * 86400);
  assert_str(p->where, "r.conf:5");
  const PartitionConf* q = c.find_partition("a", "batch");
  cr_assert(q && q->features.empty() && q->gpus.empty() && q->max_nodes == 0 && q->max_time == 0);
  cr_assert_null(c.find_partition("a", "gpu"));
}

Test(config_routing, defaults) {
  Config c = parse_config("SiteName=a\n", "d.conf");
  assert_str(c.route_policy, "cheapest");
  cr_assert_eq(c.route_wait_weight, 100);
  cr_assert_eq(c.route_top_k, 2);
  cr_assert_eq(c.site_state_max_age, 60);
  assert_str(c.site_state_dir, "/var/spool/paracloud/sites");
  cr_assert_eq(c.site_query_timeout, 5);
  cr_assert_eq(c.site_collect_interval, 10);
  cr_assert(c.sites[0].licenses.empty());
  cr_assert_eq(c.sites[0].health_max_age, 0);
  cr_assert_not(c.sites[0].drained);
}

Test(config_routing, errors_name_line_key_and_expectation) {
  assert_config_error("RoutePolicy=quickest\n", "t.conf:1", "RoutePolicy", "cheapest|fastest|balanced");
  assert_config_error("RouteTopK=0\n", "t.conf:1", "RouteTopK", "1..64");
  assert_config_error("SiteStateDir=sites\n", "t.conf:1", "SiteStateDir", "relative");
  assert_config_error("Features=ib\n", "t.conf:1", "Features", "outside a PartitionName line");
  assert_config_error("PartitionName=x:batch\n", "t.conf:1", "PartitionName", "no SiteName line");
  assert_config_error("SiteName=x\nPartitionName=x\n", "t.conf:2", "PartitionName", "SITE:PARTITION");
  assert_config_error("SiteName=x\nPartitionName=x:*\n", "t.conf:2", "PartitionName", "SITE:PARTITION");
  assert_config_error("SiteName=x\nPartitionName=x:p\nPartitionName=x:p\n", "t.conf:3", "PartitionName",
                      "defined twice (first at t.conf:2)");
  assert_config_error("SiteName=x\nPartitionName=x:p Gpus=a100\n", "t.conf:2", "Gpus", "TYPE:COUNT");
  assert_config_error("SiteName=x\nPartitionName=x:p Gpus=a100:0\n", "t.conf:2", "Gpus", "TYPE:COUNT");
  assert_config_error("SiteName=x\nPartitionName=x:p Gpus=a100:2,a100:4\n", "t.conf:2", "Gpus", "listed twice");
  assert_config_error("SiteName=x\nPartitionName=x:p MaxTime=forever\n", "t.conf:2", "MaxTime", "duration");
  assert_config_error("SiteName=x\nPartitionName=x:p MaxNodes=0\n", "t.conf:2", "MaxNodes", "out of range");
  assert_config_error("SiteName=x\nPartitionName=x:p Gpu=a100:2\n", "t.conf:2", "Gpu", "did you mean 'Gpus'");
  assert_config_error("SiteName=x Licenses=matlab:x\n", "t.conf:1", "Licenses", "NAME[:COUNT]");
  assert_config_error("SiteName=x State=down\n", "t.conf:1", "State", "UP|DRAIN");
  assert_config_error("SiteName=x HealthMaxAge=0\n", "t.conf:1", "HealthMaxAge", "out of range");
}

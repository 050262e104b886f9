// paracloud(1) entry point: global options, command groups, and the mapping of errors to exit codes.
#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <iostream>

#include "config.h"  // PACKAGE_VERSION, SLURM_SYSCONFDIR
#include "cli.hpp"
#include "common/slurm_time.hpp"
#include "common/error.hpp"

namespace paracloud::cli {

const Config& Context::config() {
  if (!config_) {
    std::string path = conf_path.empty() ? default_config_path() : conf_path;
    config_ = std::make_unique<Config>(load_config(path));
  }
  return *config_;
}

Ledger& Context::ledger(bool read_only) {
  if (!ledger_ || (ledger_ro_ && !read_only)) {
    const Config& cfg = config();
    if (cfg.ledger_path.empty())
      throw Error(Errc::config, cfg.path + ": LedgerPath is not set",
                  "add a line such as LedgerPath=/var/lib/paracloud/ledger.db");
    LedgerOptions o;
    o.read_only = read_only;
    o.create = !read_only;
    o.currency = cfg.currency;  // amounts in the ledger's messages
    o.password_file = cfg.get("LedgerPassFile");  // MariaDB ledgers (LedgerPath=mysql://...)
    ledger_ = open_ledger(cfg.ledger_path, o);
    ledger_ro_ = read_only;
  }
  return *ledger_;
}

std::string Context::invoking_user() const {
  if (const char* su = std::getenv("SUDO_USER"); su && *su && getuid() == 0) return su;
  if (struct passwd* pw = getpwuid(getuid())) return pw->pw_name;
  return std::to_string(getuid());
}

void print_table(const Context& ctx, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows) {
  if (ctx.parsable) {
    auto line = [](const std::vector<std::string>& r) {
      std::string s;
      for (const auto& c : r) s += c + "|";
      std::puts(s.c_str());
    };
    line(header);
    for (const auto& r : rows) line(r);
    return;
  }
  std::vector<std::size_t> w(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) w[i] = header[i].size();
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  auto line = [&](const std::vector<std::string>& r) {
    std::string s;
    for (std::size_t i = 0; i < w.size(); ++i) {
      std::string c = i < r.size() ? r[i] : "";
      s += c + std::string(w[i] - std::min(w[i], c.size()) + (i + 1 < w.size() ? 2 : 0), ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    std::puts(s.c_str());
  };
  line(header);
  std::vector<std::string> rule;
  for (auto n : w) rule.push_back(std::string(n, '-'));
  line(rule);
  for (const auto& r : rows) line(r);
}

void print_json(const nlohmann::json& j) { std::cout << j.dump(2) << std::endl; }

// Unix seconds; then every time Slurm's clients accept (past: a date without a year looks back, as
// sacct -S/-E; else forward, as sbatch --begin); then the short units this CLI always took ("now-7d", "now-2h", "now-30m", "now-10s").
std::int64_t parse_time(const std::string& text, bool past) {
  bool digits = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
  if (digits && text.size() > 8 && text.size() < 16) return std::stoll(text);
  const std::int64_t now = std::time(nullptr);
  try {
    return parse_slurm_time(text, now, past);
  } catch (const Error& e) {
    if (text.rfind("now-", 0) == 0) {
      std::string rest = text.substr(4);
      std::size_t n = 0;
      long long v = 0;
      try { v = std::stoll(rest, &n); } catch (...) { n = 0; }
      std::string unit = rest.substr(n);
      long long mult = unit == "d" ? 86400 : unit == "h" ? 3600 : unit == "m" || unit == "min" ? 60 : unit == "s" ? 1 : 0;
      if (n > 0 && mult > 0 && v >= 0 && v < 100000000) return now - v * mult;
    }
    throw Error(Errc::bad_input, e.what(), e.hint() + ", or unix seconds");
  }
}

std::string format_time(std::int64_t t) {
  if (t <= 0) return "-";
  time_t tt = static_cast<time_t>(t);
  struct tm tm;
  localtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

}  // namespace paracloud::cli

int main(int argc, char** argv) {
  using namespace paracloud;
  cli::Context ctx;
  CLI::App app{"paracloud: accounting, routing and tuning for an HPC cloud on Slurm.\n"
               "See paracloud(1) and paracloud.conf(5).",
               "paracloud"};
  app.set_version_flag("-V,--version", PACKAGE_VERSION);
  app.add_option("--conf", ctx.conf_path,
                 "paracloud.conf to use (default: $PARACLOUD_CONF, else beside $SLURM_CONF, else " SLURM_SYSCONFDIR
                 "/paracloud.conf)");
  app.add_flag("--json", ctx.json, "machine-readable JSON output");
  app.add_flag("-p,--parsable", ctx.parsable, "'|'-separated output without padding, like sacct -p");
  app.require_subcommand(1);
  app.fallthrough();
  cli::add_bank_commands(app, ctx);
  cli::add_price_commands(app, ctx);
  cli::add_config_commands(app, ctx);
  cli::add_report_commands(app, ctx);
  cli::add_profile_commands(app, ctx);
  cli::add_route_commands(app, ctx);
  cli::add_reconcile_commands(app, ctx);
  cli::add_tune_commands(app, ctx);
  cli::add_bind_commands(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return static_cast<int>(Errc::usage);
  } catch (const Error& e) {
    std::fprintf(stderr, "paracloud: %s\n", e.what());
    if (!e.hint().empty()) std::fprintf(stderr, "paracloud: hint: %s\n", e.hint().c_str());
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "paracloud: internal error: %s (please report)\n", e.what());
    return static_cast<int>(Errc::internal);
  }
  return 0;
}

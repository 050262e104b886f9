// Shared plumbing of the paracloud CLI: global options, config and ledger access, output helpers.
#pragma once
#include <CLI/CLI.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "ledger/ledger.hpp"

namespace paracloud::cli {

struct Context {
  std::string conf_path;  // --conf; empty: default_config_path()
  bool json = false;      // --json
  bool parsable = false;  // -p/--parsable: '|'-separated rows without padding, like sacct -p

  // Loads paracloud.conf once (throws Error(config)).
  const Config& config();
  // Opens the ledger named by LedgerPath (read_only for queries).
  Ledger& ledger(bool read_only = false);
  // Who is running the command (login name), for journal entries.
  std::string invoking_user() const;

 private:
  std::unique_ptr<Config> config_;
  std::unique_ptr<Ledger> ledger_;
  bool ledger_ro_ = false;
};

// Prints rows as an aligned table (default), '|'-separated (--parsable) or is not used with --json.
void print_table(const Context& ctx, const std::vector<std::string>& header,
                 const std::vector<std::vector<std::string>>& rows);
void print_json(const nlohmann::json& j);

// Unix seconds, Slurm's time forms ("2026-11-27", "2026-11-27T10:00:00", "now-7days", "noon", "12/24",
// common/slurm_time.hpp) and "now-7d"/"now-2h" -> unix seconds. past=true: a date without a year is
// the last one (sacct -S/-E); false: the next one (an expiry, sbatch --begin).
std::int64_t parse_time(const std::string& text, bool past = true);
std::string format_time(std::int64_t unix_seconds);  // "2026-11-27T10:00:00" (local time)

// An external command's outcome (sinfo, squeue, scontrol, sacct).
struct CommandResult {
  int status = -1;  // exit status; -1 when it could not run or was killed
  bool timed_out = false;
  std::string out, err;
};
// Runs argv (PATH lookup) with stdin from /dev/null, collects stdout and stderr, and kills it
// after timeout_s. Never throws for the command's own failure.
CommandResult run_command(const std::vector<std::string>& argv, std::int64_t timeout_s);
// "WHAT failed (exit N): first line of its complaint" / "WHAT timed out after N s".
std::string failure_text(const std::string& what, const CommandResult& r, std::int64_t timeout_s);

// Each command group registers its subcommands; callbacks throw paracloud::Error on failure.
void add_bank_commands(CLI::App& app, Context& ctx);
void add_price_commands(CLI::App& app, Context& ctx);
void add_config_commands(CLI::App& app, Context& ctx);
void add_report_commands(CLI::App& app, Context& ctx);   // accounting reports (issue 3)
void add_profile_commands(CLI::App& app, Context& ctx);  // runtime profiles (issue 5)
void add_tune_commands(CLI::App& app, Context& ctx);     // collective tuning store (issue 6)
void add_route_commands(CLI::App& app, Context& ctx);    // sites and routing (issue 4)
void add_bind_commands(CLI::App& app, Context& ctx);     // binding maps (issue 11)
void add_reconcile_commands(CLI::App& app, Context& ctx);  // ledger vs slurmdbd (issue 17)

}  // namespace paracloud::cli

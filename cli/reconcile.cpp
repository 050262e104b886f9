// paracloud reconcile: the ledger and the accounting log against slurmdbd's runs (paracloud-reconcile(1)).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>

#include "billing/reconcile.hpp"
#include "billing/settle.hpp"
#include "cli.hpp"
#include "common/error.hpp"

namespace paracloud::cli {

namespace {

struct ReconcileArgs {
  std::string start, end, clusters = "all";
  std::vector<std::string> logs;
  std::int64_t grace = 600, timeout = 300;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

void add_reconcile_commands(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<ReconcileArgs>();
  CLI::App* rc = app.add_subcommand(
      "reconcile",
      "Compare the ledger and the accounting log with what Slurm ran (sacct): runs not charged, charged twice or "
      "differently, open holds, refunds without a job; exit status 4 when anything is off");
  rc->add_option("-S,--since,--starttime", a->start, "Runs that ended at or after TIME (Slurm times; default: all)");
  rc->add_option("-E,--until,--endtime", a->end, "Runs that ended before TIME (default: now)");
  rc->add_option("-M,--clusters", a->clusters, "Clusters to ask sacct about (default: all of slurmdbd)");
  rc->add_option("--log", a->logs,
                 "Accounting log(s) to read, one --log per site's log (default: AccountingLog)")
      ->delimiter(',');
  rc->add_option("--grace", a->grace,
                 "Seconds a run that ended may wait for its settlement before it counts as not charged (default 600)")
      ->check(CLI::NonNegativeNumber);
  rc->add_option("--timeout", a->timeout, "Seconds sacct may take (default 300)")->check(CLI::PositiveNumber);
  rc->callback([&ctx, a]() {
    const Config& cfg = ctx.config();
    const auto t0 = std::chrono::steady_clock::now();
    ReconcileInput in;
    in.now = static_cast<std::int64_t>(std::time(nullptr));
    in.since = a->start.empty() ? 0 : parse_time(a->start);
    in.until = a->end.empty() ? 0 : parse_time(a->end);
    in.grace = a->grace;
    if (in.until && in.since >= in.until)
      throw Error(Errc::usage, "--since " + a->start + " is not before --until " + a->end, "give a start earlier than the end");

    // slurmdbd: one line per run (--duplicates keeps every run of a requeued job), every user.
    std::vector<std::string> argv = {"env",
                                     "SLURM_TIME_FORMAT=%s",
                                     "sacct",
                                     "-n",
                                     "-P",
                                     "-X",
                                     "--duplicates",
                                     "-a",
                                     "-M",
                                     a->clusters,
                                     "-S",
                                     "uts" + std::to_string(std::max<std::int64_t>(in.since, 1000000)),
                                     "-E",
                                     in.until ? "uts" + std::to_string(in.until) : std::string("now"),
                                     "-o",
                                     "cluster,jobid,state,start,end,alloccpus"};
    CommandResult r = run_command(argv, a->timeout);
    if (r.status != 0)
      throw Error(Errc::not_found, failure_text("sacct", r, a->timeout),
                  "reconcile needs slurmdbd's records: run it where sacct works (SLURM_CONF), as an operator");
    in.runs = parse_sacct_runs(r.out);
    const double t_sacct = seconds_since(t0);

    Ledger& l = ctx.ledger(true);
    for (const Account& acc : l.list_accounts()) {
      StatementQuery q;
      q.account = acc.name;
      for (auto& e : l.statement(q)) in.journal.push_back(std::move(e));
    }
    const double t_ledger = seconds_since(t0);

    std::vector<std::string> paths = a->logs.empty() ? std::vector<std::string>{cfg.accounting_log} : a->logs;
    std::size_t skipped = 0;
    for (const std::string& path : paths) {
      if (path.empty()) continue;
      if (access(path.c_str(), F_OK) != 0) {
        if (!a->logs.empty())
          throw Error(Errc::not_found, "accounting log " + path + " does not exist", "check --log");
        continue;  // AccountingLog not written yet: no records
      }
      for (auto& rec : read_records(path, [&](std::size_t line, const std::string& why) {
             ++skipped;
             std::fprintf(stderr, "paracloud: warning: %s:%zu skipped: %s\n", path.c_str(), line, why.c_str());
           }))
        in.records.push_back(std::move(rec));
    }
    ReconcileReport rep = reconcile(in, cfg.currency);
    const double t_all = seconds_since(t0);

    if (ctx.json) {
      nlohmann::json f = nlohmann::json::array();
      for (const auto& x : rep.findings)
        f.push_back({{"kind", x.kind},
                     {"run", x.run},
                     {"account", x.account},
                     {"amount", format_amount(x.amount, cfg.currency)},
                     {"amount_minor", x.amount},
                     {"key", x.key},
                     {"detail", x.detail}});
      print_json({{"since", in.since ? nlohmann::json(in.since) : nlohmann::json(nullptr)},
                  {"until", in.until ? nlohmann::json(in.until) : nlohmann::json(nullptr)},
                  {"grace_s", in.grace},
                  {"slurm_runs", in.runs.size()},
                  {"journal_entries", in.journal.size()},
                  {"records", in.records.size()},
                  {"records_skipped", skipped},
                  {"runs_checked", rep.runs_checked},
                  {"charges_checked", rep.charges_checked},
                  {"holds_open", rep.holds_open},
                  {"seconds", {{"sacct", t_sacct}, {"ledger", t_ledger - t_sacct}, {"total", t_all}}},
                  {"findings", f}});
    } else {
      if (!rep.findings.empty()) {
        std::vector<std::vector<std::string>> rows;
        for (const auto& x : rep.findings)
          rows.push_back({x.kind, x.run, x.account.empty() ? "-" : x.account, format_amount(x.amount, cfg.currency),
                          x.key.empty() ? "-" : x.key, x.detail});
        print_table(ctx, {"KIND", "RUN", "ACCOUNT", "AMOUNT", "KEY", "DETAIL"}, rows);
        std::puts("");
      }
      std::printf("reconcile: %zu runs ended%s, %zu run charges, %zu open holds, %zu records checked against %zu "
                  "sacct lines in %.2f s: %zu finding%s\n",
                  rep.runs_checked, in.since || in.until ? " in the window" : "", rep.charges_checked, rep.holds_open,
                  in.records.size(), in.runs.size(), t_all, rep.findings.size(), rep.findings.size() == 1 ? "" : "s");
    }
    if (!rep.findings.empty())
      throw Error(Errc::refused, std::to_string(rep.findings.size()) + " discrepanc" +
                                     (rep.findings.size() == 1 ? "y" : "ies") + " between the ledger and Slurm",
                  "see paracloud-reconcile(1) for what each kind means and how to settle it");
  });
}

}  // namespace paracloud::cli

// paracloud report: totals by account, user or site, and per-job listings, read from the AccountingLog (paracloud-report(1)).
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "cli.hpp"
#include "common/error.hpp"
#include "billing/record.hpp"
#include "billing/settle.hpp"

namespace paracloud::cli {

namespace {

using nlohmann::json;

struct ReportArgs {
  std::string start, end, accounts, users, sites, log, by = "account";
  bool csv = false;
};

std::set<std::string> split_list(const std::string& s) {
  std::set<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty()) out.insert(item);
  return out;
}

// The account a record is billed to: the ledger account, else the Slurm account.
const std::string& account_of(const AccountingRecord& r) {
  return r.ledger_account.empty() ? r.job.account : r.ledger_account;
}
// When a run counts for a time range: when it ended (settled runs always have an end).
std::int64_t when(const AccountingRecord& r) { return r.job.end ? r.job.end : r.recorded; }

struct Selection {
  std::vector<AccountingRecord> records;
  Currency currency;
};

// Reads the log and keeps the records inside [-S, -E) that pass the filters.
Selection select(Context& ctx, const ReportArgs& a) {
  std::string path = a.log.empty() ? ctx.config().accounting_log : a.log;
  std::int64_t from = a.start.empty() ? 0 : parse_time(a.start);
  std::int64_t to = a.end.empty() ? 0 : parse_time(a.end);
  if (to && from >= to)
    throw Error(Errc::usage, "--starttime " + a.start + " is not before --endtime " + a.end,
                "give a start earlier than the end");
  auto accounts = split_list(a.accounts), users = split_list(a.users), sites = split_list(a.sites);
  Selection sel;
  bool have_currency = false;
  for (auto& r : read_records(path, [&](std::size_t line, const std::string& why) {
         std::fprintf(stderr, "paracloud: warning: %s:%zu skipped: %s\n", path.c_str(), line, why.c_str());
       })) {
    std::int64_t t = when(r);
    if (t < from || (to && t >= to)) continue;
    if (!accounts.empty() && !accounts.count(account_of(r))) continue;
    if (!users.empty() && !users.count(r.job.user)) continue;
    if (!sites.empty() && !sites.count(r.site)) continue;
    if (!have_currency) {
      sel.currency = r.currency;
      have_currency = true;
    } else if (r.currency.code != sel.currency.code || r.currency.digits != sel.currency.digits) {
      throw Error(Errc::bad_input,
                  path + ": records in " + sel.currency.code + " and " + r.currency.code + " cannot be added up",
                  "report one period or site at a time (-S/-E, --site)");
    }
    sel.records.push_back(std::move(r));
  }
  if (!have_currency && !a.log.empty()) sel.currency = Currency{};
  else if (!have_currency) sel.currency = ctx.config().currency;
  return sel;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void print_csv(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  auto line = [](const std::vector<std::string>& r) {
    std::string s;
    for (std::size_t i = 0; i < r.size(); ++i) s += (i ? "," : "") + csv_field(r[i]);
    std::puts(s.c_str());
  };
  line(header);
  for (const auto& r : rows) line(r);
}

void output(Context& ctx, const ReportArgs& a, const std::vector<std::string>& header,
            const std::vector<std::vector<std::string>>& rows, const json& j) {
  if (ctx.json) print_json(j);
  else if (a.csv) print_csv(header, rows);
  else print_table(ctx, header, rows);
}

std::string hours(double h) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", h);
  return buf;
}

double round6(double x) { return std::round(x * 1e6) / 1e6; }

struct Totals {
  std::int64_t jobs = 0;
  double core_hours = 0;
  Money cost = 0, refunds = 0;
};

void summary(Context& ctx, const ReportArgs& a) {
  if (a.by != "account" && a.by != "user" && a.by != "site")
    throw Error(Errc::usage, "--by " + a.by + ": unknown grouping", "use --by account, --by user or --by site");
  Selection sel = select(ctx, a);
  std::map<std::string, Totals> groups;
  Totals all;
  for (const auto& r : sel.records) {
    const std::string& key = a.by == "account" ? account_of(r) : a.by == "user" ? r.job.user : r.site;
    for (Totals* t : {&groups[key], &all}) {
      t->jobs += 1;
      t->core_hours += r.core_hours();
      t->cost += r.cost;
      t->refunds += r.refund;
    }
  }
  const Currency& cur = sel.currency;
  std::string title = a.by == "account" ? "Account" : a.by == "user" ? "User" : "Site";
  std::vector<std::string> header = {title, "Jobs", "CoreHours", "Cost", "Refunds", "Net"};
  std::vector<std::vector<std::string>> rows;
  json list = json::array();
  auto add = [&](const std::string& name, const Totals& t) {
    rows.push_back({name, std::to_string(t.jobs), hours(t.core_hours), format_amount(t.cost, cur),
                    format_amount(t.refunds, cur), format_amount(t.cost - t.refunds, cur)});
  };
  for (const auto& [name, t] : groups) {
    add(name.empty() ? "(none)" : name, t);
    list.push_back({{a.by, name},
                    {"jobs", t.jobs},
                    {"core_hours", round6(t.core_hours)},
                    {"cost", format_amount(t.cost, cur)},
                    {"refunds", format_amount(t.refunds, cur)},
                    {"net", format_amount(t.cost - t.refunds, cur)}});
  }
  if (!ctx.json && !a.csv && !ctx.parsable && groups.size() > 1) add("TOTAL", all);
  json j = {{"by", a.by},
            {"currency", cur.code},
            {"starttime", a.start},
            {"endtime", a.end},
            {"groups", list},
            {"total",
             {{"jobs", all.jobs},
              {"core_hours", round6(all.core_hours)},
              {"cost", format_amount(all.cost, cur)},
              {"refunds", format_amount(all.refunds, cur)},
              {"net", format_amount(all.cost - all.refunds, cur)}}}};
  output(ctx, a, header, rows, j);
}

std::string job_label(const JobFacts& f) {
  if (f.array_job_id && f.array_task_id >= 0)
    return std::to_string(f.array_job_id) + "_" + std::to_string(f.array_task_id);
  if (f.het_job_id) return std::to_string(f.het_job_id) + "+" + std::to_string(f.het_job_offset);
  return std::to_string(f.job_id);
}

void jobs(Context& ctx, const ReportArgs& a) {
  Selection sel = select(ctx, a);
  const Currency& cur = sel.currency;
  std::vector<std::string> header = {"JobID", "Site", "User", "Account", "Partition", "State", "Start",
                                     "End", "Elapsed", "CPUs", "Cost", "Refund", "Net"};
  std::vector<std::vector<std::string>> rows;
  json list = json::array();
  for (const auto& r : sel.records) {
    const JobFacts& f = r.job;
    rows.push_back({job_label(f), r.site, f.user, account_of(r), f.partition, f.state,
                    f.start ? format_time(f.start) : "Unknown", f.end ? format_time(f.end) : "Unknown",
                    format_duration(r.elapsed), std::to_string(f.cpus), format_amount(r.cost, cur),
                    format_amount(r.refund, cur), format_amount(r.net(), cur)});
    list.push_back(json(r));
  }
  output(ctx, a, header, rows, list);
}

void add_selection_options(CLI::App* app, ReportArgs& a) {
  app->add_option("-S,--starttime", a.start,
                  "runs that ended at or after this time (YYYY-MM-DD[THH:MM[:SS]], unix seconds, now-7days); "
                  "default: the beginning of the log");
  app->add_option("-E,--endtime", a.end, "runs that ended before this time; default: no limit");
  app->add_option("-A,--accounts", a.accounts, "only these accounts (comma-separated)");
  app->add_option("-u,--users", a.users, "only these users (comma-separated)");
  app->add_option("--sites", a.sites, "only these sites (comma-separated)");
  app->add_option("--log", a.log, "accounting log to read (default: AccountingLog of paracloud.conf)");
  app->add_flag("--csv", a.csv, "comma-separated values with a header line");
}

}  // namespace

void add_report_commands(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* report = app.add_subcommand(
      "report", "Accounting reports from the AccountingLog: totals by account, user or site; job listings (paracloud-report(1))");
  add_selection_options(report, *args);
  report->add_option("--by", args->by, "group totals by account (default), user or site")
      ->check(CLI::IsMember({"account", "user", "site"}));
  report->require_subcommand(0, 1);

  // The same options before or after `jobs` (`report -A lab jobs` = `report jobs -A lab`).
  CLI::App* jobs_cmd = report->add_subcommand("jobs", "One line per settled run, like sacct");
  add_selection_options(jobs_cmd, *args);
  jobs_cmd->callback([&ctx, args] { jobs(ctx, *args); });

  report->callback([&ctx, args, report] {
    if (report->get_subcommands().empty()) summary(ctx, *args);
  });
}

}  // namespace paracloud::cli

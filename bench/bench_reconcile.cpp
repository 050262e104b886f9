// Reconciliation benchmark (issue 17): what `paracloud reconcile` spends on N jobs, step by step.
//   parse   N sacct lines (a tenth of the jobs requeued once: two runs)
//   records read an accounting log of one record per run (read_records, the CLI's reader)
//   ledger  read the journal of a real SQLite ledger holding --ledger-jobs jobs (hold + charge each,
//           written through the Ledger API) and scale its per-entry time to N jobs
//   rules   reconcile() over N jobs' runs, 2 entries per run and the records: 0 findings, then
//           with three seeded faults: 3 findings
// Usage: bench_reconcile [--jobs N] [--ledger-jobs M] [--dir DIR]   (make -C bench bench-reconcile)
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "billing/reconcile.hpp"
#include "billing/settle.hpp"
#include "ledger/ledger.hpp"

using namespace paracloud;
using Clock = std::chrono::steady_clock;

static double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

int main(int argc, char** argv) {
  long jobs = 100000, ledger_jobs = 5000;
  std::string dir = ".";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--jobs")) jobs = std::atol(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--ledger-jobs")) ledger_jobs = std::atol(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--dir")) dir = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: bench_reconcile [--jobs N] [--ledger-jobs M] [--dir DIR]\n");
      return 2;
    }
  }
  if (jobs < 10 || ledger_jobs < 10) {
    std::fprintf(stderr, "bench_reconcile: --jobs and --ledger-jobs must be at least 10\n");
    return 2;
  }
  const Currency cur{};
  const std::int64_t now = 1796638830, t0 = now - 30 * 86400;
  const char* clusters[] = {"a", "b", "c"};

  // sacct text, records and journal of N jobs
  std::string sacct;
  std::vector<AccountingRecord> recs;
  ReconcileInput in;
  in.now = now;
  long runs = 0;
  for (long j = 0; j < jobs; ++j) {
    const char* cl = clusters[j % 3];
    int n_runs = (j % 10 == 0) ? 2 : 1;
    for (int k = 0; k < n_runs; ++k) {
      std::int64_t start = t0 + j * 20 + k * 5, end = start + 3 + (j % 7);
      std::int64_t cpus = 1 + j % 8;
      sacct += std::string(cl) + "|" + std::to_string(1000 + j) + "|" + (k + 1 < n_runs ? "REQUEUED" : "COMPLETED") +
               "|" + std::to_string(start) + "|" + std::to_string(end) + "|" + std::to_string(cpus) + "\n";
      std::string run = std::string(cl) + ":" + std::to_string(1000 + j) + ":" + std::to_string(start);
      Money cost = cpus * (end - start);
      Entry lien, charge;
      lien.kind = EntryKind::lien, lien.account = "proj", lien.key = "lien:" + run, lien.amount = cost * 2,
      lien.time = start, lien.job = std::string(cl) + ":" + std::to_string(1000 + j);
      charge.kind = EntryKind::charge, charge.account = "proj", charge.key = "charge:" + run, charge.ref = lien.key,
      charge.amount = cost, charge.time = end + 1, charge.job = lien.job;
      in.journal.push_back(lien);
      in.journal.push_back(charge);
      AccountingRecord r;
      r.job.cluster = cl, r.job.job_id = static_cast<std::uint32_t>(1000 + j), r.job.start = start, r.job.end = end,
      r.job.cpus = cpus, r.job.state = k + 1 < n_runs ? "REQUEUED" : "COMPLETED";
      r.site = cl, r.ledger_account = "proj", r.cost = cost, r.hold = cost * 2, r.charge_key = charge.key,
      r.lien_key = lien.key, r.recorded = end + 1;
      recs.push_back(std::move(r));
      ++runs;
    }
  }

  auto t = Clock::now();
  in.runs = parse_sacct_runs(sacct);
  const double t_parse = since(t);

  const std::string log = dir + "/bench_reconcile.jsonl";
  {
    std::ofstream out(log, std::ios::trunc);
    for (const auto& r : recs) out << nlohmann::json(r).dump() << "\n";
  }
  t = Clock::now();
  in.records = read_records(log, nullptr);
  const double t_records = since(t);
  unlink(log.c_str());

  // a real ledger of M jobs, read back whole as the CLI does (statement of every account)
  const std::string db = dir + "/bench_reconcile.db";
  unlink(db.c_str());
  double t_write = 0, t_read = 0;
  std::size_t entries = 0;
  {
    auto l = open_ledger(db);
    l->add_account({"proj", "", 0, ""});
    l->deposit("proj", Money{1} << 40, "dep", "bench", "");
    t = Clock::now();
    for (long j = 0; j < ledger_jobs; ++j) {
      std::string run = "b:" + std::to_string(j) + ":" + std::to_string(t0 + j);
      l->place_lien("proj", 100, "lien:" + run, 0, "b:" + std::to_string(j), "bench");
      l->charge("proj", 50, "charge:" + run, "lien:" + run, "b:" + std::to_string(j), "bench", "");
    }
    t_write = since(t);
    t = Clock::now();
    for (const Account& a : l->list_accounts()) {
      StatementQuery q;
      q.account = a.name;
      entries += l->statement(q).size();
    }
    t_read = since(t);
  }
  for (const char* suffix : {"", "-wal", "-shm"}) unlink((db + suffix).c_str());
  const double per_entry = t_read / static_cast<double>(entries);
  const double t_ledger_n = per_entry * static_cast<double>(in.journal.size());

  t = Clock::now();
  ReconcileReport clean = reconcile(in, cur);
  const double t_rules = since(t);
  in.journal.erase(in.journal.begin() + 3);  // a charge gone: not_charged (its hold stays open too)
  in.records[5].cost += 1;  // charge_differs
  Entry stray;
  stray.kind = EntryKind::charge, stray.account = "proj", stray.key = "charge:c:99999999:1", stray.amount = 7,
  stray.time = now - 86400;
  in.journal.push_back(stray);  // charge_without_run
  ReconcileReport seeded = reconcile(in, cur);

  std::printf("bench_reconcile: %ld jobs, %ld runs, %zu journal entries, %zu records\n", jobs, runs,
              in.journal.size(), in.records.size());
  std::printf("  %-34s %9.3f s\n", "parse sacct lines", t_parse);
  std::printf("  %-34s %9.3f s\n", "read the accounting log", t_records);
  std::printf("  %-34s %9.3f s  (%zu entries of %ld jobs in %.3f s = %.2f us/entry; written in %.1f s)\n",
              "read the ledger (SQLite, scaled)", t_ledger_n, entries, ledger_jobs, t_read, per_entry * 1e6, t_write);
  std::printf("  %-34s %9.3f s\n", "reconcile rules", t_rules);
  std::printf("  %-34s %9.3f s\n", "total for N jobs", t_parse + t_records + t_ledger_n + t_rules);
  std::printf("  findings: clean %zu (want 0), seeded %zu (want 4: not_charged, hold_open, charge_differs, "
              "charge_without_run)\n",
              clean.findings.size(), seeded.findings.size());
  for (const auto& f : seeded.findings) std::printf("    %s %s: %s\n", f.kind.c_str(), f.run.c_str(), f.detail.c_str());
  return clean.findings.empty() && seeded.findings.size() == 4 ? 0 : 1;
}

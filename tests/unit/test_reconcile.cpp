// Unit tests of reconcile.hpp: sacct parsing, a clean month, and each kind of finding seeded alone.
#include <criterion/criterion.h>

#include <string>

#include "billing/reconcile.hpp"
#include "common/error.hpp"

using namespace paracloud;

static const Currency kCny{};
static const std::int64_t kNow = 1796638830;

static Entry entry(EntryKind k, const std::string& key, Money amount, std::int64_t time, const std::string& ref = "",
                   const std::string& job = "") {
  Entry e;
  e.kind = k;
  e.account = "proj";
  e.key = key;
  e.amount = amount;
  e.time = time;
  e.ref = ref;
  e.job = job;
  return e;
}

static AccountingRecord record(const std::string& cluster, std::int64_t job, std::int64_t start, std::int64_t end,
                               std::int64_t cpus, Money cost) {
  AccountingRecord r;
  r.job.cluster = cluster;
  r.job.job_id = static_cast<std::uint32_t>(job);
  r.job.start = start;
  r.job.end = end;
  r.job.cpus = cpus;
  r.cost = cost;
  r.ledger_account = "proj";
  r.charge_key = "charge:" + cluster + ":" + std::to_string(job) + ":" + std::to_string(start);
  return r;
}

// Two runs settled as they should be: a on b, 7 on c (requeued once: two runs, both charged).
static ReconcileInput clean() {
  ReconcileInput in;
  in.now = kNow;
  const std::int64_t s1 = kNow - 5000, s2 = kNow - 4000, s3 = kNow - 3000;
  in.runs = {{"b", 5, "COMPLETED", s1, s1 + 100, 2}, {"c", 7, "REQUEUED", s2, s2 + 50, 1},
             {"c", 7, "COMPLETED", s3, s3 + 60, 1},  {"a", 9, "CANCELLED", 0, s1 + 10, 0},
             {"a", 5, "REVOKED", s1, s1 + 100, 2}};
  for (auto [cl, job, start, end, cpus, cost] :
       {std::tuple<const char*, int, std::int64_t, std::int64_t, int, Money>{"b", 5, s1, s1 + 100, 2, 200},
        {"c", 7, s2, s2 + 50, 1, 100},
        {"c", 7, s3, s3 + 60, 1, 120}}) {
    std::string run = std::string(cl) + ":" + std::to_string(job) + ":" + std::to_string(start);
    in.journal.push_back(entry(EntryKind::lien, "lien:" + run, 600, start, "lien:" + run, std::string(cl) + ":" + std::to_string(job)));
    in.journal.push_back(entry(EntryKind::charge, "charge:" + run, cost, end + 1, "lien:" + run,
                               std::string(cl) + ":" + std::to_string(job)));
    in.records.push_back(record(cl, job, start, end, cpus, cost));
  }
  in.journal.push_back(entry(EntryKind::deposit, "dep-1", 100000, kNow - 9000));
  return in;
}

Test(reconcile, parses_sacct_lines) {
  auto runs = parse_sacct_runs("b|67108882|COMPLETED|1796638830|1796638930|2\n"
                               "a|67108882|REVOKED|Unknown|1796638931|0\n"
                               "c|12|CANCELLED by 0|None|1796638000|0\n"
                               "c|13_4|COMPLETED|1|2|1\nc|14+0|COMPLETED|1|2|1\n\n");
  cr_assert_eq(runs.size(), 3u);
  cr_assert_eq(runs[0].job_id, 67108882);
  cr_assert_eq(runs[0].end - runs[0].start, 100);
  cr_assert_eq(runs[1].start, 0);
  cr_assert_str_eq(runs[2].state.c_str(), "CANCELLED");
  try {
    parse_sacct_runs("b|1|COMPLETED|1|2\n");
    cr_assert_fail("a 5-field line was accepted");
  } catch (const Error& e) {
    cr_assert(std::string(e.what()).find("line 1 has 5 fields") != std::string::npos, "%s", e.what());
  }
}

Test(reconcile, a_clean_ledger_has_no_finding) {
  ReconcileReport rep = reconcile(clean(), kCny);
  cr_assert_eq(rep.findings.size(), 0u, "first: %s %s", rep.findings.empty() ? "" : rep.findings[0].kind.c_str(),
               rep.findings.empty() ? "" : rep.findings[0].detail.c_str());
  cr_assert_eq(rep.runs_checked, 3u);
  cr_assert_eq(rep.charges_checked, 3u);
  cr_assert_eq(rep.holds_open, 0u);
}

static void one(const ReconcileInput& in, const char* kind, const char* detail_part) {
  ReconcileReport rep = reconcile(in, kCny);
  cr_assert_eq(rep.findings.size(), 1u, "%s: %zu findings (first %s: %s)", kind, rep.findings.size(),
               rep.findings.empty() ? "-" : rep.findings[0].kind.c_str(),
               rep.findings.empty() ? "-" : rep.findings[0].detail.c_str());
  cr_assert_str_eq(rep.findings[0].kind.c_str(), kind);
  cr_assert(rep.findings[0].detail.find(detail_part) != std::string::npos, "%s: %s", kind,
            rep.findings[0].detail.c_str());
}

Test(reconcile, a_run_without_its_charge) {
  ReconcileInput in = clean();
  in.journal.erase(in.journal.begin() + 1);  // b:5's charge
  in.journal.push_back(entry(EntryKind::release, "release:x", 600, kNow - 4800, in.journal[0].key));
  one(in, "not_charged", "lacks");
  in.records.erase(in.records.begin());
  one(in, "not_charged", "no charge and no accounting record");
  ReconcileInput fresh = clean();  // a run that ended a minute ago may still be settling
  fresh.runs.push_back({"b", 11, "COMPLETED", kNow - 200, kNow - 60, 1});
  cr_assert_eq(reconcile(fresh, kCny).findings.size(), 0u);
  fresh.now = kNow + 3600;
  one(fresh, "not_charged", "no charge and no accounting record");
}

Test(reconcile, a_record_that_says_not_charged) {
  ReconcileInput in = clean();
  in.journal.erase(in.journal.begin() + 1);
  in.journal.push_back(entry(EntryKind::release, "release:x", 600, kNow - 4800, in.journal[0].key));
  in.records[0].charge_key.clear();
  in.records[0].note = "NOT CHARGED: no ledger account for user bob";
  one(in, "not_charged", "NOT CHARGED: no ledger account for user bob");
}

Test(reconcile, a_job_charged_by_a_second_cluster) {
  ReconcileInput in = clean();
  const std::int64_t s1 = kNow - 5000;
  in.journal.push_back(entry(EntryKind::charge, "charge:c:5:" + std::to_string(s1 + 3), 200, s1 + 120, "", "c:5"));
  one(in, "charged_twice", "charged again for a run Slurm did not record");
}

Test(reconcile, a_charge_for_a_job_slurm_never_ran) {
  ReconcileInput in = clean();
  in.journal.push_back(entry(EntryKind::charge, "charge:b:99:" + std::to_string(kNow - 2000), 50, kNow - 1900));
  one(in, "charge_without_run", "Slurm has no job 99");
  ReconcileInput lag = clean();  // a minute old: slurmdbd may not have the run yet
  lag.journal.push_back(entry(EntryKind::charge, "charge:b:98:" + std::to_string(kNow - 100), 50, kNow - 60));
  cr_assert_eq(reconcile(lag, kCny).findings.size(), 0u);
  ReconcileInput win = in;  // outside the window: not judged
  win.since = kNow - 1800;
  cr_assert_eq(reconcile(win, kCny).findings.size(), 0u);
}

Test(reconcile, a_charge_that_is_not_the_record_or_slurm) {
  ReconcileInput in = clean();
  in.journal[1].amount = 260;
  one(in, "charge_differs", "charge 2.60 CNY but record cost 2.00 CNY");
  in = clean();
  in.runs[0].end += 30;  // Slurm says it ran 30 s longer than the record
  one(in, "charge_differs", "record end");
  in = clean();
  in.runs[0].cpus = 4;
  one(in, "charge_differs", "record 2 CPUs but Slurm's 4");
}

Test(reconcile, holds_left_open) {
  ReconcileInput in = clean();
  const std::int64_t s1 = kNow - 5000;
  in.journal.push_back(entry(EntryKind::lien, "lien:b:5:" + std::to_string(s1 - 100), 600, s1 - 100, "", "b:5"));
  one(in, "hold_open", "which ended at");
  in = clean();
  in.journal.push_back(entry(EntryKind::lien, "lien:b:77:" + std::to_string(s1), 300, s1, "", "b:77"));
  one(in, "hold_open", "which Slurm does not know");
  in = clean();  // a running job's hold is open, as it should be
  in.runs.push_back({"b", 78, "RUNNING", s1, 0, 1});
  in.journal.push_back(entry(EntryKind::lien, "lien:b:78:" + std::to_string(s1), 300, s1, "", "b:78"));
  ReconcileReport rep = reconcile(in, kCny);
  cr_assert_eq(rep.findings.size(), 0u);
  cr_assert_eq(rep.holds_open, 1u);
}

Test(reconcile, a_refund_without_its_charge) {
  ReconcileInput in = clean();
  in.journal.push_back(entry(EntryKind::refund, "refund:z", 40, kNow - 1000, "charge:b:1234:5", "b:1234"));
  one(in, "refund_without_job", "not in the journal");
}

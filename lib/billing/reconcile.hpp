// Reconciliation: the ledger's journal and the accounting records against what Slurm ran.
//
// Pure: the caller reads slurmdbd (sacct --parsable, one line per run with --duplicates), the
// journal of every account and the accounting log, and passes them with `now`. A run is identified
// as settlement keys it: "<cluster>:<jobid>:<start>" (record.hpp run_key). Findings:
//   not_charged        a run that ended (before now - grace) has no charge entry; the record's
//                      "NOT CHARGED" note is given when there is one
//   charged_twice      one Slurm job charged by two runs that Slurm does not know as two (e.g. two
//                      clusters charging the same federated job), or a run charged under two keys
//   charge_without_run a charge (older than the grace: slurmdbd lags behind the controllers) whose
//                      run Slurm does not know (no such job, cluster or start)
//   charge_differs     the charge is not the record's cost, the record's end or CPUs are not Slurm's
//                      (sacct End, AllocCPUS), or no accounting log read has a record of the run
//   hold_open          a hold neither released nor charged whose run ended before now - grace, or
//                      that Slurm does not know at all and is older than the grace
//   refund_without_job a refund whose charge is not in the journal, or whose run Slurm does not know
// Runs are checked when they ended in [since, until) (0: unbounded); the journal is read whole, so
// a charge written after `until` for a run inside it still counts.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "billing/record.hpp"
#include "ledger/ledger.hpp"

namespace paracloud {

// One run as slurmdbd recorded it (sacct -X --duplicates -o cluster,jobid,state,start,end,alloccpus).
struct SlurmRun {
  std::string cluster;
  std::int64_t job_id = 0;
  std::string state;       // base state: COMPLETED, FAILED, CANCELLED, TIMEOUT, RUNNING, REQUEUED, ...
  std::int64_t start = 0;  // 0: never started
  std::int64_t end = 0;    // 0: still running
  std::int64_t cpus = 0;
};

// `sacct -n -P -X --duplicates -M all -o cluster,jobid,state,start,end,alloccpus` with
// SLURM_TIME_FORMAT=%s; "Unknown"/"None" times are 0, "CANCELLED by 0" is CANCELLED, array and het
// job ids ("12_3", "12+0") are skipped (paracloud keys them by their own job id: see `raw`).
// Error(bad_input) naming the line for a line that is not six fields.
std::vector<SlurmRun> parse_sacct_runs(const std::string& text);

struct Finding {
  std::string kind;    // not_charged, charged_twice, charge_without_run, charge_differs, hold_open, refund_without_job
  std::string run;     // "<cluster>:<jobid>:<start>", or the job reference when no run is known
  std::string account;
  Money amount = 0;    // the entry's amount (charge, hold, refund) or the record's cost
  std::string key;     // the ledger key concerned ("" for not_charged)
  std::string detail;  // one sentence
};

struct ReconcileInput {
  std::vector<SlurmRun> runs;
  std::vector<Entry> journal;             // every account's entries
  std::vector<AccountingRecord> records;  // the accounting log
  std::int64_t since = 0, until = 0;      // runs ended in [since, until); 0: unbounded
  std::int64_t now = 0;
  std::int64_t grace = 600;               // seconds a run may wait for its settlement
};

struct ReconcileReport {
  std::size_t runs_checked = 0;      // ended runs in the window
  std::size_t charges_checked = 0;   // charge entries of runs (key "charge:...")
  std::size_t holds_open = 0;        // holds neither released nor charged (all, not only findings)
  std::vector<Finding> findings;     // in run order
};

ReconcileReport reconcile(const ReconcileInput& in, const Currency& cur);

}  // namespace paracloud

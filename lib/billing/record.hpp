// Accounting records (one JSON line per settled job run), the facts they are built from, and the pure settlement rules.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "money/money.hpp"
#include "money/pricing.hpp"

namespace paracloud {

// Version of the record layout written to AccountingLog (paracloud-accounting(5)). Readers accept
// records up to this version and ignore unknown keys.
constexpr int kRecordSchema = 1;

// What Slurm knows about one run of a job: copied by prep/paracloud when the job starts and by
// jobcomp/paracloud when the run ends. Plain data: no Slurm type leaks into the core.
struct JobFacts {
  std::string cluster;                  // Slurm ClusterName of the controller that ran it
  std::uint32_t job_id = 0;
  std::uint32_t array_job_id = 0;       // 0 when not an array task
  std::int64_t array_task_id = -1;      // -1 when not an array task
  std::uint32_t het_job_id = 0;         // 0 when not a heterogeneous job
  std::uint32_t het_job_offset = 0;
  std::string user;
  std::uint32_t uid = 0;
  std::string account;                  // Slurm account ("" when Slurm has none)
  std::string partition;
  std::string qos;
  std::int64_t submit = 0;              // unix seconds
  std::int64_t start = 0;               // 0: the run never started
  std::int64_t end = 0;
  std::int64_t suspended = 0;           // seconds spent suspended
  std::int64_t time_limit = 0;          // seconds; 0: unlimited or unknown
  std::string state;                    // COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL, REQUEUED, ...
  std::int64_t exit_code = 0;           // wait status as Slurm keeps it (exit << 8 | signal)
  std::int64_t cpus = 0;
  std::int64_t nodes = 0;
  std::int64_t mem_mb = 0;              // total over the job
  std::map<std::string, std::int64_t> gres;  // "gpu" -> 2 or "gpu:a100" -> 2 (see parse_tres)
  std::string nodelist;
  bool launched = true;                 // false: ended while its PrologSlurmctld was still running
  std::string work_dir;                 // the job's working directory: where its runtime profiles are looked for
  std::string route;                    // routing decision JSON from the job's AdminComment tag (fed_route.hpp); "" when none
  std::string budget;                   // the user's --budget as given (spank/paracloud); "" when none
};
void to_json(nlohmann::json& j, const JobFacts& f);
void from_json(const nlohmann::json& j, JobFacts& f);  // throws nlohmann exceptions on wrong types

// Ledger idempotency keys of one run: "<kind>:<cluster>:<jobid>:<start>". A requeued job starts
// again at another time, so each run has its own keys.
std::string lien_key(const JobFacts& f);
std::string charge_key(const JobFacts& f);
std::string refund_key(const JobFacts& f);
std::string job_ref(const JobFacts& f);  // "<cluster>:<jobid>" (journal entries' job field)

// Allocated TRES from Slurm's formatted string ("cpu=4,mem=2000M,node=1,billing=4,gres/gpu=1,
// gres/gpu:a100=1") into f.cpus, f.nodes, f.mem_mb and f.gres. Memory units K/M/G/T (MB result,
// rounded up). A typed GPU count replaces the untyped one so GPUs are not counted twice: gpu=2 +
// gpu:a100=1 gives {gpu:a100: 1, gpu: 1}. Unknown TRES (billing, energy, fs/, bb/, license/) are
// ignored. Throws Error(bad_input) for malformed items.
void parse_tres(const std::string& text, JobFacts& f);

// The SiteName of paracloud.conf that Slurm cluster `cluster` is: the site whose Cluster= (or
// name) matches, else ClusterName= (cfg.cluster_name). Throws Error(config) when neither exists.
std::string site_of_cluster(const Config& cfg, const std::string& cluster);

// Seconds the run used: end - start - suspended, never negative; 0 when it never started.
std::int64_t elapsed_seconds(const JobFacts& f);
// Seconds the run may last: its time limit, or DefaultTimeLimit when it has none.
std::int64_t hold_seconds(const Config& cfg, const JobFacts& f);

// Worst-case cost of a run: its allocated TRES for hold_seconds() at its site's price.
// Throws what price_job throws (no price rule, unpriced GRES).
Quote hold_quote(const Config& cfg, const JobFacts& f);

// The pure settlement rule of one run.
struct Settlement {
  std::string site;
  std::int64_t elapsed = 0;
  Quote quote;               // actual cost (lines empty when nothing is charged)
  Money cost = 0;            // what the run used: price of its TRES for `elapsed`, rounded up once
  Money refund = 0;          // given back because its end state is in RefundPolicy (whole charge)
  bool charge = false;       // whether the ledger is charged at all (false: never ran, sibling copy)
  std::string note;          // why nothing or a refund ("never started", "RefundPolicy NODE_FAIL")
};
// had_hold: whether prep/paracloud placed a hold for this run (a run without one that was never
// launched -- refused at start, cancelled while configuring -- costs nothing).
Settlement settle(const Config& cfg, const JobFacts& f, bool had_hold);

// One line of AccountingLog: a settled run.
struct AccountingRecord {
  int schema = kRecordSchema;
  JobFacts job;
  std::string site;
  std::string ledger_account;   // the ledger account charged ("" when none)
  Currency currency;
  std::int64_t elapsed = 0;
  std::vector<CostLine> lines;  // allocated TRES x unit prices used
  Money cost = 0;
  Money hold = 0;               // amount that was held at start (0 when none)
  Money refund = 0;
  Money balance_after = 0;      // ledger balance after charge and refund (valid when balance_known)
  bool balance_known = false;
  std::string lien_key, charge_key, refund_key;  // "" when that ledger entry does not exist
  std::string note;
  std::int64_t recorded = 0;    // unix seconds when settled
  nlohmann::json profile;       // runtime profile summary (null until attached)
  std::string profile_reason;   // why profile is null ("no paracloud-profile-12.*.json in /home/u")
  nlohmann::json route;         // routing decision (null until attached)
  Money budget = -1;            // the job's --budget in minor units; -1: none (or unreadable: see note)

  Money net() const { return cost - refund; }
  double core_hours() const { return static_cast<double>(job.cpus) * static_cast<double>(elapsed) / 3600.0; }
};
void to_json(nlohmann::json& j, const AccountingRecord& r);
// Throws Error(bad_input) naming the field for records that are not paracloud records or are of
// a newer schema.
void from_json(const nlohmann::json& j, AccountingRecord& r);

std::string iso_utc(std::int64_t unix_seconds);  // "2026-11-27T10:00:00Z"; "" for 0

}  // namespace paracloud

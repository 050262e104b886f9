// Holds at job start and settlement at job end against the ledger, and the AccountingLog file: the logic of prep/paracloud and jobcomp/paracloud without Slurm.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "ledger/ledger.hpp"
#include "billing/record.hpp"

namespace paracloud {

// The ledger account a run is billed to: its Slurm account when the ledger has it and the run's
// user is a member of it (a pending job's account can be changed after submit), else the user's
// default ledger account. Throws Error(not_found) naming the user and the fix.
std::string billing_account(Ledger& ledger, const JobFacts& f);

// What happened when a run asked to start.
struct HoldOutcome {
  bool placed = false;     // the hold exists (new or replayed); false: refused for lack of funds
  bool replayed = false;   // the same run was held before (slurmctld re-ran its prolog)
  std::string account;
  std::string key;         // lien key
  Money amount = 0;        // worst-case cost held
  Money available = 0;     // account's available funds before the hold (when refused)
  std::int64_t expires = 0;
  std::string message;     // refused: for the user ("paracloud: insufficient funds: ...")
};

// Places the lien of one run: the worst case (hold_quote), never expiring (expires = 0): the
// charge at settlement closes it, so a run that is suspended or has its limit raised stays held.
// Refused outcomes (placed = false, message for the user): insufficient funds; no time limit
// (an unbounded cost); a Slurm account that is a ledger account the user is not a member of.
// Configuration, pricing and storage failures are thrown as Error (the caller refuses the start).
HoldOutcome place_hold(const Config& cfg, Ledger& ledger, const JobFacts& f);

// ---------------------------------------------------------------- AccountingLog

// Appends one record as one JSON line (O_APPEND, then fsync). Creates the file (mode 0640) and
// not its directory. Throws Error(storage) naming the path.
void append_record(const std::string& path, const AccountingRecord& r);

// Whether one of the last `tail_bytes` bytes of the log holds a record whose charge key is `key`
// (a missing file holds none). Used on replay, where the record can only be among the last few.
bool log_has_charge_key(const std::string& path, const std::string& key, std::size_t tail_bytes = 1 << 20);

// Reads every record; lines that are not paracloud records are passed to on_bad (line number,
// reason) and skipped. Throws Error(not_found) when the file cannot be opened.
std::vector<AccountingRecord> read_records(const std::string& path,
                                           const std::function<void(std::size_t, const std::string&)>& on_bad);

// ---------------------------------------------------------------- settlement

struct SettleOutcome {
  AccountingRecord record;
  bool ledger_replayed = false;  // the charge (or refund) had been posted before
  bool record_written = false;   // false: the record was already in the log (replay), or no log
};

// Settles one ended run: charges the actual cost releasing the run's hold (one ledger
// transaction), refunds per RefundPolicy, then appends one AccountingRecord to cfg.accounting_log.
// Idempotent: running it again for the same run (after a crash) posts nothing new and does not
// write a second record (`check_log` makes it look for the record first; it is forced on when
// the ledger reports a replay). Runs that never started are not charged but still get a record.
// Throws Error: storage (ledger or log unwritable: retry later), config/not_found/refused
// (no account, no price: permanent).
// The record's profile summary comes from `read_profile` (default: find_run_profile() in this
// process; jobcomp reads in a bounded child, because these are paths a user controls).
using ProfileReader =
    std::function<nlohmann::json(const std::vector<std::string>& dirs, const JobFacts& f, std::string* why)>;
SettleOutcome settle_run(const Config& cfg, Ledger& ledger, const JobFacts& f, bool check_log = false,
                         const ProfileReader& read_profile = {});

// For a run that cannot be settled for good (no ledger account, no price for what it used): a
// record with cost 0 and note "NOT CHARGED: <why>", so that reports show it. Same replay rule.
SettleOutcome record_unsettled(const Config& cfg, const JobFacts& f, const std::string& why, bool check_log = false,
                               const ProfileReader& read_profile = {});

// Where a run's runtime profiles are looked for, in order: ProfileDir (paracloud.conf; spank/paracloud's
// profile_dir= must name the same directory) when set, then the job's WorkDir.
std::vector<std::string> profile_dirs(const Config& cfg, const JobFacts& f);
// record_profile() of the first of `dirs` that holds a usable profile of the run; null with *why
// giving each directory's reason ("; " between them) when none does. Never throws.
nlohmann::json find_run_profile(const std::vector<std::string>& dirs, const JobFacts& f, std::string* why);

}  // namespace paracloud

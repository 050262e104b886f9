// Holds at job start, settlement at job end, and the AccountingLog file (O_APPEND JSON lines).
#include "billing/settle.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/error.hpp"
#include "routing/fed_route.hpp"
#include "profile/profile_summary.hpp"

namespace paracloud {

// Who pays for a run (issue 16 item 2): the job's Slurm account only when the ledger has it AND
// the job's user is a member of it -- a pending job's account can be changed (scontrol update),
// so the name alone authorises nothing. Otherwise the user's default ledger account pays;
// `foreign` then says that the job named a ledger account of somebody else.
struct Billing {
  std::string account;
  bool foreign = false;  // f.account is a ledger account the user is not a member of
  std::string note;      // why the job's account was not used ("" when it was)
};

static Billing decide_billing(Ledger& ledger, const JobFacts& f) {
  Billing b;
  if (!f.account.empty() && ledger.find_account(f.account)) {
    if (ledger.is_member(f.user, f.account)) {
      b.account = f.account;
      return b;
    }
    b.foreign = true;
    b.note = "job's account " + f.account + " is not one of user " + f.user + "'s accounts";
  }
  if (auto def = ledger.default_account(f.user)) {
    b.account = *def;
    if (!b.note.empty()) b.note += ": billed " + f.user + "'s default account " + *def;
    return b;
  }
  std::string what = "user '" + f.user + "' has no paracloud account";
  if (b.foreign)
    what += " (the job's account '" + f.account + "' is not one of theirs)";
  else if (!f.account.empty())
    what += " (Slurm account '" + f.account + "' is not a ledger account)";
  throw Error(Errc::not_found, what, "paracloud bank user add " + f.user + " ACCOUNT --default");
}

std::string billing_account(Ledger& ledger, const JobFacts& f) { return decide_billing(ledger, f).account; }

HoldOutcome place_hold(const Config& cfg, Ledger& ledger, const JobFacts& f) {
  HoldOutcome out;
  out.key = lien_key(f);
  const std::string id = std::to_string(f.job_id);
  // A run without a time limit has no bounded cost: it is not started (issue 16 item 3).
  // job_submit/paracloud gives every job a limit; this catches limits removed afterwards.
  if (f.time_limit <= 0) {
    out.message = "paracloud: job " + id + " has no time limit, so its cost has no bound - scontrol update JobId=" +
                  id + " TimeLimit=HH:MM:SS, then scontrol release " + id;
    return out;
  }
  Billing b = decide_billing(ledger, f);
  if (b.foreign) {  // moved to somebody else's account after submit: never hold (or charge) it there
    out.message = "paracloud: user " + f.user + " is not a member of account " + f.account + " - scontrol update JobId=" +
                  id + " Account=<one of your accounts>, then scontrol release " + id;
    return out;
  }
  Quote q = hold_quote(cfg, f);
  out.account = b.account;
  out.amount = q.total;
  out.expires = 0;  // until settled: a hold must not lapse while its run still runs (suspended, limit raised)
  if (q.total == 0) {  // free resources: nothing to hold
    out.placed = true;
    return out;
  }
  // A job runs once at a time, so an open hold of an earlier run of it is stale: a run that
  // slurmctld lost (killed -9 before saving its state: jobcomp never hears of it) and started
  // again, or a requeued run not settled yet (its charge still posts: a closed lien never stops a
  // charge). Holds no longer expire, so it is released here rather than left forever.
  const std::string run_prefix = "lien:" + f.cluster + ":" + std::to_string(f.job_id) + ":";
  for (const Entry& e : ledger.active_liens(out.account)) {
    if (e.job != job_ref(f) || e.key == out.key || e.key.rfind(run_prefix, 0) != 0) continue;
    try {
      ledger.release_lien(e.key, "release:" + e.key.substr(5), "superseded by the run of " + iso_utc(f.start));
    } catch (const Error& err) {
      if (err.code() != Errc::not_found) throw;  // closed meanwhile by its charge
    }
  }
  try {
    OpResult r = ledger.place_lien(out.account, q.total, out.key, out.expires, job_ref(f), f.user);
    out.placed = true;
    out.replayed = r.replayed;
  } catch (const Error& e) {
    if (e.code() != Errc::refused) throw;
    Balance bal = ledger.balance(out.account);
    out.available = bal.available();
    out.message = "paracloud: insufficient funds: job " + id + " needs up to " +
                  format_money(q.total, cfg.currency) + ", account " + out.account + " has " +
                  format_money(out.available, cfg.currency) + " available - deposit funds, then scontrol release " + id;
  }
  return out;
}

// ---------------------------------------------------------------- AccountingLog

static std::string run_id(const JobFacts& f) {
  return f.cluster + ":" + std::to_string(f.job_id) + ":" + std::to_string(f.start);
}

void append_record(const std::string& path, const AccountingRecord& r) {
  nlohmann::json j = r;
  j["run"] = run_id(r.job);
  std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0)
    throw Error(Errc::storage, "AccountingLog " + path + ": cannot open for appending: " + std::strerror(errno),
                "create its directory and make it writable by SlurmUser");
  std::size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      throw Error(Errc::storage, "AccountingLog " + path + ": write failed: " + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    throw Error(Errc::storage, "AccountingLog " + path + ": fsync failed: " + std::strerror(err));
  }
  ::close(fd);
}

bool log_has_charge_key(const std::string& path, const std::string& key, std::size_t tail_bytes) {
  // Records carry "run":"<cluster>:<jobid>:<start>"; the charge key is "charge:" + that.
  const std::string prefix = "charge:";
  std::string needle = "\"run\":\"" + (key.rfind(prefix, 0) == 0 ? key.substr(prefix.size()) : key) + "\"";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return false;
    throw Error(Errc::storage, "AccountingLog " + path + ": cannot read: " + std::strerror(errno));
  }
  struct stat st {};
  ::fstat(fd, &st);
  off_t from = st.st_size > static_cast<off_t>(tail_bytes) ? st.st_size - static_cast<off_t>(tail_bytes) : 0;
  std::string buf(static_cast<std::size_t>(st.st_size - from), '\0');
  std::size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::pread(fd, &buf[got], buf.size() - got, from + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  buf.resize(got);
  return buf.find(needle) != std::string::npos;
}

std::vector<AccountingRecord> read_records(const std::string& path,
                                           const std::function<void(std::size_t, const std::string&)>& on_bad) {
  std::ifstream in(path);
  if (!in)
    throw Error(Errc::not_found, "accounting log " + path + ": cannot open: " + std::strerror(errno),
                "check AccountingLog in paracloud.conf or pass --log FILE");
  std::vector<AccountingRecord> out;
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    try {
      AccountingRecord r;
      from_json(nlohmann::json::parse(line), r);
      out.push_back(std::move(r));
    } catch (const Error& e) {
      if (on_bad) on_bad(n, e.what());
    } catch (const nlohmann::json::exception& e) {
      if (on_bad) on_bad(n, std::string("not JSON: ") + e.what());
    }
  }
  return out;
}

// ---------------------------------------------------------------- settlement

std::vector<std::string> profile_dirs(const Config& cfg, const JobFacts& f) {
  std::vector<std::string> dirs;
  auto it = cfg.values.find("ProfileDir");
  if (it != cfg.values.end() && !it->second.empty()) dirs.push_back(it->second);
  if (!f.work_dir.empty() && (dirs.empty() || dirs[0] != f.work_dir)) dirs.push_back(f.work_dir);
  return dirs;
}

nlohmann::json find_run_profile(const std::vector<std::string>& dirs, const JobFacts& f, std::string* why) {
  try {
    std::string reasons;
    for (const std::string& dir : dirs) {
      std::string w;
      nlohmann::json p = record_profile(dir, f.job_id, static_cast<uid_t>(f.uid), &w);
      if (!p.is_null()) {
        if (why) why->clear();
        return p;
      }
      reasons += (reasons.empty() ? "" : "; ") + w;
    }
    if (why) *why = dirs.empty() ? "the job has no absolute working directory" : reasons;
  } catch (const std::exception& e) {  // allocation failure: the record goes out without a profile
    if (why) *why = std::string("internal error: ") + e.what();
  }
  return nullptr;
}

// The runtime profiles of a run that started, from ProfileDir, else its working directory (user-
// writable places: record_profile() opens only regular files the job's user owns, up to 16 MiB, and
// never throws). Called from jobcomp's worker, never from a slurmctld callback.
static void attach_profile(const Config& cfg, AccountingRecord& r, const ProfileReader& read_profile) {
  if (r.job.start == 0) {
    r.profile_reason = "never started";
    return;
  }
  const std::vector<std::string> dirs = profile_dirs(cfg, r.job);
  r.profile = read_profile ? read_profile(dirs, r.job, &r.profile_reason)
                           : find_run_profile(dirs, r.job, &r.profile_reason);
}

// The routing decision the job carried (JobFacts::route) moves to the record's route slot.
static void take_route(AccountingRecord& r) {
  r.route = parse_route_text(r.job.route);
  r.job.route.clear();
}

// The job's --budget (JobFacts::budget, checked by job_submit) in minor units in the record's budget
// slot; a text that is no amount of this currency (Currency= changed since) stays in the job's facts.
static void take_budget(AccountingRecord& r, const Config& cfg) {
  if (r.job.budget.empty()) return;
  try {
    r.budget = parse_amount(r.job.budget, cfg.currency);
    r.job.budget.clear();
  } catch (const Error&) {
    r.budget = -1;
  }
}

// A run whose start time moved after its hold was placed (Slurm resets it when nodes power up):
// its open lien is found by job reference instead of by key.
static std::optional<Entry> active_lien_of_job(Ledger& ledger, const JobFacts& f) {
  std::string account;
  try {
    account = billing_account(ledger, f);
  } catch (const Error& e) {
    if (e.code() == Errc::not_found) return std::nullopt;
    throw;
  }
  std::string prefix = "lien:" + f.cluster + ":" + std::to_string(f.job_id) + ":";
  for (const Entry& e : ledger.active_liens(account))
    if (e.job == job_ref(f) && e.key.rfind(prefix, 0) == 0) return e;
  return std::nullopt;
}

SettleOutcome settle_run(const Config& cfg, Ledger& ledger, const JobFacts& f, bool check_log,
                         const ProfileReader& read_profile) {
  SettleOutcome out;
  AccountingRecord& r = out.record;
  r.job = f;
  take_route(r);
  take_budget(r, cfg);
  r.currency = cfg.currency;
  r.recorded = ledger_now();
  if (f.state == "REVOKED") return out;  // a sibling copy: the cluster that ran it settles it

  std::optional<Entry> lien;
  if (f.start > 0) lien = ledger.find_entry(lien_key(f));
  if (f.start > 0 && !lien) lien = active_lien_of_job(ledger, f);
  bool had_hold = lien && lien->kind == EntryKind::lien;
  Settlement s = settle(cfg, f, had_hold);
  r.site = s.site;
  r.elapsed = s.elapsed;
  r.lines = s.quote.lines;
  r.cost = s.cost;
  r.note = s.note;
  if (had_hold) {
    r.hold = lien->amount;
    r.lien_key = lien->key;
    r.ledger_account = lien->account;
  }

  if (s.charge) {
    if (r.ledger_account.empty()) {  // no hold: decide now, never on the account name alone
      Billing b = decide_billing(ledger, f);
      r.ledger_account = b.account;
      if (!b.note.empty()) r.note = r.note.empty() ? b.note : r.note + "; " + b.note;
    }
    std::string note = f.state + ", " + std::to_string(s.elapsed) + " s";
    OpResult c = ledger.charge(r.ledger_account, s.cost, charge_key(f), r.lien_key, job_ref(f), f.user, note);
    out.ledger_replayed = c.replayed;
    r.charge_key = c.entry.key;
    r.balance_after = c.entry.balance_after;
    r.balance_known = true;
    if (s.refund > 0) {
      OpResult rf = ledger.refund(r.charge_key, s.refund, refund_key(f), f.user, s.note);
      out.ledger_replayed = out.ledger_replayed || rf.replayed;
      r.refund = s.refund;
      r.refund_key = rf.entry.key;
      r.balance_after = rf.entry.balance_after;
    }
  } else if (r.ledger_account.empty()) {
    try {
      r.ledger_account = billing_account(ledger, f);
    } catch (const Error&) {
      // informational only for runs that cost nothing
    }
  }

  if (cfg.accounting_log.empty()) return out;
  if ((check_log || out.ledger_replayed) && log_has_charge_key(cfg.accounting_log, charge_key(f))) return out;
  attach_profile(cfg, r, read_profile);
  append_record(cfg.accounting_log, r);
  out.record_written = true;
  return out;
}

}  // namespace paracloud

namespace paracloud {

SettleOutcome record_unsettled(const Config& cfg, const JobFacts& f, const std::string& why, bool check_log,
                               const ProfileReader& read_profile) {
  SettleOutcome out;
  AccountingRecord& r = out.record;
  r.job = f;
  take_route(r);
  take_budget(r, cfg);
  r.currency = cfg.currency;
  r.recorded = ledger_now();
  r.elapsed = elapsed_seconds(f);
  r.note = "NOT CHARGED: " + why;
  try {
    r.site = site_of_cluster(cfg, f.cluster);
  } catch (const Error&) {
  }
  if (cfg.accounting_log.empty()) return out;
  if (check_log && log_has_charge_key(cfg.accounting_log, charge_key(f))) return out;
  attach_profile(cfg, r, read_profile);
  append_record(cfg.accounting_log, r);
  out.record_written = true;
  return out;
}

}  // namespace paracloud

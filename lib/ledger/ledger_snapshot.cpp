// SnapshotLedger (an in-memory copy of the ledger's accounts, balances and memberships) and LedgerMirror, the thread that keeps it fresh.
#include "ledger/ledger_snapshot.hpp"

#include <time.h>

#include <algorithm>
#include <set>

#include "common/error.hpp"
#include "ledger/ledger_rules.hpp"

namespace paracloud {

std::int64_t monotonic_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

LedgerCopy copy_ledger(Ledger& ledger) {
  LedgerCopy c;
  std::set<std::string> users;
  for (Account& a : ledger.list_accounts()) {
    std::string name = a.name;
    c.balances[name] = ledger.balance(name);
    for (std::string& u : ledger.users_of(name)) users.insert(std::move(u));
    c.accounts.emplace(name, std::move(a));
  }
  for (const std::string& u : users) {
    c.accounts_of[u] = ledger.accounts_of(u);
    if (auto d = ledger.default_account(u)) c.default_of[u] = *d;
  }
  return c;
}

// ------------------------------------------------------------------ SnapshotLedger

namespace {
Error read_only_copy(const char* what) {
  return Error(Errc::refused, std::string("the ledger snapshot is a read-only copy: ") + what + " needs the ledger",
               "open the ledger itself");
}
}  // namespace

void SnapshotLedger::add_account(const Account&) { throw read_only_copy("add_account"); }
std::optional<Account> SnapshotLedger::find_account(const std::string& name) {
  auto it = copy_.accounts.find(name);
  if (it == copy_.accounts.end()) return std::nullopt;
  return it->second;
}
std::vector<Account> SnapshotLedger::list_accounts() {
  std::vector<Account> out;
  for (const auto& [name, a] : copy_.accounts) out.push_back(a);
  return out;
}
void SnapshotLedger::set_credit_limit(const std::string&, Money) { throw read_only_copy("set_credit_limit"); }
void SnapshotLedger::add_user(const std::string&, const std::string&, bool) { throw read_only_copy("add_user"); }
std::vector<std::string> SnapshotLedger::users_of(const std::string& account) {
  std::vector<std::string> out;
  for (const auto& [user, accounts] : copy_.accounts_of)
    if (std::find(accounts.begin(), accounts.end(), account) != accounts.end()) out.push_back(user);
  return out;
}
std::vector<std::string> SnapshotLedger::accounts_of(const std::string& user) {
  auto it = copy_.accounts_of.find(user);
  return it == copy_.accounts_of.end() ? std::vector<std::string>{} : it->second;
}
std::optional<std::string> SnapshotLedger::default_account(const std::string& user) {
  auto it = copy_.default_of.find(user);
  if (it == copy_.default_of.end()) return std::nullopt;
  return it->second;
}
bool SnapshotLedger::is_member(const std::string& user, const std::string& account) {
  auto it = copy_.accounts_of.find(user);
  return it != copy_.accounts_of.end() && std::find(it->second.begin(), it->second.end(), account) != it->second.end();
}
OpResult SnapshotLedger::deposit(const std::string&, Money, const std::string&, const std::string&,
                                 const std::string&) {
  throw read_only_copy("deposit");
}
OpResult SnapshotLedger::place_lien(const std::string&, Money, const std::string&, std::int64_t, const std::string&,
                                    const std::string&) {
  throw read_only_copy("place_lien");
}
OpResult SnapshotLedger::release_lien(const std::string&, const std::string&, const std::string&) {
  throw read_only_copy("release_lien");
}
OpResult SnapshotLedger::charge(const std::string&, Money, const std::string&, const std::string&,
                                const std::string&, const std::string&, const std::string&) {
  throw read_only_copy("charge");
}
OpResult SnapshotLedger::refund(const std::string&, Money, const std::string&, const std::string&,
                                const std::string&) {
  throw read_only_copy("refund");
}
Balance SnapshotLedger::balance(const std::string& account) {
  auto it = copy_.balances.find(account);
  if (it == copy_.balances.end()) throw ledger_rules::unknown_account(account);
  return it->second;
}
std::vector<Entry> SnapshotLedger::statement(const StatementQuery&) { throw read_only_copy("statement"); }
std::optional<Entry> SnapshotLedger::find_entry(const std::string&) { throw read_only_copy("find_entry"); }
std::vector<Entry> SnapshotLedger::active_liens(const std::string&) { throw read_only_copy("active_liens"); }
int SnapshotLedger::schema_version() { throw read_only_copy("schema_version"); }

// ------------------------------------------------------------------ LedgerMirror

LedgerMirror::LedgerMirror(Opener open, std::string source, MirrorOptions opt)
    : open_(std::move(open)), source_(std::move(source)), opt_(opt) {
  thread_ = std::thread([this] { run(); });
}

LedgerMirror::~LedgerMirror() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void LedgerMirror::set_source(const std::string& source, MirrorOptions opt) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    opt_ = opt;
    if (source == source_) return;
    source_ = source;
    wanted_ = true;
    last_error_ = "LedgerPath changed, no copy of the new ledger yet";
  }
  cv_.notify_all();
}

std::shared_ptr<SnapshotLedger> LedgerMirror::current(std::int64_t now_ns, std::string* why) {
  std::lock_guard<std::mutex> lk(mu_);
  if (snap_ && snap_->source() == source_ && now_ns - snap_->taken_ns() <= opt_.max_age_ns) return snap_;
  if (why) {
    if (!snap_ || snap_->source() != source_) {
      *why = "no copy of the ledger yet" + (last_error_.empty() ? std::string() : ": " + last_error_);
    } else {
      *why = "no answer from the ledger for " + std::to_string((now_ns - snap_->taken_ns()) / 1000000000) + " s";
      if (copying_) *why += " (a read has been waiting " +
                            std::to_string((now_ns - copy_started_ns_) / 1000000000) + " s)";
      if (!last_error_.empty()) *why += ": " + last_error_;
    }
  }
  return nullptr;
}

std::shared_ptr<SnapshotLedger> LedgerMirror::fresher(std::int64_t now_ns, std::string* why) {
  {
    std::unique_lock<std::mutex> lk(mu_);
    bool stalled = copying_ && now_ns - copy_started_ns_ > opt_.fresh_wait_ns;
    if (!stalled && !stop_) {
      wanted_ = true;
      cv_.notify_all();
      auto newer = [&] { return stop_ || (snap_ && snap_->taken_ns() >= now_ns && snap_->source() == source_); };
      std::uint64_t attempts_then = attempts_;
      done_cv_.wait_for(lk, std::chrono::nanoseconds(opt_.fresh_wait_ns), [&] {
        // an attempt that started after now_ns and failed also ends the wait
        return newer() || (attempts_ > attempts_then && !copying_ && copy_started_ns_ >= now_ns);
      });
    }
  }
  return current(now_ns, why);
}

void LedgerMirror::wait_first(std::int64_t timeout_ns) {
  std::unique_lock<std::mutex> lk(mu_);
  done_cv_.wait_for(lk, std::chrono::nanoseconds(timeout_ns), [&] { return attempts_ > 0 || stop_; });
}

std::uint64_t LedgerMirror::copies() const {
  std::lock_guard<std::mutex> lk(mu_);
  return copies_;
}
std::uint64_t LedgerMirror::failures() const {
  std::lock_guard<std::mutex> lk(mu_);
  return failures_;
}

void LedgerMirror::run() {
  std::unique_ptr<Ledger> ledger;
  std::string opened;  // the source `ledger` was opened for
  std::unique_lock<std::mutex> lk(mu_);
  std::int64_t next_ns = 0;  // the first copy at once
  while (!stop_) {
    std::int64_t now = monotonic_ns();
    if (!wanted_ && now < next_ns) {
      cv_.wait_for(lk, std::chrono::nanoseconds(next_ns - now));
      continue;
    }
    wanted_ = false;
    copying_ = true;
    copy_started_ns_ = monotonic_ns();
    const std::int64_t started = copy_started_ns_;
    const std::string source = source_;
    lk.unlock();
    std::shared_ptr<SnapshotLedger> snap;
    std::string error;
    try {
      if (!ledger || opened != source) {
        ledger.reset();
        ledger = open_(source);
        opened = source;
      }
      snap = std::make_shared<SnapshotLedger>(copy_ledger(*ledger), source, started);
    } catch (const Error& e) {
      error = std::string(e.what()) + (e.hint().empty() ? "" : " (" + e.hint() + ")");
      ledger.reset();  // reconnect next time
    } catch (const std::exception& e) {
      error = e.what();
      ledger.reset();
    }
    lk.lock();
    copying_ = false;
    ++attempts_;
    if (snap) {
      if (snap->source() == source_) snap_ = std::move(snap);
      last_error_.clear();
      ++copies_;
    } else {
      last_error_ = error;
      ++failures_;
    }
    next_ns = monotonic_ns() + opt_.refresh_ns;
    done_cv_.notify_all();
  }
}

}  // namespace paracloud

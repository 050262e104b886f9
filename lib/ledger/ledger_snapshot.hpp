// An in-memory copy of what job_submit reads from the ledger (accounts, balances, memberships) and the mirror thread that keeps it fresh, so that slurmctld never waits on a database.
//
// job_submit runs under slurmctld's job write lock. With a MariaDB ledger every read is a network
// round trip, and a stalled server (SIGSTOP, a hung disk, a lock) blocked the whole controller for
// the client's timeouts (80 s seen, issue 16 item 4). LedgerMirror keeps one connection of its own
// in a background thread, copies the ledger into a SnapshotLedger every `refresh_ns`, and the
// callback reads the newest copy from memory:
//   - answer      = the newest copy while it is younger than max_age (a decision from a copy at
//                   most max_age old; funds are held for real at job start, prep/paracloud);
//   - fail closed = no copy, or the newest is older than max_age (the database stopped answering):
//                   current() returns null with the reason and the caller rejects ("retry");
//   - fresher()   = for a rejection (no funds, not a member) the caller may ask for a copy taken
//                   after its call and wait up to fresh_wait_ns for it, so that a deposit or a new
//                   member just made counts at once. A refresh already running longer than
//                   fresh_wait_ns (a stalled server) is not waited for at all.
// The mirror never throws out of its thread; its errors are kept as the reason of the next null.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ledger/ledger.hpp"

namespace paracloud {

// CLOCK_MONOTONIC in nanoseconds: the clock of every *_ns below.
std::int64_t monotonic_ns();

// A point-in-time copy of the ledger's accounts, balances and memberships.
struct LedgerCopy {
  std::map<std::string, Account> accounts;
  std::map<std::string, Balance> balances;                      // by account
  std::map<std::string, std::vector<std::string>> accounts_of;  // by user: default first, then by name
  std::map<std::string, std::string> default_of;                // by user
};
// Reads a LedgerCopy through the Ledger interface (list_accounts, then per account balance and
// users_of, then per user accounts_of/default_account). Throws what the ledger throws.
LedgerCopy copy_ledger(Ledger& ledger);

// A read-only Ledger answering from a LedgerCopy: find_account, list_accounts, users_of,
// accounts_of, default_account, is_member and balance. Everything else throws Errc::refused
// (journal reads and writes need the real ledger). Safe to use from several threads at once.
class SnapshotLedger final : public Ledger {
 public:
  SnapshotLedger(LedgerCopy copy, std::string source, std::int64_t taken_ns)
      : copy_(std::move(copy)), source_(std::move(source)), taken_ns_(taken_ns) {}
  const std::string& source() const { return source_; }  // the LedgerPath it was copied from
  std::int64_t taken_ns() const { return taken_ns_; }     // when the copy was started

  void add_account(const Account& a) override;
  std::optional<Account> find_account(const std::string& name) override;
  std::vector<Account> list_accounts() override;
  void set_credit_limit(const std::string& account, Money limit) override;
  void add_user(const std::string& user, const std::string& account, bool make_default) override;
  std::vector<std::string> users_of(const std::string& account) override;
  std::vector<std::string> accounts_of(const std::string& user) override;
  std::optional<std::string> default_account(const std::string& user) override;
  bool is_member(const std::string& user, const std::string& account) override;
  OpResult deposit(const std::string&, Money, const std::string&, const std::string&, const std::string&) override;
  OpResult place_lien(const std::string&, Money, const std::string&, std::int64_t, const std::string&,
                      const std::string&) override;
  OpResult release_lien(const std::string&, const std::string&, const std::string&) override;
  OpResult charge(const std::string&, Money, const std::string&, const std::string&, const std::string&,
                  const std::string&, const std::string&) override;
  OpResult refund(const std::string&, Money, const std::string&, const std::string&, const std::string&) override;
  Balance balance(const std::string& account) override;
  std::vector<Entry> statement(const StatementQuery& q) override;
  std::optional<Entry> find_entry(const std::string& key) override;
  std::vector<Entry> active_liens(const std::string& account) override;
  int schema_version() override;

 private:
  LedgerCopy copy_;
  std::string source_;
  std::int64_t taken_ns_;
};

struct MirrorOptions {
  std::int64_t refresh_ns = 1000000000;   // a new copy every second
  std::int64_t max_age_ns = 10000000000;  // LedgerSnapshotMaxAge: older copies are not answered from
  std::int64_t fresh_wait_ns = 50000000;  // fresher(): the longest wait for a newer copy
};

class LedgerMirror {
 public:
  // Opens the ledger named by `source` (a LedgerPath); called in the mirror's thread only.
  using Opener = std::function<std::unique_ptr<Ledger>(const std::string& source)>;
  // Starts the thread, which makes its first copy at once.
  LedgerMirror(Opener open, std::string source, MirrorOptions opt = {});
  // Stops the thread and waits for it: a copy in progress ends first (bounded by the backend's
  // own timeouts).
  ~LedgerMirror();
  LedgerMirror(const LedgerMirror&) = delete;
  LedgerMirror& operator=(const LedgerMirror&) = delete;

  // A new LedgerPath (or options): copies of the old one are not answered from any more, and the
  // thread reopens.
  void set_source(const std::string& source, MirrorOptions opt);
  // The newest copy of the current source when it is younger than max_age at now_ns; else null
  // and *why says why ("no copy yet: <error>", "no answer from the ledger for 12 s: ...").
  std::shared_ptr<SnapshotLedger> current(std::int64_t now_ns, std::string* why);
  // Asks for a copy started at or after now_ns and waits up to fresh_wait_ns for it, unless a
  // copy already running was started more than fresh_wait_ns before now_ns; then current().
  std::shared_ptr<SnapshotLedger> fresher(std::int64_t now_ns, std::string* why);
  // Waits up to timeout_ns for the first attempt to finish (either way): for start-up.
  void wait_first(std::int64_t timeout_ns);
  // Copies made and copies that failed, for logs and tests.
  std::uint64_t copies() const;
  std::uint64_t failures() const;

 private:
  void run();

  Opener open_;
  mutable std::mutex mu_;
  std::condition_variable cv_;       // the thread's wake-ups (stop, wanted, source change)
  std::condition_variable done_cv_;  // a copy attempt finished
  std::string source_;
  MirrorOptions opt_;
  bool stop_ = false;
  bool wanted_ = false;              // someone waits for a newer copy
  bool copying_ = false;
  std::int64_t copy_started_ns_ = 0;
  std::shared_ptr<SnapshotLedger> snap_;
  std::string last_error_;
  std::uint64_t attempts_ = 0, copies_ = 0, failures_ = 0;
  std::thread thread_;
};

}  // namespace paracloud

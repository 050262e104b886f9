// The ledger: prepaid accounts, members, and an append-only journal of deposits, liens, charges and refunds.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "money/money.hpp"

namespace paracloud {

// Every operation that changes money carries an idempotency key chosen by the caller
// (e.g. "charge:a:1234:1700000000"). Repeating an operation with the same key returns the first
// result (replayed = true) and changes nothing; the same key with different data is Errc::refused.
// "Same data" compares kind, account, amount, ref (lien key / charge key) and job; user, note and
// a lien's expiry may differ between retries. A replay's OpResult::entry is the first entry
// unchanged (same id, time, balance_after); OpResult::after is the account's current balance.
//
// Semantics (all amounts in minor units):
//   balance   = deposits - charges + refunds
//   held      = sum of active liens; a lien is active while no release/charge entry references it
//               and (expires == 0 or expires > ledger_now())
//   available = balance - held + credit_limit
// - deposit: amount != 0 (Errc::bad_input); a negative one is refused unless available stays >= 0.
// - place_lien: amount > 0; refused (Errc::refused, naming the available amount, hint "deposit
//   funds") when available < amount.
// - charge: amount >= 0; never refused for lack of funds. With a lien key, an open lien is closed in
//   the same transaction; a lien already released, charged or expired (or never placed) does not
//   stop the charge, which still records the lien key in ref. A lien key of another kind or of
//   another account is Errc::bad_input.
// - refund: amount > 0, at most the charge minus its earlier refunds (Errc::refused otherwise).
// - Unknown accounts are Errc::not_found (hint "paracloud bank account add NAME"); amounts whose
//   totals would overflow int64 are Errc::bad_input.
// - Every operation is one transaction: a refused or failed operation writes nothing.
// Implementations are safe to call from several threads (calls are serialized per object) and
// from several processes on the same ledger file.

struct Account {
  std::string name;
  std::string parent;       // empty: top level. Parents group accounts for reports only.
  Money credit_limit = 0;   // how far below zero `available` may go (>= 0)
  std::string description;
  std::int64_t created = 0; // unix seconds
};

struct Balance {
  std::string account;
  Money deposits = 0;       // sum of deposits (including negative adjustments)
  Money charges = 0;        // sum of charges
  Money refunds = 0;        // sum of refunds
  Money held = 0;           // sum of active (unreleased, unexpired) liens
  Money credit_limit = 0;
  Money balance() const { return deposits - charges + refunds; }
  Money available() const { return balance() - held + credit_limit; }
};

enum class EntryKind { deposit, lien, release, charge, refund };
const char* to_string(EntryKind k);

struct Entry {
  std::int64_t id = 0;       // journal sequence number
  std::int64_t time = 0;     // unix seconds
  EntryKind kind = EntryKind::deposit;
  std::string account;
  Money amount = 0;          // positive for every kind except negative deposit adjustments
  std::string key;           // idempotency key
  std::string ref;           // lien: its own key; release/charge: the lien key; refund: the charge key
  std::string job;           // optional job reference ("cluster:jobid")
  std::string user;          // who asked (operator or job owner)
  std::string note;
  std::int64_t expires = 0;  // liens: unix seconds after which the lien no longer holds funds (0 = never)
  Money balance_after = 0;   // balance of the account after this entry
};

struct OpResult {
  Entry entry;               // the journal entry written (or the first one, when replayed)
  bool replayed = false;
  Balance after;             // the account's balance right after the operation
};

struct StatementQuery {
  std::string account;       // required
  std::int64_t since = 0;    // unix seconds, inclusive; 0 = beginning
  std::int64_t until = 0;    // unix seconds, exclusive; 0 = now
  std::size_t limit = 0;     // 0 = all
};

// Storage-independent ledger interface: SQLite (embedded default) or MariaDB/MySQL (shared by
// controllers on several hosts). Both backends give the semantics described above: the rules are
// written once (LedgerRules, ledger_rules.hpp) and the backends supply only storage calls.
// All methods are atomic. Errors are thrown as paracloud::Error.
class Ledger {
 public:
  virtual ~Ledger() = default;

  virtual void add_account(const Account& a) = 0;               // refused if it exists
  virtual std::optional<Account> find_account(const std::string& name) = 0;
  virtual std::vector<Account> list_accounts() = 0;
  virtual void set_credit_limit(const std::string& account, Money limit) = 0;

  // Membership: a user may belong to several accounts; one of them is the default.
  virtual void add_user(const std::string& user, const std::string& account, bool make_default) = 0;
  virtual std::vector<std::string> users_of(const std::string& account) = 0;
  virtual std::vector<std::string> accounts_of(const std::string& user) = 0;
  virtual std::optional<std::string> default_account(const std::string& user) = 0;
  virtual bool is_member(const std::string& user, const std::string& account) = 0;

  // amount > 0 adds funds; amount < 0 is a correcting withdrawal (refused if available would go < 0).
  virtual OpResult deposit(const std::string& account, Money amount, const std::string& key,
                           const std::string& user, const std::string& note) = 0;
  // Holds amount (> 0) until released, charged or expired. Refused (Errc::refused) when
  // available < amount. expires = 0: never expires.
  virtual OpResult place_lien(const std::string& account, Money amount, const std::string& key,
                              std::int64_t expires, const std::string& job,
                              const std::string& user) = 0;
  // Releases an active lien without charging; a released/expired/unknown lien is Errc::not_found
  // unless the same release key was used before (replay).
  virtual OpResult release_lien(const std::string& lien_key, const std::string& key,
                                const std::string& note) = 0;
  // Charges amount (>= 0) to the account. If lien_key is not empty, that lien is released in the
  // same transaction. Charges are never refused for lack of funds: the work has been done.
  virtual OpResult charge(const std::string& account, Money amount, const std::string& key,
                          const std::string& lien_key, const std::string& job,
                          const std::string& user, const std::string& note) = 0;
  // Refunds amount (> 0) of an earlier charge; refused when the refunds of that charge would exceed it.
  virtual OpResult refund(const std::string& charge_key, Money amount, const std::string& key,
                          const std::string& user, const std::string& note) = 0;

  virtual Balance balance(const std::string& account) = 0;     // not_found for unknown accounts
  virtual std::vector<Entry> statement(const StatementQuery& q) = 0;
  virtual std::optional<Entry> find_entry(const std::string& key) = 0;
  // Active liens of an account (or of all accounts when account is empty).
  virtual std::vector<Entry> active_liens(const std::string& account) = 0;

  virtual int schema_version() = 0;
};

struct LedgerOptions {
  bool read_only = false;       // open without write access (reports, balance reads)
  bool create = true;           // create the file and schema when missing
  int busy_timeout_ms = 10000;  // how long a writer waits for another writer
  Currency currency;            // only for amounts in error messages
  std::string password_file;    // MariaDB: file whose first line is the password (LedgerPassFile=);
                                // a ?passfile= in the URL takes precedence
};

// Where a MariaDB/MySQL ledger lives, from mysql://[USER@]HOST[:PORT]/DB[?socket=PATH&passfile=PATH]
// (mariadb:// is the same). There is deliberately no way to put the password in the URL.
struct MariadbParams {
  std::string user;             // empty: the login name (libmariadb's default)
  std::string host = "localhost";
  unsigned port = 3306;
  std::string database;
  std::string socket;           // unix socket path (host "localhost")
  std::string password_file;
  std::string display() const;  // "mysql://user@host:port/db" for messages (never a password)
};
bool is_ledger_url(const std::string& spec);  // starts with mysql:// or mariadb://
// Throws Error(Errc::config) naming the URL and the expected form.
MariadbParams parse_ledger_url(const std::string& url);
// Opens (and migrates) a MariaDB/MySQL ledger. Throws Error(Errc::storage) naming the server, the
// database and the fix; also when this build has no MariaDB support (mariadb_ledger_built()).
std::unique_ptr<Ledger> open_mariadb_ledger(const MariadbParams& params, const LedgerOptions& opts = {});
bool mariadb_ledger_built();
// The one factory for LedgerPath values: a mysql:// or mariadb:// URL opens MariaDB, anything else
// is a SQLite file path.
std::unique_ptr<Ledger> open_ledger(const std::string& spec, const LedgerOptions& opts = {});

// Opens (and migrates) the SQLite ledger at path. Throws Error(Errc::storage) with the path and the fix.
std::unique_ptr<Ledger> open_sqlite_ledger(const std::string& path, const LedgerOptions& opts = {});

// Current unix time; tests may override it (0 restores the clock).
std::int64_t ledger_now();
void set_ledger_clock_for_tests(std::int64_t fixed_unix_seconds);

}  // namespace paracloud

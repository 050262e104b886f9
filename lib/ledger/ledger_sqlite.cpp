// The SQLite ledger: schema and migrations, append-only journal, derived totals/liens, open errors.
// The rules (checks, replays, messages) are ledger_rules.cpp's; this file holds the storage calls.
//
// Storage layout (schema version kSchemaVersion, PRAGMA user_version):
//   accounts(name PK, parent, credit_limit, description, created)
//   members(user, account, is_default)                 PK (user, account)
//   journal(id PK, time, kind, account, amount, key UNIQUE, ref, job, user, note, expires,
//           balance_after)                             append-only: UPDATE/DELETE triggers RAISE
//   totals(account PK, deposits, charges, refunds)     derived from journal, same transaction (v2)
//   liens(key PK, entry_id, account, amount, expires, open)  derived lien state (v2): open = no
//           release/charge entry references the lien. "Active" = open AND (expires = 0 OR expires > now).
//
// Durability: WAL mode with synchronous=FULL: every committed operation is fsync'ed to the WAL
// before the call returns. Every operation that changes money is one BEGIN IMMEDIATE transaction
// (idempotency check, rule checks, journal insert, derived-state update), so there are no partial
// writes and concurrent writers (processes or threads) serialize on SQLite's write lock, waiting
// up to LedgerOptions::busy_timeout_ms.
//
// Access control is file-permission based: the ledger directory belongs to SlurmUser (mode 0700
// or 0750 with a reader group). Writers need write access to the file and its directory (WAL and
// -shm files live beside it). Read-only opens: when the reader may not write the directory, WAL
// shared memory cannot be created, so the file is opened with SQLite's "immutable" flag as a
// fallback: the reader then sees the last checkpointed state (every writer checkpoints when it
// closes, so this lags at most by the operations of still-open writers). Grant the reader group
// write access to the directory for live reads.
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <chrono>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/error.hpp"
#include "ledger/ledger.hpp"
#include "ledger/ledger_rules.hpp"

namespace paracloud {
namespace {

constexpr int kSchemaVersion = 2;

// Ordered migrations: migrations[i] brings a database from version i to version i + 1.
// Never edit a released migration; append a new one.
const char* const kMigrations[] = {
    // v1: accounts, members, the append-only journal.
    R"sql(
CREATE TABLE accounts(
  name TEXT PRIMARY KEY NOT NULL,
  parent TEXT NOT NULL DEFAULT '',
  credit_limit INTEGER NOT NULL DEFAULT 0 CHECK (credit_limit >= 0),
  description TEXT NOT NULL DEFAULT '',
  created INTEGER NOT NULL);
CREATE TABLE members(
  user TEXT NOT NULL,
  account TEXT NOT NULL REFERENCES accounts(name),
  is_default INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (user, account));
CREATE TABLE journal(
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('deposit','lien','release','charge','refund')),
  account TEXT NOT NULL REFERENCES accounts(name),
  amount INTEGER NOT NULL,
  key TEXT NOT NULL UNIQUE,
  ref TEXT NOT NULL DEFAULT '',
  job TEXT NOT NULL DEFAULT '',
  user TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '',
  expires INTEGER NOT NULL DEFAULT 0,
  balance_after INTEGER NOT NULL);
CREATE INDEX journal_account_time ON journal(account, time);
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
  BEGIN SELECT RAISE(ABORT, 'the ledger journal is append-only'); END;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
  BEGIN SELECT RAISE(ABORT, 'the ledger journal is append-only'); END;
)sql",
    // v2: derived per-account totals and lien state, so balance()/available() are O(1).
    R"sql(
CREATE INDEX journal_ref ON journal(ref) WHERE ref <> '';
CREATE TABLE totals(
  account TEXT PRIMARY KEY NOT NULL REFERENCES accounts(name),
  deposits INTEGER NOT NULL DEFAULT 0,
  charges INTEGER NOT NULL DEFAULT 0,
  refunds INTEGER NOT NULL DEFAULT 0);
INSERT INTO totals(account, deposits, charges, refunds)
  SELECT a.name,
    COALESCE((SELECT SUM(amount) FROM journal WHERE account = a.name AND kind = 'deposit'), 0),
    COALESCE((SELECT SUM(amount) FROM journal WHERE account = a.name AND kind = 'charge'), 0),
    COALESCE((SELECT SUM(amount) FROM journal WHERE account = a.name AND kind = 'refund'), 0)
  FROM accounts a;
CREATE TABLE liens(
  key TEXT PRIMARY KEY NOT NULL,
  entry_id INTEGER NOT NULL REFERENCES journal(id),
  account TEXT NOT NULL REFERENCES accounts(name),
  amount INTEGER NOT NULL,
  expires INTEGER NOT NULL,
  open INTEGER NOT NULL);
INSERT INTO liens(key, entry_id, account, amount, expires, open)
  SELECT j.key, j.id, j.account, j.amount, j.expires,
    NOT EXISTS (SELECT 1 FROM journal r WHERE r.ref = j.key AND r.kind IN ('release', 'charge'))
  FROM journal j WHERE j.kind = 'lien';
CREATE INDEX liens_open ON liens(account) WHERE open = 1;
)sql",
};
static_assert(sizeof kMigrations / sizeof kMigrations[0] == kSchemaVersion,
              "one migration per schema version");

const char* const kEntryColumns =
    "id, time, kind, account, amount, key, ref, job, user, note, expires, balance_after";

std::string dir_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

const char* const kWriteHint =
    "only SlurmUser/root can change balances: write access to the ledger is the file permission "
    "of the ledger file and its directory (owned by SlurmUser, mode 0700 or 0750)";

// ---------------------------------------------------------------- small RAII helpers over the C API

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtHandle = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Turns a SQLite failure into Error(storage) naming the ledger path and a fix.
[[noreturn]] void throw_sqlite(sqlite3* db, int rc, const std::string& path, const std::string& doing) {
  std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  std::string what = "ledger " + path + ": " + doing + ": " + msg;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      throw Error(Errc::storage, what + " (another process holds the write lock)",
                  "retry; if it persists, look for a hung paracloud process holding the ledger");
    case SQLITE_READONLY:
    case SQLITE_PERM:
      throw Error(Errc::storage, what, kWriteHint);
    case SQLITE_CANTOPEN:
      throw Error(Errc::storage, what, "check that LedgerPath and its directory exist and are accessible");
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      throw Error(Errc::storage, what,
                  "LedgerPath does not point at an intact paracloud ledger: check the path, or restore "
                  "the file from a backup");
    case SQLITE_FULL:
    case SQLITE_IOERR:
      throw Error(Errc::storage, what, "check free space and the health of the ledger's file system");
    default:
      throw Error(Errc::storage, what);
  }
}

// One use of a (cached) prepared statement: positional binds, stepping, and reset on scope exit.
class Query {
 public:
  Query(sqlite3* db, sqlite3_stmt* s, const std::string& path) : db_(db), s_(s), path_(path) {}
  ~Query() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& bind(std::int64_t v) {
    check(sqlite3_bind_int64(s_, ++n_, v));
    return *this;
  }
  Query& bind(const std::string& v) {
    check(sqlite3_bind_text(s_, ++n_, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  // true: a row is available; false: done.
  bool step() {
    int rc = sqlite3_step(s_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw_sqlite(db_, rc, path_, "query failed");
  }
  void run() {
    while (step()) {
    }
  }
  std::int64_t i64(int col) const { return sqlite3_column_int64(s_, col); }
  std::string text(int col) const {
    const unsigned char* t = sqlite3_column_text(s_, col);
    return t ? std::string(reinterpret_cast<const char*>(t), static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
  }
  Entry entry() const {
    return ledger_rules::journal_entry([this](int c) { return text(c); }, [this](int c) { return i64(c); }, "file");
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) throw_sqlite(db_, rc, path_, "binding a parameter");
  }
  sqlite3* db_;
  sqlite3_stmt* s_;
  const std::string& path_;
  int n_ = 0;
};

// ---------------------------------------------------------------- the ledger

class SqliteLedger final : public LedgerRules {
 public:
  SqliteLedger(const std::string& path, const LedgerOptions& opts)
      : LedgerRules(opts.currency), path_(path), opts_(opts) {
    open();
  }
  ~SqliteLedger() override {
    stmts_.clear();  // finalize before closing the connection
  }

  std::optional<Account> find_account(const std::string& name) override;
  std::vector<Account> list_accounts() override;
  std::vector<std::string> users_of(const std::string& account) override;
  std::vector<std::string> accounts_of(const std::string& user) override;
  std::optional<std::string> default_account(const std::string& user) override;
  bool is_member(const std::string& user, const std::string& account) override;
  Balance balance(const std::string& account) override;
  std::vector<Entry> statement(const StatementQuery& q) override;
  std::optional<Entry> find_entry(const std::string& key) override;
  std::vector<Entry> active_liens(const std::string& account) override;
  int schema_version() override;

 private:
  // A write transaction: BEGIN IMMEDIATE takes the write lock up front (waiting busy_timeout_ms),
  // so the checks made inside it hold until COMMIT. Rolled back unless committed.
  class Transaction {
   public:
    explicit Transaction(SqliteLedger& l) : l_(l) {
      if (l_.opts_.read_only) throw ledger_rules::read_only(l_.path_, kWriteHint);
      l_.exec("BEGIN IMMEDIATE", "starting a write transaction");
    }
    void commit() {
      l_.exec("COMMIT", "committing");
      done_ = true;
    }
    ~Transaction() {
      if (!done_) sqlite3_exec(l_.db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

   private:
    SqliteLedger& l_;
    bool done_ = false;
  };

  void open();
  void migrate();
  void exec(const char* sql, const std::string& doing) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &err);
    if (err) sqlite3_free(err);
    if (rc != SQLITE_OK) throw_sqlite(db_.get(), rc, path_, doing);
  }
  // Prepared statements are cached per SQL text (string literals: their address is the key).
  Query query(const char* sql) {
    auto it = stmts_.find(sql);
    if (it == stmts_.end()) {
      sqlite3_stmt* s = nullptr;
      int rc = sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
      if (rc != SQLITE_OK) throw_sqlite(db_.get(), rc, path_, "preparing a query");
      it = stmts_.emplace(sql, StmtHandle(s)).first;
    }
    return Query(db_.get(), it->second.get(), path_);
  }

  // Storage calls of LedgerRules. The whole transaction holds SQLite's write lock, so
  // lock_balance() is a plain read.
  void write_transaction(const char* doing, const std::function<void()>& body) override;
  std::optional<Entry> entry(const std::string& key) override;
  Balance lock_balance(const std::string& account) override { return balance_locked(account); }
  Balance read_balance(const std::string& account) override { return balance_locked(account); }
  std::optional<LienState> lien_state(const std::string& key) override;
  bool lien_closed_early(const std::string& key) override;
  Money refunded(const std::string& charge_key) override;
  std::int64_t write(const Write& w) override;
  void store_credit_limit(const std::string& account, Money limit) override;
  bool account_exists(const std::string& name) override;
  void insert_account(const Account& a) override;
  bool has_default_account(const std::string& user) override;
  void store_member(const std::string& user, const std::string& account, bool as_default) override;

  Balance balance_locked(const std::string& account);

  std::string path_;
  LedgerOptions opts_;
  DbHandle db_;
  std::unordered_map<const char*, StmtHandle> stmts_;
  std::recursive_mutex mu_;  // one connection: calls from several threads are serialized
};

void SqliteLedger::open() {
  if (path_.empty())
    throw Error(Errc::storage, "ledger path is empty", "set LedgerPath in paracloud.conf");
  const std::string dir = dir_of(path_);
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw Error(Errc::storage,
                "cannot open ledger " + path_ + ": directory " + dir +
                    (errno == EACCES ? " is not accessible (permission denied)" : " does not exist"),
                "create it as SlurmUser/root (install -d -m 0700 -o SlurmUser " + dir +
                    ") or fix LedgerPath in paracloud.conf");
  const bool exists = stat(path_.c_str(), &st) == 0;
  if (exists && !S_ISREG(st.st_mode))
    throw Error(Errc::storage, "ledger " + path_ + " is not a regular file", "fix LedgerPath in paracloud.conf");
  if (!exists && (opts_.read_only || !opts_.create))
    throw Error(Errc::storage, "ledger " + path_ + " does not exist",
                "create it by adding the first account as SlurmUser/root (paracloud bank account add NAME), "
                "or fix LedgerPath in paracloud.conf");
  if (exists && access(path_.c_str(), R_OK) != 0)
    throw Error(Errc::storage, "cannot read ledger " + path_ + ": permission denied",
                "run as SlurmUser/root, or ask the administrator for read access (group of the ledger "
                "directory)");
  if (!opts_.read_only && ((exists && access(path_.c_str(), W_OK) != 0) || access(dir.c_str(), W_OK) != 0))
    throw Error(Errc::storage, "cannot write ledger " + path_ + ": permission denied", kWriteHint);

  auto try_open = [&](const std::string& name, int flags) {
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(name.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    db_.reset(raw);
    if (rc != SQLITE_OK) throw_sqlite(db_.get(), rc, path_, "cannot open");
    sqlite3_extended_result_codes(db_.get(), 1);
    sqlite3_busy_timeout(db_.get(), opts_.busy_timeout_ms);
    return sqlite3_exec(db_.get(), "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
  };

  if (opts_.read_only) {
    int rc = try_open(path_, SQLITE_OPEN_READONLY);
    if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_NOTADB && (rc & 0xff) != SQLITE_CORRUPT &&
        access(dir.c_str(), W_OK) != 0) {
      // WAL readers need the -shm file; a reader who may not create it opens the file as
      // immutable and sees its last checkpointed state (see the comment at the top).
      std::string uri = "file:";
      for (char c : path_) {
        if (c == '?' || c == '#' || c == '%') {
          char buf[4];
          std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
          uri += buf;
        } else {
          uri += c;
        }
      }
      uri += "?immutable=1";
      rc = try_open(uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
    }
    if (rc != SQLITE_OK) throw_sqlite(db_.get(), rc, path_, "cannot read");
  } else {
    int rc = try_open(path_, SQLITE_OPEN_READWRITE | (opts_.create ? SQLITE_OPEN_CREATE : 0));
    if (rc != SQLITE_OK) throw_sqlite(db_.get(), rc, path_, "cannot read");
    if (sqlite3_db_readonly(db_.get(), "main") == 1)
      throw Error(Errc::storage, "cannot write ledger " + path_ + ": the file is read-only", kWriteHint);
  }

  exec("PRAGMA foreign_keys = ON", "setting foreign_keys");
  if (!opts_.read_only) {
    std::string mode;
    {
      Query q = query("PRAGMA journal_mode");
      if (q.step()) mode = q.text(0);
    }
    if (mode != "wal") {
      // Changing the journal mode needs an exclusive lock, and SQLite reports SQLITE_BUSY here
      // without calling the busy handler (e.g. several processes opening a new ledger at once):
      // retry for up to busy_timeout_ms.
      auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.busy_timeout_ms);
      for (;;) {
        sqlite3_stmt* raw = nullptr;
        int rc = sqlite3_prepare_v2(db_.get(), "PRAGMA journal_mode = WAL", -1, &raw, nullptr);
        StmtHandle st(raw);
        if (rc == SQLITE_OK) rc = sqlite3_step(raw);
        if (rc == SQLITE_ROW) {
          const unsigned char* t = sqlite3_column_text(raw, 0);
          mode = t ? reinterpret_cast<const char*>(t) : "";
          break;
        }
        if ((rc & 0xff) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline)
          throw_sqlite(db_.get(), rc, path_, "switching to WAL mode");
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      if (mode != "wal")
        throw Error(Errc::storage, "ledger " + path_ + ": cannot switch to WAL mode (got '" + mode + "')",
                    "the ledger must be on a local file system that supports shared memory (not NFS)");
    }
    exec("PRAGMA synchronous = FULL", "setting synchronous");
  }
  migrate();
}

void SqliteLedger::migrate() {
  int version = schema_version();
  if (version > kSchemaVersion) throw ledger_rules::newer_schema(path_, version, kSchemaVersion);
  if (version == kSchemaVersion) return;
  if (opts_.read_only) throw ledger_rules::needs_upgrade(path_, version, kSchemaVersion);
  Transaction t(*this);
  version = schema_version();  // another process may have migrated while we waited for the lock
  if (version > kSchemaVersion)
    throw Error(Errc::storage, "ledger " + path_ + " was created by a newer paracloud",
                "upgrade paracloud on this host");
  for (int v = version; v < kSchemaVersion; ++v) {
    exec(kMigrations[v], "migrating the schema to version " + std::to_string(v + 1));
    exec(("PRAGMA user_version = " + std::to_string(v + 1)).c_str(), "recording the schema version");
  }
  t.commit();
}

int SqliteLedger::schema_version() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Query q = query("PRAGMA user_version");
  return q.step() ? static_cast<int>(q.i64(0)) : 0;
}

// ---------------------------------------------------------------- accounts and members

void SqliteLedger::write_transaction(const char*, const std::function<void()>& body) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction t(*this);
  body();
  t.commit();
}

bool SqliteLedger::account_exists(const std::string& name) {
  Query q = query("SELECT 1 FROM accounts WHERE name = ?");
  return q.bind(name).step();
}

void SqliteLedger::insert_account(const Account& a) {
  query("INSERT INTO accounts(name, parent, credit_limit, description, created) VALUES (?, ?, ?, ?, ?)")
      .bind(a.name).bind(a.parent).bind(a.credit_limit).bind(a.description).bind(a.created).run();
  query("INSERT INTO totals(account) VALUES (?)").bind(a.name).run();
}

std::optional<Account> SqliteLedger::find_account(const std::string& name) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Query q = query("SELECT name, parent, credit_limit, description, created FROM accounts WHERE name = ?");
  q.bind(name);
  if (!q.step()) return std::nullopt;
  return Account{q.text(0), q.text(1), q.i64(2), q.text(3), q.i64(4)};
}

std::vector<Account> SqliteLedger::list_accounts() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  std::vector<Account> out;
  Query q = query("SELECT name, parent, credit_limit, description, created FROM accounts ORDER BY name");
  while (q.step()) out.push_back(Account{q.text(0), q.text(1), q.i64(2), q.text(3), q.i64(4)});
  return out;
}

void SqliteLedger::store_credit_limit(const std::string& account, Money limit) {
  query("UPDATE accounts SET credit_limit = ? WHERE name = ?").bind(limit).bind(account).run();
}

bool SqliteLedger::has_default_account(const std::string& user) {
  Query q = query("SELECT 1 FROM members WHERE user = ? AND is_default = 1");
  return q.bind(user).step();
}

void SqliteLedger::store_member(const std::string& user, const std::string& account, bool as_default) {
  if (as_default) query("UPDATE members SET is_default = 0 WHERE user = ? AND account <> ?").bind(user).bind(account).run();
  query("INSERT INTO members(user, account, is_default) VALUES (?, ?, ?) "
        "ON CONFLICT(user, account) DO UPDATE SET is_default = max(is_default, excluded.is_default)")
      .bind(user).bind(account).bind(as_default ? 1 : 0).run();
}

std::vector<std::string> SqliteLedger::users_of(const std::string& account) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  std::vector<std::string> out;
  Query q = query("SELECT user FROM members WHERE account = ? ORDER BY user");
  q.bind(account);
  while (q.step()) out.push_back(q.text(0));
  return out;
}

std::vector<std::string> SqliteLedger::accounts_of(const std::string& user) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  std::vector<std::string> out;
  Query q = query("SELECT account FROM members WHERE user = ? ORDER BY is_default DESC, account");
  q.bind(user);
  while (q.step()) out.push_back(q.text(0));
  return out;
}

std::optional<std::string> SqliteLedger::default_account(const std::string& user) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Query q = query("SELECT account FROM members WHERE user = ? AND is_default = 1");
  q.bind(user);
  if (!q.step()) return std::nullopt;
  return q.text(0);
}

bool SqliteLedger::is_member(const std::string& user, const std::string& account) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Query q = query("SELECT 1 FROM members WHERE user = ? AND account = ?");
  return q.bind(user).bind(account).step();
}

// ---------------------------------------------------------------- balances and the journal

Balance SqliteLedger::balance_locked(const std::string& account) {
  // One statement: a consistent snapshot of totals, credit limit and active liens.
  Query q = query(
      "SELECT t.deposits, t.charges, t.refunds, a.credit_limit, "
      "  (SELECT COALESCE(SUM(l.amount), 0) FROM liens l "
      "   WHERE l.account = a.name AND l.open = 1 AND (l.expires = 0 OR l.expires > ?)) "
      "FROM accounts a JOIN totals t ON t.account = a.name WHERE a.name = ?");
  q.bind(ledger_now()).bind(account);
  if (!q.step()) throw ledger_rules::unknown_account(account);
  Balance b;
  b.account = account;
  b.deposits = q.i64(0);
  b.charges = q.i64(1);
  b.refunds = q.i64(2);
  b.credit_limit = q.i64(3);
  b.held = q.i64(4);
  return b;
}

Balance SqliteLedger::balance(const std::string& account) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return balance_locked(account);
}

std::optional<Entry> SqliteLedger::entry(const std::string& key) {
  static const std::string sql = std::string("SELECT ") + kEntryColumns + " FROM journal WHERE key = ?";
  Query q = query(sql.c_str());
  q.bind(key);
  if (!q.step()) return std::nullopt;
  return q.entry();
}

std::optional<Entry> SqliteLedger::find_entry(const std::string& key) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return entry(key);
}

std::vector<Entry> SqliteLedger::statement(const StatementQuery& sq) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  require_account(sq.account);
  static const std::string sql = std::string("SELECT ") + kEntryColumns +
                                 " FROM journal WHERE account = ? AND time >= ? AND (? = 0 OR time < ?) "
                                 "ORDER BY id LIMIT ?";
  Query q = query(sql.c_str());
  q.bind(sq.account).bind(sq.since).bind(sq.until).bind(sq.until);
  q.bind(sq.limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(sq.limit));
  std::vector<Entry> out;
  while (q.step()) out.push_back(q.entry());
  return out;
}

std::vector<Entry> SqliteLedger::active_liens(const std::string& account) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  static std::string sql;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string cols;
    for (const char* c = kEntryColumns;; ) {  // prefix every column with "j."
      const char* comma = std::strchr(c, ',');
      std::string col = comma ? std::string(c, comma) : std::string(c);
      while (!col.empty() && col.front() == ' ') col.erase(0, 1);
      cols += (cols.empty() ? "j." : ", j.") + col;
      if (!comma) break;
      c = comma + 1;
    }
    sql = "SELECT " + cols +
          " FROM liens l JOIN journal j ON j.id = l.entry_id "
          "WHERE l.open = 1 AND (l.expires = 0 OR l.expires > ?) AND (? = '' OR l.account = ?) ORDER BY j.id";
  });
  if (!account.empty()) require_account(account);
  Query q = query(sql.c_str());
  q.bind(ledger_now()).bind(account).bind(account);
  std::vector<Entry> out;
  while (q.step()) out.push_back(q.entry());
  return out;
}

std::optional<LedgerRules::LienState> SqliteLedger::lien_state(const std::string& key) {
  Query q = query("SELECT open, expires FROM liens WHERE key = ?");
  if (!q.bind(key).step()) return std::nullopt;
  return LienState{q.i64(0) == 1, q.i64(1)};
}

bool SqliteLedger::lien_closed_early(const std::string& key) {
  Query q = query("SELECT 1 FROM journal WHERE ref = ? AND kind IN ('release', 'charge') LIMIT 1");
  return q.bind(key).step();
}

Money SqliteLedger::refunded(const std::string& charge_key) {
  Query q = query("SELECT COALESCE(SUM(amount), 0) FROM journal WHERE ref = ? AND kind = 'refund'");
  return q.bind(charge_key).step() ? q.i64(0) : 0;
}

std::int64_t SqliteLedger::write(const Write& w) {
  const Entry& e = w.entry;
  if (!w.close_lien.empty()) query("UPDATE liens SET open = 0 WHERE key = ?").bind(w.close_lien).run();
  query("INSERT INTO journal(time, kind, account, amount, key, ref, job, user, note, expires, balance_after) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(e.time).bind(std::string(to_string(e.kind))).bind(e.account).bind(e.amount).bind(e.key).bind(e.ref)
      .bind(e.job).bind(e.user).bind(e.note).bind(e.expires).bind(e.balance_after).run();
  const std::int64_t id = sqlite3_last_insert_rowid(db_.get());
  if (w.insert_lien)
    query("INSERT INTO liens(key, entry_id, account, amount, expires, open) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(e.key).bind(id).bind(e.account).bind(e.amount).bind(e.expires).bind(w.lien_open ? 1 : 0).run();
  if (w.totals)
    query("UPDATE totals SET deposits = ?, charges = ?, refunds = ? WHERE account = ?")
        .bind(w.totals->deposits).bind(w.totals->charges).bind(w.totals->refunds).bind(w.totals->account).run();
  return id;
}

}  // namespace

std::unique_ptr<Ledger> open_sqlite_ledger(const std::string& path, const LedgerOptions& opts) {
  return std::make_unique<SqliteLedger>(path, opts);
}

}  // namespace paracloud

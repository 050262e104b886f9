// The SQLite ledger: schema and migrations, append-only journal, derived totals/liens, open errors.
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

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <chrono>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "error.hpp"
#include "ledger.hpp"

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

EntryKind kind_from(const std::string& s) {
  for (EntryKind k : {EntryKind::deposit, EntryKind::lien, EntryKind::release, EntryKind::charge,
                      EntryKind::refund})
    if (s == to_string(k)) return k;
  throw Error(Errc::storage, "ledger journal holds an unknown entry kind '" + s + "'",
              "the file was changed outside paracloud; restore it from a backup");
}

void check_name(const std::string& what, const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) ok = false;
  if (!ok)
    throw Error(Errc::bad_input, "invalid " + what + " name '" + name + "'",
                "use 1-64 letters, digits, '_', '-' or '.'");
}

void check_key(const std::string& key) {
  bool ok = !key.empty() && key.size() <= 256;
  for (char c : key)
    if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f) ok = false;
  if (!ok)
    throw Error(Errc::bad_input, "invalid idempotency key '" + key + "'",
                "use 1-256 printable characters without spaces");
}

Money add_checked(Money a, Money b) {
  Money r;
  if (__builtin_add_overflow(a, b, &r))
    throw Error(Errc::bad_input, "amount too large: the account's totals would overflow",
                "split the operation or use a smaller amount");
  return r;
}

// Both derived figures must stay representable, or a later balance() would overflow.
void check_range(const Balance& b) {
  Money x, y, z;
  if (__builtin_sub_overflow(b.deposits, b.charges, &x) || __builtin_add_overflow(x, b.refunds, &y) ||
      __builtin_sub_overflow(y, b.held, &z) || __builtin_add_overflow(z, b.credit_limit, &x))
    throw Error(Errc::bad_input, "amount too large: the account's balance would overflow",
                "split the operation or use a smaller amount");
}

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
  Entry entry(int first = 0) const {
    Entry e;
    e.id = i64(first);
    e.time = i64(first + 1);
    e.kind = kind_from(text(first + 2));
    e.account = text(first + 3);
    e.amount = i64(first + 4);
    e.key = text(first + 5);
    e.ref = text(first + 6);
    e.job = text(first + 7);
    e.user = text(first + 8);
    e.note = text(first + 9);
    e.expires = i64(first + 10);
    e.balance_after = i64(first + 11);
    return e;
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

class SqliteLedger final : public Ledger {
 public:
  SqliteLedger(const std::string& path, const LedgerOptions& opts) : path_(path), opts_(opts) { open(); }
  ~SqliteLedger() override {
    stmts_.clear();  // finalize before closing the connection
  }

  void add_account(const Account& a) override;
  std::optional<Account> find_account(const std::string& name) override;
  std::vector<Account> list_accounts() override;
  void set_credit_limit(const std::string& account, Money limit) override;
  void add_user(const std::string& user, const std::string& account, bool make_default) override;
  std::vector<std::string> users_of(const std::string& account) override;
  std::vector<std::string> accounts_of(const std::string& user) override;
  std::optional<std::string> default_account(const std::string& user) override;
  bool is_member(const std::string& user, const std::string& account) override;
  OpResult deposit(const std::string& account, Money amount, const std::string& key, const std::string& user,
                   const std::string& note) override;
  OpResult place_lien(const std::string& account, Money amount, const std::string& key, std::int64_t expires,
                      const std::string& job, const std::string& user) override;
  OpResult release_lien(const std::string& lien_key, const std::string& key, const std::string& note) override;
  OpResult charge(const std::string& account, Money amount, const std::string& key, const std::string& lien_key,
                  const std::string& job, const std::string& user, const std::string& note) override;
  OpResult refund(const std::string& charge_key, Money amount, const std::string& key, const std::string& user,
                  const std::string& note) override;
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
      if (l_.opts_.read_only)
        throw Error(Errc::storage, "ledger " + l_.path_ + " was opened read-only; this operation changes it",
                    kWriteHint);
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

  Balance balance_locked(const std::string& account);
  std::optional<Entry> entry_locked(const std::string& key);
  void require_account(const std::string& account);
  Entry append(EntryKind kind, const std::string& account, Money amount, const std::string& key,
               const std::string& ref, const std::string& job, const std::string& user, const std::string& note,
               std::int64_t expires, Money balance_after);
  void store_totals(const Balance& b);
  // Replays: the same key with the same kind/account/amount/ref/job returns the first entry.
  OpResult replay(const Entry& first, EntryKind kind, const std::string& account, Money amount,
                  const std::string& ref, const std::string& job);
  std::string money(Money m) const { return format_money(m, opts_.currency); }

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
  if (version > kSchemaVersion)
    throw Error(Errc::storage,
                "ledger " + path_ + " was created by a newer paracloud (schema version " + std::to_string(version) +
                    ", this build knows up to " + std::to_string(kSchemaVersion) + ")",
                "upgrade paracloud on this host, or point LedgerPath at a ledger of this version");
  if (version == kSchemaVersion) return;
  if (opts_.read_only)
    throw Error(Errc::storage,
                "ledger " + path_ + " has schema version " + std::to_string(version) + " and needs an upgrade to " +
                    std::to_string(kSchemaVersion),
                "open it once for writing as SlurmUser/root (e.g. paracloud bank account list) to upgrade it");
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

void SqliteLedger::add_account(const Account& a) {
  check_name("account", a.name);
  if (!a.parent.empty()) check_name("parent account", a.parent);
  if (a.credit_limit < 0)
    throw Error(Errc::bad_input, "credit limit of account '" + a.name + "' must not be negative",
                "give 0 (no credit) or a positive amount");
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction t(*this);
  if (find_account(a.name))
    throw Error(Errc::refused, "account '" + a.name + "' already exists",
                "see it with: paracloud bank account show " + a.name);
  if (!a.parent.empty() && a.parent != a.name) require_account(a.parent);
  std::int64_t created = a.created != 0 ? a.created : ledger_now();
  query("INSERT INTO accounts(name, parent, credit_limit, description, created) VALUES (?, ?, ?, ?, ?)")
      .bind(a.name).bind(a.parent).bind(a.credit_limit).bind(a.description).bind(created).run();
  query("INSERT INTO totals(account) VALUES (?)").bind(a.name).run();
  t.commit();
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

void SqliteLedger::require_account(const std::string& account) {
  Query q = query("SELECT 1 FROM accounts WHERE name = ?");
  q.bind(account);
  if (!q.step())
    throw Error(Errc::not_found, "unknown account '" + account + "'",
                "create it with: paracloud bank account add " + (account.empty() ? "NAME" : account));
}

void SqliteLedger::set_credit_limit(const std::string& account, Money limit) {
  if (limit < 0)
    throw Error(Errc::bad_input, "credit limit of account '" + account + "' must not be negative",
                "give 0 (no credit) or a positive amount");
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction t(*this);
  Balance b = balance_locked(account);
  b.credit_limit = limit;
  check_range(b);
  query("UPDATE accounts SET credit_limit = ? WHERE name = ?").bind(limit).bind(account).run();
  t.commit();
}

void SqliteLedger::add_user(const std::string& user, const std::string& account, bool make_default) {
  check_name("user", user);
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction t(*this);
  require_account(account);
  bool has_default = false;
  {
    Query q = query("SELECT 1 FROM members WHERE user = ? AND is_default = 1");
    has_default = q.bind(user).step();
  }
  // A user's first account becomes the default one.
  bool as_default = make_default || !has_default;
  if (as_default) query("UPDATE members SET is_default = 0 WHERE user = ? AND account <> ?").bind(user).bind(account).run();
  query("INSERT INTO members(user, account, is_default) VALUES (?, ?, ?) "
        "ON CONFLICT(user, account) DO UPDATE SET is_default = max(is_default, excluded.is_default)")
      .bind(user).bind(account).bind(as_default ? 1 : 0).run();
  t.commit();
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
  if (!q.step())
    throw Error(Errc::not_found, "unknown account '" + account + "'",
                "create it with: paracloud bank account add " + (account.empty() ? "NAME" : account));
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

std::optional<Entry> SqliteLedger::entry_locked(const std::string& key) {
  static const std::string sql = std::string("SELECT ") + kEntryColumns + " FROM journal WHERE key = ?";
  Query q = query(sql.c_str());
  q.bind(key);
  if (!q.step()) return std::nullopt;
  return q.entry();
}

std::optional<Entry> SqliteLedger::find_entry(const std::string& key) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  return entry_locked(key);
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

Entry SqliteLedger::append(EntryKind kind, const std::string& account, Money amount, const std::string& key,
                           const std::string& ref, const std::string& job, const std::string& user,
                           const std::string& note, std::int64_t expires, Money balance_after) {
  Entry e;
  e.time = ledger_now();
  e.kind = kind;
  e.account = account;
  e.amount = amount;
  e.key = key;
  e.ref = ref;
  e.job = job;
  e.user = user;
  e.note = note;
  e.expires = expires;
  e.balance_after = balance_after;
  query("INSERT INTO journal(time, kind, account, amount, key, ref, job, user, note, expires, balance_after) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(e.time).bind(std::string(to_string(kind))).bind(account).bind(amount).bind(key).bind(ref)
      .bind(job).bind(user).bind(note).bind(expires).bind(balance_after).run();
  e.id = sqlite3_last_insert_rowid(db_.get());
  return e;
}

void SqliteLedger::store_totals(const Balance& b) {
  query("UPDATE totals SET deposits = ?, charges = ?, refunds = ? WHERE account = ?")
      .bind(b.deposits).bind(b.charges).bind(b.refunds).bind(b.account).run();
}

OpResult SqliteLedger::replay(const Entry& first, EntryKind kind, const std::string& account, Money amount,
                              const std::string& ref, const std::string& job) {
  if (first.kind != kind || first.account != account || first.amount != amount || first.ref != ref ||
      first.job != job)
    throw Error(Errc::refused,
                "idempotency key '" + first.key + "' was already used for a different operation: " +
                    to_string(first.kind) + " of " + money(first.amount) + " on account '" + first.account +
                    "' (journal entry " + std::to_string(first.id) + ")",
                "use a new key for a new operation; repeat an operation only with exactly the same data");
  return OpResult{first, true, balance_locked(first.account)};
}

// ---------------------------------------------------------------- operations that change money

OpResult SqliteLedger::deposit(const std::string& account, Money amount, const std::string& key,
                               const std::string& user, const std::string& note) {
  check_key(key);
  if (amount == 0)
    throw Error(Errc::bad_input, "deposit amount must not be zero",
                "give a positive amount, or a negative one to correct an earlier deposit");
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction t(*this);
  if (auto first = entry_locked(key)) return replay(*first, EntryKind::deposit, account, amount, "", "");
  Balance b = balance_locked(account);
  if (amount < 0 && b.available() + amount < 0)
    throw Error(Errc::refused,
                "withdrawal of " + money(-amount) + " from account '" + account + "' refused: only " +
                    money(b.available()) + " is available",
                "withdraw at most the available amount (paracloud bank balance " + account + ")");
  b.deposits = add_checked(b.deposits, amount);
  check_range(b);
  OpResult r{append(EntryKind::deposit, account, amount, key, "", "", user, note, 0, b.balance()), false, b};
  store_totals(b);
  t.commit();
  return r;
}

OpResult SqliteLedger::place_lien(const std::string& account, Money amount, const std::string& key,
                                  std::int64_t expires, const std::string& job, const std::string& user) {
  check_key(key);
  if (amount <= 0)
    throw Error(Errc::bad_input, "lien amount must be positive (got " + money(amount) + ")",
                "hold the job's expected cost");
  if (expires < 0) throw Error(Errc::bad_input, "lien expiry must be 0 (never) or unix seconds");
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction t(*this);
  if (auto first = entry_locked(key)) return replay(*first, EntryKind::lien, account, amount, key, job);
  Balance b = balance_locked(account);
  if (b.available() < amount)
    throw Error(Errc::refused,
                "account '" + account + "' has " + money(b.available()) + " available, less than the " +
                    money(amount) + " to hold",
                "deposit funds (paracloud bank deposit " + account + " AMOUNT), or ask for less time or resources");
  bool closed = false;  // a charge/release that names this key may have arrived first
  {
    Query q = query("SELECT 1 FROM journal WHERE ref = ? AND kind IN ('release', 'charge') LIMIT 1");
    closed = q.bind(key).step();
  }
  std::int64_t now = ledger_now();
  if (!closed && (expires == 0 || expires > now)) b.held = add_checked(b.held, amount);
  check_range(b);
  OpResult r{append(EntryKind::lien, account, amount, key, key, job, user, "", expires, b.balance()), false, b};
  query("INSERT INTO liens(key, entry_id, account, amount, expires, open) VALUES (?, ?, ?, ?, ?, ?)")
      .bind(key).bind(r.entry.id).bind(account).bind(amount).bind(expires).bind(closed ? 0 : 1).run();
  t.commit();
  return r;
}

OpResult SqliteLedger::release_lien(const std::string& lien_key, const std::string& key, const std::string& note) {
  check_key(key);
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction t(*this);
  std::optional<Entry> lien = entry_locked(lien_key);
  if (auto first = entry_locked(key))
    return replay(*first, EntryKind::release, lien ? lien->account : first->account, lien ? lien->amount : -1,
                  lien_key, lien ? lien->job : first->job);
  if (!lien || lien->kind != EntryKind::lien)
    throw Error(Errc::not_found, "no lien with key '" + lien_key + "'",
                "list active liens with: paracloud bank statement ACCOUNT");
  bool open = false;
  {
    Query q = query("SELECT open FROM liens WHERE key = ?");
    if (q.bind(lien_key).step()) open = q.i64(0) == 1;
  }
  if (!open || (lien->expires != 0 && lien->expires <= ledger_now()))
    throw Error(Errc::not_found,
                "lien '" + lien_key + "' is no longer active (already " + (open ? "expired" : "released or charged") +
                    ")",
                "nothing to release");
  Balance b = balance_locked(lien->account);
  b.held -= lien->amount;
  OpResult r{append(EntryKind::release, lien->account, lien->amount, key, lien_key, lien->job, lien->user, note, 0,
                    b.balance()),
             false, b};
  query("UPDATE liens SET open = 0 WHERE key = ?").bind(lien_key).run();
  t.commit();
  return r;
}

OpResult SqliteLedger::charge(const std::string& account, Money amount, const std::string& key,
                              const std::string& lien_key, const std::string& job, const std::string& user,
                              const std::string& note) {
  check_key(key);
  if (amount < 0)
    throw Error(Errc::bad_input, "charge amount must not be negative (got " + money(amount) + ")",
                "to give money back use: paracloud bank refund CHARGE_KEY AMOUNT");
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction t(*this);
  if (auto first = entry_locked(key)) return replay(*first, EntryKind::charge, account, amount, lien_key, job);
  Balance b = balance_locked(account);
  if (!lien_key.empty()) {
    // The lien may be open, already released or expired, or unknown (never placed): the charge
    // happens in every case and records the lien key; an open lien is closed with it.
    if (auto lien = entry_locked(lien_key)) {
      if (lien->kind != EntryKind::lien)
        throw Error(Errc::bad_input, "key '" + lien_key + "' names a " + to_string(lien->kind) + ", not a lien",
                    "pass the key of the job's lien, or no lien key");
      if (lien->account != account)
        throw Error(Errc::bad_input,
                    "lien '" + lien_key + "' belongs to account '" + lien->account + "', not '" + account + "'",
                    "charge the account that holds the lien");
      Query q = query("SELECT open, expires FROM liens WHERE key = ?");
      if (q.bind(lien_key).step() && q.i64(0) == 1) {
        std::int64_t expires = q.i64(1);
        if (expires == 0 || expires > ledger_now()) b.held -= lien->amount;
        query("UPDATE liens SET open = 0 WHERE key = ?").bind(lien_key).run();
      }
    }
  }
  b.charges = add_checked(b.charges, amount);
  check_range(b);
  OpResult r{append(EntryKind::charge, account, amount, key, lien_key, job, user, note, 0, b.balance()), false, b};
  store_totals(b);
  t.commit();
  return r;
}

OpResult SqliteLedger::refund(const std::string& charge_key, Money amount, const std::string& key,
                              const std::string& user, const std::string& note) {
  check_key(key);
  if (amount <= 0)
    throw Error(Errc::bad_input, "refund amount must be positive (got " + money(amount) + ")",
                "give the amount to return to the account");
  std::lock_guard<std::recursive_mutex> lock(mu_);
  Transaction t(*this);
  std::optional<Entry> ch = entry_locked(charge_key);
  if (auto first = entry_locked(key))
    return replay(*first, EntryKind::refund, ch ? ch->account : first->account, amount, charge_key,
                  ch ? ch->job : first->job);
  if (!ch)
    throw Error(Errc::not_found, "no charge with key '" + charge_key + "'",
                "find the charge's key with: paracloud bank statement ACCOUNT");
  if (ch->kind != EntryKind::charge)
    throw Error(Errc::bad_input, "key '" + charge_key + "' names a " + to_string(ch->kind) + ", not a charge",
                "refunds apply to charges only; to add funds use: paracloud bank deposit");
  Money refunded = 0;
  {
    Query q = query("SELECT COALESCE(SUM(amount), 0) FROM journal WHERE ref = ? AND kind = 'refund'");
    if (q.bind(charge_key).step()) refunded = q.i64(0);
  }
  if (amount > ch->amount - refunded)
    throw Error(Errc::refused,
                "refund of " + money(amount) + " exceeds what remains refundable of charge '" + charge_key +
                    "': " + money(ch->amount - refunded) + " (charged " + money(ch->amount) + ", refunded " +
                    money(refunded) + ")",
                "refund at most the remaining amount");
  Balance b = balance_locked(ch->account);
  b.refunds = add_checked(b.refunds, amount);
  check_range(b);
  OpResult r{append(EntryKind::refund, ch->account, amount, key, charge_key, ch->job, user, note, 0, b.balance()),
             false, b};
  store_totals(b);
  t.commit();
  return r;
}

}  // namespace

std::unique_ptr<Ledger> open_sqlite_ledger(const std::string& path, const LedgerOptions& opts) {
  return std::make_unique<SqliteLedger>(path, opts);
}

}  // namespace paracloud

// The MariaDB/MySQL ledger: schema and migrations, locking, retries and reconnects, open errors.
// The rules (checks, replays, messages) are ledger_rules.cpp's; this file holds the storage calls.
//
// Same tables and rules as the SQLite ledger (ledger_sqlite.cpp), in InnoDB:
//   schema_version(id = 1, version)                    the schema version (SQLite: PRAGMA user_version)
//   accounts, members, journal (append-only: BEFORE UPDATE/DELETE triggers SIGNAL), totals, liens.
// All text columns are utf8mb4_bin (case-sensitive, as in SQLite); money is BIGINT minor units.
//
// Concurrency: sessions run at READ COMMITTED with explicit row locks (not SERIALIZABLE, whose
// implicit shared locks turn every read-then-write into a deadlock between two writers). Every
// operation that changes money is one transaction that first locks the account's totals row
// (SELECT ... FOR UPDATE), so operations on one account serialize across connections and hosts,
// and every later read in the transaction sees the latest committed state; operations on different
// accounts run in parallel. Account and membership changes lock the schema_version row (global,
// rare). The UNIQUE journal key makes a race between two uses of one idempotency key end in a
// duplicate-key error; the operation is then retried and replays the winner's entry.
// Deadlocks (1213) and lock-wait timeouts (1205) are retried up to kMaxAttempts times with a
// growing random pause; a lost connection (server restart, wait_timeout, KILL) is reconnected and
// the whole operation retried once per attempt: an operation whose COMMIT was sent but not
// acknowledged is repeated with the same idempotency key and therefore replays, never doubles.
//
// Round trips: a charge is two (START TRANSACTION + the account's FOR UPDATE + its balance and the
// key's entry; then the journal INSERT + derived-state UPDATEs + COMMIT), sent as multi-statement
// queries: the locking SELECT and the reads stay separate statements, so under READ COMMITTED the
// reads still see the state committed before the lock was granted. Every value is escaped (sql()).
//
// Durability is the server's: with innodb_flush_log_at_trx_commit=1 (MariaDB's default) a
// committed operation is on disk before the call returns, like SQLite with synchronous=FULL.
// Times (entry times, lien expiry) come from the host that writes: keep controllers' clocks in sync.
//
// Migrations: MariaDB commits DDL implicitly, so a migration is not one transaction. Migrating
// processes serialize on a named lock (GET_LOCK); every statement of a migration can be re-run
// (IF NOT EXISTS, recomputed derived tables), so a migration interrupted half-way is completed by
// the next open. The version row is written after the last statement of each migration.
#include <mysql.h>
#include <mysqld_error.h>
#include <errmsg.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>
#include <type_traits>

#include "common/error.hpp"
#include "ledger/ledger.hpp"
#include "ledger/ledger_rules.hpp"

namespace paracloud {
namespace {

constexpr int kSchemaVersion = 2;
constexpr int kMaxAttempts = 6;  // per operation: deadlocks, lock-wait timeouts, lost connections

const char* const kTableOptions = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

// Ordered migrations: kMigrations[i] brings a database from version i to i + 1. Never edit a
// released one; append. Every statement must be safe to run again (see the top of the file).
const std::vector<std::vector<std::string>>& migrations() {
  static const std::vector<std::vector<std::string>> m = {
      // v1: accounts, members, the append-only journal.
      {
          std::string("CREATE TABLE IF NOT EXISTS schema_version(id TINYINT NOT NULL PRIMARY KEY, "
                      "version INT NOT NULL)") + kTableOptions,
          std::string("CREATE TABLE IF NOT EXISTS accounts("
                      "name VARCHAR(64) NOT NULL PRIMARY KEY, parent VARCHAR(64) NOT NULL DEFAULT '', "
                      "credit_limit BIGINT NOT NULL DEFAULT 0 CHECK (credit_limit >= 0), "
                      "description TEXT NOT NULL, created BIGINT NOT NULL)") + kTableOptions,
          std::string("CREATE TABLE IF NOT EXISTS members("
                      "user VARCHAR(64) NOT NULL, account VARCHAR(64) NOT NULL, "
                      "is_default TINYINT NOT NULL DEFAULT 0, PRIMARY KEY (user, account), "
                      "FOREIGN KEY (account) REFERENCES accounts(name))") + kTableOptions,
          std::string("CREATE TABLE IF NOT EXISTS journal("
                      "id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, time BIGINT NOT NULL, "
                      "kind VARCHAR(8) NOT NULL CHECK (kind IN ('deposit','lien','release','charge','refund')), "
                      "account VARCHAR(64) NOT NULL, amount BIGINT NOT NULL, `key` VARCHAR(256) NOT NULL, "
                      "ref VARCHAR(256) NOT NULL DEFAULT '', job VARCHAR(255) NOT NULL DEFAULT '', "
                      "user VARCHAR(255) NOT NULL DEFAULT '', note TEXT NOT NULL, "
                      "expires BIGINT NOT NULL DEFAULT 0, balance_after BIGINT NOT NULL, "
                      "UNIQUE KEY journal_key (`key`), KEY journal_account_time (account, time), "
                      "FOREIGN KEY (account) REFERENCES accounts(name))") + kTableOptions,
          "CREATE TRIGGER IF NOT EXISTS journal_no_update BEFORE UPDATE ON journal FOR EACH ROW "
          "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the ledger journal is append-only'",
          "CREATE TRIGGER IF NOT EXISTS journal_no_delete BEFORE DELETE ON journal FOR EACH ROW "
          "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the ledger journal is append-only'",
      },
      // v2: derived per-account totals and lien state, so balance()/available() are O(1).
      {
          "ALTER TABLE journal ADD INDEX IF NOT EXISTS journal_ref (ref)",
          std::string("CREATE TABLE IF NOT EXISTS totals("
                      "account VARCHAR(64) NOT NULL PRIMARY KEY, deposits BIGINT NOT NULL DEFAULT 0, "
                      "charges BIGINT NOT NULL DEFAULT 0, refunds BIGINT NOT NULL DEFAULT 0, "
                      "FOREIGN KEY (account) REFERENCES accounts(name))") + kTableOptions,
          std::string("CREATE TABLE IF NOT EXISTS liens("
                      "`key` VARCHAR(256) NOT NULL PRIMARY KEY, entry_id BIGINT NOT NULL, "
                      "account VARCHAR(64) NOT NULL, amount BIGINT NOT NULL, expires BIGINT NOT NULL, "
                      "`open` TINYINT NOT NULL, KEY liens_open (account, `open`), "
                      "FOREIGN KEY (entry_id) REFERENCES journal(id), "
                      "FOREIGN KEY (account) REFERENCES accounts(name))") + kTableOptions,
          "DELETE FROM totals",
          "INSERT INTO totals(account, deposits, charges, refunds) SELECT a.name, "
          "COALESCE((SELECT SUM(amount) FROM journal WHERE account = a.name AND kind = 'deposit'), 0), "
          "COALESCE((SELECT SUM(amount) FROM journal WHERE account = a.name AND kind = 'charge'), 0), "
          "COALESCE((SELECT SUM(amount) FROM journal WHERE account = a.name AND kind = 'refund'), 0) "
          "FROM accounts a",
          "DELETE FROM liens",
          "INSERT INTO liens(`key`, entry_id, account, amount, expires, `open`) "
          "SELECT j.`key`, j.id, j.account, j.amount, j.expires, NOT EXISTS (SELECT 1 FROM journal r "
          "WHERE r.ref = j.`key` AND r.kind IN ('release', 'charge')) FROM journal j WHERE j.kind = 'lien'",
      },
  };
  return m;
}

const char* const kEntryColumns =
    "id, time, kind, account, amount, `key`, ref, job, user, note, expires, balance_after";
const char* const kEntryColumnsJ =
    "j.id, j.time, j.kind, j.account, j.amount, j.`key`, j.ref, j.job, j.user, j.note, j.expires, j.balance_after";

const char* const kWriteHint =
    "only SlurmUser/root can change balances: this handle was opened read-only; writers need the "
    "ledger database user's password (LedgerPassFile, readable by SlurmUser only)";

// A failure reported by the server or the client library, before it is turned into an Error.
struct DbFailure {
  unsigned code;
  std::string message;
};

bool connection_lost(unsigned code) {
  return code == CR_SERVER_GONE_ERROR || code == CR_SERVER_LOST || code == CR_SERVER_LOST_EXTENDED ||
         code == CR_CONNECTION_ERROR || code == CR_CONN_HOST_ERROR || code == ER_CONNECTION_KILLED ||
         code == ER_SERVER_SHUTDOWN;
}

std::int64_t to_i64(const std::string& s) { return s.empty() ? 0 : std::strtoll(s.c_str(), nullptr, 10); }

using Row = std::vector<std::string>;  // NULL reads as ""

Entry entry_from(const Row& r) {
  return ledger_rules::journal_entry([&](int c) { return r[static_cast<std::size_t>(c)]; },
                                     [&](int c) { return to_i64(r[static_cast<std::size_t>(c)]); }, "database");
}

// A value for a '?' placeholder: an integer or an escaped string literal.
struct Val {
  Val(std::int64_t v) : is_text(false), text(std::to_string(v)) {}  // NOLINT: implicit on purpose
  Val(int v) : Val(static_cast<std::int64_t>(v)) {}                  // NOLINT
  Val(const std::string& v) : is_text(true), text(v) {}              // NOLINT
  bool is_text;
  std::string text;
};

// ---------------------------------------------------------------- the ledger

class MariadbLedger final : public LedgerRules {
 public:
  MariadbLedger(const MariadbParams& p, const LedgerOptions& opts)
      : LedgerRules(opts.currency), p_(p), opts_(opts), name_(p.display()) {
    read_password();
    try {
      connect();
      migrate();
    } catch (...) {
      disconnect();  // a constructor that throws runs no destructor
      throw;
    }
  }
  ~MariadbLedger() override { disconnect(); }

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
  // ------------------------------------------------------------ connection
  void read_password();
  void connect();
  void connect_once(bool with_database);
  void disconnect() {
    if (db_) mysql_close(db_);
    db_ = nullptr;
  }
  [[noreturn]] void fail(const std::string& doing, const DbFailure& f) const;
  [[noreturn]] void throw_db() const { throw DbFailure{mysql_errno(db_), mysql_error(db_)}; }

  // ------------------------------------------------------------ statements
  std::string sql(const char* fmt, std::initializer_list<Val> vals) const;
  // Sends q, one statement or several separated by ';', in one round trip (the connection has
  // CLIENT_MULTI_STATEMENTS; every value in q went through sql()'s escaping). The server stops at
  // the first failing statement. Returns the rows of the last statement that returned rows
  // (NULL reads as ""); *first_id: the AUTO_INCREMENT id made by q's first statement. A write
  // transaction's START TRANSACTION travels with its first statement (begin_pending_).
  std::vector<Row> rows(const std::string& q, std::int64_t* first_id = nullptr) {
    const std::string text = begin_pending_ ? "START TRANSACTION; " + q : q;
    const int first = begin_pending_ ? 1 : 0;  // index of q's first statement in text
    begin_pending_ = false;
    if (mysql_real_query(db_, text.data(), text.size()) != 0) throw_db();
    std::vector<Row> out;
    for (int index = 0;; ++index) {
      if (MYSQL_RES* res = mysql_store_result(db_)) {
        out.clear();
        unsigned n = mysql_num_fields(res);
        while (MYSQL_ROW r = mysql_fetch_row(res)) {
          unsigned long* len = mysql_fetch_lengths(res);
          Row row(n);
          for (unsigned i = 0; i < n; ++i)
            if (r[i]) row[i].assign(r[i], len[i]);
          out.push_back(std::move(row));
        }
        mysql_free_result(res);
      } else if (mysql_field_count(db_) != 0) {
        throw_db();
      }
      if (first_id && index == first) *first_id = static_cast<std::int64_t>(mysql_insert_id(db_));
      int more = mysql_next_result(db_);  // 0: another result; -1: done; > 0: a statement failed
      if (more > 0) throw_db();
      if (more < 0) return out;
    }
  }
  void exec(const std::string& q) { rows(q); }

  // Runs body as one operation: a transaction when write is set. Retries deadlocks, lock-wait
  // timeouts, duplicate-key races and lost connections (bounded); turns failures into Error.
  template <class F>
  auto run(const char* doing, bool write, F&& body) -> decltype(body()) {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (write && opts_.read_only)
      throw ledger_rules::read_only(name_, kWriteHint);
    std::mt19937 rng(static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
    for (int attempt = 1;; ++attempt) {
      bool in_tx = false;
      begin_pending_ = committed_ = false;
      try {
        if (!db_) connect();
        if (write) {
          begin_pending_ = true;  // sent with the first statement: no round trip of its own
          in_tx = true;
        }
        if constexpr (std::is_void_v<decltype(body())>) {
          body();
          if (write) commit();
          return;
        } else {
          auto r = body();
          if (write) commit();
          return r;
        }
      } catch (const DbFailure& f) {
        begin_pending_ = false;
        const bool lost = connection_lost(f.code);
        if (lost) {
          disconnect();
        } else if (in_tx) {
          mysql_real_query(db_, "ROLLBACK", 8);
        }
        const bool retry = lost || f.code == ER_LOCK_DEADLOCK || f.code == ER_LOCK_WAIT_TIMEOUT ||
                           (write && f.code == ER_DUP_ENTRY);
        if (!retry || attempt >= kMaxAttempts || (f.code == ER_LOCK_WAIT_TIMEOUT && attempt >= 2)) {
          if (lost)
            throw Error(Errc::storage,
                        "ledger " + name_ + ": " + doing + ": lost the connection to the server (" + f.message +
                            ", MariaDB error " + std::to_string(f.code) + ") and " + std::to_string(attempt - 1) +
                            " reconnect(s) did not help",
                        "check that the MariaDB server at " + where() + " is running and reachable; retry");
          fail(doing, f);
        }
        if (!lost) {
          std::uniform_int_distribution<int> pause(1, 10 << attempt);  // ms, growing
          std::this_thread::sleep_for(std::chrono::milliseconds(pause(rng)));
        }
      } catch (...) {
        begin_pending_ = false;
        if (in_tx && db_) mysql_real_query(db_, "ROLLBACK", 8);
        throw;
      }
    }
  }

  // Ends a write transaction unless write() already sent its COMMIT (or nothing was sent at all).
  void commit() {
    if (begin_pending_)
      begin_pending_ = false;
    else if (!committed_)
      exec("COMMIT");
  }

  std::string where() const { return p_.socket.empty() ? p_.host + ":" + std::to_string(p_.port) : p_.socket; }
  void migrate();
  // 0: no schema yet. refuse_foreign: refuse a database that holds other tables but no schema
  // (only meaningful under the migration lock: a concurrent migrator creates tables one by one).
  int read_version(bool refuse_foreign);
  // Storage calls of LedgerRules.
  void write_transaction(const char* doing, const std::function<void()>& body) override {
    run(doing, true, body);
  }
  std::optional<Entry> entry(const std::string& key) override;
  Balance lock_balance(const std::string& account) override;  // locks the totals row
  Start entry_or_lock(const std::string& key, const std::string& account) override;
  std::pair<std::optional<Entry>, std::optional<LienState>> lien(const std::string& key) override;
  Balance read_balance(const std::string& account) override { return balance_now(account); }
  std::optional<LienState> lien_state(const std::string& key) override;
  bool lien_closed_early(const std::string& key) override;
  Money refunded(const std::string& charge_key) override;
  std::int64_t write(const Write& w) override;
  void store_credit_limit(const std::string& account, Money limit) override;
  void lock_directory() override;
  bool account_exists(const std::string& name) override;
  void insert_account(const Account& a) override;
  bool has_default_account(const std::string& user) override;
  void store_member(const std::string& user, const std::string& account, bool as_default) override;

  Balance balance_now(const std::string& account);
  // SQL of the balance (and, with key, the journal entry of key in columns 5...) of account.
  std::string balance_sql(const std::string& account, const std::string* key = nullptr) const;

  MariadbParams p_;
  LedgerOptions opts_;
  std::string name_;      // mysql://user@host:port/db, for messages
  std::string password_;
  bool has_password_ = false;
  MYSQL* db_ = nullptr;
  std::recursive_mutex mu_;  // one connection: calls from several threads are serialized
  bool begin_pending_ = false;  // a write transaction whose START TRANSACTION is not sent yet
  bool committed_ = false;      // write() sent the COMMIT of the current transaction
};

// ---------------------------------------------------------------- connection and errors

void MariadbLedger::read_password() {
  if (p_.password_file.empty()) return;
  std::ifstream in(p_.password_file);
  if (!in)
    throw Error(Errc::storage,
                "ledger " + name_ + ": cannot read the password file " + p_.password_file + ": " +
                    std::strerror(errno),
                "run as SlurmUser/root (the file should be mode 0600, owned by SlurmUser), or fix LedgerPassFile "
                "in paracloud.conf / passfile= in LedgerPath");
  std::getline(in, password_);
  while (!password_.empty() && (password_.back() == '\r' || password_.back() == ' ')) password_.pop_back();
  has_password_ = true;
}

void MariadbLedger::connect_once(bool with_database) {
  static std::once_flag init;
  std::call_once(init, [] { mysql_library_init(0, nullptr, nullptr); });
  disconnect();
  db_ = mysql_init(nullptr);
  if (!db_) throw Error(Errc::storage, "ledger " + name_ + ": out of memory creating a MariaDB connection");
  unsigned connect_timeout = 10;
  unsigned io_timeout = static_cast<unsigned>(opts_.busy_timeout_ms / 1000) + 60;  // > the lock wait
  my_bool no = 0;
  mysql_options(db_, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
  mysql_options(db_, MYSQL_OPT_READ_TIMEOUT, &io_timeout);
  mysql_options(db_, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
  mysql_options(db_, MYSQL_OPT_RECONNECT, &no);  // reconnects are ours: never mid-transaction
  mysql_options(db_, MYSQL_OPT_LOCAL_INFILE, &no);
  mysql_options(db_, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (!mysql_real_connect(db_, p_.host.c_str(), p_.user.empty() ? nullptr : p_.user.c_str(),
                          has_password_ ? password_.c_str() : nullptr,
                          with_database ? p_.database.c_str() : nullptr, p_.socket.empty() ? p_.port : 0,
                          p_.socket.empty() ? nullptr : p_.socket.c_str(), CLIENT_MULTI_STATEMENTS))
    throw_db();
  int lock_wait = std::max(1, opts_.busy_timeout_ms / 1000);
  // One round trip for the session settings (every CLI call opens a connection).
  exec("SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO'; "
       "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED; "
       "SET SESSION innodb_lock_wait_timeout = " + std::to_string(lock_wait) +
       (opts_.read_only ? "; SET SESSION TRANSACTION READ ONLY" : ""));
}

void MariadbLedger::connect() {
  try {
    connect_once(true);
  } catch (const DbFailure& f) {
    if (f.code != ER_BAD_DB_ERROR) fail("cannot connect", f);
    if (opts_.read_only || !opts_.create)
      throw Error(Errc::storage, "ledger " + name_ + ": database '" + p_.database + "' does not exist",
                  "create it by adding the first account as SlurmUser/root (paracloud bank account add NAME), "
                  "or fix LedgerPath in paracloud.conf");
    try {
      connect_once(false);
      exec("CREATE DATABASE IF NOT EXISTS `" + p_.database + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
      connect_once(true);
    } catch (const DbFailure& g) {
      disconnect();
      throw Error(Errc::storage,
                  "ledger " + name_ + ": database '" + p_.database + "' does not exist and cannot be created (" +
                      g.message + ", MariaDB error " + std::to_string(g.code) + ")",
                  "as the MariaDB administrator: CREATE DATABASE " + p_.database +
                      " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin; GRANT ALL ON " + p_.database + ".* TO '" +
                      (p_.user.empty() ? "USER" : p_.user) + "'@'CONTROLLER_HOST'");
    }
  }
}

void MariadbLedger::fail(const std::string& doing, const DbFailure& f) const {
  std::string what = "ledger " + name_ + ": " + doing + ": " + f.message + " (MariaDB error " +
                     std::to_string(f.code) + ")";
  const std::string user = p_.user.empty() ? "USER" : p_.user;
  switch (f.code) {
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_UNKNOWN_HOST:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
      throw Error(Errc::storage, what,
                  "check that the MariaDB server at " + where() +
                      " is running and reachable from this host, and the host, port or socket in LedgerPath");
    case ER_ACCESS_DENIED_ERROR:
      throw Error(Errc::storage, what,
                  "check the user in LedgerPath and the password in " +
                      (p_.password_file.empty() ? std::string("LedgerPassFile (none given)") : p_.password_file) +
                      "; the server needs: GRANT ALL ON " + p_.database + ".* TO '" + user +
                      "'@'CONTROLLER_HOST' IDENTIFIED BY '...'");
    case ER_DBACCESS_DENIED_ERROR:
    case ER_TABLEACCESS_DENIED_ERROR:
    case ER_SPECIFIC_ACCESS_DENIED_ERROR:
      throw Error(Errc::storage, what, "as the MariaDB administrator: GRANT ALL ON " + p_.database + ".* TO '" + user +
                                           "'@'CONTROLLER_HOST'");
    case ER_LOCK_DEADLOCK:
    case ER_LOCK_WAIT_TIMEOUT:
      throw Error(Errc::storage, what + " (another controller holds the account's lock)",
                  "retry; if it persists, look for a hung transaction (SHOW ENGINE INNODB STATUS)");
    case ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION:
      throw Error(Errc::storage, what, kWriteHint);
    case ER_SIGNAL_EXCEPTION:
    case ER_NO_SUCH_TABLE:
    case ER_BAD_FIELD_ERROR:
      throw Error(Errc::storage, what,
                  "the database was changed outside paracloud: restore it from a backup (mariadb-dump)");
    default:
      throw Error(Errc::storage, what);
  }
}

std::string MariadbLedger::sql(const char* fmt, std::initializer_list<Val> vals) const {
  std::string out;
  auto v = vals.begin();
  for (const char* c = fmt; *c; ++c) {
    if (*c != '?') {
      out += *c;
      continue;
    }
    if (v == vals.end()) throw Error(Errc::internal, std::string("too few values for query: ") + fmt);
    if (v->is_text) {
      std::string esc(v->text.size() * 2 + 1, '\0');
      unsigned long n = mysql_real_escape_string(db_, &esc[0], v->text.data(), v->text.size());
      out += '\'';
      out.append(esc.data(), n);
      out += '\'';
    } else {
      out += v->text;
    }
    ++v;
  }
  if (v != vals.end()) throw Error(Errc::internal, std::string("too many values for query: ") + fmt);
  return out;
}

// ---------------------------------------------------------------- schema

int MariadbLedger::read_version(bool refuse_foreign) {
  try {
    auto r = rows("SELECT version FROM schema_version WHERE id = 1");
    return r.empty() ? 0 : static_cast<int>(to_i64(r[0][0]));
  } catch (const DbFailure& f) {
    if (f.code != ER_NO_SUCH_TABLE) throw;
  }
  if (!refuse_foreign) return 0;
  auto n = rows("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()");
  if (!n.empty() && to_i64(n[0][0]) > 0)
    throw Error(Errc::storage,
                "ledger " + name_ + ": database '" + p_.database +
                    "' holds tables but no paracloud schema_version table: it is not a paracloud ledger",
                "point LedgerPath at an empty database (CREATE DATABASE ...) or at an existing paracloud ledger");
  return 0;
}

void MariadbLedger::migrate() {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  auto newer = [&](int v) { return ledger_rules::newer_schema(name_, v, kSchemaVersion); };
  try {
    int version = read_version(opts_.read_only);
    if (version > kSchemaVersion) throw newer(version);
    if (version == kSchemaVersion) return;
    if (opts_.read_only) throw ledger_rules::needs_upgrade(name_, version, kSchemaVersion);
    // Migrators serialize on a named lock; DDL commits implicitly, so this is no transaction.
    const std::string lock_name = "paracloud-ledger:" + p_.database.substr(0, 40);
    auto got = rows(sql("SELECT GET_LOCK(?, ?)", {lock_name, std::max(1, opts_.busy_timeout_ms / 1000)}));
    if (got.empty() || got[0][0] != "1")
      throw Error(Errc::storage, "ledger " + name_ + ": another process has been migrating the schema for too long",
                  "retry; if it persists, look for a hung paracloud process (SHOW PROCESSLIST)");
    struct Unlock {
      MariadbLedger& l;
      std::string name;
      ~Unlock() {
        try {
          if (l.db_) l.exec(l.sql("DO RELEASE_LOCK(?)", {name}));
        } catch (...) {
        }
      }
    } unlock{*this, lock_name};
    version = read_version(true);  // another process may have migrated while we waited
    if (version > kSchemaVersion) throw newer(version);
    for (int v = version; v < kSchemaVersion; ++v) {
      for (const std::string& stmt : migrations()[static_cast<std::size_t>(v)]) {
        try {
          exec(stmt);
        } catch (const DbFailure& f) {
          fail("migrating the schema to version " + std::to_string(v + 1) + " (statement: " + stmt.substr(0, 60) +
                   "...)",
               f);
        }
      }
      exec(sql("INSERT INTO schema_version(id, version) VALUES (1, ?) ON DUPLICATE KEY UPDATE version = ?",
               {v + 1, v + 1}));
    }
  } catch (const DbFailure& f) {
    fail("reading the schema version", f);
  }
}

int MariadbLedger::schema_version() {
  return run("reading the schema version", false, [&] { return read_version(false); });
}

// ---------------------------------------------------------------- accounts and members

void MariadbLedger::lock_directory() {
  exec("SELECT version FROM schema_version WHERE id = 1 FOR UPDATE");  // account/membership changes serialize
}

bool MariadbLedger::account_exists(const std::string& name) {
  return !rows(sql("SELECT 1 FROM accounts WHERE name = ?", {name})).empty();
}

void MariadbLedger::insert_account(const Account& a) {
  exec(sql("INSERT INTO accounts(name, parent, credit_limit, description, created) VALUES (?, ?, ?, ?, ?)",
           {a.name, a.parent, a.credit_limit, a.description, a.created}));
  exec(sql("INSERT INTO totals(account) VALUES (?)", {a.name}));
}

std::optional<Account> MariadbLedger::find_account(const std::string& name) {
  return run("reading an account", false, [&]() -> std::optional<Account> {
    auto r = rows(sql("SELECT name, parent, credit_limit, description, created FROM accounts WHERE name = ?", {name}));
    if (r.empty()) return std::nullopt;
    return Account{r[0][0], r[0][1], to_i64(r[0][2]), r[0][3], to_i64(r[0][4])};
  });
}

std::vector<Account> MariadbLedger::list_accounts() {
  return run("listing accounts", false, [&] {
    std::vector<Account> out;
    for (const Row& r : rows("SELECT name, parent, credit_limit, description, created FROM accounts ORDER BY name"))
      out.push_back(Account{r[0], r[1], to_i64(r[2]), r[3], to_i64(r[4])});
    return out;
  });
}

void MariadbLedger::store_credit_limit(const std::string& account, Money limit) {
  exec(sql("UPDATE accounts SET credit_limit = ? WHERE name = ?", {limit, account}));
}

bool MariadbLedger::has_default_account(const std::string& user) {
  return !rows(sql("SELECT 1 FROM members WHERE user = ? AND is_default = 1", {user})).empty();
}

void MariadbLedger::store_member(const std::string& user, const std::string& account, bool as_default) {
  if (as_default) exec(sql("UPDATE members SET is_default = 0 WHERE user = ? AND account <> ?", {user, account}));
  exec(sql("INSERT INTO members(user, account, is_default) VALUES (?, ?, ?) "
           "ON DUPLICATE KEY UPDATE is_default = GREATEST(is_default, VALUES(is_default))",
           {user, account, as_default ? 1 : 0}));
}

std::vector<std::string> MariadbLedger::users_of(const std::string& account) {
  return run("listing members", false, [&] {
    std::vector<std::string> out;
    for (const Row& r : rows(sql("SELECT user FROM members WHERE account = ? ORDER BY user", {account})))
      out.push_back(r[0]);
    return out;
  });
}

std::vector<std::string> MariadbLedger::accounts_of(const std::string& user) {
  return run("listing a user's accounts", false, [&] {
    std::vector<std::string> out;
    for (const Row& r :
         rows(sql("SELECT account FROM members WHERE user = ? ORDER BY is_default DESC, account", {user})))
      out.push_back(r[0]);
    return out;
  });
}

std::optional<std::string> MariadbLedger::default_account(const std::string& user) {
  return run("reading a default account", false, [&]() -> std::optional<std::string> {
    auto r = rows(sql("SELECT account FROM members WHERE user = ? AND is_default = 1 ORDER BY account LIMIT 1", {user}));
    if (r.empty()) return std::nullopt;
    return r[0][0];
  });
}

bool MariadbLedger::is_member(const std::string& user, const std::string& account) {
  return run("reading a membership", false, [&] {
    return !rows(sql("SELECT 1 FROM members WHERE user = ? AND account = ?", {user, account})).empty();
  });
}

// ---------------------------------------------------------------- balances and the journal

std::string MariadbLedger::balance_sql(const std::string& account, const std::string* key) const {
  // One statement: a consistent snapshot of totals, credit limit and active liens.
  std::string q = sql("SELECT t.deposits, t.charges, t.refunds, a.credit_limit, "
                      "  (SELECT COALESCE(SUM(l.amount), 0) FROM liens l "
                      "   WHERE l.account = a.name AND l.`open` = 1 AND (l.expires = 0 OR l.expires > ?))",
                      {ledger_now()});
  if (key) q += std::string(", ") + kEntryColumnsJ;
  q += " FROM accounts a JOIN totals t ON t.account = a.name";
  if (key) q += sql(" LEFT JOIN journal j ON j.`key` = ?", {*key});
  return q + sql(" WHERE a.name = ?", {account});
}

namespace {
Balance balance_from(const Row& r, const std::string& account) {
  Balance b;
  b.account = account;
  b.deposits = to_i64(r[0]);
  b.charges = to_i64(r[1]);
  b.refunds = to_i64(r[2]);
  b.credit_limit = to_i64(r[3]);
  b.held = to_i64(r[4]);
  return b;
}
}  // namespace

Balance MariadbLedger::balance_now(const std::string& account) {
  auto r = rows(balance_sql(account));
  if (r.empty()) throw ledger_rules::unknown_account(account);
  return balance_from(r[0], account);
}

// The account's lock: every change of its money holds its totals row until COMMIT. The locking
// SELECT and the balance SELECT travel in one round trip but stay two statements, so the balance is
// read (READ COMMITTED: a fresh snapshot per statement) only once the lock is held.
Balance MariadbLedger::lock_balance(const std::string& account) {
  auto r = rows(sql("SELECT account FROM totals WHERE account = ? FOR UPDATE; ", {account}) + balance_sql(account));
  if (r.empty()) throw ledger_rules::unknown_account(account);
  return balance_from(r[0], account);
}

// lock_balance() and the entry of `key` in one round trip (the entry read under the lock).
LedgerRules::Start MariadbLedger::entry_or_lock(const std::string& key, const std::string& account) {
  auto r = rows(sql("SELECT account FROM totals WHERE account = ? FOR UPDATE; ", {account}) +
                balance_sql(account, &key));
  Start s;
  if (r.empty()) {  // unknown account: a replay of key still comes first
    s.first = entry(key);
    if (!s.first) throw ledger_rules::unknown_account(account);
    return s;
  }
  s.locked = balance_from(r[0], account);
  if (!r[0][5].empty()) s.first = entry_from(Row(r[0].begin() + 5, r[0].end()));
  return s;
}

std::pair<std::optional<Entry>, std::optional<LedgerRules::LienState>> MariadbLedger::lien(const std::string& key) {
  auto r = rows(sql((std::string("SELECT ") + kEntryColumnsJ +
                     ", l.`open`, l.expires FROM journal j LEFT JOIN liens l ON l.`key` = j.`key` WHERE j.`key` = ?")
                        .c_str(),
                    {key}));
  if (r.empty()) return {std::nullopt, std::nullopt};
  Entry e = entry_from(r[0]);
  if (e.kind != EntryKind::lien || r[0][12].empty()) return {e, std::nullopt};
  return {e, LienState{r[0][12] == "1", to_i64(r[0][13])}};
}

Balance MariadbLedger::balance(const std::string& account) {
  return run("reading a balance", false, [&] { return balance_now(account); });
}

std::optional<Entry> MariadbLedger::entry(const std::string& key) {
  auto r = rows(sql((std::string("SELECT ") + kEntryColumns + " FROM journal WHERE `key` = ?").c_str(), {key}));
  if (r.empty()) return std::nullopt;
  return entry_from(r[0]);
}

std::optional<Entry> MariadbLedger::find_entry(const std::string& key) {
  return run("reading a journal entry", false, [&] { return entry(key); });
}

std::vector<Entry> MariadbLedger::statement(const StatementQuery& sq) {
  return run("reading a statement", false, [&] {
    require_account(sq.account);
    std::string q = sql((std::string("SELECT ") + kEntryColumns +
                         " FROM journal WHERE account = ? AND time >= ? AND (? = 0 OR time < ?) ORDER BY id")
                            .c_str(),
                        {sq.account, sq.since, sq.until, sq.until});
    if (sq.limit != 0) q += " LIMIT " + std::to_string(sq.limit);
    std::vector<Entry> out;
    for (const Row& r : rows(q)) out.push_back(entry_from(r));
    return out;
  });
}

std::vector<Entry> MariadbLedger::active_liens(const std::string& account) {
  return run("listing active liens", false, [&] {
    if (!account.empty()) require_account(account);
    std::vector<Entry> out;
    for (const Row& r : rows(sql((std::string("SELECT ") + kEntryColumnsJ +
                                  " FROM liens l JOIN journal j ON j.id = l.entry_id WHERE l.`open` = 1 AND "
                                  "(l.expires = 0 OR l.expires > ?) AND (? = '' OR l.account = ?) ORDER BY j.id")
                                     .c_str(),
                                 {ledger_now(), account, account})))
      out.push_back(entry_from(r));
    return out;
  });
}

std::optional<LedgerRules::LienState> MariadbLedger::lien_state(const std::string& key) {
  auto r = rows(sql("SELECT `open`, expires FROM liens WHERE `key` = ?", {key}));
  if (r.empty()) return std::nullopt;
  return LienState{r[0][0] == "1", to_i64(r[0][1])};
}

bool MariadbLedger::lien_closed_early(const std::string& key) {
  return !rows(sql("SELECT 1 FROM journal WHERE ref = ? AND kind IN ('release', 'charge') LIMIT 1", {key})).empty();
}

Money MariadbLedger::refunded(const std::string& charge_key) {
  auto s = rows(sql("SELECT COALESCE(SUM(amount), 0) FROM journal WHERE ref = ? AND kind = 'refund'", {charge_key}));
  return s.empty() ? 0 : to_i64(s[0][0]);
}

// One round trip: the journal entry first (its id is LAST_INSERT_ID() for the liens row), the
// derived state, and the transaction's COMMIT; the server stops at the first failing statement,
// and run() then rolls back.
std::int64_t MariadbLedger::write(const Write& w) {
  const Entry& e = w.entry;
  std::string q = sql("INSERT INTO journal(time, kind, account, amount, `key`, ref, job, user, note, expires, "
                      "balance_after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      {e.time, std::string(to_string(e.kind)), e.account, e.amount, e.key, e.ref, e.job, e.user,
                       e.note, e.expires, e.balance_after});
  if (!w.close_lien.empty()) q += sql("; UPDATE liens SET `open` = 0 WHERE `key` = ?", {w.close_lien});
  if (w.insert_lien)
    q += sql("; INSERT INTO liens(`key`, entry_id, account, amount, expires, `open`) "
             "VALUES (?, LAST_INSERT_ID(), ?, ?, ?, ?)",
             {e.key, e.account, e.amount, e.expires, w.lien_open ? 1 : 0});
  if (w.totals)
    q += sql("; UPDATE totals SET deposits = ?, charges = ?, refunds = ? WHERE account = ?",
             {w.totals->deposits, w.totals->charges, w.totals->refunds, w.totals->account});
  std::int64_t id = 0;
  rows(q + "; COMMIT", &id);
  committed_ = true;
  return id;
}

}  // namespace

bool mariadb_ledger_built() { return true; }

std::unique_ptr<Ledger> open_mariadb_ledger(const MariadbParams& params, const LedgerOptions& opts) {
  return std::make_unique<MariadbLedger>(params, opts);
}

}  // namespace paracloud

// Test fixture for the ledger tests: a fresh, empty ledger store per test on the backend chosen by
// $PARACLOUD_TEST_LEDGER (unset: SQLite files in a scratch directory; mysql://USER@HOST[:PORT]/PREFIX
// [?socket=..&passfile=..]: one fresh MariaDB database PREFIX_<pid>_<n> per store, dropped at the end),
// plus raw access that bypasses the code under test (row counts, SQL the ledger must refuse).
#pragma once
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "config.h"  // HAVE_MARIADB
#include "ledger/ledger.hpp"
#ifdef HAVE_MARIADB
#include <mysql.h>
#endif

namespace ledger_test {

inline std::string backend_spec() {
  const char* s = std::getenv("PARACLOUD_TEST_LEDGER");
  return s && *s && std::string(s) != "sqlite" ? s : "";
}
inline bool on_mariadb() { return !backend_spec().empty(); }

class Store {
 public:
  Store() {
    char tmpl[] = "/tmp/test_ledger.XXXXXX";
    cr_assert_not_null(mkdtemp(tmpl));
    dir = tmpl;
    if (on_mariadb()) {
      base_ = paracloud::parse_ledger_url(backend_spec());
      static int counter = 0;
      prefix_ = base_.database + "_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
    }
  }
  ~Store() {
    std::error_code ec;
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(dir, ec);
#ifdef HAVE_MARIADB
    for (const auto& db : created_) raw_mariadb("", "DROP DATABASE IF EXISTS `" + db + "`", nullptr);
#endif
  }
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  std::string dir;  // scratch directory (both backends: writers' records, SQLite files)

  bool sqlite() const { return !on_mariadb(); }
  // The LedgerPath value of ledger `name` of this store (not created yet).
  std::string spec(const std::string& name = "ledger") {
    if (sqlite()) return dir + "/" + name + ".db";
    std::string db = database(name);
    if (std::find(created_.begin(), created_.end(), db) == created_.end()) created_.push_back(db);  // dropped at the end
    std::string url = backend_spec();
    auto q = url.find('?');
    std::string query = q == std::string::npos ? "" : url.substr(q);
    std::string head = url.substr(0, q);
    return head.substr(0, head.rfind('/') + 1) + db + query;
  }
  // How error messages name the ledger: the path, or mysql://user@host:port/db.
  std::string shown(const std::string& name = "ledger") {
    return sqlite() ? spec(name) : paracloud::parse_ledger_url(spec(name)).display();
  }
  // Makes ledger `name` exist but empty: a 0-byte file, or an empty database.
  void make_empty(const std::string& name = "ledger") {
    if (sqlite()) {
      std::ofstream(spec(name)).flush();
      return;
    }
    exec_ok(name, "");  // creates the database
  }
  // Runs SQL directly (several ';'-separated statements); true when every statement succeeded.
  bool exec(const std::string& sql, const std::string& name = "ledger") {
    if (sqlite()) {
      sqlite3* db = nullptr;
      cr_assert_eq(sqlite3_open(spec(name).c_str(), &db), SQLITE_OK);
      int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
      sqlite3_close(db);
      return rc == SQLITE_OK;
    }
    return exec_ok(name, sql);
  }
  // Rows of a query, every column as text (NULL as "").
  std::vector<std::vector<std::string>> query(const std::string& sql, const std::string& name = "ledger") {
    std::vector<std::vector<std::string>> out;
    if (sqlite()) {
      sqlite3* db = nullptr;
      cr_assert_eq(sqlite3_open_v2(spec(name).c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
      sqlite3_stmt* s = nullptr;
      cr_assert_eq(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK, "%s", sqlite3_errmsg(db));
      while (sqlite3_step(s) == SQLITE_ROW) {
        std::vector<std::string> row;
        for (int c = 0; c < sqlite3_column_count(s); ++c) {
          const unsigned char* t = sqlite3_column_text(s, c);
          row.push_back(t ? reinterpret_cast<const char*>(t) : "");
        }
        out.push_back(row);
      }
      sqlite3_finalize(s);
      sqlite3_close(db);
      return out;
    }
#ifdef HAVE_MARIADB
    raw_mariadb(database(name), sql, &out);
#endif
    return out;
  }
  long long journal_rows(const std::string& name = "ledger") {
    auto r = query("SELECT count(*) FROM journal", name);
    cr_assert_eq(r.size(), 1u);
    return std::atoll(r[0][0].c_str());
  }
  // Pretends a newer paracloud wrote the ledger.
  bool set_schema_version(int v, const std::string& name = "ledger") {
    return exec(sqlite() ? "PRAGMA user_version = " + std::to_string(v)
                         : "UPDATE schema_version SET version = " + std::to_string(v) + " WHERE id = 1",
                name);
  }

 private:
  std::string database(const std::string& name) {
    std::string db = prefix_ + "_" + name;
    for (char& c : db)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
    return db;
  }
  bool exec_ok(const std::string& name, const std::string& sql) {
#ifdef HAVE_MARIADB
    return raw_mariadb(database(name), sql, nullptr);
#else
    (void)name;
    (void)sql;
    cr_assert_fail("PARACLOUD_TEST_LEDGER names MariaDB, but this build has no MariaDB support");
    return false;
#endif
  }
#ifdef HAVE_MARIADB
  // One raw connection per call (safe across fork()); db "" connects without a database. A
  // non-empty db is created first. Returns whether every statement succeeded.
  bool raw_mariadb(const std::string& db, const std::string& sql, std::vector<std::vector<std::string>>* rows) {
    MYSQL* m = mysql_init(nullptr);
    std::string pass;
    if (!base_.password_file.empty()) {
      std::ifstream in(base_.password_file);
      std::getline(in, pass);
    }
    cr_assert_not_null(mysql_real_connect(m, base_.host.c_str(), base_.user.empty() ? nullptr : base_.user.c_str(),
                                          base_.password_file.empty() ? nullptr : pass.c_str(), nullptr,
                                          base_.socket.empty() ? base_.port : 0,
                                          base_.socket.empty() ? nullptr : base_.socket.c_str(), CLIENT_MULTI_STATEMENTS),
                       "raw MariaDB connection to %s: %s", base_.display().c_str(), mysql_error(m));
    bool ok = true;
    if (!db.empty()) {
      std::string create = "CREATE DATABASE IF NOT EXISTS `" + db + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin";
      cr_assert_eq(mysql_query(m, create.c_str()), 0, "%s: %s", create.c_str(), mysql_error(m));
      cr_assert_eq(mysql_select_db(m, db.c_str()), 0, "%s", mysql_error(m));
      if (std::find(created_.begin(), created_.end(), db) == created_.end()) created_.push_back(db);
    }
    if (!sql.empty()) {
      ok = mysql_query(m, sql.c_str()) == 0;
      while (ok) {
        if (MYSQL_RES* res = mysql_store_result(m)) {
          unsigned n = mysql_num_fields(res);
          while (MYSQL_ROW r = mysql_fetch_row(res)) {
            if (!rows) continue;
            std::vector<std::string> row;
            for (unsigned i = 0; i < n; ++i) row.push_back(r[i] ? r[i] : "");
            rows->push_back(row);
          }
          mysql_free_result(res);
        } else if (mysql_field_count(m) != 0) {
          ok = false;
        }
        int next = mysql_next_result(m);
        if (next == -1) break;
        if (next > 0) ok = false;
      }
    }
    mysql_close(m);
    return ok;
  }
#endif
  paracloud::MariadbParams base_;
  std::string prefix_;
  std::vector<std::string> created_;
};

}  // namespace ledger_test

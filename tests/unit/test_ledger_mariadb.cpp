// Tests of the MariaDB/MySQL ledger backend beyond the shared ledger tests: LedgerPath URL parsing
// and the open_ledger() factory (always), and, with PARACLOUD_TEST_LEDGER=mysql://... (see
// tests/integration/test_ledger_mariadb.sh), server-side errors, reconnects and interrupted migrations.
#include <criterion/criterion.h>

#include <fstream>
#include <functional>
#include <string>

#include "config/config.hpp"
#include "common/error.hpp"
#include "ledger/ledger.hpp"
#include "ledger_test_store.hpp"

using namespace paracloud;
using ledger_test::Store;

namespace {

Error expect_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  cr_assert_fail("expected a paracloud::Error, none was thrown");
  throw std::logic_error("unreachable");
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

void need_server() {
  if (!mariadb_ledger_built()) cr_skip_test("SKIP: built without libmariadb");
  if (!ledger_test::on_mariadb())
    cr_skip_test("SKIP: needs PARACLOUD_TEST_LEDGER=mysql://... (run tests/integration/test_ledger_mariadb.sh)");
}

}  // namespace

Test(ledger_url, parses_every_part) {
  MariadbParams p = parse_ledger_url("mysql://slurm@db1.example.org:3307/paracloud");
  cr_expect_eq(p.user, "slurm");
  cr_expect_eq(p.host, "db1.example.org");
  cr_expect_eq(p.port, 3307u);
  cr_expect_eq(p.database, "paracloud");
  cr_expect(p.socket.empty() && p.password_file.empty());
  cr_expect_eq(p.display(), "mysql://slurm@db1.example.org:3307/paracloud");

  p = parse_ledger_url("mariadb://pc@localhost/ledger_1?socket=/run/mysqld/mysqld.sock&passfile=/etc/slurm/pc.pass");
  cr_expect_eq(p.host, "localhost");
  cr_expect_eq(p.port, 3306u);
  cr_expect_eq(p.socket, "/run/mysqld/mysqld.sock");
  cr_expect_eq(p.password_file, "/etc/slurm/pc.pass");
  cr_expect(contains(p.display(), "socket /run/mysqld/mysqld.sock"), "%s", p.display().c_str());

  p = parse_ledger_url("mysql://dbhost/acct");  // user: the login name
  cr_expect(p.user.empty());
  cr_expect_eq(p.host, "dbhost");
  cr_expect(is_ledger_url("mariadb://x/y"));
  cr_expect_not(is_ledger_url("/var/lib/paracloud/ledger.db"));
}

Test(ledger_url, refuses_malformed_urls) {
  struct Case {
    const char* url;
    const char* says;
  };
  for (const Case& c : {Case{"mysql://u@h:0/db", "port"}, Case{"mysql://u@h:99999/db", "port"},
                        Case{"mysql://u@h:x1/db", "port"}, Case{"mysql://u@h", "no database"},
                        Case{"mysql://u@h/", "no database"}, Case{"mysql://u@h/my-db", "database name"},
                        Case{"mysql://u@h/db?ssl=1", "unknown parameter 'ssl'"},
                        Case{"mysql://u@h/db?socket=rel/sock", "absolute path"},
                        Case{"mysql://u@remote/db?socket=/s", "only used with host 'localhost'"},
                        Case{"mysql://@h/db", "empty user"}}) {
    Error e = expect_error([&] { parse_ledger_url(c.url); });
    cr_expect_eq(e.code(), Errc::config, "%s", c.url);
    cr_expect(contains(e.what(), c.says), "%s: %s", c.url, e.what());
    cr_expect_not(e.hint().empty(), "%s", c.url);
  }
  // A password in the URL is refused and never repeated in the message.
  Error e = expect_error([&] { parse_ledger_url("mysql://u:hunter2@h/db"); });
  cr_expect_eq(e.code(), Errc::config);
  cr_expect_not(contains(e.what(), "hunter2"), "%s", e.what());
  cr_expect(contains(e.hint(), "LedgerPassFile"), "%s", e.hint().c_str());
}

Test(ledger_url, factory_dispatches_on_the_scheme) {
  if (ledger_test::on_mariadb()) cr_skip_test("SQLite-only part");  // before Store: a skip does not unwind
  Store s;
  auto l = open_ledger(s.spec());  // a plain path: SQLite
  cr_expect_eq(l->schema_version(), 2);
  Error e = expect_error([&] { open_ledger("http://db/x"); });
  cr_expect_eq(e.code(), Errc::config);
  cr_expect(contains(e.what(), "unknown URL scheme 'http'"), "%s", e.what());
  if (!mariadb_ledger_built()) {
    e = expect_error([&] { open_ledger("mysql://u@h/db"); });
    cr_expect_eq(e.code(), Errc::storage);
    cr_expect(contains(e.what(), "built without MariaDB"), "%s", e.what());
  }
}

Test(ledger_url, config_accepts_urls_for_ledger_path_only) {
  Config c = parse_config("LedgerPath=mysql://slurm@db:3306/paracloud\nLedgerPassFile=/etc/slurm/ledger.pass\n", "t.conf");
  cr_expect_eq(c.ledger_path, "mysql://slurm@db:3306/paracloud");
  cr_expect_eq(c.get("LedgerPassFile"), "/etc/slurm/ledger.pass");
  for (const char* bad : {"LedgerPath=ledger.db\n", "AccountingLog=mysql://a@b/c\n", "LedgerPassFile=pass\n"}) {
    Error e = expect_error([&] { parse_config(bad, "t.conf"); });
    cr_expect_eq(e.code(), Errc::config, "%s", bad);
    cr_expect(contains(e.what(), "relative path"), "%s: %s", bad, e.what());
  }
}

// ---------------------------------------------------------------- against a server

Test(ledger_mariadb, unreachable_server_names_it_and_the_fix) {
  if (!mariadb_ledger_built()) cr_skip_test("SKIP: built without libmariadb");
  Error e = expect_error([&] { open_ledger("mysql://pc@127.0.0.1:1/nowhere"); });
  cr_expect_eq(e.code(), Errc::storage);
  cr_expect(contains(e.what(), "mysql://pc@127.0.0.1:1/nowhere"), "%s", e.what());
  cr_expect(contains(e.hint(), "running and reachable"), "%s", e.hint().c_str());
  e = expect_error([&] { open_ledger("mysql://pc@127.0.0.1:1/db?passfile=/nonexistent/pass"); });
  cr_expect(contains(e.what(), "/nonexistent/pass"), "%s", e.what());
  cr_expect(contains(e.hint(), "LedgerPassFile"), "%s", e.hint().c_str());
}

Test(ledger_mariadb, not_a_ledger_database) {
  need_server();
  Store s;
  cr_assert(s.exec("CREATE TABLE unrelated(x INT); INSERT INTO unrelated VALUES (7)"));
  for (bool ro : {false, true}) {
    LedgerOptions o;
    o.read_only = ro;
    Error e = expect_error([&] { open_ledger(s.spec(), o); });
    cr_expect_eq(e.code(), Errc::storage);
    cr_expect(contains(e.what(), "not a paracloud ledger"), "%s", e.what());
    cr_expect(contains(e.what(), s.shown()), "%s", e.what());
    cr_expect(contains(e.hint(), "LedgerPath"), "%s", e.hint().c_str());
  }
  cr_expect_eq(s.query("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE()")[0][0], "1");
}

Test(ledger_mariadb, missing_database_errors) {
  need_server();
  Store s;
  const std::string db = s.shown().substr(s.shown().rfind('/') + 1);
  for (bool ro : {false, true}) {
    LedgerOptions o;
    o.read_only = ro;
    o.create = false;
    Error e = expect_error([&] { open_ledger(s.spec(), o); });
    cr_expect_eq(e.code(), Errc::storage);
    cr_expect(contains(e.what(), "does not exist"), "%s", e.what());
    cr_expect(contains(e.what(), s.shown()), "%s", e.what());
  }
  auto exists = [&] {
    return s.query("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = '" + db + "'", "probe")[0][0];
  };
  cr_expect_eq(exists(), "0");
  auto l = open_ledger(s.spec());  // create = true: creates the database and the schema
  cr_expect_eq(l->schema_version(), 2);
  cr_expect_eq(exists(), "1");
}

Test(ledger_mariadb, wrong_password_names_the_fix) {
  need_server();
  if (parse_ledger_url(ledger_test::backend_spec()).password_file.empty())
    cr_skip_test("SKIP: the test URL has no passfile= (socket authentication)");
  Store s;
  MariadbParams p = parse_ledger_url(s.spec());
  std::string bad = s.dir + "/wrong.pass";
  std::ofstream(bad) << "not-the-password\n";
  std::string spec = s.spec();
  spec.replace(spec.find(p.password_file), p.password_file.size(), bad);
  Error e = expect_error([&] { open_ledger(spec); });
  cr_expect_eq(e.code(), Errc::storage);
  cr_expect(contains(e.what(), "Access denied"), "%s", e.what());
  cr_expect(contains(e.hint(), bad) && contains(e.hint(), "GRANT"), "%s", e.hint().c_str());
  // LedgerOptions::password_file (LedgerPassFile=) is used when the URL has none.
  std::string no_file = spec.substr(0, spec.find("passfile=") - 1);
  LedgerOptions o;
  o.password_file = p.password_file;
  cr_expect_eq(open_ledger(no_file, o)->schema_version(), 2);
}

Test(ledger_mariadb, lost_connection_reconnects_transparently) {
  need_server();
  Store s;
  auto l = open_ledger(s.spec());
  Account a;
  a.name = "proj";
  l->add_account(a);
  l->deposit("proj", 1000, "d1", "root", "");
  const std::string db = s.shown().substr(s.shown().rfind('/') + 1);
  auto kill_ledger_connections = [&] {
    auto ids = s.query("SELECT id FROM information_schema.processlist WHERE db = '" + db + "' AND id <> CONNECTION_ID()");
    cr_assert_geq(ids.size(), 1u, "the ledger's connection is visible");
    for (const auto& r : ids) s.exec("KILL CONNECTION " + r[0]);
  };
  kill_ledger_connections();
  cr_expect_eq(l->balance("proj").balance(), 1000);  // a read after the kill
  kill_ledger_connections();
  OpResult c = l->charge("proj", 300, "c1", "", "", "u", "");  // a write after the kill
  cr_expect_not(c.replayed);
  cr_expect_eq(c.after.balance(), 700);
  kill_ledger_connections();
  cr_expect(l->charge("proj", 300, "c1", "", "", "u", "").replayed);  // replays, never doubles
  cr_expect_eq(s.journal_rows(), 2);
  cr_expect_eq(l->balance("proj").balance(), 700);
}

Test(ledger_mariadb, interrupted_migration_is_completed) {
  need_server();
  Store s;
  // What a migration that died after its first statements leaves: tables, no version row.
  cr_assert(s.exec("CREATE TABLE schema_version(id TINYINT NOT NULL PRIMARY KEY, version INT NOT NULL) ENGINE=InnoDB;"
                   "CREATE TABLE accounts(name VARCHAR(64) NOT NULL PRIMARY KEY, parent VARCHAR(64) NOT NULL DEFAULT '',"
                   " credit_limit BIGINT NOT NULL DEFAULT 0 CHECK (credit_limit >= 0), description TEXT NOT NULL,"
                   " created BIGINT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"));
  auto l = open_ledger(s.spec());
  cr_expect_eq(l->schema_version(), 2);
  Account a;
  a.name = "x";
  l->add_account(a);
  l->deposit("x", 5, "d", "root", "");
  cr_expect_eq(l->balance("x").balance(), 5);
  cr_expect_eq(s.query("SELECT version FROM schema_version WHERE id = 1")[0][0], "2");
}

Test(ledger_mariadb, keys_and_names_are_case_sensitive) {
  need_server();
  Store s;
  auto l = open_ledger(s.spec());
  Account a;
  a.name = "Proj";
  l->add_account(a);
  a.name = "proj";
  l->add_account(a);  // a different account, as in SQLite
  l->deposit("proj", 10, "Key", "root", "");
  cr_expect_not(l->deposit("proj", 20, "key", "root", "").replayed);
  cr_expect_eq(l->balance("proj").balance(), 30);
  cr_expect_eq(l->balance("Proj").balance(), 0);
}

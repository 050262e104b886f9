// Unit tests of the ledger: money rules, idempotency, liens, statements, migrations, open errors.
// SQLite by default; the same tests run on MariaDB with PARACLOUD_TEST_LEDGER=mysql://... (ledger_test_store.hpp).
#include <criterion/criterion.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "common/error.hpp"
#include "ledger/ledger.hpp"
#include "ledger_test_store.hpp"

using namespace paracloud;
namespace fs = std::filesystem;

namespace {

using Store = ledger_test::Store;

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

void expect_same_entry(const Entry& a, const Entry& b) {
  cr_expect_eq(a.id, b.id);
  cr_expect_eq(a.time, b.time);
  cr_expect_eq(a.kind, b.kind);
  cr_expect_eq(a.account, b.account);
  cr_expect_eq(a.amount, b.amount);
  cr_expect_eq(a.key, b.key);
  cr_expect_eq(a.ref, b.ref);
  cr_expect_eq(a.job, b.job);
  cr_expect_eq(a.user, b.user);
  cr_expect_eq(a.note, b.note);
  cr_expect_eq(a.expires, b.expires);
  cr_expect_eq(a.balance_after, b.balance_after);
}

void expect_same_balance(const Balance& a, const Balance& b) {
  cr_expect_eq(a.deposits, b.deposits);
  cr_expect_eq(a.charges, b.charges);
  cr_expect_eq(a.refunds, b.refunds);
  cr_expect_eq(a.held, b.held);
  cr_expect_eq(a.credit_limit, b.credit_limit);
}

std::unique_ptr<Ledger> fresh(Store& s, const std::string& account = "proj") {
  auto l = open_ledger(s.spec());
  Account a;
  a.name = account;
  l->add_account(a);
  return l;
}

void reset_clock() { set_ledger_clock_for_tests(0); }

}  // namespace

TestSuite(ledger, .fini = reset_clock);

Test(ledger, deposit_charge_refund_balance) {
  Store s;
  auto l = fresh(s);
  OpResult d = l->deposit("proj", 10000, "dep-1", "root", "first");
  cr_expect_not(d.replayed);
  cr_expect_eq(d.entry.kind, EntryKind::deposit);
  cr_expect_eq(d.entry.balance_after, 10000);
  cr_expect_eq(d.after.balance(), 10000);
  OpResult c = l->charge("proj", 2500, "ch-1", "", "c:1", "alice", "");
  cr_expect_eq(c.entry.balance_after, 7500);
  OpResult r = l->refund("ch-1", 500, "rf-1", "root", "sorry");
  cr_expect_eq(r.entry.balance_after, 8000);
  cr_expect_eq(r.entry.account, "proj");
  cr_expect_eq(r.entry.job, "c:1");  // refunds carry the charge's job
  Balance b = l->balance("proj");
  cr_expect_eq(b.deposits, 10000);
  cr_expect_eq(b.charges, 2500);
  cr_expect_eq(b.refunds, 500);
  cr_expect_eq(b.balance(), 8000);
  cr_expect_eq(b.available(), 8000);
  cr_expect_str_eq(to_string(EntryKind::refund), "refund");
  // Durable across reopen.
  l.reset();
  auto again = open_ledger(s.spec());
  cr_expect_eq(again->balance("proj").balance(), 8000);
  cr_expect_eq(again->schema_version(), 2);
}

Test(ledger, idempotent_replay_returns_first_result) {
  Store s;
  auto l = fresh(s);
  set_ledger_clock_for_tests(1700000000);
  OpResult first = l->deposit("proj", 5000, "dep-A", "root", "n1");
  set_ledger_clock_for_tests(1700000100);
  OpResult again = l->deposit("proj", 5000, "dep-A", "other", "another note");
  cr_expect(again.replayed);
  expect_same_entry(first.entry, again.entry);
  expect_same_balance(first.after, again.after);
  cr_expect_eq(l->balance("proj").balance(), 5000);  // not doubled

  OpResult lien = l->place_lien("proj", 1000, "lien-A", 0, "c:7", "alice");
  OpResult lien2 = l->place_lien("proj", 1000, "lien-A", 0, "c:7", "alice");
  cr_expect(lien2.replayed);
  expect_same_entry(lien.entry, lien2.entry);
  cr_expect_eq(l->balance("proj").held, 1000);

  OpResult ch = l->charge("proj", 800, "ch-A", "lien-A", "c:7", "alice", "");
  OpResult ch2 = l->charge("proj", 800, "ch-A", "lien-A", "c:7", "alice", "");
  cr_expect(ch2.replayed);
  expect_same_entry(ch.entry, ch2.entry);
  expect_same_balance(ch.after, ch2.after);

  OpResult rf = l->refund("ch-A", 100, "rf-A", "root", "");
  OpResult rf2 = l->refund("ch-A", 100, "rf-A", "root", "");
  cr_expect(rf2.replayed);
  expect_same_entry(rf.entry, rf2.entry);

  l->place_lien("proj", 100, "lien-B", 0, "c:8", "alice");
  OpResult rel = l->release_lien("lien-B", "rel-B", "");
  OpResult rel2 = l->release_lien("lien-B", "rel-B", "");
  cr_expect(rel2.replayed);
  expect_same_entry(rel.entry, rel2.entry);
  cr_expect_eq(l->balance("proj").balance(), 5000 - 800 + 100);
  cr_expect_eq(s.journal_rows(), 6);
}

Test(ledger, same_key_different_data_is_refused) {
  Store s;
  auto l = fresh(s);
  Account other;
  other.name = "other";
  l->add_account(other);
  l->deposit("proj", 5000, "k1", "root", "");
  long long rows = s.journal_rows();
  for (auto f : std::vector<std::function<void()>>{
           [&] { l->deposit("proj", 5001, "k1", "root", ""); },        // other amount
           [&] { l->deposit("other", 5000, "k1", "root", ""); },       // other account
           [&] { l->charge("proj", 5000, "k1", "", "", "root", ""); },  // other kind
           [&] { l->place_lien("proj", 5000, "k1", 0, "", "root"); },
       }) {
    Error e = expect_error(f);
    cr_expect_eq(e.code(), Errc::refused);
    cr_expect(contains(e.what(), "'k1'"), "message names the key: %s", e.what());
  }
  cr_expect_eq(s.journal_rows(), rows);
  cr_expect_eq(l->balance("proj").balance(), 5000);
  cr_expect_eq(l->balance("other").balance(), 0);
}

Test(ledger, refund_is_bounded_by_the_charge) {
  Store s;
  auto l = fresh(s);
  l->deposit("proj", 10000, "d", "root", "");
  l->charge("proj", 1000, "ch", "", "", "u", "");
  l->refund("ch", 600, "r1", "root", "");
  Error e = expect_error([&] { l->refund("ch", 401, "r2", "root", ""); });
  cr_expect_eq(e.code(), Errc::refused);
  cr_expect(contains(e.what(), "4.00"), "names the refundable rest: %s", e.what());
  l->refund("ch", 400, "r3", "root", "");
  cr_expect_eq(expect_error([&] { l->refund("ch", 1, "r4", "root", ""); }).code(), Errc::refused);
  cr_expect_eq(expect_error([&] { l->refund("nope", 1, "r5", "root", ""); }).code(), Errc::not_found);
  cr_expect_eq(expect_error([&] { l->refund("d", 1, "r6", "root", ""); }).code(), Errc::bad_input);
  cr_expect_eq(expect_error([&] { l->refund("ch", 0, "r7", "root", ""); }).code(), Errc::bad_input);
  Balance b = l->balance("proj");
  cr_expect_eq(b.refunds, 1000);
  cr_expect_eq(b.balance(), 10000);
}

Test(ledger, credit_limit_allows_going_below_zero) {
  Store s;
  auto l = open_ledger(s.spec());
  Account a;
  a.name = "cred";
  a.credit_limit = 500;
  l->add_account(a);
  cr_expect_eq(l->find_account("cred")->credit_limit, 500);
  cr_expect_eq(l->balance("cred").available(), 500);
  l->place_lien("cred", 500, "l1", 0, "", "u");
  Error e = expect_error([&] { l->place_lien("cred", 1, "l2", 0, "", "u"); });
  cr_expect_eq(e.code(), Errc::refused);
  cr_expect(contains(e.what(), "0.00 CNY available"), "%s", e.what());
  cr_expect(contains(e.hint(), "deposit funds"), "%s", e.hint().c_str());
  // A charge is never refused for funds, even beyond the credit limit.
  l->charge("cred", 900, "c1", "l1", "", "u", "");
  cr_expect_eq(l->balance("cred").balance(), -900);
  cr_expect_eq(l->balance("cred").available(), -400);
  l->set_credit_limit("cred", 2000);
  cr_expect_eq(l->balance("cred").available(), 1100);
  cr_expect_eq(expect_error([&] { l->set_credit_limit("cred", -1); }).code(), Errc::bad_input);
  // Negative deposits may not push available below zero.
  cr_expect_eq(expect_error([&] { l->deposit("cred", -1101, "w1", "root", ""); }).code(), Errc::refused);
  l->deposit("cred", -1100, "w2", "root", "correction");
  cr_expect_eq(l->balance("cred").available(), 0);
}

Test(ledger, lien_expiry_follows_the_clock) {
  Store s;
  auto l = fresh(s);
  const std::int64_t t0 = 1800000000;
  set_ledger_clock_for_tests(t0);
  l->deposit("proj", 1000, "d", "root", "");
  l->place_lien("proj", 700, "l-exp", t0 + 100, "c:1", "u");
  l->place_lien("proj", 200, "l-never", 0, "c:2", "u");
  cr_expect_eq(l->balance("proj").held, 900);
  cr_expect_eq(l->active_liens("proj").size(), 2u);
  cr_expect_eq(expect_error([&] { l->place_lien("proj", 101, "l-x", 0, "", "u"); }).code(), Errc::refused);
  set_ledger_clock_for_tests(t0 + 99);
  cr_expect_eq(l->balance("proj").held, 900);
  set_ledger_clock_for_tests(t0 + 100);  // expires is exclusive: at t0+100 the lien is gone
  cr_expect_eq(l->balance("proj").held, 200);
  cr_expect_eq(l->balance("proj").available(), 800);
  auto active = l->active_liens("");
  cr_assert_eq(active.size(), 1u);
  cr_expect_eq(active[0].key, "l-never");
  cr_expect_eq(active[0].job, "c:2");
  Error e = expect_error([&] { l->release_lien("l-exp", "rel-1", ""); });
  cr_expect_eq(e.code(), Errc::not_found);
  cr_expect(contains(e.what(), "expired"), "%s", e.what());
  // The job ran anyway: charging against the expired lien still charges.
  OpResult c = l->charge("proj", 650, "ch-1", "l-exp", "c:1", "u", "");
  cr_expect_not(c.replayed);
  cr_expect_eq(c.entry.ref, "l-exp");
  cr_expect_eq(l->balance("proj").balance(), 350);
  cr_expect_eq(l->balance("proj").held, 200);
}

Test(ledger, charge_releases_its_lien) {
  Store s;
  auto l = fresh(s);
  l->deposit("proj", 1000, "d", "root", "");
  l->place_lien("proj", 600, "lien", 0, "c:5", "u");
  cr_expect_eq(l->balance("proj").available(), 400);
  OpResult c = l->charge("proj", 450, "charge", "lien", "c:5", "u", "");
  cr_expect_eq(c.after.held, 0);
  cr_expect_eq(c.after.available(), 550);
  cr_expect(l->active_liens("proj").empty());
  cr_expect_eq(expect_error([&] { l->release_lien("lien", "rel", ""); }).code(), Errc::not_found);
  // A second charge naming the closed lien (a requeued job) is recorded, held stays 0.
  l->charge("proj", 50, "charge-2", "lien", "c:5", "u", "");
  Balance b = l->balance("proj");
  cr_expect_eq(b.held, 0);
  cr_expect_eq(b.balance(), 500);
  // Charge of an unknown lien key: still charged.
  l->charge("proj", 0, "charge-3", "never-placed", "c:6", "u", "");
  // A lien placed after a charge that named it starts closed.
  l->place_lien("proj", 100, "never-placed", 0, "c:6", "u");
  cr_expect_eq(l->balance("proj").held, 0);
  // Lien keys of another kind or another account are mistakes.
  cr_expect_eq(expect_error([&] { l->charge("proj", 1, "charge-4", "d", "", "u", ""); }).code(), Errc::bad_input);
  Account other;
  other.name = "other";
  l->add_account(other);
  l->deposit("other", 100, "d2", "root", "");
  l->place_lien("other", 50, "lien-o", 0, "", "u");
  cr_expect_eq(expect_error([&] { l->charge("proj", 1, "charge-5", "lien-o", "", "u", ""); }).code(),
               Errc::bad_input);
  cr_expect_eq(expect_error([&] { l->release_lien("nope", "rel-2", ""); }).code(), Errc::not_found);
  OpResult r = l->release_lien("lien-o", "rel-o", "job cancelled");
  cr_expect_eq(r.entry.kind, EntryKind::release);
  cr_expect_eq(r.entry.account, "other");
  cr_expect_eq(r.entry.amount, 50);
  cr_expect_eq(r.after.held, 0);
}

Test(ledger, statement_time_ranges) {
  Store s;
  auto l = fresh(s);
  Account other;
  other.name = "other";
  l->add_account(other);
  for (int i = 1; i <= 5; ++i) {
    set_ledger_clock_for_tests(1000 * i);
    l->deposit("proj", i, "d" + std::to_string(i), "root", "");
    l->deposit("other", i, "o" + std::to_string(i), "root", "");
  }
  StatementQuery q;
  q.account = "proj";
  auto all = l->statement(q);
  cr_assert_eq(all.size(), 5u);
  for (std::size_t i = 0; i < all.size(); ++i) {
    cr_expect_eq(all[i].account, "proj");
    cr_expect_eq(all[i].time, 1000 * static_cast<std::int64_t>(i + 1));
    if (i) cr_expect_gt(all[i].id, all[i - 1].id);
  }
  cr_expect_eq(all.back().balance_after, 15);
  q.since = 2000;  // inclusive
  q.until = 4000;  // exclusive
  auto mid = l->statement(q);
  cr_assert_eq(mid.size(), 2u);
  cr_expect_eq(mid[0].key, "d2");
  cr_expect_eq(mid[1].key, "d3");
  q.until = 0;
  q.limit = 2;
  auto lim = l->statement(q);
  cr_assert_eq(lim.size(), 2u);
  cr_expect_eq(lim[0].key, "d2");
  q.since = 6000;
  q.limit = 0;
  cr_expect(l->statement(q).empty());
  q.account = "ghost";
  Error e = expect_error([&] { l->statement(q); });
  cr_expect_eq(e.code(), Errc::not_found);
  auto found = l->find_entry("d4");
  cr_assert(found.has_value());
  cr_expect_eq(found->amount, 4);
  cr_expect_not(l->find_entry("zzz").has_value());
}

Test(ledger, members_and_default_accounts) {
  Store s;
  auto l = fresh(s, "a");
  Account b;
  b.name = "b";
  b.parent = "a";
  l->add_account(b);
  cr_expect_eq(l->find_account("b")->parent, "a");
  l->add_user("alice", "a", false);
  cr_expect_eq(*l->default_account("alice"), "a");  // first account becomes the default
  l->add_user("alice", "b", false);
  cr_expect_eq(*l->default_account("alice"), "a");
  l->add_user("alice", "b", true);
  cr_expect_eq(*l->default_account("alice"), "b");
  l->add_user("alice", "b", false);  // repeating keeps the default
  cr_expect_eq(*l->default_account("alice"), "b");
  cr_expect(l->is_member("alice", "a"));
  cr_expect_not(l->is_member("bob", "a"));
  cr_expect_not(l->default_account("bob").has_value());
  auto accs = l->accounts_of("alice");
  cr_assert_eq(accs.size(), 2u);
  cr_expect_eq(accs[0], "b");
  cr_expect_eq(l->users_of("a").size(), 1u);
  cr_expect_eq(l->list_accounts().size(), 2u);
  Error e = expect_error([&] { l->add_user("bob", "ghost", false); });
  cr_expect_eq(e.code(), Errc::not_found);
  cr_expect(contains(e.hint(), "paracloud bank account add"), "%s", e.hint().c_str());
  cr_expect_eq(expect_error([&] { l->add_user("bad user", "a", false); }).code(), Errc::bad_input);
  Account dup;
  dup.name = "a";
  cr_expect_eq(expect_error([&] { l->add_account(dup); }).code(), Errc::refused);
  Account orphan;
  orphan.name = "c";
  orphan.parent = "nope";
  cr_expect_eq(expect_error([&] { l->add_account(orphan); }).code(), Errc::not_found);
  Account bad;
  bad.name = "x;drop";
  cr_expect_eq(expect_error([&] { l->add_account(bad); }).code(), Errc::bad_input);
}

Test(ledger, bad_inputs_write_nothing) {
  Store s;
  auto l = fresh(s);
  l->deposit("proj", 1000, "d", "root", "");
  l->charge("proj", 100, "c", "", "", "u", "");
  long long rows = s.journal_rows();
  Balance before = l->balance("proj");
  struct Case {
    std::function<void()> f;
    Errc code;
  };
  std::vector<Case> cases = {
      {[&] { l->deposit("proj", 0, "x1", "root", ""); }, Errc::bad_input},
      {[&] { l->deposit("ghost", 10, "x2", "root", ""); }, Errc::not_found},
      {[&] { l->deposit("proj", -2000, "x3", "root", ""); }, Errc::refused},
      {[&] { l->deposit("proj", 10, "", "root", ""); }, Errc::bad_input},
      {[&] { l->deposit("proj", 10, "has space", "root", ""); }, Errc::bad_input},
      {[&] { l->place_lien("proj", 0, "x4", 0, "", "u"); }, Errc::bad_input},
      {[&] { l->place_lien("proj", -5, "x5", 0, "", "u"); }, Errc::bad_input},
      {[&] { l->place_lien("proj", 901, "x6", 0, "", "u"); }, Errc::refused},
      {[&] { l->place_lien("ghost", 1, "x7", 0, "", "u"); }, Errc::not_found},
      {[&] { l->charge("proj", -1, "x8", "", "", "u", ""); }, Errc::bad_input},
      {[&] { l->charge("ghost", 1, "x9", "", "", "u", ""); }, Errc::not_found},
      {[&] { l->refund("c", 101, "x10", "root", ""); }, Errc::refused},
      {[&] { l->refund("c", -1, "x11", "root", ""); }, Errc::bad_input},
      {[&] { l->deposit("proj", 1, "d", "root", ""); }, Errc::refused},
      {[&] { l->deposit("proj", LLONG_MAX, "x12", "root", ""); }, Errc::bad_input},  // overflow
      {[&] { l->charge("proj", LLONG_MAX, "x13", "", "", "u", ""); }, Errc::bad_input},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    Error e = expect_error(cases[i].f);
    cr_expect_eq(e.code(), cases[i].code, "case %zu: code %d (%s)", i, static_cast<int>(e.code()), e.what());
  }
  cr_expect_eq(s.journal_rows(), rows);
  expect_same_balance(before, l->balance("proj"));
  cr_expect(l->find_entry("x12") == std::nullopt);
  // The journal is append-only even for someone with raw SQL access.
  cr_expect_not(s.exec("UPDATE journal SET amount = 1"));
  cr_expect_not(s.exec("DELETE FROM journal"));
  cr_expect_eq(s.journal_rows(), rows);
}

Test(ledger, unknown_account_hint) {
  Store s;
  auto l = fresh(s);
  Error e = expect_error([&] { l->balance("ghost"); });
  cr_expect_eq(e.code(), Errc::not_found);
  cr_expect(contains(e.what(), "ghost"));
  cr_expect(contains(e.hint(), "paracloud bank account add ghost"), "%s", e.hint().c_str());
}

Test(ledger, migrates_an_empty_file) {
  Store s;
  s.make_empty();  // a 0-byte file, or an empty database
  if (s.sqlite()) cr_assert_eq(fs::file_size(s.spec()), 0u);
  auto l = open_ledger(s.spec());
  cr_expect_eq(l->schema_version(), 2);
  Account a;
  a.name = "x";
  l->add_account(a);
  cr_expect_eq(l->balance("x").balance(), 0);
}

// The v1 schemas exactly as released; fixtures, never to be changed.
static const char* kV1SchemaSqlite = R"sql(
CREATE TABLE accounts(name TEXT PRIMARY KEY NOT NULL, parent TEXT NOT NULL DEFAULT '',
  credit_limit INTEGER NOT NULL DEFAULT 0 CHECK (credit_limit >= 0), description TEXT NOT NULL DEFAULT '',
  created INTEGER NOT NULL);
CREATE TABLE members(user TEXT NOT NULL, account TEXT NOT NULL REFERENCES accounts(name),
  is_default INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (user, account));
CREATE TABLE journal(id INTEGER PRIMARY KEY, time INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('deposit','lien','release','charge','refund')),
  account TEXT NOT NULL REFERENCES accounts(name), amount INTEGER NOT NULL, key TEXT NOT NULL UNIQUE,
  ref TEXT NOT NULL DEFAULT '', job TEXT NOT NULL DEFAULT '', user TEXT NOT NULL DEFAULT '',
  note TEXT NOT NULL DEFAULT '', expires INTEGER NOT NULL DEFAULT 0, balance_after INTEGER NOT NULL);
CREATE INDEX journal_account_time ON journal(account, time);
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal
  BEGIN SELECT RAISE(ABORT, 'the ledger journal is append-only'); END;
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal
  BEGIN SELECT RAISE(ABORT, 'the ledger journal is append-only'); END;
PRAGMA user_version = 1;
)sql";
static const char* kV1SchemaMariadb = R"sql(
CREATE TABLE schema_version(id TINYINT NOT NULL PRIMARY KEY, version INT NOT NULL)
  ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE accounts(name VARCHAR(64) NOT NULL PRIMARY KEY, parent VARCHAR(64) NOT NULL DEFAULT '',
  credit_limit BIGINT NOT NULL DEFAULT 0 CHECK (credit_limit >= 0), description TEXT NOT NULL,
  created BIGINT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE members(user VARCHAR(64) NOT NULL, account VARCHAR(64) NOT NULL,
  is_default TINYINT NOT NULL DEFAULT 0, PRIMARY KEY (user, account),
  FOREIGN KEY (account) REFERENCES accounts(name)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE journal(id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, time BIGINT NOT NULL,
  kind VARCHAR(8) NOT NULL CHECK (kind IN ('deposit','lien','release','charge','refund')),
  account VARCHAR(64) NOT NULL, amount BIGINT NOT NULL, `key` VARCHAR(256) NOT NULL,
  ref VARCHAR(256) NOT NULL DEFAULT '', job VARCHAR(255) NOT NULL DEFAULT '',
  user VARCHAR(255) NOT NULL DEFAULT '', note TEXT NOT NULL, expires BIGINT NOT NULL DEFAULT 0,
  balance_after BIGINT NOT NULL, UNIQUE KEY journal_key (`key`), KEY journal_account_time (account, time),
  FOREIGN KEY (account) REFERENCES accounts(name)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal FOR EACH ROW
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the ledger journal is append-only';
CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal FOR EACH ROW
  SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'the ledger journal is append-only';
INSERT INTO schema_version VALUES (1, 1);
)sql";
// v1 data, valid SQL for both backends.
static const char* kV1Data = R"sql(
INSERT INTO accounts VALUES ('old', '', 300, 'from v1', 100), ('empty', '', 0, '', 100);
INSERT INTO members VALUES ('carol', 'old', 1);
INSERT INTO journal(time, kind, account, amount, `key`, ref, job, user, note, expires, balance_after) VALUES
  (200, 'deposit', 'old', 5000, 'v1-dep', '', '', 'root', '', 0, 5000),
  (210, 'lien',    'old', 1000, 'v1-lien-charged', 'v1-lien-charged', 'c:1', 'carol', '', 0, 5000),
  (220, 'charge',  'old',  800, 'v1-charge', 'v1-lien-charged', 'c:1', 'carol', '', 0, 4200),
  (230, 'refund',  'old',  100, 'v1-refund', 'v1-charge', 'c:1', 'root', '', 0, 4300),
  (240, 'lien',    'old',  400, 'v1-lien-open', 'v1-lien-open', 'c:2', 'carol', '', 0, 4300),
  (250, 'lien',    'old',  300, 'v1-lien-released', 'v1-lien-released', 'c:3', 'carol', '', 0, 4300),
  (260, 'release', 'old',  300, 'v1-release', 'v1-lien-released', 'c:3', 'carol', '', 0, 4300);
)sql";

Test(ledger, migrates_a_v1_ledger) {
  Store s;
  cr_assert(s.exec(std::string(s.sqlite() ? kV1SchemaSqlite : kV1SchemaMariadb) + kV1Data));
  auto l = open_ledger(s.spec());
  cr_expect_eq(l->schema_version(), 2);
  Balance b = l->balance("old");
  cr_expect_eq(b.deposits, 5000);
  cr_expect_eq(b.charges, 800);
  cr_expect_eq(b.refunds, 100);
  cr_expect_eq(b.held, 400);  // only the lien nothing references
  cr_expect_eq(b.credit_limit, 300);
  cr_expect_eq(b.available(), 4300 - 400 + 300);
  cr_expect_eq(l->balance("empty").balance(), 0);
  cr_expect_eq(*l->default_account("carol"), "old");
  auto liens = l->active_liens("old");
  cr_assert_eq(liens.size(), 1u);
  cr_expect_eq(liens[0].key, "v1-lien-open");
  // Old keys still replay and old rules still hold after the migration.
  cr_expect(l->deposit("old", 5000, "v1-dep", "root", "").replayed);
  cr_expect_eq(expect_error([&] { l->refund("v1-charge", 701, "r", "root", ""); }).code(), Errc::refused);
  OpResult c = l->charge("old", 400, "new-charge", "v1-lien-open", "c:2", "carol", "");
  cr_expect_eq(c.after.held, 0);
  cr_expect_eq(c.entry.balance_after, 3900);
}

Test(ledger, refuses_a_newer_schema) {
  Store s;
  { open_ledger(s.spec()); }
  cr_assert(s.set_schema_version(99));
  for (bool ro : {false, true}) {
    LedgerOptions o;
    o.read_only = ro;
    Error e = expect_error([&] { open_ledger(s.spec(), o); });
    cr_expect_eq(e.code(), Errc::storage);
    cr_expect(contains(e.what(), "created by a newer paracloud"), "%s", e.what());
    cr_expect(contains(e.what(), s.shown()), "%s", e.what());
  }
}

Test(ledger, refuses_a_corrupt_file) {
  if (ledger_test::on_mariadb()) cr_skip_test("a SQLite file test (MariaDB: test_ledger_mariadb not_a_ledger_database)");  // before Store: a skip does not unwind
  Store s;
  {
    std::ofstream f(s.spec(), std::ios::binary);
    for (int i = 0; i < 8192; ++i) f.put(static_cast<char>((i * 131 + 7) & 0xff));
  }
  for (bool ro : {false, true}) {
    LedgerOptions o;
    o.read_only = ro;
    Error e = expect_error([&] { open_ledger(s.spec(), o); });
    cr_expect_eq(e.code(), Errc::storage);
    cr_expect(contains(e.what(), "file is not a database"), "%s", e.what());
    cr_expect(contains(e.what(), s.spec()), "%s", e.what());
    cr_expect_not(e.hint().empty());
  }
  cr_expect_eq(fs::file_size(s.spec()), 8192u);  // untouched
}

Test(ledger, open_errors_name_the_path_and_fix) {
  if (ledger_test::on_mariadb()) cr_skip_test("a SQLite file test (MariaDB: test_ledger_mariadb missing_database_errors)");  // before Store: a skip does not unwind
  Store s;
  std::string missing_dir = s.dir + "/no/such/dir/ledger.db";
  Error e = expect_error([&] { open_ledger(missing_dir); });
  cr_expect_eq(e.code(), Errc::storage);
  cr_expect(contains(e.what(), "does not exist"), "%s", e.what());
  cr_expect(contains(e.hint(), "LedgerPath"), "%s", e.hint().c_str());
  LedgerOptions no_create;
  no_create.create = false;
  e = expect_error([&] { open_ledger(s.spec(), no_create); });
  cr_expect_eq(e.code(), Errc::storage);
  cr_expect_not(fs::exists(s.spec()));
  LedgerOptions ro;
  ro.read_only = true;
  cr_expect_eq(expect_error([&] { open_ledger(s.spec(), ro); }).code(), Errc::storage);
  cr_expect_not(fs::exists(s.spec()));
}

Test(ledger, read_only_option_refuses_writes) {
  Store s;
  {
    auto w = fresh(s);
    w->deposit("proj", 700, "d", "root", "");
  }
  long long rows = s.journal_rows();
  LedgerOptions o;
  o.read_only = true;
  auto r = open_ledger(s.spec(), o);
  cr_expect_eq(r->balance("proj").balance(), 700);
  Error e = expect_error([&] { r->deposit("proj", 1, "d2", "root", ""); });
  cr_expect_eq(e.code(), Errc::storage);
  cr_expect(contains(e.hint(), "only SlurmUser/root can change balances"), "%s", e.hint().c_str());
  Account a;
  a.name = "new";
  cr_expect_eq(expect_error([&] { r->add_account(a); }).code(), Errc::storage);
  cr_expect_eq(s.journal_rows(), rows);
  // A reader sees a writer's later changes on the same handle.
  auto w = open_ledger(s.spec());
  w->deposit("proj", 5, "d3", "root", "");
  cr_expect_eq(r->balance("proj").balance(), 705);
}

// As an unprivileged user (root drops to nobody in a child; others use chmod) the file and
// directory are not writable: opening for writing must fail with the fix, reading must work.
Test(ledger, unwritable_file_for_a_non_owner) {
  if (ledger_test::on_mariadb()) cr_skip_test("a SQLite file permission test (MariaDB access is by database user)");  // before Store: a skip does not unwind
  Store s;
  {
    auto w = fresh(s);
    w->deposit("proj", 4200, "d", "root", "");
  }
  cr_assert_eq(chmod(s.dir.c_str(), 0755), 0);
  cr_assert_eq(chmod(s.spec().c_str(), 0644), 0);
  if (geteuid() != 0) {
    cr_assert_eq(chmod(s.spec().c_str(), 0444), 0);
    cr_assert_eq(chmod(s.dir.c_str(), 0555), 0);
  }
  pid_t pid = fork();
  cr_assert_neq(pid, -1);
  if (pid == 0) {
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(77);
    int fails = 0;
    try {
      open_ledger(s.spec());
      fails |= 1;  // a write open must fail
    } catch (const Error& e) {
      if (e.code() != Errc::storage || !contains(e.what(), s.spec()) ||
          !contains(e.hint(), "only SlurmUser/root can change balances"))
        fails |= 2;
    }
    try {
      LedgerOptions o;
      o.read_only = true;
      auto r = open_ledger(s.spec(), o);
      if (r->balance("proj").balance() != 4200) fails |= 4;
    } catch (const Error& e) {
      std::fprintf(stderr, "read-only open failed: %s\n", e.what());
      fails |= 8;
    }
    _exit(fails);
  }
  int status = 0;
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) cr_skip_test("SKIP: cannot drop privileges to uid 65534 here");
  cr_expect_eq(WEXITSTATUS(status), 0, "child failure bits %d (1 write open succeeded, 2 wrong error, "
               "4 wrong balance, 8 read-only open failed)", WEXITSTATUS(status));
  cr_expect_eq(s.journal_rows(), 1);
}

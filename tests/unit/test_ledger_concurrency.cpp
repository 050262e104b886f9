// Concurrency test of the ledger: 8 forked writers x 500 random operations on one ledger, then
// every balance, lien and key is checked against the journal and the writers' own records.
// SQLite by default; MariaDB with PARACLOUD_TEST_LEDGER=mysql://... (ledger_test_store.hpp), where
// the writers are separate connections like controllers on different hosts.
#include <criterion/criterion.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "ledger/ledger.hpp"
#include "ledger_test_store.hpp"

using namespace paracloud;

namespace {

constexpr int kChildren = 8;
constexpr int kOpsPerChild = 500;
const std::vector<std::string> kAccounts = {"acc0", "acc1", "acc2", "acc3"};

// One writer: random deposits, liens, charges (with and without liens), releases, refunds and
// replays of its own earlier keys. Records every key that succeeded (first time) in its file.
// Returns 0 when every replay matched its first result, else a failure count.
int run_child(const std::string& path, const std::string& record, int child) {
  std::mt19937 rng(static_cast<unsigned>(1234 + child));
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  std::ofstream out(record);
  auto ledger = open_ledger(path);
  struct Done {
    int op;
    std::string account, key, ref;
    Money amount;
    Entry entry;
  };
  std::vector<Done> done;
  std::vector<std::pair<std::string, std::string>> open_liens;  // key, account
  std::vector<std::pair<std::string, Money>> charges;           // key, amount
  int failures = 0;
  for (int i = 0; i < kOpsPerChild; ++i) {
    const std::string key = "c" + std::to_string(child) + "-" + std::to_string(i);
    const std::string acc = kAccounts[static_cast<std::size_t>(pick(static_cast<int>(kAccounts.size())))];
    const Money amount = 1 + pick(5000);
    int op = pick(10);
    try {
      OpResult r;
      std::string ref;
      if (op == 0 || op == 1) {
        r = ledger->deposit(acc, amount, key, "u", "");
      } else if (op == 2 || op == 3) {
        r = ledger->place_lien(acc, amount, key, 0, "job" + key, "u");
        open_liens.emplace_back(key, acc);
      } else if (op == 4 && !open_liens.empty()) {
        auto l = open_liens[static_cast<std::size_t>(pick(static_cast<int>(open_liens.size())))];
        open_liens.erase(std::find(open_liens.begin(), open_liens.end(), l));
        ref = l.first;
        r = ledger->release_lien(l.first, key, "");
      } else if (op == 5 && !open_liens.empty()) {
        auto l = open_liens[static_cast<std::size_t>(pick(static_cast<int>(open_liens.size())))];
        open_liens.erase(std::find(open_liens.begin(), open_liens.end(), l));
        ref = l.first;
        r = ledger->charge(l.second, amount, key, l.first, "job" + l.first, "u", "");
        charges.emplace_back(key, amount);
      } else if (op == 6) {
        r = ledger->charge(acc, amount, key, "", "", "u", "");
        charges.emplace_back(key, amount);
      } else if (op == 7 && !charges.empty()) {
        auto& c = charges[static_cast<std::size_t>(pick(static_cast<int>(charges.size())))];
        ref = c.first;
        r = ledger->refund(c.first, 1 + pick(static_cast<int>(c.second / 2 + 1)), key, "u", "");
      } else if (op >= 8 && !done.empty()) {
        // Replay an earlier successful operation with exactly the same data.
        const Done& d = done[static_cast<std::size_t>(pick(static_cast<int>(done.size())))];
        OpResult again;
        switch (d.entry.kind) {
          case EntryKind::deposit: again = ledger->deposit(d.account, d.amount, d.key, "u", ""); break;
          case EntryKind::lien: again = ledger->place_lien(d.account, d.amount, d.key, 0, d.entry.job, "u"); break;
          case EntryKind::release: again = ledger->release_lien(d.ref, d.key, ""); break;
          case EntryKind::charge:
            again = ledger->charge(d.account, d.amount, d.key, d.ref, d.entry.job, "u", "");
            break;
          case EntryKind::refund: again = ledger->refund(d.ref, d.amount, d.key, "u", ""); break;
        }
        if (!again.replayed || again.entry.id != d.entry.id || again.entry.time != d.entry.time ||
            again.entry.balance_after != d.entry.balance_after || again.entry.amount != d.entry.amount) {
          std::fprintf(stderr, "child %d: replay of %s differs\n", child, d.key.c_str());
          ++failures;
        }
        continue;
      } else {
        r = ledger->deposit(acc, amount, key, "u", "");
      }
      if (r.replayed) {
        std::fprintf(stderr, "child %d: new key %s reported as replay\n", child, key.c_str());
        ++failures;
      }
      done.push_back(Done{op, r.entry.account, key, r.entry.ref, r.entry.amount, r.entry});
      out << key << '\n';
    } catch (const Error& e) {
      // Refusals are part of the game (funds, refund bound); storage errors are not.
      if (e.code() != Errc::refused) {
        std::fprintf(stderr, "child %d: %s: %s\n", child, key.c_str(), e.what());
        ++failures;
      }
    }
  }
  out.flush();
  return out.good() ? failures : failures + 1;
}

struct Row {
  std::int64_t id;
  std::string kind, account, key, ref;
  Money amount, balance_after;
};

std::vector<Row> read_journal(ledger_test::Store& store) {
  std::vector<Row> rows;
  auto i64 = [](const std::string& t) { return static_cast<std::int64_t>(std::atoll(t.c_str())); };
  for (const auto& r : store.query("SELECT id, kind, account, `key`, ref, amount, balance_after FROM journal ORDER BY id"))
    rows.push_back(Row{i64(r[0]), r[1], r[2], r[3], r[4], i64(r[5]), i64(r[6])});
  return rows;
}

}  // namespace

Test(ledger_concurrency, eight_writers_lose_and_double_nothing, .timeout = 600) {
  ledger_test::Store store;
  const std::string dir = store.dir;
  const std::string path = store.spec();
  {
    auto l = open_ledger(path);
    for (const auto& a : kAccounts) {
      Account acc;
      acc.name = a;
      acc.credit_limit = a == "acc3" ? 100000 : 0;
      l->add_account(acc);
      l->deposit(a, 200000, "seed-" + a, "root", "");
    }
  }
  std::vector<pid_t> pids;
  for (int c = 0; c < kChildren; ++c) {
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) _exit(run_child(path, dir + "/child" + std::to_string(c) + ".keys", c) == 0 ? 0 : 1);
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer %d failed (status %d)", pid, status);
  }

  // The writers' own records: every key they were told succeeded.
  std::set<std::string> recorded;
  std::size_t recorded_lines = 0;
  for (int c = 0; c < kChildren; ++c) {
    std::ifstream in(dir + "/child" + std::to_string(c) + ".keys");
    for (std::string k; std::getline(in, k);) {
      recorded.insert(k);
      ++recorded_lines;
    }
  }
  cr_expect_eq(recorded.size(), recorded_lines, "a writer recorded a key twice");
  cr_expect_gt(recorded.size(), static_cast<std::size_t>(kChildren * kOpsPerChild / 2));

  std::vector<Row> rows = read_journal(store);
  std::set<std::string> journal_keys;
  std::map<std::string, Balance> sums;
  std::map<std::string, Money> running;
  std::map<std::string, Money> lien_amount;  // lien key -> amount
  std::map<std::string, std::string> lien_account;
  std::set<std::string> closed_liens;
  std::map<std::string, Money> charged, refunded;
  int kinds_seen = 0;
  std::set<std::string> kinds;
  for (const Row& r : rows) {
    cr_expect(journal_keys.insert(r.key).second, "key %s appears twice in the journal", r.key.c_str());
    Balance& b = sums[r.account];
    if (r.kind == "deposit") b.deposits += r.amount;
    if (r.kind == "charge") {
      b.charges += r.amount;
      charged[r.key] = r.amount;
    }
    if (r.kind == "refund") {
      b.refunds += r.amount;
      refunded[r.ref] += r.amount;
    }
    if (r.kind == "lien") {
      lien_amount[r.key] = r.amount;
      lien_account[r.key] = r.account;
    }
    if ((r.kind == "release" || r.kind == "charge") && !r.ref.empty()) closed_liens.insert(r.ref);
    // Serialized writers: each entry's balance_after continues the account's running balance.
    running[r.account] = b.balance();
    cr_expect_eq(r.balance_after, running[r.account], "entry %lld (%s) balance_after %lld, expected %lld",
                 static_cast<long long>(r.id), r.key.c_str(), static_cast<long long>(r.balance_after),
                 static_cast<long long>(running[r.account]));
    kinds.insert(r.kind);
  }
  kinds_seen = static_cast<int>(kinds.size());
  cr_expect_eq(kinds_seen, 5, "all five entry kinds were exercised");
  for (const auto& [lk, amount] : lien_amount)
    if (!closed_liens.count(lk)) sums[lien_account[lk]].held += amount;

  // No lost and no doubled operation: journal keys == seed keys + keys the writers recorded.
  std::set<std::string> expected = recorded;
  for (const auto& a : kAccounts) expected.insert("seed-" + a);
  cr_expect_eq(journal_keys.size(), rows.size());
  cr_expect(journal_keys == expected, "journal has %zu keys, writers recorded %zu (+%zu seeds)",
            journal_keys.size(), recorded.size(), kAccounts.size());

  cr_log_info("%zu journal entries, %zu keys recorded by %d writers", rows.size(), recorded.size(), kChildren);
  auto l = open_ledger(path);
  for (const auto& a : kAccounts) {
    Balance b = l->balance(a);
    const Balance& s = sums[a];
    cr_expect_eq(b.deposits, s.deposits, "%s deposits", a.c_str());
    cr_expect_eq(b.charges, s.charges, "%s charges", a.c_str());
    cr_expect_eq(b.refunds, s.refunds, "%s refunds", a.c_str());
    cr_expect_eq(b.held, s.held, "%s held %lld vs journal %lld", a.c_str(), static_cast<long long>(b.held),
                 static_cast<long long>(s.held));
    // Liens were only granted while funds were available; charges may overdraw.
  }
  for (const auto& [ck, amount] : refunded) cr_expect_leq(amount, charged[ck], "refunds of %s exceed it", ck.c_str());
}

// Several processes opening (creating, switching to WAL, migrating) a new ledger at the same
// moment must all succeed: SQLite answers the WAL switch with SQLITE_BUSY without waiting; on
// MariaDB they race to create the database and to run the migrations.
Test(ledger_concurrency, simultaneous_first_opens) {
  ledger_test::Store store;
  for (int round = 0; round < 60; ++round) {
    const std::string path = store.spec("ledger" + std::to_string(round));
    int go[2];
    cr_assert_eq(pipe(go), 0);
    std::vector<pid_t> pids;
    for (int c = 0; c < kChildren; ++c) {
      pid_t pid = fork();
      cr_assert_neq(pid, -1);
      if (pid == 0) {
        close(go[1]);
        char ch;
        if (read(go[0], &ch, 1) < 0) _exit(3);
        try {
          auto l = open_ledger(path);
          Account a;
          a.name = "a" + std::to_string(c);
          l->add_account(a);
        } catch (const Error& e) {
          std::fprintf(stderr, "round %d opener %d: %s\n", round, c, e.what());
          _exit(1);
        }
        _exit(0);
      }
      pids.push_back(pid);
    }
    close(go[0]);
    close(go[1]);  // start them all at once
    for (pid_t pid : pids) {
      int status = 0;
      cr_assert_eq(waitpid(pid, &status, 0), pid);
      cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "round %d: an opener failed", round);
    }
    cr_expect_eq(open_ledger(path)->list_accounts().size(), static_cast<std::size_t>(kChildren));
  }
}

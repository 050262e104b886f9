// Unit tests of ledger_snapshot.hpp (issue 16 item 4): the in-memory copy answers submit checks like
// the ledger, a stalled ledger is answered from the copy and then fails closed, fresher() sees a
// deposit made just before, an unopenable ledger fails closed with its reason, a new LedgerPath is
// never answered from the old one's copy. A stall is a gate the test closes, never a timing; the
// .timeout values only end a hung test.
#include <criterion/criterion.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>

#include "config/config.hpp"
#include "common/error.hpp"
#include "billing/job_request.hpp"
#include "ledger/ledger.hpp"
#include "ledger/ledger_snapshot.hpp"
#include "test_helpers.hpp"

using namespace paracloud;

namespace {

struct Scratch {
  std::string dir;
  Scratch() {
    char tmpl[] = "/tmp/test_ledger_snapshot.XXXXXX";
    dir = mkdtemp(tmpl);
  }
  ~Scratch() { (void)!std::system(("rm -rf '" + dir + "'").c_str()); }
};

// lab: alice (default) 100.00; poor: alice 0.10; victim: bob 50.00; empty: nobody.
std::unique_ptr<Ledger> make_ledger(const std::string& path) {
  auto l = open_sqlite_ledger(path);
  l->add_account({"lab", "", 0, "", 0});
  l->add_account({"poor", "", 0, "", 0});
  l->add_account({"victim", "", 0, "", 0});
  l->add_account({"empty", "", 0, "", 0});
  l->add_user("alice", "lab", true);
  l->add_user("alice", "poor", false);
  l->add_user("bob", "victim", true);
  l->deposit("lab", 10000, "d1", "admin", "");
  l->deposit("poor", 10, "d2", "admin", "");
  l->deposit("victim", 5000, "d3", "admin", "");
  return l;
}

// A gate in front of a ledger's reads: while closed, list_accounts() (the first read of a copy)
// waits, like a database server that stopped answering.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;
  int waiting = 0;
  void pass() {
    std::unique_lock<std::mutex> lk(mu);
    ++waiting;
    cv.notify_all();
    cv.wait(lk, [&] { return !closed; });
    --waiting;
  }
  void close() {
    std::lock_guard<std::mutex> lk(mu);
    closed = true;
  }
  void open() {
    {
      std::lock_guard<std::mutex> lk(mu);
      closed = false;
    }
    cv.notify_all();
  }
  void wait_for_a_waiter() {
    std::unique_lock<std::mutex> lk(mu);
    cv.wait(lk, [&] { return waiting > 0; });
  }
};

class GatedLedger final : public Ledger {
 public:
  GatedLedger(std::unique_ptr<Ledger> inner, Gate& gate) : in_(std::move(inner)), gate_(gate) {}
  void add_account(const Account& a) override { in_->add_account(a); }
  std::optional<Account> find_account(const std::string& n) override { return in_->find_account(n); }
  std::vector<Account> list_accounts() override {
    gate_.pass();
    return in_->list_accounts();
  }
  void set_credit_limit(const std::string& a, Money m) override { in_->set_credit_limit(a, m); }
  void add_user(const std::string& u, const std::string& a, bool d) override { in_->add_user(u, a, d); }
  std::vector<std::string> users_of(const std::string& a) override { return in_->users_of(a); }
  std::vector<std::string> accounts_of(const std::string& u) override { return in_->accounts_of(u); }
  std::optional<std::string> default_account(const std::string& u) override { return in_->default_account(u); }
  bool is_member(const std::string& u, const std::string& a) override { return in_->is_member(u, a); }
  OpResult deposit(const std::string& a, Money m, const std::string& k, const std::string& u,
                   const std::string& n) override {
    return in_->deposit(a, m, k, u, n);
  }
  OpResult place_lien(const std::string& a, Money m, const std::string& k, std::int64_t e, const std::string& j,
                      const std::string& u) override {
    return in_->place_lien(a, m, k, e, j, u);
  }
  OpResult release_lien(const std::string& l, const std::string& k, const std::string& n) override {
    return in_->release_lien(l, k, n);
  }
  OpResult charge(const std::string& a, Money m, const std::string& k, const std::string& l, const std::string& j,
                  const std::string& u, const std::string& n) override {
    return in_->charge(a, m, k, l, j, u, n);
  }
  OpResult refund(const std::string& c, Money m, const std::string& k, const std::string& u,
                  const std::string& n) override {
    return in_->refund(c, m, k, u, n);
  }
  Balance balance(const std::string& a) override { return in_->balance(a); }
  std::vector<Entry> statement(const StatementQuery& q) override { return in_->statement(q); }
  std::optional<Entry> find_entry(const std::string& k) override { return in_->find_entry(k); }
  std::vector<Entry> active_liens(const std::string& a) override { return in_->active_liens(a); }
  int schema_version() override { return in_->schema_version(); }

 private:
  std::unique_ptr<Ledger> in_;
  Gate& gate_;
};

const char* kConf = "ClusterName=a\nSiteName=a\nPriceName=a:* cpu=36\n";  // 1 fen per cpu-second

SubmitCheck check(const std::string& user, const std::string& account, std::int64_t cpus, std::int64_t seconds) {
  SubmitCheck c;
  c.user = user;
  c.account = account;
  c.resources.site = "a";
  c.resources.partition = "batch";
  c.resources.cpus = cpus;
  c.resources.nodes = 1;
  c.resources.seconds = seconds;
  c.time_source = "--time";
  return c;
}

constexpr std::int64_t kSecond = 1000000000;

}  // namespace

Test(snapshot, answers_submit_checks_exactly_like_the_ledger) {
  Scratch s;
  auto live = make_ledger(s.dir + "/l.db");
  SnapshotLedger snap(copy_ledger(*live), "x", 0);
  Config cfg = parse_config(kConf, "t.conf");
  const SubmitCheck cases[] = {
      check("alice", "", 1, 60),         check("alice", "lab", 2, 600),   check("alice", "poor", 1, 600),
      check("alice", "victim", 1, 60),   check("alice", "nosuch", 1, 60), check("bob", "", 1, 60),
      check("mallory", "", 1, 60),       check("mallory", "lab", 1, 60),  check("alice", "lab", 1, 20000),
      check("alice", "empty", 1, 60),
  };
  for (const SubmitCheck& c : cases) {
    SubmitResult a = check_submission(cfg, *live, c);
    SubmitResult b = check_submission(cfg, snap, c);
    cr_assert_eq(static_cast<int>(a.verdict), static_cast<int>(b.verdict), "%s/%s: verdict %d vs %d", c.user.c_str(),
                 c.account.c_str(), static_cast<int>(a.verdict), static_cast<int>(b.verdict));
    assert_str(b.account, a.account);
    assert_str(b.message, a.message);
    cr_assert_eq(a.available, b.available);
    cr_assert_eq(a.account_defaulted, b.account_defaulted);
  }
  assert_contains(error_of([&] { snap.deposit("lab", 1, "k", "u", ""); }, Errc::refused), "read-only copy");
}

Test(mirror, a_stalled_ledger_is_answered_from_the_copy_then_fails_closed, .timeout = 60) {
  Scratch s;
  make_ledger(s.dir + "/l.db");
  Gate gate;
  MirrorOptions opt;
  opt.refresh_ns = 1000000;  // 1 ms: the mirror is soon blocked in the gate
  opt.max_age_ns = 10 * kSecond;
  opt.fresh_wait_ns = 1000000;
  Config cfg = parse_config(kConf, "t.conf");
  {
    LedgerMirror m([&](const std::string& p) { return std::make_unique<GatedLedger>(open_sqlite_ledger(p), gate); },
                   s.dir + "/l.db", opt);
    m.wait_first(30 * kSecond);
    std::string why;
    std::shared_ptr<SnapshotLedger> first = m.current(monotonic_ns(), &why);
    cr_assert(first, "no copy: %s", why.c_str());

    gate.close();
    gate.wait_for_a_waiter();  // the mirror's next copy now hangs like a frozen server
    std::int64_t taken = m.current(monotonic_ns(), &why)->taken_ns();
    // Within max_age the copy answers, also for fresher(): it does not wait on the hung copy.
    std::shared_ptr<SnapshotLedger> snap = m.fresher(taken + kSecond, &why);
    cr_assert(snap, "no answer within max_age: %s", why.c_str());
    SubmitResult r = check_submission(cfg, *snap, check("alice", "lab", 1, 60));
    cr_assert_eq(static_cast<int>(r.verdict), static_cast<int>(Verdict::ok), "%s", r.message.c_str());
    // Past max_age: fail closed, naming the reason.
    cr_assert_null(m.current(taken + opt.max_age_ns + 1, &why).get());
    assert_contains(why, "no answer from the ledger for 10 s");
    cr_assert_null(m.fresher(taken + opt.max_age_ns + 1, &why).get());
    gate.open();  // the destructor joins the thread once the hung copy ends
  }
}

Test(mirror, fresher_sees_a_deposit_and_a_member_added_just_before, .timeout = 60) {
  Scratch s;
  auto live = make_ledger(s.dir + "/l.db");
  MirrorOptions opt;
  opt.refresh_ns = 3600 * kSecond;  // no periodic copy during the test
  opt.fresh_wait_ns = 30 * kSecond;  // generous: only a hung test waits that long
  LedgerMirror m([](const std::string& p) { return open_sqlite_ledger(p); }, s.dir + "/l.db", opt);
  m.wait_first(30 * kSecond);
  std::string why;
  cr_assert(m.current(monotonic_ns(), &why), "%s", why.c_str());
  live->deposit("empty", 777, "d-empty", "admin", "");
  live->add_user("carol", "empty", true);
  std::shared_ptr<SnapshotLedger> snap = m.fresher(monotonic_ns(), &why);
  cr_assert(snap, "%s", why.c_str());
  cr_assert_eq(snap->balance("empty").available(), 777);
  cr_assert(snap->is_member("carol", "empty"));
  assert_str(snap->default_account("carol").value_or(""), "empty");
}

Test(mirror, an_unopenable_ledger_fails_closed_with_its_reason, .timeout = 60) {
  LedgerMirror m([](const std::string& p) -> std::unique_ptr<Ledger> {
                   throw Error(Errc::storage, "cannot open " + p, "start the server");
                 },
                 "mysql://x@h/db");
  m.wait_first(30 * kSecond);
  std::string why;
  cr_assert_null(m.current(monotonic_ns(), &why).get());
  assert_contains(why, "no copy of the ledger yet: cannot open mysql://x@h/db (start the server)");
  cr_assert_eq(m.copies(), 0);
  cr_assert_geq(m.failures(), 1);
}

Test(mirror, a_new_ledger_path_is_never_answered_from_the_old_copy, .timeout = 60) {
  Scratch s;
  make_ledger(s.dir + "/a.db");
  auto b = open_sqlite_ledger(s.dir + "/b.db");
  b->add_account({"other", "", 0, "", 0});
  MirrorOptions opt;
  opt.refresh_ns = 3600 * kSecond;
  opt.fresh_wait_ns = 30 * kSecond;
  LedgerMirror m([](const std::string& p) { return open_sqlite_ledger(p); }, s.dir + "/a.db", opt);
  m.wait_first(30 * kSecond);
  std::string why;
  cr_assert(m.current(monotonic_ns(), &why), "%s", why.c_str());
  m.set_source(s.dir + "/b.db", opt);
  std::shared_ptr<SnapshotLedger> snap = m.current(monotonic_ns(), &why);
  if (snap) assert_str(snap->source(), s.dir + "/b.db");  // the new copy may already be there
  snap = m.fresher(monotonic_ns(), &why);
  cr_assert(snap, "%s", why.c_str());
  assert_str(snap->source(), s.dir + "/b.db");
  cr_assert(snap->find_account("other").has_value());
  cr_assert_not(snap->find_account("lab").has_value());
}

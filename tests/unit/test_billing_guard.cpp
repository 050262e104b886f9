// Unit tests of who pays for a run and for how long its funds stay held (issue 16 items 2 and 3):
// membership re-checked at hold, at settlement and on account changes; bounded time limits;
// holds that last until their run is settled.
#include <criterion/criterion.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "common/error.hpp"
#include "billing/job_request.hpp"
#include "ledger/ledger.hpp"
#include "billing/record.hpp"
#include "billing/settle.hpp"
#include "test_helpers.hpp"

using namespace paracloud;

namespace {

// cpu 36 CNY/h = 1 fen per cpu-second.
const char* kConf =
    "ClusterName=a\n"
    "DefaultTimeLimit=2:00:00\n"
    "LienGrace=0:30:00\n"
    "SiteName=a Cluster=slurm_a\n"
    "PriceName=a:* cpu=36\n";

struct Scratch {
  std::string dir;
  Scratch() {
    char tmpl[] = "/tmp/test_billing_guard.XXXXXX";
    dir = mkdtemp(tmpl);
  }
  ~Scratch() { (void)!std::system(("rm -rf '" + dir + "'").c_str()); }
};

// alice is a member of lab (her default); victim belongs to bob only. Both hold 100.00 CNY.
struct Bank {
  Scratch s;
  Config cfg;
  std::unique_ptr<Ledger> ledger;
  Bank() {
    set_ledger_clock_for_tests(1700000100);
    cfg = parse_config(kConf, "test.conf");
    cfg.ledger_path = s.dir + "/ledger.db";
    cfg.accounting_log = s.dir + "/accounting.jsonl";
    ledger = open_sqlite_ledger(cfg.ledger_path);
    ledger->add_account({"lab", "", 0, "", 0});
    ledger->add_account({"victim", "", 0, "", 0});
    ledger->add_user("alice", "lab", true);
    ledger->add_user("bob", "victim", true);
    ledger->deposit("lab", 10000, "dep-lab", "admin", "");
    ledger->deposit("victim", 10000, "dep-victim", "admin", "");
  }
  ~Bank() { set_ledger_clock_for_tests(0); }
  Money held(const std::string& a) { return ledger->balance(a).held; }
  Money balance(const std::string& a) { return ledger->balance(a).balance(); }
};

// alice's job 7: 2 CPUs, 600 s limit, ran 100 s; its Slurm account moved to `account`.
JobFacts job(const std::string& account) {
  JobFacts f;
  f.cluster = "slurm_a";
  f.job_id = 7;
  f.user = "alice";
  f.uid = 1001;
  f.account = account;
  f.partition = "batch";
  f.submit = 1700000000;
  f.start = 1700000100;
  f.end = 1700000200;
  f.time_limit = 600;
  f.state = "COMPLETED";
  f.cpus = 2;
  f.nodes = 1;
  return f;
}

}  // namespace

// ------------------------------------------------------------------ item 2: billing another account

Test(billing, hold_refuses_an_account_its_user_is_not_a_member_of) {
  Bank b;
  HoldOutcome h = place_hold(b.cfg, *b.ledger, job("victim"));
  cr_assert_eq(b.held("victim"), 0, "a hold of %lld fen was placed on victim", (long long)b.held("victim"));
  cr_assert_eq(b.held("lab"), 0);
  cr_assert_not(h.placed, "the start was admitted");
  assert_contains(h.message, "not a member of account victim");
  assert_contains(h.message, "scontrol update JobId=7 Account=");
}

Test(billing, settle_without_a_hold_never_bills_an_account_its_user_is_not_in) {
  Bank b;
  SettleOutcome o = settle_run(b.cfg, *b.ledger, job("victim"));
  cr_assert_eq(b.balance("victim"), 10000, "victim was charged: balance %lld", (long long)b.balance("victim"));
  cr_assert_eq(b.balance("lab"), 10000 - 200, "alice's own account pays the 200 fen: balance %lld",
               (long long)b.balance("lab"));
  assert_str(o.record.ledger_account, "lab");
  assert_contains(o.record.note, "victim");
  cr_assert(o.record_written, "the run has its record");
}

Test(billing, settle_bills_the_account_that_was_held_even_if_the_job_moved_later) {
  Bank b;
  JobFacts f = job("lab");
  cr_assert(place_hold(b.cfg, *b.ledger, f).placed);
  f.account = "victim";  // scontrol update while it ran
  SettleOutcome o = settle_run(b.cfg, *b.ledger, f);
  cr_assert_eq(b.balance("victim"), 10000);
  cr_assert_eq(b.balance("lab"), 10000 - 200);
  cr_assert_eq(b.held("lab"), 0, "the hold was released by the charge");
  assert_str(o.record.ledger_account, "lab");
}

Test(billing, no_own_account_is_not_charged_to_anyone_and_keeps_its_record) {
  Bank b;
  JobFacts f = job("victim");
  f.user = "mallory";  // member of nothing, no default
  assert_contains(error_of([&] { settle_run(b.cfg, *b.ledger, f); }, Errc::not_found), "mallory");
  cr_assert_eq(b.balance("victim"), 10000);
}

// ------------------------------------------------------------------ item 3: unlimited time limits

Test(time_limit, a_hold_lasts_until_its_run_is_settled) {
  Bank b;
  JobFacts f = job("lab");
  HoldOutcome h = place_hold(b.cfg, *b.ledger, f);
  cr_assert(h.placed);
  cr_assert_eq(h.expires, 0, "the hold expires at %lld while the run may still run", (long long)h.expires);
  set_ledger_clock_for_tests(f.start + 7 * 86400);  // a week later, still running (suspended, limit raised...)
  cr_assert_eq(b.held("lab"), 1200, "held %lld after a week, want 1200", (long long)b.held("lab"));
}

Test(time_limit, a_run_without_a_time_limit_is_not_started) {
  Bank b;
  JobFacts f = job("lab");
  f.time_limit = 0;  // UNLIMITED: its cost has no bound
  f.cpus = 1;        // its DefaultTimeLimit hold (72.00) would fit the 100.00 available
  HoldOutcome h = place_hold(b.cfg, *b.ledger, f);
  cr_assert_not(h.placed, "an unlimited run was admitted with a hold of %lld", (long long)h.amount);
  cr_assert_eq(b.held("lab"), 0);
  assert_contains(h.message, "no time limit");
  assert_contains(h.message, "scontrol update JobId=7 TimeLimit=");
}

// ------------------------------------------------------------------ job_modify and submit decisions

Test(billing, moving_a_job_needs_membership_of_the_new_account) {
  Bank b;
  SubmitResult r = check_account_change(*b.ledger, "alice", "victim");
  cr_assert_eq(static_cast<int>(r.verdict), static_cast<int>(Verdict::not_member));
  assert_contains(r.message, "user alice is not a member of account victim");
  assert_contains(r.message, "one of yours: lab");
  r = check_account_change(*b.ledger, "alice", "nosuch");
  cr_assert_eq(static_cast<int>(r.verdict), static_cast<int>(Verdict::unknown_account));
  r = check_account_change(*b.ledger, "alice", "");
  cr_assert_eq(static_cast<int>(r.verdict), static_cast<int>(Verdict::no_account));
  r = check_account_change(*b.ledger, "alice", "lab");
  cr_assert_eq(static_cast<int>(r.verdict), static_cast<int>(Verdict::ok), "%s", r.message.c_str());
}

Test(time_limit, unlimited_or_missing_limits_get_the_priced_one) {
  PartitionFacts open_ended;  // no DefaultTime, MaxTime UNLIMITED
  open_ended.name = "batch";
  JobRequest req;
  req.num_tasks = 1;
  req.time_limit_min = kTimeUnlimited;
  WorstCase wc = worst_case(req, open_ended, 3 * 3600);
  cr_assert_eq(wc.set_time_limit_min, 180, "UNLIMITED asked: limit %lld", (long long)wc.set_time_limit_min);
  cr_assert_eq(wc.resources.seconds, 3 * 3600);
  req.time_limit_min = kTimeNotGiven;
  wc = worst_case(req, open_ended, 3 * 3600 + 1);  // 3:00:01 rounds up to 181 minutes, priced so
  cr_assert_eq(wc.set_time_limit_min, 181);
  cr_assert_eq(wc.resources.seconds, 181 * 60);
  PartitionFacts capped = open_ended;
  capped.max_time_min = 30;
  req.time_limit_min = kTimeUnlimited;
  wc = worst_case(req, capped, 3 * 3600);
  cr_assert_eq(wc.set_time_limit_min, 30);
  req.time_limit_min = kTimeNotGiven;  // Slurm gives it MaxTime itself
  cr_assert_eq(worst_case(req, capped, 3 * 3600).set_time_limit_min, 0);
  req.time_limit_min = 20;
  wc = worst_case(req, capped, 3 * 3600);
  cr_assert_eq(wc.set_time_limit_min, 0, "--time is kept");
  cr_assert_eq(wc.resources.seconds, 20 * 60);
}

// Holds no longer expire, so one that nobody will settle must not stay: slurmctld killed -9 right
// after a start forgets that run (jobcomp never hears of it) and starts the job again.
Test(time_limit, a_new_run_of_a_job_releases_the_stale_hold_of_a_lost_run) {
  Bank b;
  JobFacts lost = job("lab");
  cr_assert(place_hold(b.cfg, *b.ledger, lost).placed);
  JobFacts again = lost;
  again.start = lost.start + 12;  // the same job started again after the restart
  again.end = again.start + 100;
  cr_assert(place_hold(b.cfg, *b.ledger, again).placed);
  cr_assert_eq(b.held("lab"), 1200, "held %lld: the lost run's hold stayed beside the new one",
               (long long)b.held("lab"));
  settle_run(b.cfg, *b.ledger, again);
  cr_assert_eq(b.held("lab"), 0, "held %lld after the job was settled", (long long)b.held("lab"));
  cr_assert_eq(b.balance("lab"), 10000 - 200);
}

// Unit tests of record.hpp, settle.hpp and spool.hpp: TRES parsing, settlement rule, holds, idempotent settlement, AccountingLog, spool.
#include <criterion/criterion.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "config/config.hpp"
#include "common/error.hpp"
#include "ledger/ledger.hpp"
#include "billing/record.hpp"
#include "billing/settle.hpp"
#include "billing/spool.hpp"
#include "test_helpers.hpp"

using namespace paracloud;

// The shared assert_contains runs an error_of(...) argument once (it used to run it twice here).
Test(helpers, assert_contains_evaluates_its_arguments_once) {
  int calls = 0;
  assert_contains(error_of([&] {
                    ++calls;
                    throw Error(Errc::bad_input, "bad cpu=two");
                  }, Errc::bad_input),
                  "cpu=two");
  cr_assert_eq(calls, 1, "the message expression ran %d times", calls);
}

// cpu 36 CNY/h = 1 fen per cpu-second; mem 0.004 CNY per GB-hour; gpu 7.2 CNY/h = 0.2 fen/s.
static const char* kConf =
    "ClusterName=a\n"
    "RefundPolicy=NODE_FAIL,BOOT_FAIL\n"
    "DefaultTimeLimit=2:00:00\n"
    "LienGrace=0:30:00\n"
    "SiteName=a Cluster=slurm_a\n"
    "SiteName=b\n"
    "PriceName=a:* cpu=36 mem=0.004 gres/gpu=7.2\n"
    "PriceName=b:* cpu=1\n";

static Config conf(const std::string& extra = "") { return parse_config(std::string(kConf) + extra, "test.conf"); }

static JobFacts job(std::uint32_t id = 7) {
  JobFacts f;
  f.cluster = "slurm_a";
  f.job_id = id;
  f.user = "alice";
  f.uid = 1001;
  f.account = "lab";
  f.partition = "batch";
  f.submit = 1700000000;
  f.start = 1700000100;
  f.end = 1700000200;  // 100 s
  f.time_limit = 600;
  f.state = "COMPLETED";
  f.cpus = 2;
  f.nodes = 1;
  return f;
}

// A scratch directory per test, removed at the end.
struct Scratch {
  std::string dir;
  Scratch() {
    char tmpl[] = "/tmp/test_settle.XXXXXX";
    dir = mkdtemp(tmpl);
  }
  ~Scratch() { (void)!std::system(("rm -rf '" + dir + "'").c_str()); }
};

static std::size_t count_lines(const std::string& path) {
  std::ifstream in(path);
  std::size_t n = 0;
  std::string l;
  while (std::getline(in, l)) ++n;
  return n;
}

// ------------------------------------------------------------------ TRES, keys, time

Test(tres, formatted_string_with_units_and_typed_gpus) {
  JobFacts f;
  parse_tres("cpu=8,mem=2G,node=2,billing=8,gres/gpu=3,gres/gpu:a100=2", f);
  cr_assert_eq(f.cpus, 8);
  cr_assert_eq(f.mem_mb, 2048);
  cr_assert_eq(f.nodes, 2);
  cr_assert_eq(f.gres.size(), 2u);
  cr_assert_eq(f.gres.at("gpu:a100"), 2);
  cr_assert_eq(f.gres.at("gpu"), 1, "untyped GPUs beyond the typed ones stay untyped");
  JobFacts g;
  parse_tres("cpu=1,mem=1.5G,gres/gpu=1,gres/gpu:v100=1", g);
  cr_assert_eq(g.mem_mb, 1536);
  cr_assert_eq(g.gres.size(), 1u, "a typed GPU replaces the untyped count");
  JobFacts k;
  parse_tres("mem=100K", k);
  cr_assert_eq(k.mem_mb, 1, "rounded up to whole MB");
}

Test(tres, junk_is_refused_with_the_item) {
  JobFacts f;
  assert_contains(error_of([&] { parse_tres("cpu=two", f); }, Errc::bad_input), "cpu=two");
  assert_contains(error_of([&] { parse_tres("cpu", f); }, Errc::bad_input), "no '='");
  assert_contains(error_of([&] { parse_tres("mem=5X", f); }, Errc::bad_input), "mem=5X");
}

Test(keys, one_per_run) {
  JobFacts f = job(42);
  assert_str(lien_key(f), "lien:slurm_a:42:1700000100");
  assert_str(charge_key(f), "charge:slurm_a:42:1700000100");
  assert_str(refund_key(f), "refund:slurm_a:42:1700000100");
  assert_str(job_ref(f), "slurm_a:42");
}

Test(time, elapsed_excludes_suspension_and_never_negative) {
  JobFacts f = job();
  cr_assert_eq(elapsed_seconds(f), 100);
  f.suspended = 30;
  cr_assert_eq(elapsed_seconds(f), 70);
  f.suspended = 500;
  cr_assert_eq(elapsed_seconds(f), 0);
  f = job();
  f.start = 0;
  cr_assert_eq(elapsed_seconds(f), 0);
  f = job();
  f.end = f.start - 5;
  cr_assert_eq(elapsed_seconds(f), 0);
}

Test(site, by_cluster_then_cluster_name) {
  Config c = conf();
  assert_str(site_of_cluster(c, "slurm_a"), "a");
  assert_str(site_of_cluster(c, "b"), "b");
  assert_str(site_of_cluster(c, "unknown"), "a");  // ClusterName
  Config none = parse_config("SiteName=x\nPriceName=x:* cpu=1\n", "n.conf");
  none.cluster_name.clear();
  assert_contains(error_of([&] { site_of_cluster(none, "zz"); }, Errc::config), "Cluster=zz");
}

// ------------------------------------------------------------------ settlement rule

Test(settle_rule, cost_is_price_of_elapsed_time) {
  Config c = conf();
  JobFacts f = job();  // 2 cpu x 100 s x 1 fen
  Settlement s = settle(c, f, true);
  cr_assert(s.charge);
  cr_assert_eq(s.cost, 200);
  cr_assert_eq(s.refund, 0);
  cr_assert_eq(s.elapsed, 100);
  assert_str(s.site, "a");
  f.mem_mb = 2048;  // + 2 GB x 100 s x 0.4 fen/GB-h = 0.0222 fen: the total rounds up once
  cr_assert_eq(settle(c, f, true).cost, 201);
  f.gres["gpu"] = 1;  // + 100 s x 0.2 fen
  cr_assert_eq(settle(c, f, true).cost, 221);
}

Test(settle_rule, refund_policy_states_refund_everything) {
  Config c = conf();
  JobFacts f = job();
  f.state = "NODE_FAIL";
  Settlement s = settle(c, f, true);
  cr_assert_eq(s.cost, 200);
  cr_assert_eq(s.refund, 200);
  assert_contains(s.note, "NODE_FAIL");
  f.state = "FAILED";
  cr_assert_eq(settle(c, f, true).refund, 0);
  f.state = "TIMEOUT";
  cr_assert_eq(settle(c, f, true).refund, 0);
}

Test(settle_rule, runs_that_never_ran_cost_nothing) {
  Config c = conf();
  JobFacts f = job();
  f.start = 0;
  f.state = "CANCELLED";
  Settlement s = settle(c, f, false);
  cr_assert_not(s.charge);
  cr_assert_eq(s.cost, 0);
  assert_contains(s.note, "never started");
  f = job();
  f.launched = false;  // refused by prep/paracloud: requeued before launch
  f.state = "REQUEUED";
  cr_assert_not(settle(c, f, false).charge);
  cr_assert(settle(c, f, true).charge, "a held run cancelled while starting is charged its time");
  f = job();
  f.state = "REVOKED";
  cr_assert_not(settle(c, f, true).charge);
}

Test(settle_rule, hold_covers_the_time_limit_or_default) {
  Config c = conf();
  JobFacts f = job();
  cr_assert_eq(hold_quote(c, f).total, 2 * 600);
  f.time_limit = 0;
  cr_assert_eq(hold_seconds(c, f), 7200);
  cr_assert_eq(hold_quote(c, f).total, 2 * 7200);
  f.partition = "x";
  f.cluster = "b";  // site b: cpu 1 CNY/h
  cr_assert_eq(hold_quote(c, f).total, 2 * 100 * 2);
}

// ------------------------------------------------------------------ record JSON

Test(record, json_round_trip_keeps_every_field) {
  AccountingRecord r;
  r.job = job();
  r.job.gres["gpu:a100"] = 2;
  r.job.mem_mb = 4096;
  r.job.array_job_id = 5;
  r.job.array_task_id = 3;
  r.site = "a";
  r.ledger_account = "lab";
  r.elapsed = 100;
  r.cost = 321;
  r.hold = 999;
  r.refund = 21;
  r.balance_after = 12345;
  r.balance_known = true;
  r.lien_key = "lien:x";
  r.charge_key = "charge:x";
  r.recorded = 1700000300;
  r.lines.push_back({"cpu", 2, 36000000, "cpu-hour", 200, "cpu"});
  nlohmann::json j = r;
  assert_str(j["start_iso"].get<std::string>(), "2023-11-14T22:15:00Z");
  cr_assert_eq(j["net"].get<long>(), 300);
  cr_assert(j["profile"].is_null() && j["route"].is_null());
  AccountingRecord back;
  from_json(nlohmann::json::parse(j.dump()), back);
  cr_assert(nlohmann::json(back) == j, "round trip differs:\n%s\n%s", nlohmann::json(back).dump().c_str(),
            j.dump().c_str());
}

// A routed job's record (route object) with a --budget (a number) reads back: both share their names
// with the spool entry's text fields (before: "type must be string, but is object", and report,
// reconcile and route explain skipped every federated job's record).
Test(record, route_and_budget_read_back) {
  AccountingRecord r;
  r.job = job();
  r.site = "b";
  r.route = {{"policy", "cheapest"}, {"selected", {"b"}}, {"deadline", 1700003600}};
  r.budget = 5000;
  nlohmann::json j = r;
  cr_assert(j["route"].is_object() && j["budget"] == 5000);
  AccountingRecord back;
  from_json(nlohmann::json::parse(j.dump()), back);
  cr_assert(back.route == r.route, "%s", back.route.dump().c_str());
  cr_assert_eq(back.budget, 5000);
  cr_assert(back.job.route.empty() && back.job.budget.empty());
  cr_assert(nlohmann::json(back) == j, "round trip differs:\n%s\n%s", nlohmann::json(back).dump().c_str(),
            j.dump().c_str());
}

Test(record, foreign_and_newer_records_are_refused) {
  AccountingRecord r;
  assert_contains(error_of([&] { from_json(nlohmann::json{{"job_id", 1}}, r); }, Errc::bad_input), "paracloud.job");
  auto j = nlohmann::json{{"type", "paracloud.job"}, {"schema", kRecordSchema + 1}};
  assert_contains(error_of([&] { from_json(j, r); }, Errc::bad_input), "schema");
  j = nlohmann::json{{"type", "paracloud.job"}, {"schema", 1}, {"cost", "lots"}};
  assert_contains(error_of([&] { from_json(j, r); }, Errc::bad_input), "wrong type");
}

// ------------------------------------------------------------------ against a ledger

struct Bank {
  Scratch s;
  Config cfg;
  std::unique_ptr<Ledger> ledger;
  explicit Bank(Money deposit, const std::string& extra = "") {
    set_ledger_clock_for_tests(1700000100);  // the jobs' start: their holds are not expired
    cfg = conf(extra);
    cfg.ledger_path = s.dir + "/ledger.db";
    cfg.accounting_log = s.dir + "/accounting.jsonl";
    ledger = open_sqlite_ledger(cfg.ledger_path);
    ledger->add_account({"lab", "", 0, "", 0});
    ledger->add_user("alice", "lab", true);
    if (deposit) ledger->deposit("lab", deposit, "dep1", "admin", "");
  }
  ~Bank() { set_ledger_clock_for_tests(0); }
};

Test(hold, funds_for_five_admit_exactly_five_of_twenty) {
  Bank b(5 * 1200);  // each run holds 2 cpu x 600 s = 1200 fen
  int placed = 0;
  std::string msg;
  for (std::uint32_t id = 1; id <= 20; ++id) {
    HoldOutcome h = place_hold(b.cfg, *b.ledger, job(id));
    cr_assert_eq(h.amount, 1200);
    if (h.placed) ++placed;
    else msg = h.message;
  }
  cr_assert_eq(placed, 5);
  cr_assert_eq(b.ledger->balance("lab").available(), 0);
  assert_contains(msg, "insufficient funds");
  assert_contains(msg, "12.00 CNY");
  assert_contains(msg, "0.00 CNY available");
  assert_contains(msg, "scontrol release 20");
}

Test(hold, lasts_until_settled_and_retry_replays) {
  Bank b(100000);
  JobFacts f = job();
  HoldOutcome h = place_hold(b.cfg, *b.ledger, f);
  cr_assert_eq(h.expires, 0, "holds never expire (issue 16 item 3: test_billing_guard)");
  cr_assert_not(h.replayed);
  cr_assert(place_hold(b.cfg, *b.ledger, f).replayed, "slurmctld re-running the prolog holds nothing more");
  cr_assert_eq(b.ledger->balance("lab").held, 1200);
}

Test(hold, unknown_user_and_unpriced_partition_are_errors) {
  Bank b(100000);
  JobFacts f = job();
  f.user = "mallory";
  f.account = "";
  assert_contains(error_of([&] { place_hold(b.cfg, *b.ledger, f); }, Errc::not_found), "mallory");
  Config c = parse_config("SiteName=a\nPriceName=a:gpu cpu=1\n", "p.conf");
  assert_contains(error_of([&] { place_hold(c, *b.ledger, job()); }, Errc::not_found), "no price");
}

// The spool entry (JobFacts) carries the tag text and the --budget text; settlement turns them into
// the record's route object and budget in minor units.
Test(settle_run, records_the_route_and_the_budget) {
  Bank b(10000);
  JobFacts f = job();
  f.route = R"({"policy":"cheapest","selected":["a"]})";
  f.budget = "12.50";
  JobFacts spooled;
  from_json(nlohmann::json::parse(nlohmann::json(f).dump()), spooled);
  assert_str(spooled.route, f.route);
  assert_str(spooled.budget, "12.50");
  place_hold(b.cfg, *b.ledger, spooled);
  settle_run(b.cfg, *b.ledger, spooled);
  auto recs = read_records(b.cfg.accounting_log, nullptr);
  cr_assert_eq(recs.size(), 1u);
  cr_assert_eq(recs[0].budget, 1250);
  cr_assert(recs[0].route["selected"] == nlohmann::json({"a"}), "%s", recs[0].route.dump().c_str());
}

Test(settle_run, charges_releases_and_writes_one_record) {
  Bank b(10000);
  JobFacts f = job();
  place_hold(b.cfg, *b.ledger, f);
  SettleOutcome o = settle_run(b.cfg, *b.ledger, f);
  cr_assert(o.record_written);
  cr_assert_not(o.ledger_replayed);
  Balance bal = b.ledger->balance("lab");
  cr_assert_eq(bal.held, 0, "the hold is released by the charge");
  cr_assert_eq(bal.balance(), 10000 - 200);
  auto recs = read_records(b.cfg.accounting_log, nullptr);
  cr_assert_eq(recs.size(), 1u);
  cr_assert_eq(recs[0].cost, 200);
  cr_assert_eq(recs[0].hold, 1200);
  cr_assert_eq(recs[0].balance_after, 9800);
  assert_str(recs[0].charge_key, charge_key(f));
  assert_str(recs[0].lien_key, lien_key(f));
}

Test(settle_run, replay_after_a_crash_charges_and_records_once) {
  Bank b(10000);
  JobFacts f = job();
  place_hold(b.cfg, *b.ledger, f);
  // Crash after the charge, before the record: simulate by charging with another log path.
  Config no_log = b.cfg;
  no_log.accounting_log = b.s.dir + "/lost.jsonl";
  settle_run(no_log, *b.ledger, f);
  SettleOutcome o = settle_run(b.cfg, *b.ledger, f, true);
  cr_assert(o.ledger_replayed);
  cr_assert(o.record_written, "the missing record is written on replay");
  cr_assert_eq(o.record.balance_after, 9800, "the replayed record shows the first charge's balance");
  // Crash after the record, before the spool was marked done: replay again.
  SettleOutcome again = settle_run(b.cfg, *b.ledger, f, true);
  cr_assert_not(again.record_written);
  cr_assert_eq(count_lines(b.cfg.accounting_log), 1u);
  cr_assert_eq(b.ledger->balance("lab").balance(), 9800);
  StatementQuery q;
  q.account = "lab";
  int charges = 0;
  for (const auto& e : b.ledger->statement(q)) charges += e.kind == EntryKind::charge;
  cr_assert_eq(charges, 1);
}

Test(settle_run, node_fail_is_refunded_and_uncharged_runs_still_recorded) {
  Bank b(10000);
  JobFacts f = job();
  f.state = "NODE_FAIL";
  place_hold(b.cfg, *b.ledger, f);
  SettleOutcome o = settle_run(b.cfg, *b.ledger, f);
  cr_assert_eq(o.record.refund, 200);
  assert_str(o.record.refund_key, refund_key(f));
  cr_assert_eq(b.ledger->balance("lab").balance(), 10000);
  JobFacts p = job(8);
  p.start = 0;
  p.state = "CANCELLED";
  SettleOutcome q = settle_run(b.cfg, *b.ledger, p);
  cr_assert(q.record_written);
  cr_assert_eq(q.record.cost, 0);
  assert_str(q.record.charge_key, "");
  JobFacts r = job(9);
  r.state = "REVOKED";
  cr_assert_not(settle_run(b.cfg, *b.ledger, r).record_written, "revoked sibling copies get no record");
  cr_assert_eq(count_lines(b.cfg.accounting_log), 2u);
}

Test(settle_run, requeued_run_releases_its_own_hold) {
  Bank b(10000);
  JobFacts run1 = job();
  place_hold(b.cfg, *b.ledger, run1);
  run1.state = "REQUEUED";
  settle_run(b.cfg, *b.ledger, run1);
  JobFacts run2 = job();
  run2.start = run1.end + 130;
  run2.end = run2.start + 10;
  place_hold(b.cfg, *b.ledger, run2);
  settle_run(b.cfg, *b.ledger, run2);
  Balance bal = b.ledger->balance("lab");
  cr_assert_eq(bal.held, 0);
  cr_assert_eq(bal.balance(), 10000 - 200 - 20);
}

Test(settle_run, moved_start_time_still_finds_the_hold) {
  Bank b(10000);
  JobFacts f = job();
  place_hold(b.cfg, *b.ledger, f);
  f.start += 40;  // Slurm reset it when the nodes powered up
  settle_run(b.cfg, *b.ledger, f);
  cr_assert_eq(b.ledger->balance("lab").held, 0);
}

Test(settle_run, unwritable_log_is_a_storage_error) {
  Bank b(10000);
  b.cfg.accounting_log = b.s.dir + "/no/such/dir/acct.jsonl";
  assert_contains(error_of([&] { settle_run(b.cfg, *b.ledger, job()); }, Errc::storage), "no/such/dir");
}

// ------------------------------------------------------------------ AccountingLog and spool

Test(log, charge_key_search_and_bad_lines) {
  Scratch s;
  std::string path = s.dir + "/a.jsonl";
  cr_assert_not(log_has_charge_key(path, "charge:slurm_a:7:1700000100"));
  AccountingRecord r;
  r.job = job();
  append_record(path, r);
  { std::ofstream(path, std::ios::app) << "not json\n{\"type\":\"other\"}\n"; }
  cr_assert(log_has_charge_key(path, "charge:slurm_a:7:1700000100"));
  cr_assert_not(log_has_charge_key(path, "charge:slurm_a:7:17000001"));
  int bad = 0;
  auto recs = read_records(path, [&](std::size_t, const std::string&) { ++bad; });
  cr_assert_eq(recs.size(), 1u);
  cr_assert_eq(bad, 2);
  error_of([&] { read_records(s.dir + "/missing", nullptr); }, Errc::not_found);
}

Test(spool, fifo_survives_reopen_and_compacts) {
  Scratch s;
  std::uint64_t first_end = 0;
  {
    Spool sp(s.dir, "t");
    std::string err;
    cr_assert(sp.append("{\"a\":1}", &err));
    cr_assert(sp.append("{\"a\":2}", &err));
    auto items = sp.pending(sp.done_offset(), 10);
    cr_assert_eq(items.size(), 2u);
    assert_str(items[0].line, "{\"a\":1}");
    first_end = items[0].end;
    sp.mark_done(first_end);
    cr_assert_not(sp.compact(), "not everything is done yet");
  }
  Spool sp(s.dir, "t");  // a restart: only the second entry is pending
  cr_assert_eq(sp.done_offset(), first_end);
  auto items = sp.pending(sp.done_offset(), 10);
  cr_assert_eq(items.size(), 1u);
  assert_str(items[0].line, "{\"a\":2}");
  sp.mark_done(items[0].end);
  cr_assert(sp.compact());
  cr_assert_eq(sp.done_offset(), 0u);
  cr_assert(sp.pending(0, 10).empty());
}

Test(spool, torn_last_entry_does_not_swallow_the_next) {
  Scratch s;
  { std::ofstream(s.dir + "/t.spool") << "{\"a\":1}\n{\"a\":"; }
  Spool sp(s.dir, "t");
  std::string err;
  cr_assert(sp.append("{\"a\":3}", &err));
  auto items = sp.pending(0, 10);
  cr_assert_eq(items.size(), 3u);
  assert_str(items[1].line, "{\"a\":");
  assert_str(items[2].line, "{\"a\":3}");
}

Test(spool, missing_directory_is_a_storage_error) {
  assert_contains(error_of([] { Spool sp("/nonexistent/dir", "t"); }, Errc::storage), "/nonexistent/dir/t.spool");
}

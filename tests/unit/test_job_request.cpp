// Unit tests of job_request.hpp: TRES parsing, the worst-case rules, and the submit verdicts on a scratch ledger.
#include <criterion/criterion.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "config/config.hpp"
#include "common/error.hpp"
#include "billing/job_request.hpp"
#include "ledger/ledger.hpp"
#include "test_helpers.hpp"

using namespace paracloud;

namespace {

#define assert_i64(actual, expected)                                                                   \
  do {                                                                                                 \
    long long a_ = (actual), e_ = (expected);                                                          \
    cr_assert(a_ == e_, "%s is %lld, expected %lld", #actual, a_, e_);                                 \
  } while (0)

std::int64_t gres(const JobResources& r, const std::string& key) {
  auto it = r.gres.find(key);
  return it == r.gres.end() ? 0 : it->second;
}

const std::int64_t kHour = 3600;

}  // namespace

// ------------------------------------------------------------------ parse_tres_counts

Test(tres, every_spelling_slurm_uses) {
  auto a = parse_tres_counts("gres:gpu:a100:2", "t");
  assert_i64(a.size(), 1);
  assert_i64(a["gpu:a100"], 2);
  auto b = parse_tres_counts("gres/gpu:2", "t");
  assert_i64(b["gpu"], 2);
  auto c = parse_tres_counts("gpu:3", "t");
  assert_i64(c["gpu"], 3);
  auto d = parse_tres_counts("gpu", "t");
  assert_i64(d["gpu"], 1);
  auto e = parse_tres_counts("gpu:a100", "t");
  assert_i64(e["gpu:a100"], 1);
  assert_i64(e.count("gpu"), 0);
}

Test(tres, lists_suffixes_and_zero) {
  auto a = parse_tres_counts("gres:gpu:a100:2,gres:mps:100;gres:gpu:1", "t");
  assert_i64(a["gpu:a100"], 2);
  assert_i64(a["mps"], 100);
  assert_i64(a["gpu"], 1);
  auto b = parse_tres_counts("gres:shard:2K", "t");
  assert_i64(b["shard"], 2048);
  auto c = parse_tres_counts("gres:gpu:0", "t");
  cr_assert(c.empty(), "gpu:0 asks for nothing");
  auto d = parse_tres_counts("gpu:1,gpu:2", "t");
  assert_i64(d["gpu"], 3);  // items of the same key add up
  cr_assert(parse_tres_counts("", "t").empty());
}

Test(tres, junk_is_rejected_with_the_item) {
  std::string m = error_of([] { parse_tres_counts("gres:gpu:a100:two", "--gres"); }, Errc::bad_input);
  assert_contains(m, "--gres item 'gres:gpu:a100:two'");
  error_of([] { parse_tres_counts("gpu:a:b:2", "t"); }, Errc::bad_input);
  error_of([] { parse_tres_counts(":2", "t"); }, Errc::bad_input);
  error_of([] { parse_tres_counts("gpu:", "t"); }, Errc::bad_input);
  error_of([] { parse_tres_counts("g*u:1", "t"); }, Errc::bad_input);
  error_of([] { parse_tres_counts("gpu:99999999999999999999", "t"); }, Errc::bad_input);
}

// ------------------------------------------------------------------ worst_case: time

Test(worst_case, nothing_given_is_one_cpu_one_node_default_time) {
  WorstCase wc = worst_case(JobRequest{}, PartitionFacts{}, 5400);
  assert_i64(wc.resources.cpus, 1);
  assert_i64(wc.resources.nodes, 1);
  assert_i64(wc.resources.mem_mb, 0);
  assert_i64(wc.resources.seconds, 5400);
  assert_str(wc.time_source, "paracloud.conf DefaultTimeLimit");
}

Test(worst_case, time_limit_order) {
  PartitionFacts p;
  JobRequest r;
  r.time_limit_min = 90;
  p.default_time_min = 30;
  p.max_time_min = 240;
  WorstCase wc = worst_case(r, p, kHour);
  assert_i64(wc.resources.seconds, 90 * 60);
  assert_str(wc.time_source, "--time");

  r.time_limit_min = kTimeNotGiven;
  wc = worst_case(r, p, kHour);
  assert_i64(wc.resources.seconds, 30 * 60);
  assert_str(wc.time_source, "partition DefaultTime");

  p.default_time_min = 0;
  wc = worst_case(r, p, kHour);
  assert_i64(wc.resources.seconds, 240 * 60);
  assert_str(wc.time_source, "partition MaxTime");

  r.time_limit_min = kTimeUnlimited;  // DefaultTime never applies to an explicit UNLIMITED
  p.default_time_min = 30;
  wc = worst_case(r, p, kHour);
  assert_i64(wc.resources.seconds, 240 * 60);
  assert_str(wc.time_source, "partition MaxTime (UNLIMITED asked)");

  p.max_time_min = 0;
  wc = worst_case(r, p, 7200);
  assert_i64(wc.resources.seconds, 7200);
  assert_str(wc.time_source, "paracloud.conf DefaultTimeLimit (UNLIMITED asked)");

  r.time_limit_min = 600;  // above MaxTime: the request is the worst case
  p.max_time_min = 60;
  assert_i64(worst_case(r, p, kHour).resources.seconds, 600 * 60);
}

// ------------------------------------------------------------------ worst_case: cpus and nodes

Test(worst_case, tasks_times_cpus_per_task_spread_one_task_per_node) {
  JobRequest r;
  r.num_tasks = 4;
  r.cpus_per_task = 2;
  WorstCase wc = worst_case(r, PartitionFacts{}, kHour);
  assert_i64(wc.resources.cpus, 8);
  assert_i64(wc.resources.nodes, 4);  // no -N and no node facts: each task may land on its own node

  PartitionFacts p;
  p.cpus_per_node = 4;
  p.total_nodes = 3;
  wc = worst_case(r, p, kHour);
  assert_i64(wc.resources.nodes, 3);  // capped at the partition's nodes

  r.num_tasks = 20;
  r.cpus_per_task = 1;
  p.total_nodes = 2;
  wc = worst_case(r, p, kHour);
  assert_i64(wc.resources.cpus, 20);
  assert_i64(wc.resources.nodes, 5);  // never fewer nodes than ceil(20 cpus / 4 per node)
}

Test(worst_case, nodes_tasks_per_node_and_ranges) {
  JobRequest r;
  r.min_nodes = 2;
  r.max_nodes = 2;
  r.ntasks_per_node = 3;
  r.cpus_per_task = 2;
  WorstCase wc = worst_case(r, PartitionFacts{}, kHour);
  assert_i64(wc.resources.nodes, 2);
  assert_i64(wc.resources.cpus, 12);

  JobRequest range;
  range.min_nodes = 2;
  range.max_nodes = 4;
  wc = worst_case(range, PartitionFacts{}, kHour);
  assert_i64(wc.resources.nodes, 4);
  assert_i64(wc.resources.cpus, 4);  // one task per node

  JobRequest big;
  big.min_cpus = 64;
  big.num_tasks = 1;
  wc = worst_case(big, PartitionFacts{}, kHour);
  assert_i64(wc.resources.cpus, 64);

  JobRequest mincpus;
  mincpus.min_nodes = 3;
  mincpus.pn_min_cpus = 5;
  assert_i64(worst_case(mincpus, PartitionFacts{}, kHour).resources.cpus, 15);
}

Test(worst_case, exclusive_takes_whole_nodes) {
  PartitionFacts p;
  p.cpus_per_node = 16;
  JobRequest r;
  r.exclusive = true;
  r.min_nodes = 2;
  WorstCase wc = worst_case(r, p, kHour);
  assert_i64(wc.resources.cpus, 32);
  assert_i64(wc.resources.nodes, 2);

  JobRequest t;
  t.exclusive = true;
  t.num_tasks = 20;
  wc = worst_case(t, p, kHour);
  assert_i64(wc.resources.nodes, 2);  // whole nodes are packed: ceil(20 / 16)
  assert_i64(wc.resources.cpus, 32);

  t.exclusive = false;
  assert_i64(worst_case(t, p, kHour).resources.cpus, 20);

  // Node size unknown: the requested cpus are priced.
  t.exclusive = true;
  wc = worst_case(t, PartitionFacts{}, kHour);
  assert_i64(wc.resources.cpus, 20);
}

// ------------------------------------------------------------------ worst_case: memory and gres

Test(worst_case, memory_rules) {
  JobRequest r;
  r.num_tasks = 4;
  r.cpus_per_task = 2;
  r.min_nodes = 2;
  r.mem_given = true;
  r.mem_per_cpu = true;
  r.mem_mb = 1000;
  assert_i64(worst_case(r, PartitionFacts{}, kHour).resources.mem_mb, 8000);

  r.mem_per_cpu = false;
  r.mem_mb = 4096;
  assert_i64(worst_case(r, PartitionFacts{}, kHour).resources.mem_mb, 8192);

  PartitionFacts p;
  p.mem_per_node_mb = 64000;
  r.mem_mb = 0;  // --mem=0: all of each node
  assert_i64(worst_case(r, p, kHour).resources.mem_mb, 128000);
  assert_i64(worst_case(r, PartitionFacts{}, kHour).resources.mem_mb, 0);

  r.mem_given = false;
  p.def_mem_per_cpu_mb = 500;
  assert_i64(worst_case(r, p, kHour).resources.mem_mb, 4000);
  p.def_mem_per_cpu_mb = 0;
  p.def_mem_per_node_mb = 3000;
  assert_i64(worst_case(r, p, kHour).resources.mem_mb, 6000);

  JobRequest g;
  g.tres_per_job = "gres:gpu:4";
  g.mem_per_tres = "gres:gpu:2048";
  assert_i64(worst_case(g, p, kHour).resources.mem_mb, 8192);  // --mem-per-gpu beats partition defaults
}

Test(worst_case, gres_scaled_per_job_node_task_socket) {
  JobRequest r;
  r.min_nodes = 3;
  r.tres_per_node = "gres:gpu:a100:2";
  WorstCase wc = worst_case(r, PartitionFacts{}, kHour);
  assert_i64(gres(wc.resources, "gpu:a100"), 6);

  JobRequest t;
  t.num_tasks = 4;
  t.tres_per_task = "gres:gpu:1";
  assert_i64(gres(worst_case(t, PartitionFacts{}, kHour).resources, "gpu"), 4);

  JobRequest s;
  s.min_nodes = 2;
  s.sockets_per_node = 2;
  s.tres_per_socket = "gres:gpu:1";
  assert_i64(gres(worst_case(s, PartitionFacts{}, kHour).resources, "gpu"), 4);

  JobRequest both;  // the same gres from two options counts once, at its largest total
  both.min_nodes = 3;
  both.tres_per_job = "gres:gpu:4";
  both.tres_per_node = "gres:gpu:2";
  assert_i64(gres(worst_case(both, PartitionFacts{}, kHour).resources, "gpu"), 6);
  both.tres_per_job = "gres:gpu:8";
  assert_i64(gres(worst_case(both, PartitionFacts{}, kHour).resources, "gpu"), 8);
}

Test(worst_case, absurd_sizes_are_bad_input) {
  JobRequest r;
  r.min_nodes = INT64_MAX / 2;
  r.pn_min_cpus = 1000;
  error_of([&] { worst_case(r, PartitionFacts{}, kHour); }, Errc::bad_input);
  JobRequest g;
  g.tres_per_node = "gpu:two:three:four";
  std::string m = error_of([&] { worst_case(g, PartitionFacts{}, kHour); }, Errc::bad_input);
  assert_contains(m, "gpu:two:three:four");
}

// ------------------------------------------------------------------ check_submission

namespace {

struct Bank {
  std::string dir;
  std::unique_ptr<Ledger> ledger;
  Config cfg;
  Bank() {
    char tmpl[] = "/tmp/test_job_request.XXXXXX";
    cr_assert_not_null(mkdtemp(tmpl));
    dir = tmpl;
    ledger = open_sqlite_ledger(dir + "/ledger.db");
    cfg = parse_config(
        "ClusterName=a\n"
        "SiteName=a\n"
        "PriceName=a:batch cpu=0.10 node=1.00 gres/gpu:a100=6.50\n"
        "PriceName=a:cheap cpu=0.01\n",
        "test.conf");
    ledger->add_account(Account{"proj1", "", 0, "", 0});
    ledger->add_account(Account{"proj2", "", 0, "", 0});
    ledger->add_user("alice", "proj1", true);
    ledger->add_user("bob", "proj2", true);
    ledger->deposit("proj1", 500, "dep:1", "op", "");
    ledger->deposit("proj2", 1000000, "dep:2", "op", "");
  }
  ~Bank() {
    ledger.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  SubmitCheck job(const std::string& user, const std::string& account, const std::string& partition,
                  std::int64_t cpus, std::int64_t seconds) const {
    SubmitCheck c;
    c.user = user;
    c.account = account;
    c.resources.site = "a";
    c.resources.partition = partition;
    c.resources.cpus = cpus;
    c.resources.seconds = seconds;
    c.time_source = "--time";
    return c;
  }
};

}  // namespace

Test(check_submission, unaffordable_job_message_has_the_numbers_and_the_fix) {
  Bank b;
  // 64 cpu x 0.10 x 2 h = 12.80 plus 1 node x 1.00 x 2 h = 2.00 -> 14.80 CNY; proj1 holds 5.00.
  SubmitCheck c = b.job("alice", "proj1", "batch", 64, 2 * kHour);
  c.resources.nodes = 1;
  SubmitResult r = check_submission(b.cfg, *b.ledger, c);
  cr_assert(r.verdict == Verdict::insufficient_funds);
  assert_i64(r.quote.total, 1480);
  assert_i64(r.available, 500);
  assert_str(r.message,
             "paracloud: job needs up to 14.80 CNY (64 cpu, 1 node x 02:00:00 on a/batch); account proj1 has "
             "5.00 CNY available - deposit funds or shorten --time");
}

Test(check_submission, affordable_job_defaults_the_account) {
  Bank b;
  SubmitResult r = check_submission(b.cfg, *b.ledger, b.job("alice", "", "batch", 4, kHour));  // 0.40
  cr_assert(r.verdict == Verdict::ok, "%s", r.message.c_str());
  assert_str(r.account, "proj1");
  cr_assert(r.account_defaulted);
  assert_i64(r.quote.total, 40);
  cr_assert(r.message.empty());

  r = check_submission(b.cfg, *b.ledger, b.job("alice", "proj1", "batch", 50, kHour));  // exactly 5.00
  cr_assert(r.verdict == Verdict::ok, "a quote equal to the funds is affordable: %s", r.message.c_str());
  cr_assert(!r.account_defaulted);
  r = check_submission(b.cfg, *b.ledger, b.job("alice", "proj1", "batch", 51, kHour));  // 5.10
  cr_assert(r.verdict == Verdict::insufficient_funds);
}

Test(check_submission, defaulted_time_is_named_in_the_fix) {
  Bank b;
  SubmitCheck c = b.job("alice", "proj1", "batch", 64, kHour);
  c.time_source = "partition DefaultTime";
  SubmitResult r = check_submission(b.cfg, *b.ledger, c);
  cr_assert(r.verdict == Verdict::insufficient_funds);
  assert_contains(r.message, "deposit funds or give a shorter --time (time priced from the partition DefaultTime)");
}

Test(check_submission, account_errors_name_the_fix) {
  Bank b;
  SubmitResult r = check_submission(b.cfg, *b.ledger, b.job("carol", "", "batch", 1, kHour));
  cr_assert(r.verdict == Verdict::no_account);
  assert_contains(r.message, "user carol has no default account");
  assert_contains(r.message, "paracloud bank user add carol -A ACCOUNT");

  r = check_submission(b.cfg, *b.ledger, b.job("alice", "nosuch", "batch", 1, kHour));
  cr_assert(r.verdict == Verdict::unknown_account);
  assert_contains(r.message, "account 'nosuch' does not exist");
  assert_contains(r.message, "--account=ACCOUNT, one of yours: proj1");

  r = check_submission(b.cfg, *b.ledger, b.job("alice", "proj2", "batch", 1, kHour));
  cr_assert(r.verdict == Verdict::not_member);
  assert_contains(r.message, "user alice is not a member of account proj2");
}

Test(check_submission, price_errors_name_the_fix) {
  Bank b;
  SubmitResult r = check_submission(b.cfg, *b.ledger, b.job("bob", "", "gpu", 1, kHour));
  cr_assert(r.verdict == Verdict::no_price);
  assert_contains(r.message, "no price for site 'a' partition 'gpu'");
  assert_contains(r.message, "--partition");

  SubmitCheck c = b.job("bob", "", "cheap", 1, kHour);
  c.resources.gres["gpu:a100"] = 1;
  r = check_submission(b.cfg, *b.ledger, c);
  cr_assert(r.verdict == Verdict::unpriced_tres);
  assert_contains(r.message, "gres/gpu:a100");

  c.resources.partition = "batch";  // priced there: 1 cpu x 0.10 + 1 a100 x 6.50 = 6.60
  r = check_submission(b.cfg, *b.ledger, c);
  cr_assert(r.verdict == Verdict::ok, "%s", r.message.c_str());
  assert_i64(r.quote.total, 660);
}

Test(check_submission, holds_reduce_what_is_available) {
  Bank b;
  b.ledger->place_lien("proj1", 400, "lien:1", 0, "a:1", "alice");  // 5.00 - 4.00 = 1.00 left
  SubmitResult r = check_submission(b.cfg, *b.ledger, b.job("alice", "", "batch", 11, kHour));  // 1.10
  cr_assert(r.verdict == Verdict::insufficient_funds);
  assert_contains(r.message, "account proj1 has 1.00 CNY available");
}

Test(check_submission, membership_cache_remembers_successes_only) {
  Bank b;
  MembershipCache cache(1000);  // ttl 1000 ns
  SubmitCheck c = b.job("carol", "", "batch", 1, kHour);
  SubmitResult r = check_submission(b.cfg, *b.ledger, c, &cache, 0);
  cr_assert(r.verdict == Verdict::no_account);
  b.ledger->add_user("carol", "proj1", true);  // a failure is not remembered: carol may submit at once
  r = check_submission(b.cfg, *b.ledger, c, &cache, 1);
  cr_assert(r.verdict == Verdict::ok, "%s", r.message.c_str());
  assert_str(r.account, "proj1");
  cr_assert(r.account_defaulted);

  // A remembered pair skips the ledger's membership queries until it expires.
  cache.put("dave", "proj2", "proj2", false, 0);
  SubmitCheck d = b.job("dave", "proj2", "batch", 1, kHour);
  r = check_submission(b.cfg, *b.ledger, d, &cache, 999);
  cr_assert(r.verdict == Verdict::ok, "cached membership: %s", r.message.c_str());
  r = check_submission(b.cfg, *b.ledger, d, &cache, 1000);
  cr_assert(r.verdict == Verdict::not_member, "expired entry: the ledger says no");

  cache.put("dave", "gone", "gone", false, 0);  // an account that no longer exists
  r = check_submission(b.cfg, *b.ledger, b.job("dave", "gone", "batch", 1, kHour), &cache, 1);
  cr_assert(r.verdict == Verdict::unknown_account);
}

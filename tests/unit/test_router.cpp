// Unit tests of router.hpp: feasibility reasons, the three policies on worked examples, deadline,
// budget, cost == price_job, and determinism under shuffled input.
#include <criterion/criterion.h>

#include <algorithm>
#include <random>
#include <sstream>

#include "config/config.hpp"
#include "common/error.hpp"
#include "money/pricing.hpp"
#include "routing/router.hpp"

using namespace paracloud;

#define assert_str(actual, expected)                                                       \
  do {                                                                                     \
    std::string a_ = (actual), e_ = (expected);                                            \
    cr_assert(a_ == e_, "%s is \"%s\", expected \"%s\"", #actual, a_.c_str(), e_.c_str()); \
  } while (0)

static const std::int64_t kNow = 1700000000;

// Three sites. For 8 CPUs x 1 h: a 0.80, b 1.60 (batch and gpu tie; batch wins by name), c 1.20.
static const char* kConf =
    "Currency=CNY\n"
    "SiteStateMaxAge=60\n"
    "RoutePolicy=balanced RouteWaitWeight=0.50 RouteTopK=2\n"
    "SiteName=a\n"
    "SiteName=b Cluster=clu-b Licenses=matlab:2\n"
    "SiteName=c HealthMaxAge=300\n"
    "PartitionName=a:batch CpusPerNode=32 MaxNodes=4 MaxTime=1-00:00:00 Features=avx2\n"
    "PartitionName=b:batch CpusPerNode=64 Features=avx2,ib\n"
    "PartitionName=b:gpu CpusPerNode=32 Gpus=a100:4 MemPerNode=256000\n"
    "PartitionName=c:batch CpusPerNode=48 CpuModel=EPYC-9654 Features=avx512,ib\n"
    "PriceName=a:* cpu=0.10\n"
    "PriceName=b:batch cpu=0.20\n"
    "PriceName=b:gpu cpu=0.20 gres/gpu=5.00 gres/gpu:a100=8.00\n"
    "PriceName=c:* cpu=0.15 mem=0.01\n";

static PartitionState part(const std::string& name, std::int64_t idle, std::int64_t total,
                           std::int64_t pending_cpus, std::int64_t running_cs,
                           std::int64_t pending_cs, std::int64_t nodes = 0) {
  PartitionState p;
  p.name = name;
  p.cpus_idle = idle;
  p.cpus_total = total;
  p.cpus_alloc = total - idle;
  p.pending_cpus = pending_cpus;
  p.pending_jobs = pending_cpus > 0 ? 1 : 0;
  p.running_cpu_seconds = running_cs;
  p.pending_cpu_seconds = pending_cs;
  p.nodes_total = nodes;
  return p;
}

static SiteState site(const std::string& name, std::vector<PartitionState> parts,
                      std::int64_t age = 5) {
  SiteState s;
  s.site = name;
  s.cluster = name;
  s.reachable = true;
  s.observed_at = kNow - age;
  s.partitions = std::move(parts);
  std::sort(s.partitions.begin(), s.partitions.end(),
            [](const PartitionState& x, const PartitionState& y) { return x.name < y.name; });
  return s;
}

// Waits: a busy (7200 s = (230400 + 230400) / 64), b idle (0), c nearly full (ceil(165600 / 96) =
// 1725 s).
static std::vector<SiteState> busy_states() {
  return {site("a", {part("batch", 0, 64, 32, 230400, 230400)}),
          site("b", {part("batch", 256, 256, 0, 0, 0), part("gpu", 64, 64, 0, 0, 0)}),
          site("c", {part("batch", 4, 96, 0, 165600, 0)})};
}

static RouteRequest job(std::int64_t cpus, std::int64_t seconds = 3600) {
  RouteRequest r;
  r.resources.cpus = cpus;
  r.resources.seconds = seconds;
  return r;
}

struct Fixture {
  Config cfg = parse_config(kConf, "route.conf");
  SiteModel model{cfg};
  std::vector<SiteState> states = busy_states();
  RouteDecision run(const RouteRequest& req, RouteOptions opt) {
    return route(model, align_states(model, states), req, opt, kNow);
  }
  RouteDecision run(const RouteRequest& req, RoutePolicy p) {
    RouteOptions o = route_options(cfg);
    o.policy = p;
    return run(req, o);
  }
};

static std::string order(const RouteDecision& d) {
  std::string s;
  for (const auto& c : d.ranked)
    s += c.site + ":" + c.partition + "=" + std::to_string(c.score) + " ";
  return s;
}

static const RouteReject* reject_of(const RouteDecision& d, const std::string& site,
                                    const std::string& part = "") {
  for (const auto& r : d.excluded)
    if (r.site == site && (part.empty() || r.partition == part)) return &r;
  return nullptr;
}

Test(router, options_come_from_the_config) {
  Fixture f;
  RouteOptions o = route_options(f.cfg);
  cr_assert(o.policy == RoutePolicy::balanced);
  cr_assert_eq(o.wait_weight, 50);
  cr_assert_eq(o.top_k, 2);
  cr_assert_eq(o.budget, -1);
  cr_assert_eq(f.model.sites.size(), 3u);
  cr_assert_eq(f.model.sites[1].partitions.size(), 2u);
  cr_assert_eq(f.model.sites[2].max_age, 300);
  cr_assert_eq(f.model.index_of("c"), 2);
  cr_assert_eq(f.model.index_of("zz"), -1);
}

Test(router, cheapest_feasible_is_chosen) {
  Fixture f;
  RouteDecision d = f.run(job(8), RoutePolicy::cheapest);
  assert_str(order(d), "a:batch=80 c:batch=120 b:batch=160 ");
  cr_assert_eq(d.selected, 1u);
  cr_assert_eq(d.hold(), 80);
  cr_assert(d.excluded.empty());
  assert_str(d.ranked[2].cluster, "clu-b");
  cr_assert_eq(d.ranked[0].wait, 7200);
  cr_assert_eq(d.ranked[0].start, kNow + 7200);
  cr_assert_eq(d.ranked[0].nodes, 1);
  cr_assert_eq(d.ranked[0].state_age, 5);
}

Test(router, fastest_ranks_by_expected_start_and_races_top_k) {
  Fixture f;
  RouteDecision d = f.run(job(8), RoutePolicy::fastest);
  assert_str(order(d), "b:batch=0 c:batch=1725 a:batch=7200 ");
  cr_assert_eq(d.selected, 2u);  // RouteTopK=2
  cr_assert_eq(d.hold(), 160);   // the dearer of b (160) and c (120)
  auto j = to_json(d, f.cfg.currency);
  cr_assert_eq(j["selected"].size(), 2u);
  assert_str(j["selected"][1].get<std::string>(), "c");
}

Test(router, balanced_adds_the_weighted_wait) {
  Fixture f;
  // weight 0.50/h: a 80 + 7200 s -> 100 = 180; b 160 + 0 = 160; c 120 + ceil(1725 x 50 / 3600) = 24
  // -> 144.
  RouteDecision d = f.run(job(8), RoutePolicy::balanced);
  assert_str(order(d), "c:batch=144 b:batch=160 a:batch=180 ");
  cr_assert_eq(d.selected, 1u);
  RouteOptions o = route_options(f.cfg);
  o.wait_weight = 0;  // no weight: the cheapest order
  assert_str(order(f.run(job(8), o)), "a:batch=80 c:batch=120 b:batch=160 ");
}

Test(router, wait_is_zero_when_idle_cpus_cover_the_queue_and_the_job) {
  Fixture f;
  f.states = {site("a", {part("batch", 40, 64, 32, 999999, 999999)})};
  f.states.push_back(site("b", {part("batch", 0, 128, 0, 0, 0), part("gpu", 0, 64, 0, 0, 0)}));
  f.states.push_back(site("c", {part("batch", 0, 96, 0, 0, 0)}));
  RouteDecision d = f.run(job(8), RoutePolicy::fastest);
  cr_assert_eq(d.ranked[0].wait, 0);  // a: 40 idle >= 32 pending + 8
  assert_str(d.ranked[0].site, "a");
  f.states[0] = site("a", {part("batch", 39, 64, 32, 64 * 100, 0)});
  d = f.run(job(8), RoutePolicy::fastest);
  cr_assert_eq(d.ranked.back().wait, 100);  // 39 < 40: (6400 + 0) / 64
}

Test(router, feature_only_on_c_routes_to_c) {
  Fixture f;
  RouteRequest r = job(8);
  r.constraint = parse_constraint("avx512");
  RouteDecision d = f.run(r, RoutePolicy::cheapest);
  cr_assert_eq(d.ranked.size(), 1u);
  assert_str(d.ranked[0].site, "c");
  const RouteReject* ra = reject_of(d, "a");
  cr_assert_not_null(ra);
  cr_assert(ra->reason == RejectReason::feature_missing);
  assert_str(ra->item, "avx512");
  assert_str(describe(*ra, f.cfg.currency), "constraint 'avx512' not met");
  // b: both partitions are listed, in name order.
  cr_assert_not_null(reject_of(d, "b", "batch"));
  cr_assert_not_null(reject_of(d, "b", "gpu"));
  // The CPU model counts as a feature; OR inside a group, AND between groups.
  r.constraint = parse_constraint("EPYC-9654");
  assert_str(f.run(r, RoutePolicy::cheapest).ranked[0].site, "c");
  r.constraint = parse_constraint("ib&avx512|avx2");
  assert_str(order(f.run(r, RoutePolicy::cheapest)), "c:batch=120 b:batch=160 ");
}

Test(router, stale_unreachable_and_missing_states_are_excluded_with_reasons) {
  Fixture f;
  f.states[0].observed_at = kNow - 61;  // a: max age 60
  f.states[1].reachable = false;
  f.states[1].error = "sinfo: error: Unable to contact slurm controller";
  f.states.pop_back();  // c: no state at all
  RouteDecision d = f.run(job(8), RoutePolicy::cheapest);
  cr_assert(d.ranked.empty());
  cr_assert_eq(d.selected, 0u);
  cr_assert_eq(d.hold(), 0);
  cr_assert_eq(d.excluded.size(), 3u);
  cr_assert(d.excluded[0].reason == RejectReason::stale_state);
  cr_assert_eq(d.excluded[0].have, 61);
  cr_assert_eq(d.excluded[0].want, 60);
  assert_str(describe(d.excluded[0], f.cfg.currency), "state is 61 s old (max 60 s)");
  cr_assert(d.excluded[1].reason == RejectReason::unreachable);
  assert_str(
      describe(d.excluded[1], f.cfg.currency),
      "unreachable at the last query, 5 s ago: sinfo: error: Unable to contact slurm controller");
  cr_assert(d.excluded[2].reason == RejectReason::no_state);
  // c's own HealthMaxAge=300 keeps a 200 s old state usable.
  f.states = busy_states();
  f.states[2].observed_at = kNow - 200;
  cr_assert_eq(f.run(job(8), RoutePolicy::cheapest).ranked.size(), 3u);
}

Test(router, nothing_feasible_lists_every_site_with_reasons) {
  Fixture f;
  RouteRequest r = job(8);
  r.resources.gres["gpu:h100"] = 1;
  RouteDecision d = f.run(r, RoutePolicy::cheapest);
  cr_assert(d.ranked.empty());
  std::string got;
  for (const auto& x : d.excluded)
    got += x.site + "/" + x.partition + ":" + to_string(x.reason) + " ";
  assert_str(got,
             "a/batch:gpu_type_missing b/batch:gpu_type_missing b/gpu:gpu_type_missing "
             "c/batch:gpu_type_missing ");
  assert_str(describe(d.excluded[2], f.cfg.currency), "no GPUs of type 'h100'");
  auto j = to_json(d, f.cfg.currency);
  cr_assert(j["selected"].empty());
  cr_assert_eq(j["excluded"].size(), 4u);
  assert_str(j["excluded"][0]["detail"].get<std::string>(), "no GPUs of type 'h100'");
}

Test(router, gpus_by_type_and_count_priced_like_price_job) {
  Fixture f;
  RouteRequest r = job(8);
  r.resources.gres["gpu:a100"] = 2;
  RouteDecision d = f.run(r, RoutePolicy::cheapest);
  cr_assert_eq(d.ranked.size(), 1u);
  assert_str(d.ranked[0].partition, "gpu");
  cr_assert_eq(d.ranked[0].cost, 160 + 1600);  // 8 x 0.20 + 2 x 8.00
  r.resources.gres = {{"gpu", 8}};             // untyped: 8 on one node, nodes have 4
  d = f.run(r, RoutePolicy::cheapest);
  const RouteReject* g = reject_of(d, "b", "gpu");
  cr_assert(g && g->reason == RejectReason::too_many_gpus);
  assert_str(describe(*g, f.cfg.currency), "8 GPUs per node, nodes have 4");
  r.resources.nodes = 2;  // 4 per node fits; priced by gres/gpu
  d = f.run(r, RoutePolicy::cheapest);
  cr_assert_eq(d.ranked.size(), 1u);
  cr_assert_eq(d.ranked[0].nodes, 2);
  cr_assert_eq(d.ranked[0].cost, 160 + 4000);
}

Test(router, cost_equals_price_job) {
  Fixture f;
  std::mt19937 rng(42);
  for (int i = 0; i < 200; ++i) {
    RouteRequest r = job(1 + static_cast<std::int64_t>(rng() % 64),
                         1 + static_cast<std::int64_t>(rng() % 200000));
    r.resources.mem_mb = static_cast<std::int64_t>(rng() % 100000);
    RouteDecision d = f.run(r, RoutePolicy::cheapest);
    for (const auto& c : d.ranked) {
      JobResources jr = r.resources;
      jr.site = c.site;
      jr.partition = c.partition;
      jr.nodes = c.nodes;
      cr_assert_eq(c.cost, price_job(f.cfg, jr).total, "job %d at %s", i, c.site.c_str());
    }
  }
}

Test(router, limits_walltime_nodes_memory_cpus) {
  Fixture f;
  RouteRequest r = job(8, 2 * 86400);  // a: MaxTime 1 day
  RouteDecision d = f.run(r, RoutePolicy::cheapest);
  const RouteReject* x = reject_of(d, "a");
  cr_assert(x && x->reason == RejectReason::walltime_over_max);
  assert_str(describe(*x, f.cfg.currency), "time limit 2-00:00:00 over MaxTime 1-00:00:00");

  r = job(160);  // a: 5 nodes of 32 > MaxNodes 4; c: 160 > 96 CPUs in the partition
  d = f.run(r, RoutePolicy::cheapest);
  x = reject_of(d, "a");
  cr_assert(x && x->reason == RejectReason::too_many_nodes);
  assert_str(describe(*x, f.cfg.currency), "5 nodes, at most 4");
  x = reject_of(d, "c");
  cr_assert(x && x->reason == RejectReason::too_many_cpus);
  assert_str(describe(*x, f.cfg.currency), "160 CPUs, only 96 usable in the partition");
  assert_str(order(d), "b:batch=3200 ");

  r = job(64);
  r.resources.nodes = 1;  // 64 CPUs on one 32-CPU node
  d = f.run(r, RoutePolicy::cheapest);
  x = reject_of(d, "a");
  cr_assert(x && x->reason == RejectReason::too_many_cpus);

  r = job(8);
  r.resources.partition = "gpu";
  r.resources.mem_mb = 300000;  // MemPerNode 256000
  d = f.run(r, RoutePolicy::cheapest);
  x = reject_of(d, "b", "gpu");
  cr_assert(x && x->reason == RejectReason::memory_over_max);
  x = reject_of(d, "a");
  cr_assert(x && x->reason == RejectReason::no_partition);
  assert_str(describe(*x, f.cfg.currency), "no partition 'gpu'");
}

Test(router, licenses_drain_and_unreported_partitions) {
  Fixture f;
  RouteRequest r = job(8);
  r.licenses = parse_licenses("matlab:2");
  RouteDecision d = f.run(r, RoutePolicy::cheapest);
  assert_str(order(d), "b:batch=160 ");
  assert_str(describe(*reject_of(d, "a"), f.cfg.currency), "no license 'matlab'");
  r.licenses = parse_licenses("matlab:3");
  d = f.run(r, RoutePolicy::cheapest);
  assert_str(describe(*reject_of(d, "b"), f.cfg.currency), "only 2 'matlab' licenses (asked 3)");

  f.cfg.sites[0].drained = true;   // a
  f.states[2].partitions.clear();  // c reports no partitions: its declared batch is not usable
  f.model = SiteModel(f.cfg);
  d = f.run(job(8), RoutePolicy::cheapest);
  assert_str(order(d), "b:batch=160 ");
  cr_assert(reject_of(d, "a")->reason == RejectReason::drained);
  cr_assert(reject_of(d, "c")->reason == RejectReason::partition_not_reported);
}

Test(router, sites_without_partition_lines_use_the_reported_partitions) {
  Config cfg = parse_config(
      "SiteName=x\nSiteName=y\nPriceName=x:* cpu=0.10\nPriceName=y:short cpu=0.05\n", "t");
  SiteModel m(cfg);
  std::vector<SiteState> st = {
      site("x", {part("long", 8, 8, 0, 0, 0), part("short", 8, 8, 0, 0, 0)}),
      site("y", {part("long", 8, 8, 0, 0, 0), part("short", 8, 8, 0, 0, 0)})};
  RouteDecision d = route(m, align_states(m, st), job(4), RouteOptions{}, kNow);
  assert_str(order(d), "y:short=20 x:long=40 ");  // x: long and short tie, long first by name
  RouteRequest r = job(4);
  r.constraint = parse_constraint("ib");  // nothing is declared, so no feature is known
  d = route(m, align_states(m, st), r, RouteOptions{}, kNow);
  cr_assert(d.ranked.empty());
  cr_assert(reject_of(d, "x", "long")->reason == RejectReason::feature_missing);
}

Test(router, deadline_and_budget) {
  Fixture f;
  RouteOptions o = route_options(f.cfg);
  o.policy = RoutePolicy::cheapest;
  o.deadline = kNow + 3600 + 1725 - 1;  // c would end at +5325, a at +10800
  RouteDecision d = f.run(job(8), o);
  assert_str(order(d), "b:batch=160 ");
  const RouteReject* x = reject_of(d, "c");
  cr_assert(x && x->reason == RejectReason::misses_deadline);
  cr_assert_eq(x->want, kNow + 5325);
  assert_str(describe(*x, f.cfg.currency),
             "expected end 2023-11-14T23:42:05Z after the deadline 2023-11-14T23:42:04Z");
  o.deadline = kNow + 3600 + 1725;  // exactly on time is in time
  assert_str(order(f.run(job(8), o)), "c:batch=120 b:batch=160 ");

  o.deadline = 0;
  o.budget = 100;
  d = f.run(job(8), o);
  assert_str(order(d), "a:batch=80 ");
  x = reject_of(d, "b", "batch");
  cr_assert(x && x->reason == RejectReason::over_budget);
  assert_str(describe(*x, f.cfg.currency), "worst-case cost 1.60 CNY over the budget of 1.00 CNY");
  o.budget = 0;
  cr_assert(f.run(job(8), o).ranked.empty());
}

Test(router, same_inputs_same_answer_in_any_order) {
  // The config lines and the states in a shuffled order give byte-identical decisions.
  std::vector<std::string> lines;
  std::istringstream in(kConf);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  Fixture f;
  RouteRequest r = job(8);
  for (RoutePolicy p : {RoutePolicy::cheapest, RoutePolicy::fastest, RoutePolicy::balanced}) {
    std::string want = to_json(f.run(r, p), f.cfg.currency).dump();
    std::mt19937 rng(7);
    for (int i = 0; i < 20; ++i) {
      std::shuffle(lines.begin() + 3, lines.end(), rng);  // after the global lines
      std::string text;
      for (const auto& l : lines) text += l + "\n";
      // PriceName/PartitionName lines may precede their SiteName: sites are read first.
      Config cfg = parse_config(text, "shuffled.conf");
      SiteModel m(cfg);
      std::vector<SiteState> st = busy_states();
      std::shuffle(st.begin(), st.end(), rng);
      RouteOptions o = route_options(cfg);
      o.policy = p;
      std::string got = to_json(route(m, align_states(m, st), r, o, kNow), cfg.currency).dump();
      cr_assert(got == want, "policy %s, shuffle %d:\n%s\n!=\n%s", to_string(p), i, got.c_str(),
                want.c_str());
    }
  }
}

Test(router, equal_scores_break_ties_by_site_name) {
  Config cfg = parse_config(
      "SiteName=zeta\nSiteName=alpha\nSiteName=mid\nPriceName=zeta:* cpu=0.10\n"
      "PriceName=alpha:* cpu=0.10\nPriceName=mid:* cpu=0.10\n",
      "t");
  SiteModel m(cfg);
  std::vector<SiteState> st = {site("zeta", {part("p", 8, 8, 0, 0, 0)}),
                               site("mid", {part("p", 8, 8, 0, 0, 0)}),
                               site("alpha", {part("p", 8, 8, 0, 0, 0)})};
  RouteDecision d = route(m, align_states(m, st), job(1), RouteOptions{}, kNow);
  assert_str(order(d), "alpha:p=10 mid:p=10 zeta:p=10 ");
}

Test(router, bad_calls_and_parsers) {
  Fixture f;
  std::vector<const SiteState*> too_few(1, nullptr);
  cr_assert_throw(route(f.model, too_few, job(1), RouteOptions{}, kNow), Error);
  cr_assert_throw(f.run(job(0), RoutePolicy::cheapest), Error);
  cr_assert_throw(f.run(job(1, 0), RoutePolicy::cheapest), Error);
  cr_assert(parse_route_policy("Fastest") == RoutePolicy::fastest);
  cr_assert_throw(parse_route_policy("quickest"), Error);
  auto c = parse_constraint("a&b|c,d");
  cr_assert_eq(c.size(), 3u);
  cr_assert_eq(c[1].size(), 2u);
  assert_str(c[1][1], "c");
  cr_assert(parse_constraint("").empty());
  for (const char* bad : {"a&&b", "[a|b]", "a*2", "a b", "|a"})
    cr_assert_throw(parse_constraint(bad), Error, "%s", bad);
  auto l = parse_licenses("matlab:2,ansys,matlab");
  cr_assert_eq(l.at("matlab"), 3);
  cr_assert_eq(l.at("ansys"), 1);
  for (const char* bad : {"matlab:", ":2", "a:b", "a|b", "a,,b"})
    cr_assert_throw(parse_licenses(bad), Error, "%s", bad);
}

// Router decision latency: p50/p99/max of route() for 10, 100 and 1,000 sites, per policy (target:
// p99 <= 50 us at 100).
//
// Each site has two declared partitions (batch: features, no GPUs; gpu: a100 x 4) with its own
// prices and a fresh, randomly loaded state (fixed seed). Each call routes one of 8 job shapes
// (CPU-only, constraint, GPU, licenses, deadline, budget) into a reused RouteDecision, as
// job_submit would; "fresh" rows allocate a new decision per call.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "money/pricing.hpp"
#include "routing/router.hpp"

using namespace paracloud;

namespace {

const std::int64_t kNow = 1700000000;

Config make_config(int n, std::mt19937& rng) {
  std::string text = "Currency=CNY\nSiteStateMaxAge=60\n";
  for (int i = 0; i < n; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "site%04d", i);
    std::string s = name;
    text += "SiteName=" + s + (i % 5 == 0 ? " Licenses=matlab:8" : "") + "\n";
    text += "PartitionName=" + s +
            ":batch CpusPerNode=64 MaxNodes=64 MaxTime=2-00:00:00 Features=avx2" +
            (i % 3 == 0 ? ",avx512" : "") + (i % 2 == 0 ? ",ib" : "") + "\n";
    text += "PartitionName=" + s + ":gpu CpusPerNode=32 Gpus=a100:4 MemPerNode=512000 MaxNodes=8\n";
    text += "PriceName=" + s + ":batch cpu=0." + std::to_string(10 + rng() % 20) + " mem=0.004\n";
    text += "PriceName=" + s + ":gpu cpu=0.20 mem=0.004 gres/gpu=" + std::to_string(4 + rng() % 4) +
            ".00\n";
  }
  return parse_config(text, "bench.conf");
}

std::vector<SiteState> make_states(const Config& cfg, std::mt19937& rng) {
  std::vector<SiteState> out;
  for (const auto& site : cfg.sites) {
    SiteState s;
    s.site = site.name;
    s.cluster = site.cluster;
    s.reachable = rng() % 50 != 0;                                 // 2 % unreachable
    s.observed_at = kNow - static_cast<std::int64_t>(rng() % 70);  // some stale
    for (const char* p : {"batch", "gpu"}) {
      PartitionState ps;
      ps.name = p;
      ps.cpus_total = 64 * 64;
      ps.cpus_idle = static_cast<std::int64_t>(rng() % 4096);
      ps.cpus_alloc = ps.cpus_total - ps.cpus_idle;
      ps.nodes_total = 64;
      ps.cpus_per_node = 64;
      ps.pending_jobs = static_cast<std::int64_t>(rng() % 100);
      ps.pending_cpus = ps.pending_jobs * 16;
      ps.running_cpu_seconds = ps.cpus_alloc * static_cast<std::int64_t>(rng() % 86400);
      ps.pending_cpu_seconds = ps.pending_cpus * 3600;
      s.partitions.push_back(ps);
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<std::pair<RouteRequest, RouteOptions>> shapes() {
  std::vector<std::pair<RouteRequest, RouteOptions>> v;
  auto req = [](std::int64_t cpus, std::int64_t secs) {
    RouteRequest r;
    r.resources.cpus = cpus;
    r.resources.seconds = secs;
    r.resources.mem_mb = cpus * 2048;
    return r;
  };
  RouteOptions o;
  v.push_back({req(16, 3600), o});
  v.push_back({req(256, 4 * 3600), o});
  RouteRequest c = req(64, 7200);
  c.constraint = parse_constraint("avx512&ib");
  v.push_back({c, o});
  RouteRequest g = req(16, 3600);
  g.resources.gres["gpu:a100"] = 4;
  v.push_back({g, o});
  RouteRequest l = req(8, 3600);
  l.licenses = parse_licenses("matlab:2");
  v.push_back({l, o});
  RouteOptions dl = o;
  dl.deadline = kNow + 6 * 3600;
  v.push_back({req(32, 3600), dl});
  RouteOptions bu = o;
  bu.budget = 5000;
  v.push_back({req(32, 7200), bu});
  RouteRequest p = req(4, 600);
  p.resources.partition = "gpu";
  v.push_back({p, o});
  return v;
}

struct Stats {
  double p50, p99, max;
};

Stats measure(const SiteModel& m, const std::vector<const SiteState*>& st, RoutePolicy policy,
              int iters, bool fresh, std::size_t* feasible) {
  auto sh = shapes();
  for (auto& s : sh) {
    s.second.policy = policy;
    s.second.top_k = 2;
    s.second.wait_weight = 100;
  }
  std::vector<double> ns;
  ns.reserve(static_cast<std::size_t>(iters));
  RouteDecision d;
  *feasible = 0;
  for (int i = -iters / 10; i < iters; ++i) {  // the first tenth warms up
    const auto& s = sh[static_cast<std::size_t>((i + iters) % static_cast<int>(sh.size()))];
    auto t0 = std::chrono::steady_clock::now();
    std::size_t ranked = 0;
    if (fresh) {
      RouteDecision f = route(m, st, s.first, s.second, kNow);
      ranked = f.ranked.size();
    } else {
      route(m, st, s.first, s.second, kNow, &d);
      ranked = d.ranked.size();
    }
    auto t1 = std::chrono::steady_clock::now();
    if (i >= 0) ns.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
    if (i >= 0) *feasible += ranked;
  }
  std::sort(ns.begin(), ns.end());
  auto pct = [&](double q) {
    return ns[std::min(ns.size() - 1, static_cast<std::size_t>(q * ns.size()))] / 1000.0;
  };
  return {pct(0.50), pct(0.99), ns.back() / 1000.0};
}

}  // namespace

int main(int argc, char** argv) {
  int scale = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0)
      scale = 10;
    else {
      std::fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
      return 2;
    }
  }
  std::printf("%-6s %-9s %-7s %9s %9s %9s %9s\n", "SITES", "POLICY", "DECISION", "P50_US", "P99_US",
              "MAX_US", "FEASIBLE");
  bool ok = true;
  for (int n : {10, 100, 1000}) {
    std::mt19937 rng(20261127);
    Config cfg = make_config(n, rng);
    SiteModel model(cfg);
    std::vector<SiteState> states = make_states(cfg, rng);
    std::vector<const SiteState*> st = align_states(model, states);
    int iters = (n == 1000 ? 4000 : 40000) / scale;
    for (RoutePolicy p : {RoutePolicy::cheapest, RoutePolicy::fastest, RoutePolicy::balanced}) {
      for (bool fresh : {false, true}) {
        if (fresh && p != RoutePolicy::cheapest) continue;
        std::size_t feasible = 0;
        Stats s = measure(model, st, p, iters, fresh, &feasible);
        char avg[32];
        std::snprintf(avg, sizeof avg, "%.1f", static_cast<double>(feasible) / iters);
        std::printf("%-6d %-9s %-8s %9.2f %9.2f %9.2f %9s\n", n, to_string(p),
                    fresh ? "fresh" : "reused", s.p50, s.p99, s.max, avg);
        if (n == 100 && s.p99 > 50.0) ok = false;
      }
    }
  }
  std::printf("target p99 <= 50 us at 100 sites: %s\n", ok ? "met" : "MISSED");
  return ok ? 0 : 1;
}

// Unit tests of lib/binding/binding.hpp (the pure binding core, issue 11): hand-checked maps on
// models built here (GPUs, CPU-less NUMA, holes, one core, oversubscription), input parsing, and a
// property test over generated topologies and job shapes. Links the core only (no hwloc).
#include <criterion/criterion.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "binding/binding.hpp"
#include "test_helpers.hpp"

using namespace paracloud;
using namespace paracloud::binding;

namespace {

// packages x numa_per_package x cores_per_numa x pus_per_core; PU os index = running number.
Topology uniform(int packages, int numa_per_package, int cores_per_numa, int pus_per_core) {
  Topology t;
  t.packages = packages;
  int pu = 0;
  for (int p = 0; p < packages; ++p)
    for (int n = 0; n < numa_per_package; ++n) {
      t.numa.push_back({static_cast<int>(t.numa.size()), 1ull << 30, p});
      for (int c = 0; c < cores_per_numa; ++c) {
        Core core;
        core.numa = static_cast<int>(t.numa.size()) - 1;
        core.package = p;
        for (int s = 0; s < pus_per_core; ++s) core.pus.push_back(pu++);
        t.cores.push_back(core);
      }
    }
  return t;
}

BindMap map_of(const Topology& t, int ranks, int threads = 0, Policy p = Policy::spread, CpuList allowed = {}) {
  BindRequest r;
  r.local_size = ranks;
  r.threads = threads;
  r.policy = p;
  r.allowed = std::move(allowed);
  return compute_map(t, r);
}

std::string cpus(const BindMap& m, int r) { return format_cpulist(m.ranks[r].cpus); }
std::string ints(const std::vector<int>& v) {
  std::string s;
  for (int x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

}  // namespace

Test(binding, cpulist_round_trip_and_junk) {
  assert_str(format_cpulist({0, 1, 2, 3, 8, 10, 11}), "0-3,8,10-11");
  assert_str(format_cpulist({}), "");
  cr_assert(parse_cpulist("3,0-2,2") == (CpuList{0, 1, 2, 3}));
  cr_assert(parse_cpulist("").empty());
  for (const char* bad : {"a", "1-", "3-1", "1,,2", "1,", "-1", "0x3"}) {
    std::string e = error_of([&] { parse_cpulist(bad); }, Errc::bad_input);
    cr_assert(contains(e, std::string("'") + bad + "'"), "%s", e.c_str());
  }
}

Test(binding, policy_names) {
  cr_assert(parse_policy("Spread") == Policy::spread);
  cr_assert(parse_policy("compact") == Policy::compact);
  cr_assert(parse_policy("numa") == Policy::numa);
  cr_assert(parse_policy("none") == Policy::none);
  std::string e = error_of([] { parse_policy("scatter"); }, Errc::bad_input);
  cr_assert(contains(e, "'scatter'"), "%s", e.c_str());
}

Test(binding, threads_from_environment_values) {
  cr_assert_eq(resolve_threads("4", "8"), 4);
  cr_assert_eq(resolve_threads("8,2", nullptr), 8);
  cr_assert_eq(resolve_threads(" 3 ", nullptr), 3);
  cr_assert_eq(resolve_threads("", "6"), 6);
  cr_assert_eq(resolve_threads(nullptr, "6"), 6);
  cr_assert_eq(resolve_threads("zero", "6"), 6);
  cr_assert_eq(resolve_threads("0", nullptr), 0);
  cr_assert_eq(resolve_threads(nullptr, nullptr), 0);
  cr_assert_eq(resolve_threads("-2", "x"), 0);
}

// 2 NUMA x 8 cores, SMT2 (PUs 2c, 2c+1): 4 ranks get one NUMA half each, first PU per core.
Test(binding, spread_two_numa_four_ranks) {
  Topology t = uniform(2, 1, 8, 2);
  BindMap m = map_of(t, 4);
  cr_assert_eq(m.threads, 4);
  cr_assert(!m.smt);
  assert_str(cpus(m, 0), "0,2,4,6");
  assert_str(cpus(m, 1), "8,10,12,14");
  assert_str(cpus(m, 2), "16,18,20,22");
  assert_str(cpus(m, 3), "24,26,28,30");
  assert_str(ints(m.ranks[1].mem_numa), "0");
  assert_str(ints(m.ranks[2].mem_numa), "1");
  assert_str(m.ranks[0].omp_places, "{0},{2},{4},{6}");
  assert_str(m.ranks[0].omp_proc_bind, "spread");
  assert_str(m.note, "");
}

// 3 ranks on 2 x 8 cores: balanced 6,5,5; the middle rank straddles (no exact fill exists).
Test(binding, spread_ranks_not_dividing_numa) {
  Topology t = uniform(2, 1, 8, 1);
  BindMap m = map_of(t, 3);
  assert_str(cpus(m, 0), "0-5");
  assert_str(cpus(m, 1), "6-10");
  assert_str(cpus(m, 2), "11-15");
  assert_str(ints(m.ranks[1].mem_numa), "0,1");
}

// 4 ranks on 2 x 7 cores: 4+3 | 4+3, nobody straddles although the flat cut 4,4,3,3 would.
Test(binding, spread_aligns_uneven_shares_with_numa) {
  Topology t = uniform(2, 1, 7, 1);
  BindMap m = map_of(t, 4);
  assert_str(cpus(m, 0), "0-3");
  assert_str(cpus(m, 1), "4-6");
  assert_str(cpus(m, 2), "7-10");
  assert_str(cpus(m, 3), "11-13");
  for (int r = 0; r < 4; ++r) cr_assert_eq(m.ranks[r].mem_numa.size(), 1u);
}

// One rank on 4 NUMA nodes takes everything; two ranks take two whole nodes each.
Test(binding, spread_fewer_ranks_than_numa) {
  Topology t = uniform(1, 4, 2, 1);
  assert_str(cpus(map_of(t, 1), 0), "0-7");
  BindMap m = map_of(t, 2);
  assert_str(cpus(m, 0), "0-3");
  assert_str(ints(m.ranks[0].mem_numa), "0,1");
  assert_str(ints(m.ranks[1].mem_numa), "2,3");
}

Test(binding, compact_packs_and_leaves_the_rest) {
  Topology t = uniform(2, 1, 4, 2);
  BindMap m = map_of(t, 2, 2, Policy::compact);
  assert_str(cpus(m, 0), "0,2");
  assert_str(cpus(m, 1), "4,6");
  assert_str(m.ranks[1].omp_proc_bind, "close");
  // 2 ranks x 6 threads > 8 cores: SMT, packed onto siblings.
  BindMap s = map_of(t, 2, 6, Policy::compact);
  cr_assert(s.smt);
  assert_str(cpus(s, 0), "0-5");
  assert_str(cpus(s, 1), "6-11");
  cr_assert(contains(s.note, "one thread per PU (SMT)"), "%s", s.note.c_str());
}

Test(binding, numa_policy_gives_whole_nodes) {
  Topology t = uniform(1, 2, 4, 1);
  BindMap m = map_of(t, 4, 0, Policy::numa);
  assert_str(cpus(m, 0), "0-3");
  assert_str(cpus(m, 1), "0-3");
  assert_str(cpus(m, 2), "4-7");
  assert_str(ints(m.ranks[3].mem_numa), "1");
  cr_assert_eq(m.ranks[0].units, 4);
}

Test(binding, none_binds_nothing) {
  Topology t = uniform(1, 2, 4, 2);
  BindMap m = map_of(t, 2, 0, Policy::none, {0, 1, 2, 3, 8, 9});
  assert_str(cpus(m, 0), "0-3,8-9");
  assert_str(cpus(m, 1), "0-3,8-9");
  cr_assert(m.ranks[0].mem_numa.empty());
  assert_str(m.ranks[0].omp_places, "");
  assert_str(m.ranks[0].omp_proc_bind, "");
}

// An allowed set with holes: PU 1 of core 0 only (its sibling 0 is not allowed), core 2 not at all.
Test(binding, allowed_set_with_holes) {
  Topology t = uniform(1, 1, 4, 2);  // cores {0,1} {2,3} {4,5} {6,7}
  BindMap m = map_of(t, 3, 0, Policy::spread, {1, 2, 3, 6});
  cr_assert_eq(m.usable_cores, 3);
  assert_str(cpus(m, 0), "1");
  assert_str(cpus(m, 1), "2");
  assert_str(cpus(m, 2), "6");
  std::string e = error_of([&] { map_of(t, 1, 0, Policy::spread, {40, 41}); }, Errc::bad_input);
  cr_assert(contains(e, "40-41"), "%s", e.c_str());
}

Test(binding, one_core_more_ranks_than_cores) {
  Topology t = uniform(1, 1, 1, 1);
  BindMap m = map_of(t, 4);
  cr_assert(m.smt);
  for (int r = 0; r < 4; ++r) assert_str(cpus(m, r), "0");
  cr_assert(contains(m.note, "more ranks than cores: shared (4 ranks on 1 cores, 1 PUs)"), "%s", m.note.c_str());
}

// SMT4, 4 cores: 8 ranks get 2 PUs of one core each (disjoint PUs, shared cores).
Test(binding, more_ranks_than_cores_but_not_pus) {
  Topology t = uniform(1, 1, 4, 4);
  BindMap m = map_of(t, 8);
  cr_assert(m.smt);
  assert_str(cpus(m, 0), "0-1");
  assert_str(cpus(m, 7), "14-15");
  cr_assert(contains(m.note, "more ranks than cores: shared"), "%s", m.note.c_str());
}

Test(binding, threads_exceed_pus) {
  Topology t = uniform(1, 1, 2, 2);
  BindMap m = map_of(t, 2, 4);
  cr_assert(m.smt);
  assert_str(cpus(m, 0), "0-1");
  assert_str(cpus(m, 1), "2-3");
  cr_assert(contains(m.note, "2 ranks x 4 threads exceed the 4 PUs: threads share PUs"), "%s", m.note.c_str());
}

// KNL-like: NUMA 1 (HBM) has no cores; it is never a rank's memory node.
Test(binding, cpuless_numa_never_chosen) {
  Topology t = uniform(1, 1, 4, 1);
  t.numa.push_back({1, 16ull << 30, 0});
  BindMap m = map_of(t, 2);
  assert_str(ints(m.ranks[0].mem_numa), "0");
  assert_str(ints(m.ranks[1].mem_numa), "0");
  cr_assert(contains(describe(t), "2 NUMA nodes (1 without CPUs)"), "%s", describe(t).c_str());
}

// 2 NUMA x 4 cores, 2 GPUs on each NUMA node.
Test(binding, gpus_follow_numa_locality) {
  Topology t = uniform(2, 1, 4, 1);
  for (int g = 0; g < 4; ++g) t.gpus.push_back({"cuda" + std::to_string(g), g / 2, g / 2});
  BindMap m4 = map_of(t, 4);
  for (int r = 0; r < 4; ++r) assert_str(ints(m4.ranks[r].gpus), std::to_string(r));
  BindMap m2 = map_of(t, 2);
  assert_str(ints(m2.ranks[0].gpus), "0,1");
  assert_str(ints(m2.ranks[1].gpus), "2,3");
  BindMap m8 = map_of(t, 8);  // 4 ranks per NUMA share its 2 GPUs
  assert_str(ints(m8.ranks[0].gpus), "0");
  assert_str(ints(m8.ranks[1].gpus), "0");
  assert_str(ints(m8.ranks[2].gpus), "1");
  assert_str(ints(m8.ranks[4].gpus), "2");
  assert_str(ints(m8.ranks[7].gpus), "3");
  // GPUs only on NUMA 1: ranks on NUMA 0 get them through the fallback, shared.
  Topology u = uniform(2, 1, 4, 1);
  u.gpus.push_back({"cuda0", 1, 1});
  BindMap mu = map_of(u, 2);
  assert_str(ints(mu.ranks[0].gpus), "0");
  assert_str(ints(mu.ranks[1].gpus), "0");
  // Locality unknown: dealt to every rank in order.
  Topology w = uniform(1, 2, 2, 1);
  w.gpus = {{"rsmi0", -1, -1}, {"rsmi1", -1, -1}};
  BindMap mw = map_of(w, 2);
  assert_str(ints(mw.ranks[0].gpus), "0");
  assert_str(ints(mw.ranks[1].gpus), "1");
}

Test(binding, bad_requests_and_models) {
  Topology t = uniform(1, 1, 2, 1);
  error_of([&] { map_of(t, 0); }, Errc::bad_input);
  error_of([&] { map_of(t, 1, -1); }, Errc::bad_input);
  Topology dup = t;
  dup.cores[1].pus = {0};
  std::string e = error_of([&] { map_of(dup, 1); }, Errc::bad_input);
  cr_assert(contains(e, "PU 0"), "%s", e.c_str());
  Topology badnuma = t;
  badnuma.cores[0].numa = 5;
  error_of([&] { map_of(badnuma, 1); }, Errc::bad_input);
}

Test(binding, format_is_stable) {
  Topology t = uniform(1, 2, 2, 2);
  std::string s = format_map(map_of(t, 2), t);
  assert_str(s,
             "policy spread threads 2 smt no ranks 2 cores 4 pus 8\n"
             "rank 0: cpus 0,2 mem 0 gpus - units 2 places {0},{2} bind spread\n"
             "rank 1: cpus 4,6 mem 1 gpus - units 2 places {4},{6} bind spread\n");
}

// ---------------------------------------------------------------------------------------------
// Property test: generated topologies (packages, NUMA nodes, cores, SMT, CPU-less NUMA, permuted
// PU numbering, GPUs) x allowed sets (all, or with holes) x job shapes x policies.

namespace {

struct Rng {  // splitmix64: the same sequence on every platform
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  int in(int lo, int hi) { return lo + static_cast<int>(next() % static_cast<std::uint64_t>(hi - lo + 1)); }
};

Topology generate(Rng& g) {
  int packages = g.in(1, 4), numa_pp = g.in(1, 4), cores_pn = g.in(1, 12);
  static const int smt[] = {1, 1, 2, 2, 4};
  int pus = smt[g.in(0, 4)];
  Topology t = uniform(packages, numa_pp, cores_pn, pus);
  int total = packages * numa_pp * cores_pn * pus;
  if (g.in(0, 2) == 0) {  // Linux-style sibling numbering: sibling s of core c is c + s * cores
    int ncores = static_cast<int>(t.cores.size());
    for (int c = 0; c < ncores; ++c)
      for (int s = 0; s < pus; ++s) t.cores[c].pus[s] = c + s * ncores;
  }
  if (g.in(0, 3) == 0)  // a CPU-less NUMA node per package (HBM) or one at the end (CXL)
    for (int p = 0; p < packages; ++p) t.numa.push_back({static_cast<int>(t.numa.size()) + 100, 1ull << 34, p});
  if (g.in(0, 2) == 0) {
    int n = g.in(1, 8);
    int cpu_numa = packages * numa_pp;
    for (int i = 0; i < n; ++i) {
      int numa = g.in(-1, cpu_numa - 1);
      t.gpus.push_back({"gpu" + std::to_string(i), numa, numa >= 0 ? t.numa[numa].package : -1});
    }
  }
  (void)total;
  return t;
}

void check_map(const Topology& t, const BindRequest& req, const BindMap& m, int tc) {
  const int R = req.local_size;
  std::set<int> usable;
  for (const Core& c : t.cores)
    for (int pu : c.pus)
      if (req.allowed.empty() || std::binary_search(req.allowed.begin(), req.allowed.end(), pu)) usable.insert(pu);
  std::map<int, int> core_of;  // pu -> core index
  std::map<int, int> numa_of;  // pu -> numa index
  for (std::size_t c = 0; c < t.cores.size(); ++c)
    for (int pu : t.cores[c].pus) core_of[pu] = static_cast<int>(c), numa_of[pu] = t.cores[c].numa;
  cr_assert_eq(static_cast<int>(m.ranks.size()), R, "case %d", tc);
  cr_assert_eq(m.usable_pus, static_cast<int>(usable.size()), "case %d", tc);
  const long demand = static_cast<long>(R) * m.threads;
  cr_assert_eq(m.smt, demand > m.usable_cores, "case %d: smt %d demand %ld cores %d", tc, m.smt, demand, m.usable_cores);
  cr_assert(req.threads == 0 || m.threads == req.threads, "case %d", tc);
  const int U = m.smt ? m.usable_pus : m.usable_cores;
  std::set<int> used;
  int lo = 1 << 30, hi = 0;
  for (const RankMap& r : m.ranks) {
    cr_assert(!r.cpus.empty(), "case %d rank %d: empty cpuset", tc, r.rank);
    for (int pu : r.cpus) cr_assert(usable.count(pu), "case %d rank %d: PU %d outside the allowed set", tc, r.rank, pu);
    if (req.policy == Policy::none) {
      cr_assert_eq(r.cpus.size(), usable.size(), "case %d", tc);
      cr_assert(r.mem_numa.empty() && r.omp_places.empty(), "case %d", tc);
      continue;
    }
    // Memory nodes: exactly the NUMA nodes of its PUs (never a CPU-less one).
    std::set<int> nodes;
    for (int pu : r.cpus) nodes.insert(t.numa[numa_of[pu]].os_index);
    cr_assert(std::vector<int>(nodes.begin(), nodes.end()) == r.mem_numa, "case %d rank %d: mem nodes", tc, r.rank);
    // One PU per core unless SMT.
    if (!m.smt) {
      std::set<int> cores;
      for (int pu : r.cpus) cr_assert(cores.insert(core_of[pu]).second, "case %d rank %d: two PUs of one core", tc, r.rank);
    }
    // OpenMP places: one per unit.
    std::size_t places = r.omp_places.empty() ? 0 : std::count(r.omp_places.begin(), r.omp_places.end(), '{');
    cr_assert_eq(places, static_cast<std::size_t>(r.units), "case %d rank %d", tc, r.rank);
    lo = std::min(lo, r.units);
    hi = std::max(hi, r.units);
    if (req.policy != Policy::numa && R <= U) {
      for (int pu : r.cpus) cr_assert(used.insert(pu).second, "case %d rank %d: PU %d given twice", tc, r.rank, pu);
    }
    // GPUs: when some GPU is local to the rank's NUMA nodes, all of its GPUs are.
    if (!t.gpus.empty()) {
      cr_assert(!r.gpus.empty(), "case %d rank %d: no GPU", tc, r.rank);
      std::set<int> mine;
      for (int pu : r.cpus) mine.insert(numa_of[pu]);
      bool local_exists = false;
      for (const Gpu& gpu : t.gpus) local_exists = local_exists || mine.count(gpu.numa);
      if (local_exists)
        for (int gi : r.gpus) cr_assert(mine.count(t.gpus[gi].numa), "case %d rank %d: GPU %d not local", tc, r.rank, gi);
    }
  }
  if (req.policy == Policy::none) return;
  if (R <= U && req.policy != Policy::numa) {
    // Imbalance <= 1 unit; spread uses every unit; compact gives exactly T when they fit.
    if (req.policy == Policy::spread || demand > U) {
      cr_assert(hi - lo <= 1, "case %d: imbalance %d..%d", tc, lo, hi);
      cr_assert_eq(static_cast<int>(used.size()), U, "case %d: %zu of %d units used", tc, used.size(), U);
    } else {
      cr_assert(lo == m.threads && hi == m.threads, "case %d: compact %d..%d threads %d", tc, lo, hi, m.threads);
    }
  }
  // One NUMA node per rank when it fits: spread, equal usable units on every CPU NUMA node, a
  // multiple of the nodes' count in ranks, at most one rank per unit.
  if (req.policy == Policy::spread && R <= U) {
    std::map<int, int> units_per_numa;  // usable units of each NUMA node with usable cores
    for (const Core& c : t.cores) {
      int n = 0;
      for (int pu : c.pus) n += usable.count(pu) ? 1 : 0;
      if (n) units_per_numa[c.numa] += m.smt ? n : 1;
    }
    int D = static_cast<int>(units_per_numa.size());
    bool equal = true;
    for (auto& [n, u] : units_per_numa) equal = equal && u == units_per_numa.begin()->second;
    if (equal && R % D == 0)
      for (const RankMap& r : m.ranks)
        cr_assert_eq(r.mem_numa.size(), 1u, "case %d rank %d: %zu NUMA nodes for %d ranks on %d nodes", tc, r.rank,
                     r.mem_numa.size(), R, D);
    if (equal && R < D && D % R == 0)
      for (const RankMap& r : m.ranks)
        cr_assert_eq(static_cast<int>(r.mem_numa.size()), D / R, "case %d rank %d: whole nodes", tc, r.rank);
  }
  // numa policy: whole nodes.
  if (req.policy == Policy::numa && R <= U) {
    for (const RankMap& r : m.ranks) {
      std::set<int> mine;
      for (int pu : r.cpus) mine.insert(numa_of[pu]);
      std::size_t expect = 0;
      for (std::size_t c = 0; c < t.cores.size(); ++c)
        if (mine.count(t.cores[c].numa))
          for (std::size_t s = 0; s < t.cores[c].pus.size(); ++s)
            if (usable.count(t.cores[c].pus[s]) && (m.smt || s == 0 ||
                                                     std::none_of(t.cores[c].pus.begin(), t.cores[c].pus.begin() + s,
                                                                  [&](int p) { return usable.count(p) > 0; })))
              ++expect;
      cr_assert_eq(r.cpus.size(), expect, "case %d rank %d: numa policy gives whole nodes", tc, r.rank);
    }
  }
}

}  // namespace

Test(binding, properties_over_generated_topologies, .timeout = 120) {
  Rng g{20261207};
  int cases = 0, topologies = 0, with_holes = 0, shared = 0, one_numa_checked = 0;
  for (int i = 0; i < 1200; ++i) {
    Topology t = generate(g);
    ++topologies;
    std::vector<int> all;
    for (const Core& c : t.cores) all.insert(all.end(), c.pus.begin(), c.pus.end());
    std::sort(all.begin(), all.end());
    for (int j = 0; j < 4; ++j) {
      BindRequest req;
      CpuList allowed;
      if (g.in(0, 2) == 0) {  // holes: drop a random third of the PUs, keep at least one
        for (int pu : all)
          if (g.in(0, 2) != 0) allowed.push_back(pu);
        if (allowed.empty()) allowed.push_back(all[g.in(0, static_cast<int>(all.size()) - 1)]);
        ++with_holes;
      }
      req.allowed = allowed;
      int ncores = static_cast<int>(t.cores.size());
      switch (g.in(0, 3)) {
        case 0: req.local_size = g.in(1, 4); break;
        case 1: req.local_size = g.in(1, ncores); break;
        case 2: req.local_size = static_cast<int>(t.numa.size()) * g.in(1, 3); break;
        default: req.local_size = g.in(1, static_cast<int>(all.size()) * 2 + 1); break;
      }
      req.threads = g.in(0, 2) == 0 ? 0 : g.in(1, 8);
      static const Policy pol[] = {Policy::spread, Policy::spread, Policy::compact, Policy::numa, Policy::none};
      req.policy = pol[g.in(0, 4)];
      BindMap m = compute_map(t, req);
      BindMap again = compute_map(t, req);
      cr_assert(format_map(m, t) == format_map(again, t), "case %d: not deterministic", cases);
      if (m.local_size > m.usable_cores) ++shared;
      if (req.policy == Policy::spread) ++one_numa_checked;
      check_map(t, req, m, cases);
      ++cases;
    }
  }
  cr_log_info("binding properties: %d topologies, %d cases (%d with holes, %d oversubscribed, %d spread)", topologies,
              cases, with_holes, shared, one_numa_checked);
  cr_assert(cases >= 4000 && with_holes > 500 && shared > 100, "coverage: %d cases, %d holes, %d shared", cases,
            with_holes, shared);
}

// Binding core: the placement of local ranks on a topology model (contract in binding.hpp).
#include "binding/binding.hpp"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdlib>
#include <set>

#include "common/error.hpp"

namespace paracloud::binding {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A positive decimal integer (at most 1e6), else 0.
int positive_int(const std::string& s) { return std::max(decimal_count(s.c_str()), 0); }

struct Unit {
  int pu;    // PU os index
  int core;  // index into Topology::cores
  int numa;  // index into Topology::numa
};

// Rank sizes in flat order (see the contract): `units_per_numa` usable units of each NUMA node in
// order, R ranks, U = sum units, R <= U. Returns R sizes, each floor(U/R) or ceil(U/R).
std::vector<int> spread_sizes(const std::vector<int>& units_per_numa, int R) {
  long U = 0;
  std::vector<long> boundary;  // cumulative ends of the non-empty NUMA nodes
  for (int n : units_per_numa)
    if (n > 0) boundary.push_back(U += n);
  const int q = static_cast<int>(U / R);
  int ceil_left = static_cast<int>(U % R);
  int ranks_left = R;
  std::vector<int> sizes;
  long pos = 0;
  std::size_t b = 0;
  while (ranks_left > 0) {
    while (b < boundary.size() && boundary[b] <= pos) ++b;
    long m = boundary[b] - pos;  // units up to the next NUMA boundary
    // Whole ranks that exactly fill [pos, boundary): k ranks, e of them ceil-sized, such that the
    // rest stays fillable (0 <= ceil_left - e <= ranks_left - k). Closest to the proportional share.
    double share = static_cast<double>(m) * R / static_cast<double>(U);
    int best_k = -1, best_e = 0;
    double best_d = 0;
    for (int k = 1; k <= ranks_left && static_cast<long>(k) * q <= m; ++k) {
      long e = m - static_cast<long>(k) * q;
      if (e > k || e > ceil_left) continue;
      if (ceil_left - e > ranks_left - k) continue;
      double d = std::abs(k - share);
      if (best_k < 0 || d < best_d - 1e-9) best_k = k, best_e = static_cast<int>(e), best_d = d;
    }
    if (best_k > 0) {
      for (int i = 0; i < best_k; ++i) sizes.push_back(i < best_e ? q + 1 : q);
      ranks_left -= best_k;
      ceil_left -= best_e;
      pos += m;
      continue;
    }
    // No exact fill: one rank straddles the boundary. Ceil-sized while ceil ranks remain and the
    // floor-sized ranks could not all be placed otherwise.
    int s = (ceil_left > 0) ? q + 1 : q;
    if (ceil_left == ranks_left) s = q + 1;
    sizes.push_back(s);
    if (s == q + 1) --ceil_left;
    --ranks_left;
    pos += s;
  }
  return sizes;
}

std::string places_of(const std::vector<int>& pus) {
  std::string s;
  for (int p : pus) {
    if (!s.empty()) s += ',';
    s += '{' + std::to_string(p) + '}';
  }
  return s;
}

}  // namespace

std::string format_cpulist(const CpuList& cpus) {
  std::string out;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(cpus[i]);
    if (j > i) out += '-' + std::to_string(cpus[j]);
    i = j + 1;
  }
  return out;
}

CpuList parse_cpulist(const std::string& text) {
  std::set<int> out;
  auto bad = [&]() {
    return Error(Errc::bad_input, "invalid CPU list '" + text + "'",
                 "give PU numbers and ranges separated by commas, e.g. 0-3,8,10-11");
  };
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t j = text.find(',', i);
    if (j == std::string::npos) j = text.size();
    std::string item = text.substr(i, j - i);
    std::size_t dash = item.find('-');
    int a = 0, b = 0;
    auto num = [&](const std::string& s) {
      if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos) throw bad();
      return std::atoi(s.c_str());
    };
    if (dash == std::string::npos) {
      a = b = num(item);
    } else {
      a = num(item.substr(0, dash));
      b = num(item.substr(dash + 1));
      if (b < a) throw bad();
    }
    for (int c = a; c <= b; ++c) out.insert(c);
    i = j + 1;
    if (j + 1 == text.size()) throw bad();  // trailing comma
  }
  return CpuList(out.begin(), out.end());
}

void validate(const Topology& topo) {
  const std::string where = topo.source.empty() ? "topology" : topo.source;
  auto fail = [&](const std::string& what) {
    return Error(Errc::bad_input, where + ": " + what, "check the topology file (lstopo --of xml writes one)");
  };
  if (topo.cores.empty()) throw fail("no cores");
  if (topo.numa.empty()) throw fail("no NUMA node");
  std::set<int> seen;
  for (std::size_t c = 0; c < topo.cores.size(); ++c) {
    const Core& core = topo.cores[c];
    if (core.pus.empty()) throw fail("core " + std::to_string(c) + " has no PU");
    if (core.numa < 0 || core.numa >= static_cast<int>(topo.numa.size()))
      throw fail("core " + std::to_string(c) + " names NUMA node " + std::to_string(core.numa) + " that does not exist");
    for (int pu : core.pus)
      if (pu < 0 || !seen.insert(pu).second) throw fail("PU " + std::to_string(pu) + " is listed twice or negative");
  }
  for (const Gpu& g : topo.gpus)
    if (g.numa >= static_cast<int>(topo.numa.size())) throw fail("GPU " + g.name + " names a NUMA node that does not exist");
}

std::string describe(const Topology& topo) {
  std::vector<bool> has_cpu(topo.numa.size(), false);
  std::size_t pus = 0;
  for (const Core& c : topo.cores) {
    pus += c.pus.size();
    if (c.numa >= 0 && c.numa < static_cast<int>(has_cpu.size())) has_cpu[c.numa] = true;
  }
  auto cpuless = std::count(has_cpu.begin(), has_cpu.end(), false);
  auto plural = [](std::size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  std::string s = plural(topo.packages, "package", "packages") + ", " +
                  plural(topo.numa.size(), "NUMA node", "NUMA nodes");
  if (cpuless) s += " (" + std::to_string(cpuless) + " without CPUs)";
  s += ", " + plural(topo.cores.size(), "core", "cores") + ", " + plural(pus, "PU", "PUs") + ", " +
       plural(topo.gpus.size(), "GPU", "GPUs");
  return s;
}

const char* to_string(Policy p) {
  switch (p) {
    case Policy::spread: return "spread";
    case Policy::compact: return "compact";
    case Policy::numa: return "numa";
    case Policy::none: return "none";
  }
  return "?";
}

Policy parse_policy(const std::string& text) {
  std::string t = lower(text);
  for (Policy p : {Policy::spread, Policy::compact, Policy::numa, Policy::none})
    if (t == to_string(p)) return p;
  throw Error(Errc::bad_input, "unknown binding policy '" + text + "'", "use one of spread, compact, numa, none");
}

int decimal_count(const char* text) {
  if (!text) return -1;
  const std::string s = text;
  if (s.empty() || s.size() > 7 || s.find_first_not_of("0123456789") != std::string::npos) return -1;
  const long v = std::strtol(s.c_str(), nullptr, 10);
  return v <= 1000000 ? static_cast<int>(v) : -1;
}

int resolve_threads(const char* omp_num_threads, const char* slurm_cpus_per_task) {
  if (omp_num_threads && *omp_num_threads) {
    std::string s = omp_num_threads;
    s = s.substr(0, s.find(','));
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(0, 1);
    if (int v = positive_int(s)) return v;
  }
  if (slurm_cpus_per_task && *slurm_cpus_per_task)
    if (int v = positive_int(slurm_cpus_per_task)) return v;
  return 0;
}

BindMap compute_map(const Topology& topo, const BindRequest& req) {
  validate(topo);
  if (req.local_size < 1)
    throw Error(Errc::bad_input, "the number of ranks must be at least 1 (got " + std::to_string(req.local_size) + ")");
  if (req.threads < 0)
    throw Error(Errc::bad_input, "threads per rank must be at least 1 (got " + std::to_string(req.threads) + ")");
  std::set<int> allowed(req.allowed.begin(), req.allowed.end());
  auto usable = [&](int pu) { return allowed.empty() || allowed.count(pu) > 0; };

  // Usable PUs of each core, cores grouped by NUMA node in Topology::numa order.
  std::vector<std::vector<int>> core_pus(topo.cores.size());
  std::vector<std::vector<int>> numa_cores(topo.numa.size());
  int usable_cores = 0, usable_pus = 0;
  for (std::size_t c = 0; c < topo.cores.size(); ++c) {
    for (int pu : topo.cores[c].pus)
      if (usable(pu)) core_pus[c].push_back(pu);
    if (core_pus[c].empty()) continue;
    ++usable_cores;
    usable_pus += static_cast<int>(core_pus[c].size());
    numa_cores[topo.cores[c].numa].push_back(static_cast<int>(c));
  }
  if (usable_cores == 0)
    throw Error(Errc::bad_input,
                "no PU of " + (topo.source.empty() ? std::string("the topology") : topo.source) +
                    " is in the allowed set " + format_cpulist(req.allowed),
                "give an allowed set that names PUs of this machine (paracloud bind show lists them)");

  BindMap map;
  map.policy = req.policy;
  map.local_size = req.local_size;
  map.usable_cores = usable_cores;
  map.usable_pus = usable_pus;
  const int R = req.local_size;
  map.threads = req.threads > 0 ? req.threads : std::max(1, usable_cores / R);
  const long demand = static_cast<long>(R) * map.threads;
  map.smt = demand > usable_cores;

  std::vector<Unit> flat;
  std::vector<int> units_per_numa(topo.numa.size(), 0);
  for (std::size_t n = 0; n < topo.numa.size(); ++n)
    for (int c : numa_cores[n]) {
      const auto& pus = core_pus[c];
      std::size_t take = map.smt ? pus.size() : 1;
      for (std::size_t i = 0; i < take; ++i) flat.push_back({pus[i], c, static_cast<int>(n)});
      units_per_numa[n] += static_cast<int>(take);
    }
  const int U = static_cast<int>(flat.size());

  std::vector<std::string> notes;
  if (map.smt && req.policy != Policy::none) {
    if (demand > usable_pus)
      notes.push_back(std::to_string(R) + " ranks x " + std::to_string(map.threads) + " threads exceed the " +
                      std::to_string(usable_pus) + " PUs: threads share PUs");
    else
      notes.push_back(std::to_string(R) + " ranks x " + std::to_string(map.threads) + " threads exceed the " +
                      std::to_string(usable_cores) + " cores: one thread per PU (SMT)");
  }
  if (R > usable_cores) {
    std::string n = "more ranks than cores: shared (" + std::to_string(R) + " ranks on " +
                    std::to_string(usable_cores) + " cores, " + std::to_string(usable_pus) + " PUs)";
    notes.insert(notes.begin(), n);
  }
  for (std::size_t i = 0; i < notes.size(); ++i) map.note += (i ? "; " : "") + notes[i];

  // Which flat units each rank gets.
  std::vector<std::vector<int>> rank_units(R);
  if (req.policy == Policy::none) {
    for (int r = 0; r < R; ++r)
      for (int u = 0; u < U; ++u) rank_units[r].push_back(u);
  } else if (R > U) {
    for (int r = 0; r < R; ++r) rank_units[r].push_back(static_cast<int>(static_cast<long>(r) * U / R));
  } else if (req.policy == Policy::compact && demand <= U) {
    for (int r = 0; r < R; ++r)
      for (int u = r * map.threads; u < (r + 1) * map.threads; ++u) rank_units[r].push_back(u);
  } else {
    std::vector<int> sizes = spread_sizes(units_per_numa, R);
    int pos = 0;
    for (int r = 0; r < R; ++r) {
      for (int i = 0; i < sizes[r]; ++i) rank_units[r].push_back(pos + i);
      pos += sizes[r];
    }
    if (req.policy == Policy::numa) {
      std::vector<int> first(topo.numa.size(), 0);
      for (std::size_t n = 1; n < topo.numa.size(); ++n) first[n] = first[n - 1] + units_per_numa[n - 1];
      for (int r = 0; r < R; ++r) {
        std::set<int> nodes;
        for (int u : rank_units[r]) nodes.insert(flat[u].numa);
        rank_units[r].clear();
        for (int n : nodes)
          for (int u = first[n]; u < first[n] + units_per_numa[n]; ++u) rank_units[r].push_back(u);
      }
    }
  }

  // cpus, memory, OpenMP
  map.ranks.resize(R);
  std::vector<std::set<int>> rank_numa(R);  // indices into topo.numa
  for (int r = 0; r < R; ++r) {
    RankMap& rm = map.ranks[r];
    rm.rank = r;
    std::vector<int> pus;
    for (int u : rank_units[r]) {
      pus.push_back(flat[u].pu);
      rank_numa[r].insert(flat[u].numa);
    }
    rm.units = static_cast<int>(rank_units[r].size());
    rm.cpus = pus;
    if (req.policy == Policy::none) {
      // all usable PUs, not only the units
      rm.cpus.clear();
      for (const auto& cp : core_pus) rm.cpus.insert(rm.cpus.end(), cp.begin(), cp.end());
      rm.units = U;
    }
    std::sort(rm.cpus.begin(), rm.cpus.end());
    rm.cpus.erase(std::unique(rm.cpus.begin(), rm.cpus.end()), rm.cpus.end());
    if (req.policy != Policy::none) {
      for (int n : rank_numa[r]) rm.mem_numa.push_back(topo.numa[n].os_index);
      std::sort(rm.mem_numa.begin(), rm.mem_numa.end());
      rm.omp_places = places_of(pus);
      rm.omp_proc_bind = req.policy == Policy::compact ? "close" : "spread";
    }
  }

  // GPUs: by NUMA node, then package, then any.
  if (!topo.gpus.empty() && req.policy != Policy::none) {
    auto deal = [&](const std::vector<int>& gpus, const std::vector<int>& ranks) {
      const long g = static_cast<long>(gpus.size()), k = static_cast<long>(ranks.size());
      for (long i = 0; i < k; ++i) {
        auto& out = map.ranks[ranks[i]].gpus;
        if (g >= k)
          for (long x = i * g / k; x < (i + 1) * g / k; ++x) out.push_back(gpus[x]);
        else
          out.push_back(gpus[i * g / k]);
      }
    };
    for (std::size_t n = 0; n < topo.numa.size(); ++n) {
      std::vector<int> gpus, ranks;
      for (std::size_t g = 0; g < topo.gpus.size(); ++g)
        if (topo.gpus[g].numa == static_cast<int>(n)) gpus.push_back(static_cast<int>(g));
      for (int r = 0; r < R; ++r)
        if (rank_numa[r].count(static_cast<int>(n))) ranks.push_back(r);
      if (!gpus.empty() && !ranks.empty()) deal(gpus, ranks);
    }
    auto gpu_package = [&](const Gpu& g) {
      if (g.package >= 0) return g.package;
      return g.numa >= 0 ? topo.numa[g.numa].package : -1;
    };
    for (int p = 0; p < topo.packages; ++p) {
      std::vector<int> gpus, ranks;
      for (std::size_t g = 0; g < topo.gpus.size(); ++g)
        if (gpu_package(topo.gpus[g]) == p) gpus.push_back(static_cast<int>(g));
      for (int r = 0; r < R; ++r) {
        if (!map.ranks[r].gpus.empty()) continue;
        bool in = false;
        for (int u : rank_units[r]) in = in || topo.cores[flat[u].core].package == p;
        if (in) ranks.push_back(r);
      }
      if (!gpus.empty() && !ranks.empty()) deal(gpus, ranks);
    }
    std::vector<int> all, ranks;
    for (std::size_t g = 0; g < topo.gpus.size(); ++g) all.push_back(static_cast<int>(g));
    for (int r = 0; r < R; ++r)
      if (map.ranks[r].gpus.empty()) ranks.push_back(r);
    if (!ranks.empty()) deal(all, ranks);
    for (auto& rm : map.ranks) std::sort(rm.gpus.begin(), rm.gpus.end());
  }
  return map;
}

std::string format_map(const BindMap& map, const Topology& topo) {
  (void)topo;
  std::string s = std::string("policy ") + to_string(map.policy) + " threads " + std::to_string(map.threads) +
                  " smt " + (map.smt ? "yes" : "no") + " ranks " + std::to_string(map.local_size) + " cores " +
                  std::to_string(map.usable_cores) + " pus " + std::to_string(map.usable_pus) + "\n";
  if (!map.note.empty()) s += "note: " + map.note + "\n";
  auto ints = [](const std::vector<int>& v) {
    if (v.empty()) return std::string("-");
    std::string o;
    for (int x : v) o += (o.empty() ? "" : ",") + std::to_string(x);
    return o;
  };
  for (const RankMap& r : map.ranks) {
    s += "rank " + std::to_string(r.rank) + ": cpus " + format_cpulist(r.cpus) + " mem " + ints(r.mem_numa) +
         " gpus " + ints(r.gpus) + " units " + std::to_string(r.units) + " places " +
         (r.omp_places.empty() ? "-" : r.omp_places) + " bind " + (r.omp_proc_bind.empty() ? "-" : r.omp_proc_bind) +
         "\n";
  }
  return s;
}

}  // namespace paracloud::binding

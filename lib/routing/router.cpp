// Router: feasibility of each site and partition, worst-case cost, expected wait, policy ranking.
#include "routing/router.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <limits>

#include "common/error.hpp"

namespace paracloud {

namespace {

using i128 = __int128;
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

std::int64_t ceil_div(std::int64_t n, std::int64_t d) {
  return n / d + (n % d != 0 ? 1 : 0);
}  // n >= 0, d > 0

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool valid_item(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
          c == '@'))
      return false;
  return true;
}

// A requested gres, looked up per partition without building strings.
struct GresNeed {
  std::string key;      // "gres/gpu:a100" (lower case, as price lines are keyed)
  std::string generic;  // "gres/gpu"
  std::string name;     // "gpu"
  std::string type;     // "a100" or ""
  std::int64_t count = 0;
};

// Exactly price_job()'s total (pricing.hpp): sum of units x rate x seconds (x 1024 except memory
// in MB), over 3600 x 1e6 x 1024, rounded up once. Returns false with *reason set when a gres is
// unpriced (item = its key) or the cost leaves int64.
bool cost_of(const PriceRule& rule, const SiteModel::Site::BaseRates& base, std::int64_t cpus,
             std::int64_t mem_mb, std::int64_t nodes, const std::vector<GresNeed>& gres,
             std::int64_t seconds, Money* cost, RejectReason* reason, const std::string** item) {
  // Overflow builtins, not a division per check: this runs for every partition of every site.
  bool overflow = false;
  i128 sum = 0;
  auto add = [&](std::int64_t units, i128 r, i128 scale) {
    if (units == 0) return;
    i128 n = 0;
    overflow = overflow || __builtin_mul_overflow(static_cast<i128>(units), r, &n) ||
               __builtin_mul_overflow(n, static_cast<i128>(seconds), &n) ||
               __builtin_mul_overflow(n, scale, &n) || __builtin_add_overflow(sum, n, &sum);
  };
  add(cpus, base.cpu, 1024);
  add(mem_mb, base.mem, 1);
  add(nodes, base.node, 1024);
  for (const auto& g : gres) {
    if (g.count == 0) continue;
    auto it = rule.rates.find(g.key);
    if (it == rule.rates.end()) it = rule.rates.find(g.generic);
    if (it == rule.rates.end()) {
      *reason = RejectReason::unpriced_gres;
      *item = &g.key;
      return false;
    }
    add(g.count, it->second, 1024);
  }
  const std::int64_t denom = static_cast<std::int64_t>(3600) * 1000000 * 1024;
  if (overflow) {
    *reason = RejectReason::cost_too_large;
    return false;
  }
  if (sum <= kMax) {  // the usual case: a 64-bit division instead of a 128-bit one
    *cost = ceil_div(static_cast<std::int64_t>(sum), denom);
    return true;
  }
  i128 total = sum / denom + (sum % denom != 0 ? 1 : 0);
  if (total > kMax) {
    *reason = RejectReason::cost_too_large;
    return false;
  }
  *cost = static_cast<Money>(total);
  return true;
}

// Expected wait of a job of `cpus` CPUs in partition state p (model in router.hpp).
std::int64_t expected_wait(const PartitionState& p, std::int64_t cpus) {
  if (p.cpus_idle >= p.pending_cpus + cpus) return 0;
  if (p.cpus_total <= 0) return kMax;
  std::int64_t work = 0;
  if (__builtin_add_overflow(p.running_cpu_seconds, p.pending_cpu_seconds, &work)) work = kMax;
  return ceil_div(work, p.cpus_total);
}

std::int64_t sat_add(std::int64_t a, std::int64_t b) { return a > kMax - b ? kMax : a + b; }

// A feasible (site, partition) while ranking: numbers and indices only, cheap to sort. Sites are
// in name order in the model and partitions in name order within a site, so comparing indices
// breaks ties by name.
struct Pick {
  std::int64_t score, cost, wait, start, nodes, age;
  std::size_t site, part;
  const std::string* partition;
};

bool better(const Pick& a, const Pick& b) {
  if (a.score != b.score) return a.score < b.score;
  if (a.cost != b.cost) return a.cost < b.cost;
  if (a.wait != b.wait) return a.wait < b.wait;
  if (a.site != b.site) return a.site < b.site;
  return a.part < b.part;
}

std::string utc(std::int64_t t) {
  time_t tt = static_cast<time_t>(t);
  struct tm tm;
  if (!gmtime_r(&tt, &tm)) return std::to_string(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string join_group(const std::vector<std::string>& g) {
  std::string s;
  for (const auto& i : g) s += (s.empty() ? "" : "|") + i;
  return s;
}

}  // namespace

const char* to_string(RoutePolicy p) {
  switch (p) {
    case RoutePolicy::cheapest:
      return "cheapest";
    case RoutePolicy::fastest:
      return "fastest";
    case RoutePolicy::balanced:
      return "balanced";
  }
  return "?";
}

RoutePolicy parse_route_policy(const std::string& text) {
  std::string l = lower(text);
  if (l == "cheapest") return RoutePolicy::cheapest;
  if (l == "fastest") return RoutePolicy::fastest;
  if (l == "balanced") return RoutePolicy::balanced;
  throw Error(Errc::bad_input,
              "unknown routing policy '" + text + "'; expected cheapest, fastest or balanced");
}

std::vector<std::vector<std::string>> parse_constraint(const std::string& text) {
  std::vector<std::vector<std::string>> out;
  if (text.empty()) return out;
  auto bad = [&](const std::string& why) {
    throw Error(Errc::bad_input,
                "invalid --constraint '" + text + "': " + why +
                    "; expected features joined by & (and) and | (or), such as avx512&ib|roce");
  };
  if (text.find_first_of("[]()*! \t") != std::string::npos)
    bad("brackets, counts and spaces are not supported");
  std::vector<std::string> group;
  std::string item;
  auto end_item = [&]() {
    if (!valid_item(item))
      bad(item.empty() ? "empty feature" : "'" + item + "' is not a feature name");
    group.push_back(item);
    item.clear();
  };
  for (char c : text) {
    if (c == '|') {
      end_item();
    } else if (c == '&' || c == ',') {
      end_item();
      out.push_back(std::move(group));
      group.clear();
    } else {
      item += c;
    }
  }
  end_item();
  out.push_back(std::move(group));
  return out;
}

std::map<std::string, std::int64_t> parse_licenses(const std::string& text) {
  std::map<std::string, std::int64_t> out;
  if (text.empty()) return out;
  auto bad = [&](const std::string& why) {
    throw Error(Errc::bad_input, "invalid --licenses '" + text + "': " + why +
                                     "; expected NAME[:COUNT][,...] such as matlab:2,ansys");
  };
  std::size_t b = 0;
  for (;;) {
    std::size_t e = text.find(',', b);
    std::string it = text.substr(b, e == std::string::npos ? e : e - b);
    std::size_t colon = it.find(':');
    std::string name = it.substr(0, colon),
                count = colon == std::string::npos ? "1" : it.substr(colon + 1);
    if (!valid_item(name)) bad("'" + it + "' has no valid name");
    if (count.empty() || count.size() > 9 ||
        count.find_first_not_of("0123456789") != std::string::npos)
      bad("'" + it + "' has no valid count");
    out[name] += std::stoll(count);
    if (e == std::string::npos) break;
    b = e + 1;
  }
  return out;
}

RouteOptions route_options(const Config& cfg) {
  RouteOptions o;
  o.policy = parse_route_policy(cfg.route_policy);
  o.top_k = cfg.route_top_k;
  o.wait_weight = cfg.route_wait_weight;
  return o;
}

long SiteModel::Site::find_price(const std::string& partition) const {
  long wildcard = -1;
  for (std::size_t i = 0; i < prices.size(); ++i) {
    if (prices[i].partition == partition) return static_cast<long>(i);
    if (prices[i].partition == "*") wildcard = static_cast<long>(i);
  }
  return wildcard;
}

SiteModel::SiteModel(const Config& cfg) : currency(cfg.currency) {
  for (const auto& s : cfg.sites) {
    Site site;
    site.conf = s;
    site.max_age = s.health_max_age > 0 ? s.health_max_age : cfg.site_state_max_age;
    for (const auto& p : cfg.partitions)
      if (p.site == s.name) site.partitions.push_back(p);
    std::sort(site.partitions.begin(), site.partitions.end(),
              [](const PartitionConf& a, const PartitionConf& b) { return a.name < b.name; });
    for (const auto& r : cfg.prices) {
      if (r.site != s.name) continue;
      site.prices.push_back(r);
      auto rate = [&r](const char* key) -> Rate {
        auto it = r.rates.find(key);
        return it == r.rates.end() ? 0 : it->second;
      };
      site.base_rates.push_back({rate("cpu"), rate("mem"), rate("node")});
    }
    for (const auto& p : site.partitions) site.partition_price.push_back(site.find_price(p.name));
    sites.push_back(std::move(site));
  }
  std::sort(sites.begin(), sites.end(),
            [](const Site& a, const Site& b) { return a.conf.name < b.conf.name; });
}

long SiteModel::index_of(const std::string& site) const {
  auto it = std::lower_bound(sites.begin(), sites.end(), site,
                             [](const Site& s, const std::string& n) { return s.conf.name < n; });
  return it != sites.end() && it->conf.name == site ? static_cast<long>(it - sites.begin()) : -1;
}

std::vector<const SiteState*> align_states(const SiteModel& model,
                                           const std::vector<SiteState>& states) {
  std::map<std::string, const SiteState*> by_name;
  for (const auto& s : states) by_name.emplace(s.site, &s);  // the first of duplicates wins
  std::vector<const SiteState*> out;
  out.reserve(model.sites.size());
  for (const auto& s : model.sites) {
    auto it = by_name.find(s.conf.name);
    out.push_back(it == by_name.end() ? nullptr : it->second);
  }
  return out;
}

const char* to_string(RejectReason r) {
  switch (r) {
    case RejectReason::drained:
      return "drained";
    case RejectReason::no_state:
      return "no_state";
    case RejectReason::unreachable:
      return "unreachable";
    case RejectReason::stale_state:
      return "stale_state";
    case RejectReason::license_missing:
      return "license_missing";
    case RejectReason::no_partition:
      return "no_partition";
    case RejectReason::partition_not_reported:
      return "partition_not_reported";
    case RejectReason::no_price:
      return "no_price";
    case RejectReason::walltime_over_max:
      return "walltime_over_max";
    case RejectReason::too_many_nodes:
      return "too_many_nodes";
    case RejectReason::too_many_cpus:
      return "too_many_cpus";
    case RejectReason::memory_over_max:
      return "memory_over_max";
    case RejectReason::feature_missing:
      return "feature_missing";
    case RejectReason::gpu_type_missing:
      return "gpu_type_missing";
    case RejectReason::too_many_gpus:
      return "too_many_gpus";
    case RejectReason::unpriced_gres:
      return "unpriced_gres";
    case RejectReason::cost_too_large:
      return "cost_too_large";
    case RejectReason::over_budget:
      return "over_budget";
    case RejectReason::misses_deadline:
      return "misses_deadline";
  }
  return "?";
}

std::string describe(const RouteReject& r, const Currency& cur) {
  auto n = [](std::int64_t v) { return std::to_string(v); };
  switch (r.reason) {
    case RejectReason::drained:
      return "drained in paracloud.conf (State=DRAIN)";
    case RejectReason::no_state:
      return "no state collected" + (r.item.empty() ? "" : ": " + r.item);
    case RejectReason::unreachable:
      return "unreachable at the last query, " + n(r.have) + " s ago" +
             (r.item.empty() ? "" : ": " + r.item);
    case RejectReason::stale_state:
      return "state is " + n(r.have) + " s old (max " + n(r.want) + " s)";
    case RejectReason::license_missing:
      if (r.have == 0) return "no license '" + r.item + "'";
      return "only " + n(r.have) + " '" + r.item + "' licenses (asked " + n(r.want) + ")";
    case RejectReason::no_partition:
      if (r.item.empty())
        return "no partitions known (no PartitionName lines and no collected state)";
      return "no partition '" + r.item + "'";
    case RejectReason::partition_not_reported:
      return "partition not reported by the site's slurmctld (down or removed?)";
    case RejectReason::no_price:
      return "no PriceName line prices this partition";
    case RejectReason::walltime_over_max:
      return "time limit " + format_duration(r.want) + " over MaxTime " + format_duration(r.have);
    case RejectReason::too_many_nodes:
      return n(r.want) + " nodes, at most " + n(r.have);
    case RejectReason::too_many_cpus:
      return n(r.want) + " CPUs, only " + n(r.have) + (r.item.empty() ? "" : " " + r.item);
    case RejectReason::memory_over_max:
      return n(r.want) + " MB per node, nodes have " + n(r.have) + " MB";
    case RejectReason::feature_missing:
      return "constraint '" + r.item + "' not met";
    case RejectReason::gpu_type_missing:
      return r.item.empty() ? std::string("no GPUs") : "no GPUs of type '" + r.item + "'";
    case RejectReason::too_many_gpus:
      return n(r.want) + " GPUs" + (r.item.empty() ? "" : " '" + r.item + "'") +
             " per node, nodes have " + n(r.have);
    case RejectReason::unpriced_gres:
      return r.item + " is not priced here";
    case RejectReason::cost_too_large:
      return "worst-case cost too large to compute";
    case RejectReason::over_budget:
      return "worst-case cost " + format_money(r.want, cur) + " over the budget of " +
             format_money(r.have, cur);
    case RejectReason::misses_deadline:
      return "expected end " + utc(r.want) + " after the deadline " + utc(r.have);
  }
  return "?";
}

Money RouteDecision::hold() const {
  Money m = 0;
  for (std::size_t i = 0; i < selected && i < ranked.size(); ++i) m = std::max(m, ranked[i].cost);
  return m;
}

void route(const SiteModel& model, const std::vector<const SiteState*>& states,
           const RouteRequest& req, const RouteOptions& opt, std::int64_t now, RouteDecision* out) {
  const JobResources& job = req.resources;
  if (states.size() != model.sites.size())
    throw Error(Errc::bad_input, "route: " + std::to_string(states.size()) + " site states for " +
                                     std::to_string(model.sites.size()) +
                                     " sites; expected one per site (align_states)");
  if (job.cpus < 1 || job.seconds < 1 || job.nodes < 0 || job.mem_mb < 0)
    throw Error(Errc::bad_input,
                "route: a job needs at least 1 CPU and 1 second, and no negative nodes or memory");
  out->policy = opt.policy;
  out->now = now;
  out->options = opt;
  out->excluded.clear();
  // Reused across calls of this thread: ranking allocates nothing once it has seen the largest
  // model.
  thread_local std::vector<Pick> picks;
  picks.clear();
  out->selected = 0;

  std::vector<GresNeed> gres;
  for (const auto& [name, count] : job.gres) {
    if (count < 0) throw Error(Errc::bad_input, "route: negative count of gres/" + name);
    if (count == 0) continue;
    GresNeed g;
    g.key = "gres/" + lower(name);
    std::size_t colon = g.key.find(':');
    g.generic = g.key.substr(0, colon);
    g.name = g.generic.substr(5);
    g.type = colon == std::string::npos ? "" : g.key.substr(colon + 1);
    g.count = count;
    gres.push_back(std::move(g));
  }

  auto reject = [out](const std::string& site, const std::string& part, RejectReason r,
                      std::int64_t have, std::int64_t want, const std::string& item) {
    out->excluded.push_back(RouteReject{site, part, r, have, want, item});
  };
  static const std::string kNone;

  for (std::size_t si = 0; si < model.sites.size(); ++si) {
    const SiteModel::Site& site = model.sites[si];
    const std::string& sname = site.conf.name;
    const SiteState* st = states[si];
    if (site.conf.drained) {
      reject(sname, kNone, RejectReason::drained, 0, 0, kNone);
      continue;
    }
    HealthVerdict hv = judge_state(st, now, site.max_age);
    if (hv.health == StateHealth::missing) {
      reject(sname, kNone, RejectReason::no_state, 0, 0, st ? st->error : kNone);
      continue;
    }
    if (hv.health == StateHealth::unreachable) {
      reject(sname, kNone, RejectReason::unreachable, hv.age, 0, st->error);
      continue;
    }
    if (hv.health == StateHealth::stale) {
      reject(sname, kNone, RejectReason::stale_state, hv.age, site.max_age, kNone);
      continue;
    }
    bool licensed = true;
    for (const auto& [lic, count] : req.licenses) {
      auto it = site.conf.licenses.find(lic);
      std::int64_t have = it == site.conf.licenses.end() ? 0 : it->second;
      if (have < count) {
        reject(sname, kNone, RejectReason::license_missing, have, count, lic);
        licensed = false;
        break;
      }
    }
    if (!licensed) continue;

    const std::size_t first_reject = out->excluded.size();
    Pick best{};
    bool found = false;
    bool any_partition = false;
    const bool declared = !site.partitions.empty();
    const std::size_t nparts = declared ? site.partitions.size() : st->partitions.size();
    std::size_t cursor = 0;  // declared and reported partitions are both sorted by name: merge them
    for (std::size_t pi = 0; pi < nparts; ++pi) {
      const PartitionConf* pc = declared ? &site.partitions[pi] : nullptr;
      const std::string& pname = declared ? pc->name : st->partitions[pi].name;
      if (!job.partition.empty() && pname != job.partition) continue;
      any_partition = true;
      const PartitionState* ps = nullptr;
      if (declared) {
        while (cursor < st->partitions.size() && st->partitions[cursor].name < pname) ++cursor;
        if (cursor < st->partitions.size() && st->partitions[cursor].name == pname)
          ps = &st->partitions[cursor];
      } else {
        ps = &st->partitions[pi];
      }
      auto no = [&](RejectReason r, std::int64_t have, std::int64_t want, const std::string& item) {
        reject(sname, pname, r, have, want, item);
      };

      const long price = declared ? site.partition_price[pi] : site.find_price(pname);
      if (price < 0) {
        no(RejectReason::no_price, 0, 0, kNone);
        continue;
      }
      if (pc && pc->max_time > 0 && job.seconds > pc->max_time) {
        no(RejectReason::walltime_over_max, pc->max_time, job.seconds, kNone);
        continue;
      }
      std::int64_t cpn =
          pc && pc->cpus_per_node > 0 ? pc->cpus_per_node : (ps ? ps->cpus_per_node : 0);
      std::int64_t nodes = job.nodes;
      if (nodes > 0 && cpn > 0 && job.cpus > nodes * cpn) {
        static const std::string kOnNodes = "on the nodes asked for";
        no(RejectReason::too_many_cpus, nodes * cpn, job.cpus, kOnNodes);
        continue;
      }
      if (nodes == 0) nodes = cpn > 0 ? ceil_div(job.cpus, cpn) : 1;
      if (pc && pc->max_nodes > 0 && nodes > pc->max_nodes) {
        no(RejectReason::too_many_nodes, pc->max_nodes, nodes, kNone);
        continue;
      }
      if (pc && pc->mem_per_node_mb > 0 && ceil_div(job.mem_mb, nodes) > pc->mem_per_node_mb) {
        no(RejectReason::memory_over_max, pc->mem_per_node_mb, ceil_div(job.mem_mb, nodes), kNone);
        continue;
      }
      bool ok = true;
      for (const auto& group : req.constraint) {
        bool met = false;
        for (const auto& f : group)
          if (pc && (std::binary_search(pc->features.begin(), pc->features.end(), f) ||
                     f == pc->cpu_model))
            met = true;
        if (!met) {
          no(RejectReason::feature_missing, 0, 0, join_group(group));
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      for (const auto& g : gres) {
        if (g.name != "gpu") continue;
        std::int64_t per_node = ceil_div(g.count, nodes);
        std::int64_t have = -1;
        if (pc) {
          if (g.type.empty()) {
            for (const auto& [type, c] : pc->gpus) have = std::max(have, c);
          } else {
            auto it = pc->gpus.find(g.type);
            if (it != pc->gpus.end()) have = it->second;
          }
        }
        if (have < 0) {
          no(RejectReason::gpu_type_missing, 0, per_node, g.type);
          ok = false;
          break;
        }
        if (have < per_node) {
          no(RejectReason::too_many_gpus, have, per_node, g.type);
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      Money cost = 0;
      RejectReason why = RejectReason::cost_too_large;
      const std::string* item = &kNone;
      const auto pidx = static_cast<std::size_t>(price);
      if (!cost_of(site.prices[pidx], site.base_rates[pidx], job.cpus, job.mem_mb, nodes, gres,
                   job.seconds, &cost, &why, &item)) {
        no(why, 0, 0, *item);
        continue;
      }
      if (opt.budget >= 0 && cost > opt.budget) {
        no(RejectReason::over_budget, opt.budget, cost, kNone);
        continue;
      }
      if (!ps) {
        no(RejectReason::partition_not_reported, 0, 0, kNone);
        continue;
      }
      if (ps->nodes_total > 0 && nodes > ps->nodes_total) {
        no(RejectReason::too_many_nodes, ps->nodes_total, nodes, kNone);
        continue;
      }
      if (job.cpus > ps->cpus_total) {
        static const std::string kInPartition = "usable in the partition";
        no(RejectReason::too_many_cpus, ps->cpus_total, job.cpus, kInPartition);
        continue;
      }
      std::int64_t wait = expected_wait(*ps, job.cpus);
      std::int64_t start = sat_add(now, wait);
      if (opt.deadline > 0 && sat_add(start, job.seconds) > opt.deadline) {
        no(RejectReason::misses_deadline, opt.deadline, sat_add(start, job.seconds), kNone);
        continue;
      }
      std::int64_t score = cost;
      if (opt.policy == RoutePolicy::fastest) {
        score = wait;
      } else if (opt.policy == RoutePolicy::balanced) {
        i128 w = static_cast<i128>(wait) * std::max<Money>(0, opt.wait_weight);
        i128 extra = w / 3600 + (w % 3600 != 0 ? 1 : 0);
        score = extra > kMax - cost ? kMax : cost + static_cast<std::int64_t>(extra);
      }
      // The site's best partition, in the same order as between sites.
      Pick pick{score, cost, wait, start, nodes, hv.age, si, pi, &pname};
      if (!found || better(pick, best)) best = pick;
      found = true;
    }
    if (!any_partition) {
      reject(sname, kNone, RejectReason::no_partition, 0, 0, job.partition);
      continue;
    }
    if (found) {
      out->excluded.resize(
          first_reject);  // partitions it will not use are not reasons against the site
      picks.push_back(best);
    }
  }
  std::sort(picks.begin(), picks.end(), better);
  out->ranked.resize(picks.size());
  for (std::size_t i = 0; i < picks.size(); ++i) {
    const Pick& p = picks[i];
    RouteCandidate& c = out->ranked[i];
    c.site = model.sites[p.site].conf.name;
    c.cluster = model.sites[p.site].conf.cluster;
    c.partition = *p.partition;
    c.cost = p.cost;
    c.nodes = p.nodes;
    c.wait = p.wait;
    c.start = p.start;
    c.score = p.score;
    c.state_age = p.age;
  }
  std::size_t k = opt.policy == RoutePolicy::fastest
                      ? static_cast<std::size_t>(std::max<std::int64_t>(1, opt.top_k))
                      : 1;
  out->selected = std::min(k, out->ranked.size());
}

RouteDecision route(const SiteModel& model, const std::vector<const SiteState*>& states,
                    const RouteRequest& req, const RouteOptions& opt, std::int64_t now) {
  RouteDecision d;
  route(model, states, req, opt, now, &d);
  return d;
}

nlohmann::json to_json(const RouteDecision& d, const Currency& cur) {
  nlohmann::json selected = nlohmann::json::array(), cands = nlohmann::json::array(),
                 excl = nlohmann::json::array();
  for (std::size_t i = 0; i < d.selected; ++i) selected.push_back(d.ranked[i].site);
  for (std::size_t i = 0; i < d.ranked.size(); ++i) {
    const auto& c = d.ranked[i];
    cands.push_back({{"rank", i + 1},
                     {"site", c.site},
                     {"cluster", c.cluster},
                     {"partition", c.partition},
                     {"cost", format_amount(c.cost, cur)},
                     {"cost_minor", c.cost},
                     {"nodes", c.nodes},
                     {"wait_s", c.wait},
                     {"expected_start", c.start},
                     {"score", c.score},
                     {"state_age_s", c.state_age}});
  }
  for (const auto& r : d.excluded)
    excl.push_back({{"site", r.site},
                    {"partition", r.partition},
                    {"reason", to_string(r.reason)},
                    {"detail", describe(r, cur)},
                    {"have", r.have},
                    {"want", r.want}});
  nlohmann::json j = {{"schema", 1},
                      {"policy", to_string(d.policy)},
                      {"now", d.now},
                      {"currency", cur.code},
                      {"top_k", d.options.top_k},
                      {"selected", selected},
                      {"hold", format_amount(d.hold(), cur)},
                      {"hold_minor", d.hold()},
                      {"candidates", cands},
                      {"excluded", excl}};
  if (d.policy == RoutePolicy::balanced) j["wait_weight_minor"] = d.options.wait_weight;
  j["deadline"] =
      d.options.deadline > 0 ? nlohmann::json(d.options.deadline) : nlohmann::json(nullptr);
  j["budget_minor"] =
      d.options.budget >= 0 ? nlohmann::json(d.options.budget) : nlohmann::json(nullptr);
  return j;
}

}  // namespace paracloud

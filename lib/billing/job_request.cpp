// Submit-time core: worst-case resources of a job request (rules in job_request.hpp) and the affordability check.
#include "billing/job_request.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

#include "common/error.hpp"

namespace paracloud {

namespace {

std::int64_t mul(std::int64_t a, std::int64_t b, const char* what) {
  std::int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r))
    throw Error(Errc::bad_input, std::string("job request: ") + what + " is too large to price",
                "ask for fewer resources");
  return r;
}

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return b > 0 ? (a + b - 1) / b : a; }

bool starts_with_ci(const std::string& s, const char* prefix) {
  std::size_t n = std::char_traits<char>::length(prefix);
  if (s.size() < n) return false;
  for (std::size_t i = 0; i < n; ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

// "2", "16K", "1G" -> count; -1 when `text` is not a count (then it is a gres type).
std::int64_t parse_count(const std::string& text) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0]))) return -1;
  std::int64_t v = 0;
  std::size_t i = 0;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
    if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, text[i] - '0', &v)) return -2;
  }
  if (i == text.size()) return v;
  if (i + 1 != text.size()) return -1;
  int shift = 0;
  switch (std::toupper(static_cast<unsigned char>(text[i]))) {
    case 'K': shift = 10; break;
    case 'M': shift = 20; break;
    case 'G': shift = 30; break;
    case 'T': shift = 40; break;
    default: return -1;
  }
  if (v > (INT64_MAX >> shift)) return -2;
  return v << shift;
}

std::vector<std::string> split(const std::string& s, const char* seps) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (std::char_traits<char>::find(seps, std::char_traits<char>::length(seps), c)) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// Total of a gres name over every key of that name ("gpu" and "gpu:a100", ...).
std::int64_t total_of(const std::map<std::string, std::int64_t>& gres, const std::string& name) {
  std::int64_t total = 0;
  for (const auto& [key, n] : gres)
    if (key == name || (key.size() > name.size() && key.compare(0, name.size(), name) == 0 &&
                        key[name.size()] == ':'))
      total += n;
  return total;
}

}  // namespace

std::map<std::string, std::int64_t> parse_tres_counts(const std::string& spec, const std::string& what) {
  std::map<std::string, std::int64_t> out;
  for (std::string item : split(spec, ",;")) {
    if (item.empty()) continue;
    const std::string original = item;
    auto bad = [&](const std::string& why) {
      return Error(Errc::bad_input, what + " item '" + original + "': " + why,
                   "write it as NAME[:TYPE][:COUNT], e.g. gpu:a100:2");
    };
    if (starts_with_ci(item, "gres:") || starts_with_ci(item, "gres/")) item.erase(0, 5);
    std::vector<std::string> f = split(item, ":");
    std::string name = f[0], type;
    std::int64_t count = 1;
    if (f.size() > 3) throw bad("too many ':' fields");
    if (f.size() == 3) {
      type = f[1];
      count = parse_count(f[2]);
      if (count < 0) throw bad(count == -2 ? "count too large" : "'" + f[2] + "' is not a count");
      if (type.empty()) throw bad("empty type");
    } else if (f.size() == 2) {
      count = parse_count(f[1]);
      if (count == -2) throw bad("count too large");
      if (count == -1) {
        type = f[1];
        count = 1;
        if (type.empty()) throw bad("empty type");
      }
    }
    if (name.empty()) throw bad("empty name");
    for (char c : name)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') throw bad("bad character in the name");
    if (count == 0) continue;  // "gpu:0" asks for none
    std::string key = type.empty() ? name : name + ":" + type;
    std::int64_t& slot = out[key];
    if (__builtin_add_overflow(slot, count, &slot)) throw bad("count too large");
  }
  return out;
}

WorstCase worst_case(const JobRequest& req, const PartitionFacts& part, std::int64_t default_time_limit_s) {
  WorstCase wc;
  JobResources& r = wc.resources;
  r.partition = req.partition;
  const std::int64_t cpt = req.cpus_per_task > 0 ? req.cpus_per_task : 1;
  const std::int64_t cpn = part.cpus_per_node;

  // Nodes.
  std::int64_t nodes = 0;
  bool nodes_given = req.max_nodes > 0 || req.min_nodes > 0;
  if (req.max_nodes > 0) {
    nodes = std::max(req.max_nodes, req.min_nodes);
  } else if (req.min_nodes > 0) {
    nodes = req.min_nodes;
  } else {
    std::int64_t tasks = req.num_tasks > 0 ? req.num_tasks : 1;
    std::int64_t cpus = std::max({req.min_cpus, mul(tasks, cpt, "cpu count"), std::int64_t{1}});
    nodes = (req.exclusive && cpn > 0) ? ceil_div(cpus, cpn) : tasks;
  }
  if (part.total_nodes > 0 && nodes > part.total_nodes) nodes = std::max(part.total_nodes, req.min_nodes);
  nodes = std::max<std::int64_t>(nodes, 1);

  // Tasks and cpus.
  std::int64_t tasks = req.num_tasks > 0 ? req.num_tasks
                       : req.ntasks_per_node > 0 ? mul(nodes, req.ntasks_per_node, "task count")
                                                 : nodes;
  std::int64_t cpus = std::max({req.min_cpus, req.max_cpus, mul(tasks, cpt, "cpu count"),
                                mul(nodes, req.pn_min_cpus, "cpu count"), std::int64_t{1}});
  if (req.ntasks_per_node > 0)
    cpus = std::max(cpus, mul(mul(nodes, req.ntasks_per_node, "cpu count"), cpt, "cpu count"));
  if (cpn > 0 && !nodes_given) {
    std::int64_t need = ceil_div(cpus, cpn);
    if (need > nodes) nodes = need;
  }
  if (req.exclusive && cpn > 0) cpus = std::max(cpus, mul(nodes, cpn, "cpu count"));
  r.nodes = nodes;
  r.cpus = cpus;

  // Generic resources: each source scaled to the job, the largest total per key.
  struct Source {
    const std::string* spec;
    const char* what;
    std::int64_t factor;
  };
  const std::int64_t sockets = req.sockets_per_node > 0 ? req.sockets_per_node : 1;
  const Source sources[] = {
      {&req.tres_per_job, "--gpus/tres_per_job", 1},
      {&req.tres_per_node, "--gres/tres_per_node", nodes},
      {&req.tres_per_task, "--gpus-per-task/tres_per_task", tasks},
      {&req.tres_per_socket, "--gpus-per-socket/tres_per_socket", mul(nodes, sockets, "socket count")},
  };
  for (const auto& s : sources) {
    if (s.spec->empty()) continue;
    for (const auto& [key, n] : parse_tres_counts(*s.spec, s.what)) {
      std::int64_t total = mul(n, s.factor, "gres count");
      std::int64_t& slot = r.gres[key];
      slot = std::max(slot, total);
    }
  }

  // Memory.
  if (req.mem_given) {
    if (req.mem_mb == 0)
      r.mem_mb = mul(part.mem_per_node_mb, nodes, "memory");
    else
      r.mem_mb = req.mem_per_cpu ? mul(req.mem_mb, cpus, "memory") : mul(req.mem_mb, nodes, "memory");
  } else if (!req.mem_per_tres.empty()) {
    for (const auto& [name, mb] : parse_tres_counts(req.mem_per_tres, "--mem-per-gpu/mem_per_tres"))
      r.mem_mb += mul(mb, total_of(r.gres, name), "memory");
  } else if (part.def_mem_per_cpu_mb > 0) {
    r.mem_mb = mul(part.def_mem_per_cpu_mb, cpus, "memory");
  } else if (part.def_mem_per_node_mb > 0) {
    r.mem_mb = mul(part.def_mem_per_node_mb, nodes, "memory");
  }

  // Time.
  std::int64_t minutes = 0;
  if (req.time_limit_min > 0) {
    minutes = req.time_limit_min;
    wc.time_source = "--time";
  } else if (req.time_limit_min == kTimeNotGiven && part.default_time_min > 0) {
    minutes = part.default_time_min;
    wc.time_source = "partition DefaultTime";
  } else if (part.max_time_min > 0) {
    minutes = part.max_time_min;
    wc.time_source = req.time_limit_min == kTimeNotGiven ? "partition MaxTime" : "partition MaxTime (UNLIMITED asked)";
    if (req.time_limit_min == kTimeUnlimited) wc.set_time_limit_min = minutes;
  } else {
    // Whole minutes (Slurm's unit), rounded up, and the job gets exactly the limit it is priced for.
    minutes = std::max<std::int64_t>(1, default_time_limit_s / 60 + (default_time_limit_s % 60 != 0));
    wc.set_time_limit_min = minutes;
    wc.time_source = req.time_limit_min == kTimeNotGiven ? "paracloud.conf DefaultTimeLimit"
                                                         : "paracloud.conf DefaultTimeLimit (UNLIMITED asked)";
  }
  r.seconds = mul(minutes, 60, "time limit");
  return wc;
}

std::string describe_quote(const Quote& q) {
  std::string units;
  for (const auto& l : q.lines) {
    if (l.units <= 0 || l.rate <= 0) continue;
    if (!units.empty()) units += ", ";
    if (l.tres == "mem") {
      units += std::to_string(l.units) + " MB mem";
    } else if (l.tres.compare(0, 5, "gres/") == 0) {
      units += std::to_string(l.units) + " " + l.tres.substr(5);
    } else {
      units += std::to_string(l.units) + " " + l.tres;
    }
  }
  if (units.empty()) units = "nothing priced";
  return units + " x " + format_duration(q.seconds) + " on " + q.site + "/" + q.partition;
}

// Finds the account (given or default), checks it exists and that the user is a member.
// false: res.verdict and res.message say why.
static bool resolve_account(Ledger& ledger, const std::string& user, const std::string& requested,
                            SubmitResult& res) {
  auto accounts_hint = [&]() {
    std::vector<std::string> mine = ledger.accounts_of(user);
    if (mine.empty())
      return "ask your operator to add you to an account (paracloud bank user add " + user + " -A ACCOUNT)";
    std::string list;
    for (const auto& a : mine) list += (list.empty() ? "" : ", ") + a;
    return "submit with --account=ACCOUNT, one of yours: " + list;
  };

  std::string account = requested;
  if (account.empty()) {
    std::optional<std::string> def = ledger.default_account(user);
    if (!def) {
      res.verdict = Verdict::no_account;
      res.message = "paracloud: the job names no account (--account) and user " + user +
                    " has no default account - " + accounts_hint();
      return false;
    }
    account = *def;
    res.account_defaulted = true;
  }
  res.account = account;

  if (!ledger.find_account(account)) {
    res.verdict = Verdict::unknown_account;
    res.message = "paracloud: account '" + account + "' does not exist - " + accounts_hint();
    return false;
  }
  if (!ledger.is_member(user, account)) {
    res.verdict = Verdict::not_member;
    res.message = "paracloud: user " + user + " is not a member of account " + account + " - " + accounts_hint() +
                  ", or ask the account's manager to add you";
    return false;
  }
  return true;
}

SubmitResult check_account_change(Ledger& ledger, const std::string& user, const std::string& account) {
  SubmitResult res;
  if (account.empty()) {
    res.verdict = Verdict::no_account;
    res.message = "paracloud: an empty account cannot pay for a job - name one of your accounts";
    return res;
  }
  if (!resolve_account(ledger, user, account, res)) return res;
  return res;
}

const std::string* MembershipCache::find(const std::string& user, const std::string& requested,
                                         std::int64_t now_ns, bool* defaulted) const {
  auto it = entries_.find(user + '\n' + requested);
  if (it == entries_.end() || now_ns >= it->second.expires_ns) return nullptr;
  *defaulted = it->second.defaulted;
  return &it->second.account;
}

void MembershipCache::put(const std::string& user, const std::string& requested, const std::string& account,
                          bool defaulted, std::int64_t now_ns) {
  if (entries_.size() >= 100000) entries_.clear();  // bounded: a flood of distinct users restarts it
  entries_[user + '\n' + requested] = Entry{account, defaulted, now_ns + ttl_ns_};
}

SubmitResult check_submission(const Config& cfg, Ledger& ledger, const SubmitCheck& req, MembershipCache* cache,
                              std::int64_t now_ns) {
  SubmitResult res;
  if (const std::string* known = cache ? cache->find(req.user, req.account, now_ns, &res.account_defaulted) : nullptr)
    res.account = *known;
  else if (!resolve_account(ledger, req.user, req.account, res))
    return res;
  else if (cache)
    cache->put(req.user, req.account, res.account, res.account_defaulted, now_ns);
  const std::string& account = res.account;

  try {
    res.quote = price_job(cfg, req.resources);
  } catch (const Error& e) {
    std::string fix = e.hint();
    if (e.code() == Errc::not_found) {
      res.verdict = Verdict::no_price;
      fix = "choose a priced partition with --partition, or ask your operator to " +
            (fix.empty() ? "price this one in paracloud.conf" : fix);
    } else if (e.code() == Errc::refused) {
      res.verdict = Verdict::unpriced_tres;
      if (fix.empty()) fix = "drop the unpriced resource, or ask your operator to price it in paracloud.conf";
    } else if (e.code() == Errc::bad_input) {
      res.verdict = Verdict::bad_request;
      if (fix.empty()) fix = "ask for fewer resources or a shorter --time";
    } else {
      throw;
    }
    res.message = std::string("paracloud: ") + e.what() + " - " + fix;
    return res;
  }

  try {
    res.available = ledger.balance(account).available();
  } catch (const Error& e) {  // removed since the cache remembered it
    if (e.code() != Errc::not_found) throw;
    if (cache) cache->clear();
    res.verdict = Verdict::unknown_account;
    res.message = "paracloud: account '" + account + "' does not exist - submit with --account=ACCOUNT";
    return res;
  }
  if (res.quote.total > res.available) {
    res.verdict = Verdict::insufficient_funds;
    std::string fix = "deposit funds or shorten --time";
    if (req.time_source != "--time" && !req.time_source.empty())
      fix = "deposit funds or give a shorter --time (time priced from the " + req.time_source + ")";
    res.message = "paracloud: job needs up to " + format_money(res.quote.total, cfg.currency) + " (" +
                  describe_quote(res.quote) + "); account " + account + " has " +
                  format_money(res.available, cfg.currency) + " available - " + fix;
  }
  return res;
}

}  // namespace paracloud

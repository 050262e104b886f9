// Accounting records: JSON mapping, ledger keys, TRES parsing and the pure settlement rule.
#include "billing/record.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "common/error.hpp"

namespace paracloud {

using nlohmann::json;

// ----------------------------------------------------------------- JobFacts

void to_json(json& j, const JobFacts& f) {
  j = json{{"cluster", f.cluster},
           {"job_id", f.job_id},
           {"array_job_id", f.array_job_id},
           {"array_task_id", f.array_task_id},
           {"het_job_id", f.het_job_id},
           {"het_job_offset", f.het_job_offset},
           {"user", f.user},
           {"uid", f.uid},
           {"account", f.account},
           {"partition", f.partition},
           {"qos", f.qos},
           {"submit", f.submit},
           {"start", f.start},
           {"end", f.end},
           {"suspended", f.suspended},
           {"time_limit", f.time_limit},
           {"state", f.state},
           {"exit_code", f.exit_code},
           {"cpus", f.cpus},
           {"nodes", f.nodes},
           {"mem_mb", f.mem_mb},
           {"gres", f.gres},
           {"nodelist", f.nodelist},
           {"launched", f.launched},
           {"work_dir", f.work_dir}};
  if (!f.route.empty()) j["route"] = f.route;
  if (!f.budget.empty()) j["budget"] = f.budget;
}

template <typename T>
static void opt(const json& j, const char* key, T& out) {
  auto it = j.find(key);
  if (it != j.end() && !it->is_null()) it->get_to(out);
}

void from_json(const json& j, JobFacts& f) {
  f = JobFacts{};
  opt(j, "cluster", f.cluster);
  opt(j, "job_id", f.job_id);
  opt(j, "array_job_id", f.array_job_id);
  opt(j, "array_task_id", f.array_task_id);
  opt(j, "het_job_id", f.het_job_id);
  opt(j, "het_job_offset", f.het_job_offset);
  opt(j, "user", f.user);
  opt(j, "uid", f.uid);
  opt(j, "account", f.account);
  opt(j, "partition", f.partition);
  opt(j, "qos", f.qos);
  opt(j, "submit", f.submit);
  opt(j, "start", f.start);
  opt(j, "end", f.end);
  opt(j, "suspended", f.suspended);
  opt(j, "time_limit", f.time_limit);
  opt(j, "state", f.state);
  opt(j, "exit_code", f.exit_code);
  opt(j, "cpus", f.cpus);
  opt(j, "nodes", f.nodes);
  opt(j, "mem_mb", f.mem_mb);
  opt(j, "gres", f.gres);
  opt(j, "nodelist", f.nodelist);
  opt(j, "launched", f.launched);
  opt(j, "work_dir", f.work_dir);
  // A spool entry carries them as text; an accounting record (whose job fields share these names)
  // has its decoded route object and budget number instead, read by from_json(AccountingRecord).
  if (auto it = j.find("route"); it != j.end() && it->is_string()) f.route = it->get<std::string>();
  if (auto it = j.find("budget"); it != j.end() && it->is_string()) f.budget = it->get<std::string>();
}

// ----------------------------------------------------------------- keys

static std::string run_key(const char* kind, const JobFacts& f) {
  return std::string(kind) + ":" + f.cluster + ":" + std::to_string(f.job_id) + ":" + std::to_string(f.start);
}
std::string lien_key(const JobFacts& f) { return run_key("lien", f); }
std::string charge_key(const JobFacts& f) { return run_key("charge", f); }
std::string refund_key(const JobFacts& f) { return run_key("refund", f); }
std::string job_ref(const JobFacts& f) { return f.cluster + ":" + std::to_string(f.job_id); }

// ----------------------------------------------------------------- TRES

// "2000M", "1.5G", "4" -> value in `unit_mb`-scaled units, rounded up; suffixless counts stay as is.
static std::int64_t parse_tres_value(const std::string& item, const std::string& value, bool memory) {
  auto bad = [&] {
    return Error(Errc::bad_input, "TRES item '" + item + "': '" + value + "' is not a count",
                 "expected a number optionally followed by K, M, G, T or P");
  };
  if (value.empty()) throw bad();
  std::size_t i = 0;
  std::int64_t whole = 0, frac = 0, frac_scale = 1;
  for (; i < value.size() && std::isdigit(static_cast<unsigned char>(value[i])); ++i) {
    if (whole > (INT64_MAX - 9) / 10) throw bad();
    whole = whole * 10 + (value[i] - '0');
  }
  if (i == 0) throw bad();
  if (i < value.size() && value[i] == '.') {
    ++i;
    for (; i < value.size() && std::isdigit(static_cast<unsigned char>(value[i])); ++i)
      if (frac_scale < 1000000) {
        frac = frac * 10 + (value[i] - '0');
        frac_scale *= 10;
      }
  }
  // Multiplier relative to the base unit: MB for memory, 1 for counts.
  std::int64_t mul_num = 1, mul_den = 1;
  if (i < value.size()) {
    if (i + 1 != value.size()) throw bad();
    switch (std::toupper(static_cast<unsigned char>(value[i]))) {
      case 'K': memory ? (mul_den = 1024) : (mul_num = 1024); break;
      case 'M': memory ? (mul_num = 1) : (mul_num = 1024 * 1024); break;
      case 'G': mul_num = memory ? 1024 : 1024LL * 1024 * 1024; break;
      case 'T': mul_num = memory ? 1024LL * 1024 : 1024LL * 1024 * 1024 * 1024; break;
      case 'P': mul_num = memory ? 1024LL * 1024 * 1024 : 1024LL * 1024 * 1024 * 1024 * 1024; break;
      default: throw bad();
    }
  }
  __int128 num = (static_cast<__int128>(whole) * frac_scale + frac) * mul_num;
  __int128 den = static_cast<__int128>(frac_scale) * mul_den;
  __int128 v = (num + den - 1) / den;
  if (v > INT64_MAX) throw bad();
  return static_cast<std::int64_t>(v);
}

void parse_tres(const std::string& text, JobFacts& f) {
  std::map<std::string, std::int64_t> untyped, typed;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(pos, comma - pos);
    pos = comma + 1;
    if (item.empty()) {
      if (comma >= text.size()) break;
      continue;
    }
    std::size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      throw Error(Errc::bad_input, "TRES item '" + item + "' has no '='", "expected NAME=COUNT items such as cpu=4");
    std::string name = item.substr(0, eq), value = item.substr(eq + 1);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (name == "cpu") {
      f.cpus = parse_tres_value(item, value, false);
    } else if (name == "node") {
      f.nodes = parse_tres_value(item, value, false);
    } else if (name == "mem") {
      f.mem_mb = parse_tres_value(item, value, true);
    } else if (name.rfind("gres/", 0) == 0 && name.size() > 5) {
      std::string g = name.substr(5);
      (g.find(':') == std::string::npos ? untyped : typed)[g] = parse_tres_value(item, value, false);
    }
    if (comma >= text.size()) break;
  }
  f.gres.clear();
  for (const auto& [g, n] : typed) f.gres[g] = n;
  for (const auto& [g, n] : untyped) {
    std::int64_t typed_sum = 0;
    for (const auto& [t, m] : typed)
      if (t.compare(0, g.size() + 1, g + ":") == 0) typed_sum += m;
    if (n > typed_sum) f.gres[g] = n - typed_sum;
  }
}

// ----------------------------------------------------------------- pricing of runs

std::string site_of_cluster(const Config& cfg, const std::string& cluster) {
  for (const auto& s : cfg.sites)
    if ((s.cluster.empty() ? s.name : s.cluster) == cluster) return s.name;
  if (!cfg.cluster_name.empty()) return cfg.cluster_name;
  throw Error(Errc::config,
              (cfg.path.empty() ? std::string("paracloud.conf") : cfg.path) + ": no SiteName has Cluster=" + cluster +
                  " and ClusterName is not set",
              "add SiteName=" + cluster + " (or Cluster=" + cluster + " to its site line)");
}

std::int64_t elapsed_seconds(const JobFacts& f) {
  if (f.start <= 0 || f.end <= f.start) return 0;
  return std::max<std::int64_t>(0, f.end - f.start - std::max<std::int64_t>(0, f.suspended));
}

std::int64_t hold_seconds(const Config& cfg, const JobFacts& f) {
  return f.time_limit > 0 ? f.time_limit : cfg.default_time_limit;
}

static JobResources resources_of(const JobFacts& f, const std::string& site, std::int64_t seconds) {
  JobResources r;
  r.site = site;
  r.partition = f.partition;
  r.cpus = f.cpus;
  r.nodes = f.nodes;
  r.mem_mb = f.mem_mb;
  r.gres = f.gres;
  r.seconds = seconds;
  return r;
}

Quote hold_quote(const Config& cfg, const JobFacts& f) {
  return price_job(cfg, resources_of(f, site_of_cluster(cfg, f.cluster), hold_seconds(cfg, f)));
}

Settlement settle(const Config& cfg, const JobFacts& f, bool had_hold) {
  Settlement s;
  s.site = site_of_cluster(cfg, f.cluster);
  if (f.state == "REVOKED") {
    s.note = "federation sibling copy revoked: the job ran elsewhere";
    return s;
  }
  if (f.start <= 0) {
    s.note = "never started";
    return s;
  }
  if (!had_hold && !f.launched) {
    s.note = "not launched: ended before its start was admitted (no hold placed)";
    return s;
  }
  s.elapsed = elapsed_seconds(f);
  s.quote = price_job(cfg, resources_of(f, s.site, s.elapsed));
  s.cost = s.quote.total;
  s.charge = true;
  if (!had_hold) s.note = "charged without a hold (prep/paracloud did not hold this run)";
  const auto& policy = cfg.refund_policy;
  if (std::find(policy.begin(), policy.end(), f.state) != policy.end() && s.cost > 0) {
    s.refund = s.cost;
    s.note = "refunded in full: RefundPolicy includes " + f.state;
  }
  return s;
}

// ----------------------------------------------------------------- AccountingRecord

std::string iso_utc(std::int64_t t) {
  if (t <= 0) return "";
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void to_json(json& j, const AccountingRecord& r) {
  const JobFacts& f = r.job;
  json lines = json::array();
  for (const auto& l : r.lines)
    lines.push_back({{"tres", l.tres}, {"units", l.units}, {"unit", l.unit}, {"rate", l.rate},
                     {"priced_as", l.priced_as}, {"cost", l.cost}});
  json gres = json::object();
  for (const auto& [g, n] : f.gres) gres[g] = n;
  j = json{
      {"schema", r.schema},
      {"type", "paracloud.job"},
      {"cluster", f.cluster},
      {"site", r.site},
      {"job_id", f.job_id},
      {"array_job_id", f.array_job_id},
      {"array_task_id", f.array_task_id},
      {"het_job_id", f.het_job_id},
      {"het_job_offset", f.het_job_offset},
      {"user", f.user},
      {"uid", f.uid},
      {"account", f.account},
      {"ledger_account", r.ledger_account},
      {"partition", f.partition},
      {"qos", f.qos},
      {"submit", f.submit},
      {"submit_iso", iso_utc(f.submit)},
      {"start", f.start},
      {"start_iso", iso_utc(f.start)},
      {"end", f.end},
      {"end_iso", iso_utc(f.end)},
      {"elapsed", r.elapsed},
      {"suspended", f.suspended},
      {"time_limit", f.time_limit},
      {"state", f.state},
      {"exit_code", f.exit_code},
      {"exit_status", (f.exit_code >> 8) & 0xff},
      {"exit_signal", f.exit_code & 0x7f},
      {"launched", f.launched},
      {"nodelist", f.nodelist},
      {"tres", {{"cpu", f.cpus}, {"mem_mb", f.mem_mb}, {"node", f.nodes}, {"gres", gres}}},
      {"currency", r.currency.code},
      {"currency_digits", r.currency.digits},
      {"prices", lines},
      {"cost", r.cost},
      {"hold", r.hold},
      {"refund", r.refund},
      {"net", r.net()},
      {"balance_after", r.balance_known ? json(r.balance_after) : json(nullptr)},
      {"keys", {{"lien", r.lien_key}, {"charge", r.charge_key}, {"refund", r.refund_key}}},
      {"note", r.note},
      {"recorded", r.recorded},
      {"recorded_iso", iso_utc(r.recorded)},
      {"profile", r.profile},
      {"profile_reason", r.profile_reason.empty() ? json(nullptr) : json(r.profile_reason)},
      {"route", r.route},
      {"budget", r.budget >= 0 ? json(r.budget) : json(nullptr)},
  };
}

void from_json(const json& j, AccountingRecord& r) {
  r = AccountingRecord{};
  if (!j.is_object()) throw Error(Errc::bad_input, "accounting record is not a JSON object");
  auto type = j.find("type");
  if (type == j.end() || !type->is_string() || *type != "paracloud.job")
    throw Error(Errc::bad_input, "not a paracloud accounting record (\"type\" is not \"paracloud.job\")");
  try {
    opt(j, "schema", r.schema);
    if (r.schema < 1 || r.schema > kRecordSchema)
      throw Error(Errc::bad_input,
                  "accounting record schema " + std::to_string(r.schema) + " is not supported (this build reads 1.." +
                      std::to_string(kRecordSchema) + ")",
                  "upgrade paracloud");
    JobFacts& f = r.job;
    from_json(j, f);  // the job fields share their names with JobFacts
    if (auto t = j.find("tres"); t != j.end() && t->is_object()) {
      opt(*t, "cpu", f.cpus);
      opt(*t, "mem_mb", f.mem_mb);
      opt(*t, "node", f.nodes);
      opt(*t, "gres", f.gres);
    }
    opt(j, "site", r.site);
    opt(j, "ledger_account", r.ledger_account);
    opt(j, "currency", r.currency.code);
    opt(j, "currency_digits", r.currency.digits);
    opt(j, "elapsed", r.elapsed);
    if (auto p = j.find("prices"); p != j.end() && p->is_array())
      for (const auto& l : *p) {
        CostLine c;
        opt(l, "tres", c.tres);
        opt(l, "units", c.units);
        opt(l, "unit", c.unit);
        opt(l, "rate", c.rate);
        opt(l, "priced_as", c.priced_as);
        opt(l, "cost", c.cost);
        r.lines.push_back(c);
      }
    opt(j, "cost", r.cost);
    opt(j, "hold", r.hold);
    opt(j, "refund", r.refund);
    if (auto b = j.find("balance_after"); b != j.end() && b->is_number_integer()) {
      r.balance_after = b->get<Money>();
      r.balance_known = true;
    }
    if (auto k = j.find("keys"); k != j.end() && k->is_object()) {
      opt(*k, "lien", r.lien_key);
      opt(*k, "charge", r.charge_key);
      opt(*k, "refund", r.refund_key);
    }
    opt(j, "note", r.note);
    opt(j, "recorded", r.recorded);
    if (auto p = j.find("profile"); p != j.end()) r.profile = *p;
    opt(j, "profile_reason", r.profile_reason);
    if (auto p = j.find("route"); p != j.end()) r.route = *p;
    if (auto b = j.find("budget"); b != j.end() && b->is_number_integer()) r.budget = b->get<Money>();
  } catch (const json::exception& e) {
    throw Error(Errc::bad_input, std::string("accounting record has a field of the wrong type: ") + e.what());
  }
}

}  // namespace paracloud

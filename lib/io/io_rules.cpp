// IO tuning rules: parse the versioned rules file, evaluate its conditions on a dataset's metrics,
// size the chunk cache to the working set.
#include "io/io_rules.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

namespace paracloud::io {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxRulesBytes = 1u << 20;

const char* const kOps[] = {"<", "<=", ">", ">=", "==", "!="};
const char* const kMetrics[] = {"chunked",       "compressed",         "chunk_bytes",
                                "cache_bytes",   "reads",              "chunk_touches",
                                "total_chunks",  "working_set_chunks", "working_set_bytes",
                                "reread_ratio"};

bool known(const char* const* list, std::size_t n, const std::string& s) {
  for (std::size_t i = 0; i < n; i++)
    if (s == list[i]) return true;
  return false;
}

double number(const json& j, const char* key, double fallback, const std::string& where) {
  if (!j.contains(key)) return fallback;
  if (!j[key].is_number()) throw IoRulesError(where + ": '" + key + "' must be a number");
  return j[key].get<double>();
}

Condition parse_condition(const json& c, const std::string& where) {
  if (!c.is_object()) throw IoRulesError(where + ": a condition must be an object");
  Condition x;
  if (!c.contains("metric") || !c["metric"].is_string())
    throw IoRulesError(where + ": a condition needs a string 'metric'");
  if (!c.contains("op") || !c["op"].is_string())
    throw IoRulesError(where + ": a condition needs a string 'op'");
  x.metric = c["metric"].get<std::string>();
  x.op = c["op"].get<std::string>();
  if (!known(kMetrics, std::size(kMetrics), x.metric))
    throw IoRulesError(where + ": unknown metric '" + x.metric + "'");
  if (!known(kOps, std::size(kOps), x.op)) throw IoRulesError(where + ": unknown op '" + x.op + "'");
  if (c.contains("other")) {
    if (!c["other"].is_string() || !known(kMetrics, std::size(kMetrics), c["other"].get<std::string>()))
      throw IoRulesError(where + ": 'other' must name a metric");
    x.other = c["other"].get<std::string>();
  } else {
    if (!c.contains("value") || !c["value"].is_number())
      throw IoRulesError(where + ": a condition needs a number 'value' or a metric 'other'");
    x.value = c["value"].get<double>();
  }
  return x;
}

std::vector<Condition> parse_conditions(const json& r, const char* key, const std::string& where) {
  std::vector<Condition> out;
  if (!r.contains(key)) return out;
  if (!r[key].is_array()) throw IoRulesError(where + ": '" + key + "' must be an array");
  for (const json& c : r[key]) out.push_back(parse_condition(c, where + "." + key));
  return out;
}

bool holds(const Condition& c, const std::map<std::string, double>& m) {
  const double a = m.at(c.metric), b = c.other.empty() ? c.value : m.at(c.other);
  if (c.op == "<") return a < b;
  if (c.op == "<=") return a <= b;
  if (c.op == ">") return a > b;
  if (c.op == ">=") return a >= b;
  if (c.op == "==") return a == b;
  return a != b;
}

std::string text(const Condition& c, const std::map<std::string, double>& m) {
  char buf[160];
  const double a = m.at(c.metric);
  if (c.other.empty())
    std::snprintf(buf, sizeof buf, "%s %.4g %s %.4g", c.metric.c_str(), a, c.op.c_str(), c.value);
  else
    std::snprintf(buf, sizeof buf, "%s %.4g %s %s %.4g", c.metric.c_str(), a, c.op.c_str(),
                  c.other.c_str(), m.at(c.other));
  return buf;
}

std::string mib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / 1048576.0);
  return buf;
}

uint64_t next_prime(uint64_t n) {
  auto prime = [](uint64_t x) {
    if (x < 2) return false;
    for (uint64_t d = 2; d * d <= x; d++)
      if (x % d == 0) return false;
    return true;
  };
  while (!prime(n)) n++;
  return n;
}

}  // namespace

uint64_t DatasetEvidence::total_chunks() const {
  if (chunk.empty() || chunk.size() != dims.size()) return 0;
  uint64_t n = 1;
  for (std::size_t i = 0; i < dims.size(); i++) {
    if (chunk[i] == 0) return 0;
    n *= (dims[i] + chunk[i] - 1) / chunk[i];
  }
  return n;
}

std::map<std::string, double> metrics(const DatasetEvidence& e) {
  const double total = static_cast<double>(e.total_chunks());
  const double ws = static_cast<double>(e.max_chunks_per_read);
  return {{"chunked", e.chunk.empty() ? 0.0 : 1.0},
          {"compressed", e.filters > 0 ? 1.0 : 0.0},
          {"chunk_bytes", static_cast<double>(e.chunk_bytes)},
          {"cache_bytes", static_cast<double>(e.cache_bytes)},
          {"reads", static_cast<double>(e.reads)},
          {"chunk_touches", static_cast<double>(e.chunk_touches)},
          {"total_chunks", total},
          {"working_set_chunks", ws},
          {"working_set_bytes", ws * static_cast<double>(e.chunk_bytes)},
          {"reread_ratio", total > 0 ? static_cast<double>(e.chunk_touches) / total : 0.0}};
}

Rules parse_rules(const std::string& text_in) {
  json j;
  try {
    j = json::parse(text_in);
  } catch (const json::exception& e) {
    throw IoRulesError(std::string("not JSON: ") + e.what());
  }
  if (!j.is_object()) throw IoRulesError("not a JSON object");
  if (!j.contains("schema") || j["schema"] != kRulesSchema)
    throw IoRulesError(std::string("'schema' is not \"") + kRulesSchema + "\"");
  if (!j.contains("version") || !j["version"].is_number_integer() || j["version"] != kRulesVersion)
    throw IoRulesError("'version' is not " + std::to_string(kRulesVersion));
  Rules r;
  r.version = kRulesVersion;
  if (j.contains("effect")) {
    if (!j["effect"].is_object()) throw IoRulesError("'effect' must be an object");
    r.withdraw_slower_than = number(j["effect"], "withdraw_slower_than", 1.05, "effect");
  }
  if (!j.contains("rules") || !j["rules"].is_array()) throw IoRulesError("'rules' must be an array");
  for (const json& x : j["rules"]) {
    if (!x.is_object() || !x.contains("name") || !x["name"].is_string())
      throw IoRulesError("every rule needs a string 'name'");
    Rule rule;
    rule.name = x["name"].get<std::string>();
    const std::string where = "rule " + rule.name;
    if (!x.contains("setting") || !x["setting"].is_string())
      throw IoRulesError(where + ": needs a string 'setting'");
    rule.setting = x["setting"].get<std::string>();
    rule.all = parse_conditions(x, "all", where);
    rule.any = parse_conditions(x, "any", where);
    if (rule.all.empty() && rule.any.empty()) throw IoRulesError(where + ": has no conditions");
    if (rule.setting != "chunk_cache") continue;  // a setting of a later version: ignored
    if (!x.contains("chunk_cache") || !x["chunk_cache"].is_object())
      throw IoRulesError(where + ": needs a 'chunk_cache' object");
    const json& s = x["chunk_cache"];
    ChunkCacheSizing& z = rule.chunk_cache;
    z.headroom = number(s, "headroom", z.headroom, where);
    z.round_bytes = static_cast<uint64_t>(number(s, "round_bytes", double(z.round_bytes), where));
    z.max_bytes = static_cast<uint64_t>(number(s, "max_bytes", double(z.max_bytes), where));
    z.slots_per_chunk = number(s, "slots_per_chunk", z.slots_per_chunk, where);
    z.min_slots = static_cast<uint64_t>(number(s, "min_slots", double(z.min_slots), where));
    z.w0 = number(s, "w0", z.w0, where);
    if (z.headroom < 1 || z.round_bytes == 0 || z.max_bytes == 0 || z.w0 < 0 || z.w0 > 1 ||
        z.slots_per_chunk <= 0)
      throw IoRulesError(where + ": chunk_cache needs headroom >= 1, round_bytes and max_bytes > 0, "
                                 "slots_per_chunk > 0, 0 <= w0 <= 1");
    r.rules.push_back(rule);
  }
  return r;
}

Rules read_rules(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) throw IoRulesError("cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<std::size_t>(st.st_size) > kMaxRulesBytes) {
    ::close(fd);
    throw IoRulesError(path + " is not a regular file of at most 1 MiB");
  }
  std::string t;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && t.size() <= kMaxRulesBytes)
    t.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  try {
    return parse_rules(t);
  } catch (const IoRulesError& e) {
    throw IoRulesError(path + ": " + e.what());
  }
}

std::optional<Decision> decide(const DatasetEvidence& e, const Rules& rules) {
  const std::map<std::string, double> m = metrics(e);
  for (const Rule& rule : rules.rules) {
    bool ok = true;
    std::string why;
    for (const Condition& c : rule.all) {
      if (!holds(c, m)) {
        ok = false;
        break;
      }
      why += (why.empty() ? "" : ", ") + text(c, m);
    }
    if (!ok) continue;
    if (!rule.any.empty()) {
      const Condition* hit = nullptr;
      for (const Condition& c : rule.any)
        if (holds(c, m)) {
          hit = &c;
          break;
        }
      if (!hit) continue;
      why += (why.empty() ? "" : ", ") + text(*hit, m);
    }
    const ChunkCacheSizing& z = rule.chunk_cache;
    const double ws = m.at("working_set_bytes");
    const double want = std::ceil(ws * z.headroom / double(z.round_bytes)) * double(z.round_bytes);
    if (want > double(z.max_bytes) || e.chunk_bytes == 0) continue;  // the cache cannot hold it
    Decision d;
    d.dataset = e.dataset;
    d.rule = rule.name;
    d.setting = "H5Pset_chunk_cache";
    d.nbytes = static_cast<uint64_t>(want);
    const double fit = std::floor(want / double(e.chunk_bytes));
    d.nslots = next_prime(std::max<uint64_t>(z.min_slots, uint64_t(fit * z.slots_per_chunk)));
    d.w0 = z.w0;
    char head[512];
    std::snprintf(head, sizeof head,
                  "%s: %llu reads touched %llu chunks of %s%s (%.0f per chunk of the extent); one "
                  "read spans %llu chunks (%s) but the chunk cache holds %s; cache %s (x%.2g "
                  "headroom), %llu slots",
                  rule.name.c_str(), (unsigned long long)e.reads,
                  (unsigned long long)e.chunk_touches, mib(double(e.chunk_bytes)).c_str(),
                  e.filters > 0 ? ", compressed" : "", m.at("reread_ratio"),
                  (unsigned long long)e.max_chunks_per_read, mib(ws).c_str(),
                  mib(double(e.cache_bytes)).c_str(), mib(want).c_str(), z.headroom,
                  (unsigned long long)d.nslots);
    d.reason = std::string(head) + " [" + why + "]";
    return d;
  }
  return std::nullopt;
}

}  // namespace paracloud::io

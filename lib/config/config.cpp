// paracloud.conf parser (slurm.conf syntax), durations, and where the file is looked for.
#ifdef HAVE_CONFIG_H
#include "config.h"  // SLURM_SYSCONFDIR only
#endif
#ifndef SLURM_SYSCONFDIR
#define SLURM_SYSCONFDIR "/etc/slurm"
#endif

#include "config/config.hpp"

#include <strings.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "common/error.hpp"
#include "common/text.hpp"
#include "money/pricing.hpp"

namespace paracloud {

namespace {

constexpr int kMaxIncludeDepth = 16;
constexpr long long kMaxFileBytes = 4 << 20;  // a paracloud.conf beyond 4 MiB is surely not one

struct Pair {
  std::string key;    // as written
  std::string value;  // quotes removed
  std::string where;  // file:line
};

struct LogicalLine {
  std::vector<Pair> pairs;
  std::string where;
};

bool iequals(const std::string& a, const std::string& b) { return strcasecmp(a.c_str(), b.c_str()) == 0; }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

[[noreturn]] void fail(const std::string& where, const std::string& key, const std::string& what,
                       const std::string& expected, const std::string& hint = {}) {
  throw Error(Errc::config, where + ": key '" + key + "': " + what + "; expected " + expected, hint);
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) == std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// Names that `key` may have meant in `scope` (global lines also accept the object scopes), quoted
// and joined with "or"; "" when nothing is close.
std::string nearest_key(const std::string& scope, const std::string& key) {
  std::string best;
  std::size_t best_d = std::numeric_limits<std::size_t>::max();
  for (const auto& o : options_table()) {
    bool candidate = iequals(o.scope, scope) || (scope.empty() && iequals(o.scope, o.name));
    if (!candidate || std::strchr(o.name, '[')) continue;
    std::size_t d = edit_distance(key, o.name);
    if (d < best_d) best_d = d, best = o.name;
  }
  std::string out;
  if (best_d <= std::max<std::size_t>(2, key.size() / 3)) out = "'" + best + "'";
  // "gpu=2.00" on a PriceName line most likely meant the generic resource ("cpus" did not).
  if (scope == "PriceName" && find_option(scope, "gres/" + key) && strncasecmp(key.c_str(), best.c_str(), best.size()) != 0)
    out += (out.empty() ? "'gres/" : " or 'gres/") + key + "'";
  return out;
}

std::string dirname_of(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Reads a whole config file; every failure is Error(config) naming the file.
std::string read_config_file(const std::string& path, const std::string& included_from) {
  std::string prefix = included_from.empty() ? path : included_from + ": Include '" + path + "'";
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    int e = errno;
    if (e == ENOENT)
      throw Error(Errc::config, prefix + ": no such file; expected a readable paracloud.conf",
                  "create it, or name another file with --conf or PARACLOUD_CONF");
    throw Error(Errc::config, prefix + ": cannot read: " + std::strerror(e) + "; check its permissions");
  }
  if (S_ISDIR(st.st_mode)) throw Error(Errc::config, prefix + ": is a directory; expected a file");
  if (!S_ISREG(st.st_mode)) throw Error(Errc::config, prefix + ": is not a regular file; expected a file");
  if (st.st_size > kMaxFileBytes)
    throw Error(Errc::config, prefix + ": larger than 4 MiB; expected a paracloud.conf");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int e = errno;
    throw Error(Errc::config, prefix + ": cannot read: " + std::strerror(e) + "; check permissions",
                "paracloud.conf should be readable by all users (mode 644) and writable by root only");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw Error(Errc::config, prefix + ": read error; check the file and its permissions");
  return ss.str();
}

// Splits files into logical lines of Key=Value pairs, following Include lines.
class Lexer {
 public:
  std::vector<LogicalLine> lines;

  void text(const std::string& text, const std::string& filename) {
    std::string pending;        // logical line being continued
    std::string pending_where;  // where it started
    bool in_quote = false;      // a quote may span a continuation
    std::size_t lineno = 0, pos = 0;
    while (pos <= text.size()) {
      std::size_t nl = text.find('\n', pos);
      std::string phys = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      pos = nl == std::string::npos ? text.size() + 1 : nl + 1;
      ++lineno;
      if (pending.empty()) pending_where = filename + ":" + std::to_string(lineno);
      // Cut the comment: '#' outside double quotes.
      for (std::size_t i = 0; i < phys.size(); ++i) {
        if (phys[i] == '"') in_quote = !in_quote;
        else if (phys[i] == '#' && !in_quote) { phys.resize(i); break; }
      }
      while (!phys.empty() && is_space(phys.back())) phys.pop_back();
      if (!phys.empty() && phys.back() == '\\') {
        phys.pop_back();
        pending += phys + " ";
        continue;
      }
      pending += phys;
      in_quote = false;
      logical(pending, pending_where, filename);
      pending.clear();
    }
    if (!trim(pending).empty()) logical(pending, pending_where, filename);
  }

  void file(const std::string& path, const std::string& included_from) {
    char* real = realpath(path.c_str(), nullptr);
    std::string canon = real ? real : path;
    std::free(real);
    if (std::find(stack_.begin(), stack_.end(), canon) != stack_.end())
      throw Error(Errc::config, included_from + ": key 'Include': '" + path +
                                    "' includes itself (directly or through other files); expected no Include loop");
    if (stack_.size() >= kMaxIncludeDepth)
      throw Error(Errc::config, included_from + ": key 'Include': '" + path + "' nested more than " +
                                    std::to_string(kMaxIncludeDepth) + " levels; expected fewer nested Include lines");
    std::string body = read_config_file(path, included_from);
    stack_.push_back(canon);
    text(body, path);
    stack_.pop_back();
  }

  void push_root(const std::string& filename) {
    if (filename.empty()) return;
    char* real = realpath(filename.c_str(), nullptr);
    stack_.push_back(real ? real : filename);
    std::free(real);
  }

 private:
  std::vector<std::string> stack_;  // canonical paths of the files being read

  void logical(const std::string& raw, const std::string& where, const std::string& filename) {
    std::string s = trim(raw);
    if (s.empty()) return;
    // Include FILE (also "include"), the file relative to the including one.
    if (s.size() >= 7 && strncasecmp(s.c_str(), "include", 7) == 0 && (s.size() == 7 || is_space(s[7]))) {
      std::string target = trim(s.substr(7));
      if (target.size() >= 2 && target.front() == '"' && target.back() == '"')
        target = target.substr(1, target.size() - 2);
      if (target.empty()) fail(where, "Include", "no file named", "Include FILE");
      if (target[0] != '/') target = dirname_of(filename.empty() ? "./x" : filename) + "/" + target;
      file(target, where);
      return;
    }
    LogicalLine line;
    line.where = where;
    std::size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && is_space(s[i])) ++i;
      if (i >= s.size()) break;
      std::size_t k = i;
      while (k < s.size() && s[k] != '=' && !is_space(s[k])) ++k;
      std::string key = s.substr(i, k - i);
      if (k >= s.size() || s[k] != '=') {
        if (key.find('"') != std::string::npos)
          fail(where, key, "stray '\"'", "Key=Value or Key=\"quoted value\"");
        fail(where, key, "missing '='", "Key=Value (no spaces around '=')");
      }
      if (key.empty()) fail(where, s.substr(i, 16), "'=' without a key", "Key=Value");
      if (key.find('"') != std::string::npos) fail(where, key, "quote in a key name", "Key=Value");
      std::size_t v = k + 1;
      std::string value;
      if (v < s.size() && s[v] == '"') {
        std::size_t close = s.find('"', v + 1);
        if (close == std::string::npos)
          fail(where, key, "unterminated quote", "a closing '\"' on the same line");
        value = s.substr(v + 1, close - v - 1);
        i = close + 1;
        if (i < s.size() && !is_space(s[i]))
          fail(where, key, "text right after the closing quote", "whitespace between Key=\"Value\" pairs");
      } else {
        std::size_t e = v;
        while (e < s.size() && !is_space(s[e])) ++e;
        value = s.substr(v, e - v);
        if (value.find('"') != std::string::npos)
          fail(where, key, "stray '\"' inside the value", "Key=\"quoted value\" with the quote right after '='");
        i = e;
      }
      line.pairs.push_back({key, value, where});
    }
    if (!line.pairs.empty()) lines.push_back(std::move(line));
  }
};

std::string expected_for(const OptionSpec& spec) {
  switch (spec.type) {
    case OptType::string: return "text";
    case OptType::path:  // choices: URL prefixes also accepted ("mysql://|mariadb://")
      return spec.choices ? std::string("an absolute path or a URL starting with ") + spec.choices : "an absolute path";
    case OptType::integer:
      return spec.choices ? std::string("an integer in ") + spec.choices : std::string("an integer");
    case OptType::boolean: return "yes or no";
    case OptType::duration: return "a duration such as 90 (minutes), 1:30:00 or 2-00:00:00";
    case OptType::amount: return "an amount such as 12.34";
    case OptType::rate: return "a price per unit-hour such as 0.12";
    case OptType::list:
      return std::string("a comma-separated list of ") + (spec.choices ? spec.choices : "items");
    case OptType::enumeration: return std::string("one of ") + (spec.choices ? spec.choices : "");
  }
  return "a value";
}


// Whether v starts with one of the '|'-separated prefixes (nullptr: none).
bool has_url_prefix(const std::string& v, const char* prefixes) {
  if (!prefixes) return false;
  for (const auto& p : split(prefixes, '|'))
    if (!p.empty() && v.rfind(p, 0) == 0) return true;
  return false;
}

// Checks one value against its spec and returns it in canonical form.
std::string normalize(const OptionSpec& spec, const Pair& p, const Currency& cur) {
  const std::string& v = p.value;
  auto bad = [&](const std::string& what) { fail(p.where, p.key, what, expected_for(spec)); };
  bool may_be_empty = spec.type == OptType::string || spec.type == OptType::path || spec.type == OptType::list;
  if (v.empty() && !may_be_empty) bad("empty value");
  try {
    switch (spec.type) {
      case OptType::string:
        return v;
      case OptType::path:
        if (!v.empty() && v[0] != '/' && !has_url_prefix(v, spec.choices)) bad("'" + v + "' is a relative path");
        return v;
      case OptType::integer: {
        bool digits = v.find_first_not_of("0123456789") == std::string::npos ||
                      (v[0] == '-' && v.size() > 1 && v.find_first_not_of("0123456789", 1) == std::string::npos);
        if (!digits || v.size() > 18) bad("'" + v + "' is not an integer");
        long long n = std::stoll(v);
        if (spec.choices) {
          long long lo = 0, hi = 0;
          if (std::sscanf(spec.choices, "%lld..%lld", &lo, &hi) == 2 && (n < lo || n > hi))
            bad(v + " is out of range");
        }
        return std::to_string(n);
      }
      case OptType::boolean: {
        std::string l = lower(v);
        if (l == "yes" || l == "true" || l == "on" || l == "1") return "yes";
        if (l == "no" || l == "false" || l == "off" || l == "0") return "no";
        bad("'" + v + "' is not a boolean");
        break;
      }
      case OptType::duration:
        return format_duration(parse_duration(v));
      case OptType::amount:
        return format_amount(parse_amount(v, cur), cur);
      case OptType::rate:
        return format_rate(parse_rate(v, cur), cur);
      case OptType::list: {
        if (v.empty()) return v;
        std::vector<std::string> items;
        for (const auto& raw : split(v, ',')) {
          std::string item = trim(raw);
          if (item.empty()) bad("empty item in '" + v + "'");
          std::string canon = item;
          if (spec.choices) {
            canon.clear();
            for (const auto& c : split(spec.choices, '|'))
              if (iequals(c, item)) canon = c;
            if (canon.empty()) bad("unknown item '" + item + "'");
          }
          if (std::find(items.begin(), items.end(), canon) == items.end()) items.push_back(canon);
        }
        std::string out;
        for (const auto& it : items) out += (out.empty() ? "" : ",") + it;
        return out;
      }
      case OptType::enumeration:
        for (const auto& c : split(spec.choices ? spec.choices : "", '|'))
          if (iequals(c, v)) return c;
        bad("'" + v + "' is not a valid choice");
        break;
    }
  } catch (const Error& e) {
    if (e.code() == Errc::config) throw;
    // parse_duration/parse_amount/parse_rate already say what is wrong and what is expected.
    throw Error(Errc::config, p.where + ": key '" + p.key + "': " + e.what(), e.hint());
  }
  return v;
}

bool valid_name(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) return false;
  return true;
}

// A normalized list "a:8,b" -> {a: 8, b: default_count}; default_count 0 means the count is required.
std::map<std::string, std::int64_t> parse_counted_list(const Pair& p, const std::string& list,
                                                       std::int64_t default_count, const std::string& form) {
  std::map<std::string, std::int64_t> out;
  if (list.empty()) return out;
  for (const auto& item : split(list, ',')) {
    auto colon = item.find(':');
    std::string name = item.substr(0, colon);
    std::string count = colon == std::string::npos ? "" : item.substr(colon + 1);
    bool count_ok = count.empty() ? default_count > 0
                                  : count.size() <= 9 && count.find_first_not_of("0123456789") == std::string::npos &&
                                        std::stoll(count) > 0;
    if (!valid_name(name) || !count_ok) fail(p.where, p.key, "'" + item + "' is not " + form, form);
    if (out.count(name)) fail(p.where, p.key, "'" + name + "' listed twice", "each name once");
    out[name] = count.empty() ? default_count : std::stoll(count);
  }
  return out;
}

}  // namespace

const SiteConf* Config::find_site(const std::string& name) const {
  for (const auto& s : sites)
    if (s.name == name) return &s;
  return nullptr;
}

const PartitionConf* Config::find_partition(const std::string& site, const std::string& partition) const {
  for (const auto& p : partitions)
    if (p.site == site && p.name == partition) return &p;
  return nullptr;
}

const PriceRule* Config::find_price(const std::string& site, const std::string& partition) const {
  const PriceRule* wildcard = nullptr;
  for (const auto& p : prices) {
    if (p.site != site) continue;
    if (p.partition == partition && partition != "*") return &p;
    if (p.partition == "*") wildcard = &p;
  }
  return wildcard;
}

std::string Config::get(const std::string& key) const {
  auto it = values.find(key);
  if (it != values.end()) return it->second;
  for (const auto& [k, v] : values)
    if (iequals(k, key)) return v;
  return {};
}

Config parse_config(const std::string& text, const std::string& filename) {
  const std::string fname = filename.empty() ? "<config>" : filename;
  Lexer lex;
  lex.push_root(filename);
  lex.text(text, fname);

  // Object scopes are the table's entries whose name equals their scope (SiteName, PriceName).
  auto object_scope = [](const std::string& key) -> const OptionSpec* {
    for (const auto& o : options_table())
      if (*o.scope && iequals(o.scope, o.name) && iequals(o.name, key)) return &o;
    return nullptr;
  };

  // 1. Global pairs, checked for unknown and duplicate keys.
  std::map<std::string, Pair> globals;  // canonical name -> pair
  for (const auto& line : lex.lines) {
    if (object_scope(line.pairs[0].key)) continue;
    for (const auto& p : line.pairs) {
      if (const OptionSpec* obj = object_scope(p.key))
        fail(p.where, p.key, std::string("a ") + obj->name + " line must start with " + obj->name,
             std::string(obj->name) + "=... as the first key of its line");
      const OptionSpec* spec = find_option("", p.key);
      if (!spec) {
        std::string near = nearest_key("", p.key);
        std::string what = "unknown key";
        if (find_option("PriceName", p.key) || find_option("SiteName", p.key))
          what += " outside a SiteName or PriceName line";
        else if (find_option("PartitionName", p.key))
          what += " outside a PartitionName line";
        else if (!near.empty())
          what += " (did you mean " + near + "?)";
        fail(p.where, p.key, what, "a key listed in paracloud.conf(5)");
      }
      auto [it, fresh] = globals.emplace(spec->name, p);
      if (!fresh)
        fail(p.where, p.key, "set twice (first at " + it->second.where + ")", "each global key at most once");
    }
  }

  // 2. Global values: the currency first, since amounts and rates depend on its digits.
  Config cfg;
  cfg.path = filename;
  std::vector<const OptionSpec*> order;
  for (const auto& o : options_table())
    if (!*o.scope && (iequals(o.name, "CurrencyDigits") || iequals(o.name, "Currency"))) order.push_back(&o);
  for (const auto& o : options_table())
    if (!*o.scope && std::find(order.begin(), order.end(), &o) == order.end()) order.push_back(&o);
  for (const OptionSpec* spec : order) {
    auto it = globals.find(spec->name);
    Pair p = it != globals.end() ? it->second : Pair{spec->name, spec->default_value, "default"};
    std::string value = normalize(*spec, p, cfg.currency);
    if (iequals(spec->name, "CurrencyDigits")) cfg.currency.digits = std::atoi(value.c_str());
    if (iequals(spec->name, "Currency")) {
      bool iso = value.size() == 3 && std::all_of(value.begin(), value.end(), [](char c) {
                   return std::isalpha(static_cast<unsigned char>(c));
                 });
      if (!iso) fail(p.where, p.key, "'" + value + "' is not a currency code", "three letters such as CNY, EUR, USD");
      for (auto& c : value) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      cfg.currency.code = value;
    }
    cfg.values[spec->name] = value;
    cfg.origins[spec->name] = p.where;
  }

  // 3. Object lines: SiteName first (PriceName lines refer to sites declared anywhere).
  struct Object {
    const OptionSpec* scope;
    std::map<std::string, Pair> keys;  // canonical name -> pair
    std::string where;
  };
  std::vector<Object> objects;
  for (const auto& line : lex.lines) {
    const OptionSpec* scope = object_scope(line.pairs[0].key);
    if (!scope) continue;
    Object obj{scope, {}, line.where};
    for (const auto& p : line.pairs) {
      const OptionSpec* spec = find_option(scope->name, p.key);
      if (!spec) {
        std::string what = "unknown key in a " + std::string(scope->name) + " line";
        if (find_option("", p.key))
          what += " (it is a global key: put it on its own line)";
        else if (std::string near = nearest_key(scope->name, p.key); !near.empty())
          what += " (did you mean " + near + "?)";
        fail(p.where, p.key, what, "a " + std::string(scope->name) + " key listed in paracloud.conf(5)");
      }
      std::string canon = std::strchr(spec->name, '[') ? lower(p.key) : spec->name;
      auto [it, fresh] = obj.keys.emplace(canon, p);
      if (!fresh) fail(p.where, p.key, "set twice on this line", "each key once per line");
    }
    objects.push_back(std::move(obj));
  }
  for (const auto& obj : objects) {
    if (!iequals(obj.scope->name, "SiteName")) continue;
    const Pair& n = obj.keys.at("SiteName");
    if (!valid_name(n.value))
      fail(n.where, n.key, "'" + n.value + "' is not a site name", "letters, digits, '_', '-' or '.'");
    if (const SiteConf* other = cfg.find_site(n.value))
      fail(n.where, n.key, "site '" + n.value + "' defined twice (first at " + other->where + ")",
           "one SiteName line per site");
    SiteConf site;
    site.name = n.value;
    site.where = n.where;
    for (const auto& [k, p] : obj.keys) {
      if (k == "SiteName") continue;
      std::string v = normalize(*find_option("SiteName", k), p, cfg.currency);
      if (k == "Cluster") {
        if (!valid_name(v)) fail(p.where, p.key, "'" + v + "' is not a cluster name", "a Slurm ClusterName");
        site.cluster = v;
      } else if (k == "Description") {
        site.description = v;
      } else if (k == "Licenses") {
        site.licenses = parse_counted_list(p, v, 1, "NAME[:COUNT] items such as matlab:10,ansys");
      } else if (k == "HealthMaxAge") {
        site.health_max_age = std::stoll(v);
      } else if (k == "State") {
        site.drained = v == "DRAIN";
      }
    }
    if (site.cluster.empty()) site.cluster = site.name;
    cfg.sites.push_back(site);
  }
  for (const auto& obj : objects) {
    if (!iequals(obj.scope->name, "PartitionName")) continue;
    const Pair& n = obj.keys.at("PartitionName");
    auto colon = n.value.find(':');
    PartitionConf part;
    part.site = n.value.substr(0, colon);
    part.name = colon == std::string::npos ? "" : n.value.substr(colon + 1);
    part.where = n.where;
    if (colon == std::string::npos || !valid_name(part.site) || !valid_name(part.name))
      fail(n.where, n.key, "'" + n.value + "' is not SITE:PARTITION", "SITE:PARTITION (e.g. b:gpu)");
    if (!cfg.find_site(part.site))
      fail(n.where, n.key, "site '" + part.site + "' has no SiteName line", "a SiteName=" + part.site + " line",
           "add SiteName=" + part.site + " or fix the site name");
    if (const PartitionConf* other = cfg.find_partition(part.site, part.name))
      fail(n.where, n.key, "partition " + n.value + " defined twice (first at " + other->where + ")",
           "one PartitionName line per SITE:PARTITION");
    for (const auto& [k, p] : obj.keys) {
      if (k == "PartitionName") continue;
      std::string v = normalize(*find_option("PartitionName", k), p, cfg.currency);
      if (k == "CpuModel") {
        part.cpu_model = v;
      } else if (k == "Features") {
        part.features = v.empty() ? std::vector<std::string>{} : split(v, ',');
        std::sort(part.features.begin(), part.features.end());
      } else if (k == "Gpus") {
        part.gpus = parse_counted_list(p, v, 0, "TYPE:COUNT items such as a100:8,v100:4");
      } else if (k == "CpusPerNode") {
        part.cpus_per_node = std::stoll(v);
      } else if (k == "MemPerNode") {
        part.mem_per_node_mb = std::stoll(v);
      } else if (k == "MaxNodes") {
        part.max_nodes = std::stoll(v);
      } else if (k == "MaxTime") {
        part.max_time = parse_duration(v);
      }
    }
    cfg.partitions.push_back(part);
  }
  for (const auto& obj : objects) {
    if (!iequals(obj.scope->name, "PriceName")) continue;
    const Pair& n = obj.keys.at("PriceName");
    auto colon = n.value.find(':');
    std::string site = n.value.substr(0, colon);
    std::string part = colon == std::string::npos ? "" : n.value.substr(colon + 1);
    if (colon == std::string::npos || !valid_name(site) || (part != "*" && !valid_name(part)))
      fail(n.where, n.key, "'" + n.value + "' is not SITE:PARTITION", "SITE:PARTITION or SITE:* (e.g. a:batch)");
    if (!cfg.find_site(site))
      fail(n.where, n.key, "site '" + site + "' has no SiteName line", "a SiteName=" + site + " line first",
           "add SiteName=" + site + " or fix the site name");
    for (const auto& p : cfg.prices)
      if (p.site == site && p.partition == part)
        fail(n.where, n.key, "price for " + n.value + " defined twice (first at " + p.where + ")",
             "one PriceName line per SITE:PARTITION");
    PriceRule rule;
    rule.site = site;
    rule.partition = part;
    rule.where = n.where;
    for (const auto& o : options_table())  // cpu, mem, node default to their table defaults
      if (iequals(o.scope, "PriceName") && o.type == OptType::rate && *o.default_value)
        rule.rates[o.name] = parse_rate(o.default_value, cfg.currency);
    for (const auto& [k, p] : obj.keys) {
      if (k == "PriceName") continue;
      const OptionSpec* spec = find_option("PriceName", k);
      normalize(*spec, p, cfg.currency);  // validates with a file:line message
      rule.rates[k] = parse_rate(p.value, cfg.currency);
    }
    cfg.prices.push_back(rule);
  }

  // 4. Typed copies and cross-checks of the globals.
  cfg.cluster_name = cfg.values["ClusterName"];
  if (cfg.cluster_name.empty() && !cfg.sites.empty()) {
    cfg.cluster_name = cfg.sites.front().name;
    cfg.values["ClusterName"] = cfg.cluster_name;
    cfg.origins["ClusterName"] = "default (first SiteName, " + cfg.sites.front().where + ")";
  } else if (!cfg.cluster_name.empty() && !cfg.sites.empty() && !cfg.find_site(cfg.cluster_name)) {
    const Pair& p = globals.at("ClusterName");
    fail(p.where, p.key, "site '" + cfg.cluster_name + "' has no SiteName line",
         "the name of a SiteName line", "add SiteName=" + cfg.cluster_name + " or fix ClusterName");
  }
  cfg.ledger_path = cfg.values["LedgerPath"];
  cfg.accounting_log = cfg.values["AccountingLog"];
  cfg.spool_dir = cfg.values["SpoolDir"];
  cfg.default_time_limit = parse_duration(cfg.values["DefaultTimeLimit"]);
  cfg.lien_grace = parse_duration(cfg.values["LienGrace"]);
  cfg.refund_policy.clear();
  if (!cfg.values["RefundPolicy"].empty()) cfg.refund_policy = split(cfg.values["RefundPolicy"], ',');
  cfg.tune_default = cfg.values["TuneDefault"];
  cfg.route_policy = cfg.values["RoutePolicy"];
  cfg.route_wait_weight = parse_amount(cfg.values["RouteWaitWeight"], cfg.currency);
  cfg.route_top_k = std::stoll(cfg.values["RouteTopK"]);
  cfg.site_state_max_age = std::stoll(cfg.values["SiteStateMaxAge"]);
  cfg.site_state_dir = cfg.values["SiteStateDir"];
  cfg.site_query_timeout = std::stoll(cfg.values["SiteQueryTimeout"]);
  cfg.site_collect_interval = std::stoll(cfg.values["SiteCollectInterval"]);
  return cfg;
}

Config load_config(const std::string& path) { return parse_config(read_config_file(path, ""), path); }

std::string default_config_path() {
  if (const char* p = std::getenv("PARACLOUD_CONF"); p && *p) return p;
  if (const char* s = std::getenv("SLURM_CONF"); s && *s) return dirname_of(s) + "/paracloud.conf";
  return SLURM_SYSCONFDIR "/paracloud.conf";
}

std::int64_t parse_duration(const std::string& text) {
  static const char* form =
      "minutes, minutes:seconds, hours:minutes:seconds, days-hours, days-hours:minutes or "
      "days-hours:minutes:seconds (like sbatch --time)";
  auto bad = [&](const std::string& why) -> std::int64_t {
    throw Error(Errc::bad_input, "invalid duration '" + text + "': " + why + "; expected " + form);
  };
  if (text.empty()) bad("empty");
  if (text[0] == '-') bad("negative");
  auto number = [&](const std::string& field) -> std::int64_t {
    if (field.empty()) bad("empty field");
    std::int64_t n = 0;
    for (char c : field) {
      if (c < '0' || c > '9') bad(std::string("unexpected character '") + c + "'");
      if (n > (std::numeric_limits<std::int64_t>::max() - 9) / 10) bad("too large");
      n = n * 10 + (c - '0');
    }
    return n;
  };
  std::int64_t days = 0;
  bool has_days = false;
  std::string rest = text;
  if (auto dash = text.find('-'); dash != std::string::npos) {
    has_days = true;
    days = number(text.substr(0, dash));
    rest = text.substr(dash + 1);
  }
  std::vector<std::string> f = split(rest, ':');
  if (f.size() > 3) bad("too many ':'");
  std::vector<std::int64_t> n;
  for (const auto& s : f) n.push_back(number(s));
  std::int64_t h = 0, m = 0, s = 0;
  if (has_days) {
    h = n[0];
    if (n.size() > 1) m = n[1];
    if (n.size() > 2) s = n[2];
    if (h > 23) bad("hours must be below 24 after 'days-'");
  } else if (n.size() == 1) {
    m = n[0];
  } else if (n.size() == 2) {
    m = n[0], s = n[1];
  } else {
    h = n[0], m = n[1], s = n[2];
  }
  // Only the first field is unbounded, as in "90" or "90:30" (minutes) and "48:00:00" (hours).
  if ((n.size() == 3 || (has_days && n.size() == 2)) && m > 59) bad("minutes must be below 60");
  if ((n.size() == 3 || (!has_days && n.size() == 2)) && s > 59) bad("seconds must be below 60");
  __int128 total = static_cast<__int128>(days) * 86400 + static_cast<__int128>(h) * 3600 +
                   static_cast<__int128>(m) * 60 + s;
  if (total > std::numeric_limits<std::int64_t>::max()) bad("too large");
  return static_cast<std::int64_t>(total);
}

std::string format_duration(std::int64_t seconds) {
  std::string sign;
  unsigned long long s = static_cast<unsigned long long>(seconds);
  if (seconds < 0) sign = "-", s = 0ULL - s;
  unsigned long long days = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
  char buf[64];
  if (days > 0)
    std::snprintf(buf, sizeof buf, "%llu-%02llu:%02llu:%02llu", days, h, m, sec);
  else
    std::snprintf(buf, sizeof buf, "%02llu:%02llu:%02llu", h, m, sec);
  return sign + buf;
}

}  // namespace paracloud

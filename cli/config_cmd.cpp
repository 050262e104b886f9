// paracloud config dump / check / man: show, validate and document paracloud.conf from options_table().
#include <cstdio>
#include <cstring>
#include <iostream>

#include "cli.hpp"
#include "common/error.hpp"
#include "money/pricing.hpp"

namespace paracloud::cli {

namespace {

std::string quoted(const std::string& v) {
  return v.empty() || v.find_first_of(" \t#") != std::string::npos ? "\"" + v + "\"" : v;
}

// roff-safe text: backslashes and hyphens escaped, no line starting with a control character.
std::string roff(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\') out += "\\e";
    else if (c == '-') out += "\\-";
    else out += c;
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

void print_man() {
  struct Section {
    const char* scope;
    const char* title;
    const char* intro;
  };
  const Section sections[] = {
      {"", "Global keys", "Each may appear once in the whole configuration (Include files included)."},
      {"SiteName", "SiteName lines",
       "One line per partner site; the line starts with SiteName= and may carry these keys."},
      {"PartitionName", "PartitionName lines",
       "One line per SITE:PARTITION that routing may send jobs to, saying what it can run; a limit that "
       "is not given is not checked (see ROUTING)."},
      {"PriceName", "PriceName lines",
       "One line per SITE:PARTITION; rates are in major currency units per unit-hour and accept up to "
       "CurrencyDigits+6 decimals. A line without cpu, mem or node prices them at 0; a gres the line "
       "does not price is refused."},
  };
  for (const auto& sec : sections) {
    std::printf(".SS \"%s\"\n%s\n", sec.title, roff(sec.intro).c_str());
    for (const auto& o : options_table()) {
      if (std::strcmp(o.scope, sec.scope) != 0) continue;
      std::printf(".TP\n\\fB%s\\fR=\\fI%s\\fR\n%s.\n", roff(o.name).c_str(), to_string(o.type), roff(o.doc).c_str());
      if (o.choices) {
        const char* label = o.type == OptType::integer ? "Range"
                            : o.type == OptType::path  ? "Or a URL starting with"
                                                       : "Values";
        std::string choices = o.choices;
        for (std::size_t i; (i = choices.find('|')) != std::string::npos;) choices.replace(i, 1, ", ");
        std::printf("%s: %s.\n", label, roff(choices).c_str());
      }
      if (*o.default_value) std::printf("Default: \\fB%s\\fR.\n", roff(o.default_value).c_str());
    }
  }
}

void dump(Context& ctx) {
  const Config& cfg = ctx.config();
  if (ctx.json) {
    nlohmann::json keys = nlohmann::json::array(), sites = nlohmann::json::array(),
                   prices = nlohmann::json::array();
    for (const auto& o : options_table()) {
      if (*o.scope) continue;
      keys.push_back({{"name", o.name},
                      {"value", cfg.get(o.name)},
                      {"source", cfg.origins.count(o.name) ? cfg.origins.at(o.name) : "default"},
                      {"type", to_string(o.type)},
                      {"default", o.default_value},
                      {"doc", o.doc}});
    }
    for (const auto& s : cfg.sites)
      sites.push_back({{"name", s.name}, {"cluster", s.cluster}, {"description", s.description}, {"source", s.where},
                       {"licenses", s.licenses}, {"health_max_age", s.health_max_age},
                       {"state", s.drained ? "DRAIN" : "UP"}});
    nlohmann::json partitions = nlohmann::json::array();
    for (const auto& p : cfg.partitions)
      partitions.push_back({{"site", p.site}, {"name", p.name}, {"cpu_model", p.cpu_model},
                            {"features", p.features}, {"gpus", p.gpus}, {"cpus_per_node", p.cpus_per_node},
                            {"mem_per_node_mb", p.mem_per_node_mb}, {"max_nodes", p.max_nodes},
                            {"max_time", p.max_time}, {"source", p.where}});
    for (const auto& p : cfg.prices) {
      nlohmann::json rates = nlohmann::json::object();
      for (const auto& [k, r] : p.rates) rates[k] = format_rate(r, cfg.currency);
      prices.push_back({{"site", p.site}, {"partition", p.partition}, {"rates", rates}, {"source", p.where}});
    }
    print_json({{"file", cfg.path}, {"keys", keys}, {"sites", sites}, {"partitions", partitions}, {"prices", prices}});
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& o : options_table()) {
    if (*o.scope) continue;
    rows.push_back({o.name, cfg.get(o.name), cfg.origins.count(o.name) ? cfg.origins.at(o.name) : "default"});
  }
  for (const auto& s : cfg.sites)
    rows.push_back({"SiteName=" + s.name, "Cluster=" + s.cluster + " Description=" + quoted(s.description), s.where});
  for (const auto& p : cfg.partitions) {
    std::string v = "CpuModel=" + quoted(p.cpu_model) + " Features=";
    for (std::size_t i = 0; i < p.features.size(); ++i) v += (i ? "," : "") + p.features[i];
    v += " Gpus=";
    for (auto it = p.gpus.begin(); it != p.gpus.end(); ++it)
      v += (it == p.gpus.begin() ? "" : ",") + it->first + ":" + std::to_string(it->second);
    v += " CpusPerNode=" + std::to_string(p.cpus_per_node) + " MemPerNode=" + std::to_string(p.mem_per_node_mb) +
         " MaxNodes=" + std::to_string(p.max_nodes) + " MaxTime=" + (p.max_time ? format_duration(p.max_time) : "0");
    rows.push_back({"PartitionName=" + p.site + ":" + p.name, v, p.where});
  }
  for (const auto& p : cfg.prices) {
    std::string v;
    for (const auto& [k, r] : p.rates) v += (v.empty() ? "" : " ") + k + "=" + format_rate(r, cfg.currency);
    rows.push_back({"PriceName=" + p.site + ":" + p.partition, v, p.where});
  }
  print_table(ctx, {"KEY", "VALUE", "SOURCE"}, rows);
}

}  // namespace

void add_config_commands(CLI::App& app, Context& ctx) {
  CLI::App* config = app.add_subcommand("config", "paracloud.conf: dump, check, man (paracloud-config(1))");
  config->require_subcommand(1);

  config->add_subcommand("dump", "Every key with its value and where it came from (default or file:line)")
      ->callback([&ctx]() { dump(ctx); });

  auto file = std::make_shared<std::string>();
  CLI::App* check = config->add_subcommand("check", "Validate a paracloud.conf; exit 0 when valid, 6 when not");
  check->add_option("FILE", *file, "File to check (default: the one paracloud would read)");
  check->callback([&ctx, file]() {
    if (!file->empty()) ctx.conf_path = *file;
    const Config& cfg = ctx.config();
    if (ctx.json) {
      print_json({{"file", cfg.path}, {"valid", true}, {"sites", cfg.sites.size()}, {"prices", cfg.prices.size()}});
      return;
    }
    std::printf("%s: valid (%zu site%s, %zu price line%s, currency %s with %d decimal%s)\n", cfg.path.c_str(),
                cfg.sites.size(), cfg.sites.size() == 1 ? "" : "s", cfg.prices.size(),
                cfg.prices.size() == 1 ? "" : "s", cfg.currency.code.c_str(), cfg.currency.digits,
                cfg.currency.digits == 1 ? "" : "s");
  });

  config->add_subcommand("man", "Print the key reference of paracloud.conf(5) as roff (used by the build)")
      ->callback([]() { print_man(); });
}

}  // namespace paracloud::cli

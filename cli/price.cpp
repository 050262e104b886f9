// paracloud price quote / price list: what a job would cost, and the configured rate table.
#include <cctype>
#include <cstdio>
#include <limits>

#include "cli.hpp"
#include "common/error.hpp"
#include "money/pricing.hpp"

namespace paracloud::cli {

namespace {

struct QuoteArgs {
  std::string site, partition, time, mem, mem_per_cpu;
  std::int64_t ntasks = 1, cpus_per_task = 1, nodes = 1;
  std::vector<std::string> gres, gpus;
};

std::int64_t checked_mul(std::int64_t a, std::int64_t b, const std::string& what) {
  if (a < 0 || b < 0) throw Error(Errc::bad_input, what + " is negative; expected 0 or more");
  if (a != 0 && b > std::numeric_limits<std::int64_t>::max() / a)
    throw Error(Errc::bad_input, what + " is too large");
  return a * b;
}

// Slurm memory sizes: "500" or "500M" (MB), "4G", "1T", "512K" (rounded up to whole MB).
std::int64_t parse_mem_mb(const std::string& flag, const std::string& text) {
  auto bad = [&]() -> std::int64_t {
    throw Error(Errc::bad_input, "invalid " + flag + " '" + text + "'; expected a size such as 500, 500M, 4G or 1T",
                "sizes without a suffix are megabytes, like sbatch --mem");
  };
  std::size_t n = 0;
  while (n < text.size() && std::isdigit(static_cast<unsigned char>(text[n]))) ++n;
  if (n == 0 || n > 15 || text.size() > n + 1) return bad();
  std::int64_t v = std::stoll(text.substr(0, n));
  char unit = n < text.size() ? static_cast<char>(std::toupper(static_cast<unsigned char>(text[n]))) : 'M';
  switch (unit) {
    case 'K': return (v + 1023) / 1024;
    case 'M': return v;
    case 'G': return checked_mul(v, 1024, flag);
    case 'T': return checked_mul(v, 1024 * 1024, flag);
    default: return bad();
  }
}

// "gpu", "gpu:2", "gpu:a100", "gpu:a100:2" (sbatch --gres / --gpus items) -> name[:type], count.
std::pair<std::string, std::int64_t> parse_gres_item(const std::string& flag, const std::string& item,
                                                     const std::string& implied_name) {
  std::vector<std::string> f;
  std::size_t b = 0;
  for (;;) {
    auto e = item.find(':', b);
    f.push_back(item.substr(b, e == std::string::npos ? e : e - b));
    if (e == std::string::npos) break;
    b = e + 1;
  }
  auto is_count = [](const std::string& s) {
    return !s.empty() && s.size() < 10 && s.find_first_not_of("0123456789") == std::string::npos;
  };
  if (!implied_name.empty()) f.insert(f.begin(), implied_name);  // --gpus a100:2 == gres gpu:a100:2
  std::int64_t count = 1;
  if (f.size() > 1 && is_count(f.back())) {
    count = std::stoll(f.back());
    f.pop_back();
  }
  bool ok = !f.empty() && f.size() <= 2;
  for (const auto& s : f) ok = ok && !s.empty() && s.find_first_of(" ,=/") == std::string::npos;
  if (!ok)
    throw Error(Errc::bad_input, "invalid " + flag + " '" + item + "'; expected NAME[:TYPE][:COUNT] such as gpu:a100:2");
  return {f.size() == 2 ? f[0] + ":" + f[1] : f[0], count};
}

std::string mem_text(std::int64_t mb) { return std::to_string(mb) + "M"; }

}  // namespace

void add_price_commands(CLI::App& app, Context& ctx) {
  CLI::App* price = app.add_subcommand("price", "Prices: quote a job's cost, list the rate table (paracloud-price(1))");
  price->require_subcommand(1);

  auto args = std::make_shared<QuoteArgs>();
  CLI::App* quote = price->add_subcommand("quote", "What a job would cost at a site, line by line");
  quote->add_option("-M,--site", args->site, "Site (SiteName) to price at; default: ClusterName");
  quote->add_option("--partition", args->partition, "Partition; default: the site's PriceName=SITE:* line");
  quote->add_option("-n,--ntasks", args->ntasks, "Number of tasks (default 1)");
  quote->add_option("-c,--cpus-per-task", args->cpus_per_task, "CPUs per task (default 1)");
  quote->add_option("-N,--nodes", args->nodes, "Number of nodes (default 1)");
  auto* mem = quote->add_option("--mem", args->mem, "Memory per node: 500, 500M, 4G, 1T (no suffix: MB)");
  quote->add_option("--mem-per-cpu", args->mem_per_cpu, "Memory per CPU, same units as --mem")->excludes(mem);
  quote->add_option("--gres", args->gres, "Generic resources per node: gpu:a100:2[,...]")->delimiter(',');
  quote->add_option("-G,--gpus", args->gpus, "GPUs for the whole job: 2 or a100:2")->delimiter(',');
  quote->add_option("-t,--time", args->time,
                    "Time limit: minutes, min:sec, h:min:sec, days-h[:min[:sec]] (default: DefaultTimeLimit)");
  quote->callback([&ctx, args]() {
    const Config& cfg = ctx.config();
    JobResources job;
    job.site = args->site.empty() ? cfg.cluster_name : args->site;
    if (job.site.empty())
      throw Error(Errc::config, (cfg.path.empty() ? std::string("paracloud.conf") : cfg.path) + ": no SiteName line",
                  "add SiteName= and PriceName= lines, or name a site with --site");
    job.partition = args->partition;
    if (args->ntasks < 1 || args->cpus_per_task < 1 || args->nodes < 1)
      throw Error(Errc::bad_input, "--ntasks, --cpus-per-task and --nodes must be at least 1");
    job.cpus = checked_mul(args->ntasks, args->cpus_per_task, "--ntasks x --cpus-per-task");
    job.nodes = args->nodes;
    if (!args->mem.empty())
      job.mem_mb = checked_mul(parse_mem_mb("--mem", args->mem), job.nodes, "--mem x --nodes");
    if (!args->mem_per_cpu.empty())
      job.mem_mb = checked_mul(parse_mem_mb("--mem-per-cpu", args->mem_per_cpu), job.cpus, "--mem-per-cpu x CPUs");
    for (const auto& g : args->gres) {
      auto [name, count] = parse_gres_item("--gres", g, "");
      job.gres[name] += checked_mul(count, job.nodes, "--gres count x --nodes");
    }
    for (const auto& g : args->gpus) {
      auto [name, count] = parse_gres_item("--gpus", g, "gpu");
      job.gres[name] += count;
    }
    job.seconds = args->time.empty() ? cfg.default_time_limit : parse_duration(args->time);
    Quote q = price_job(cfg, job);
    const Currency& cur = cfg.currency;

    if (ctx.json) {
      nlohmann::json lines = nlohmann::json::array();
      for (const auto& l : q.lines)
        lines.push_back({{"tres", l.tres},
                         {"units", l.units},
                         {"unit", l.unit},
                         {"rate", format_rate(l.rate, cur)},
                         {"rate_micro_minor", l.rate},
                         {"priced_as", l.priced_as},
                         {"cost", format_amount(l.cost, cur)},
                         {"cost_minor", l.cost}});
      print_json({{"site", q.site},
                  {"partition", q.partition},
                  {"seconds", q.seconds},
                  {"time", format_duration(q.seconds)},
                  {"currency", cur.code},
                  {"lines", lines},
                  {"total", format_amount(q.total, cur)},
                  {"total_minor", q.total},
                  {"rule", q.rule_where}});
      return;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& l : q.lines) {
      std::string rate = format_rate(l.rate, cur);
      if (l.priced_as != l.tres) rate += " (" + l.priced_as + ")";
      rows.push_back({l.tres, l.tres == "mem" ? mem_text(l.units) : std::to_string(l.units), rate, l.unit,
                      format_amount(l.cost, cur)});
    }
    print_table(ctx, {"TRES", "UNITS", "RATE", "PER", "COST"}, rows);
    if (!ctx.parsable) std::puts("");
    std::printf("%stotal %s for %s at %s%s (%s; rounded up once to %s)\n", ctx.parsable ? "# " : "",
                format_money(q.total, cur).c_str(), format_duration(q.seconds).c_str(), q.site.c_str(),
                q.partition.empty() ? "" : (":" + q.partition).c_str(), q.rule_where.c_str(),
                format_money(1, cur).c_str());
  });

  auto list_site = std::make_shared<std::string>();
  CLI::App* list = price->add_subcommand("list", "The configured rates, one row per site, partition and TRES");
  list->add_option("-M,--site", *list_site, "Only this site");
  list->callback([&ctx, list_site]() {
    const Config& cfg = ctx.config();
    if (!list_site->empty() && !cfg.find_site(*list_site))
      throw Error(Errc::not_found, "unknown site '" + *list_site + "'", "see `paracloud price list` for all sites");
    nlohmann::json j = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& p : cfg.prices) {
      if (!list_site->empty() && p.site != *list_site) continue;
      for (const auto& [tres, rate] : p.rates) {
        std::string per = tres == "mem" ? "GB-hour" : tres == "cpu" ? "cpu-hour" : tres == "node" ? "node-hour"
                                                   : tres.substr(5, tres.find(':') - 5) + "-hour";
        rows.push_back({p.site, p.partition, tres, format_rate(rate, cfg.currency), cfg.currency.code + "/" + per});
        j.push_back({{"site", p.site}, {"partition", p.partition}, {"tres", tres},
                     {"rate", format_rate(rate, cfg.currency)}, {"rate_micro_minor", rate},
                     {"currency", cfg.currency.code}, {"per", per}, {"where", p.where}});
      }
    }
    if (ctx.json) {
      print_json(j);
      return;
    }
    print_table(ctx, {"SITE", "PARTITION", "TRES", "RATE", "PER"}, rows);
  });
}

}  // namespace paracloud::cli

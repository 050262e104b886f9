// paracloud sites [collect] / route explain: site states (collected from each slurmctld), and why a
// job goes where.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <optional>
#include <thread>

#include "cli.hpp"
#include "common/text.hpp"
#include "common/error.hpp"
#include "billing/job_request.hpp"
#include "billing/settle.hpp"
#include "common/slurm_time.hpp"
#include "routing/fed_route.hpp"
#include "routing/router.hpp"
#include "routing/site_state.hpp"

namespace paracloud::cli {

// ------------------------------------------------------------------ running sinfo/squeue/scontrol

CommandResult run_command(const std::vector<std::string>& argv, std::int64_t timeout_s) {
  CommandResult r;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    r.err = std::string("pipe: ") + std::strerror(errno);
    return r;
  }
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    r.err = std::string("pipe: ") + std::strerror(errno);
    close(out_pipe[0]);
    close(out_pipe[1]);
    return r;
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    setpgid(0, 0);  // a timeout kills the command and anything it started
    execvp(args[0], args.data());
    std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (pid < 0) {
    r.err = std::string("fork: ") + std::strerror(errno);
    close(out_pipe[0]);
    close(err_pipe[0]);
    return r;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      break;
    }
    int n = poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        (i == 0 ? r.out : r.err).append(buf, static_cast<std::size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds)
    if (f.fd >= 0) close(f.fd);
  if (r.timed_out) {
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!r.timed_out && WIFEXITED(status)) r.status = WEXITSTATUS(status);
  return r;
}

namespace {


std::string trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::int64_t to_int(const std::string& s) {
  std::string t = trim(s);
  if (t.empty() || t.size() > 18 || t.find_first_not_of("0123456789") != std::string::npos)
    return -1;
  return std::stoll(t);
}

}  // namespace

// First line of a command's complaint, for the state file and the `sites` table.
std::string failure_text(const std::string& what, const CommandResult& r, std::int64_t timeout_s) {
  if (r.timed_out) return what + " timed out after " + std::to_string(timeout_s) + " s";
  std::string first;
  for (const auto& line : split(r.err + "\n" + r.out, '\n'))
    if (!trim(line).empty()) {
      first = trim(line);
      break;
    }
  return what + " failed (exit " + std::to_string(r.status) + ")" +
         (first.empty() ? "" : ": " + first);
}

namespace {

// Slurm's time formats ("UNLIMITED", "INVALID", "NOT_SET", "1-02:03:04", "5:00") -> seconds; -1
// unknown.
std::int64_t slurm_seconds(const std::string& text) {
  try {
    return parse_duration(trim(text));
  } catch (const Error&) {
    return -1;
  }
}

// ------------------------------------------------------------------ the collector

// Asks one site's slurmctld (through the Slurm client commands and the cluster's -M) for its
// partitions and queue. Never throws: a failure is an unreachable state with the error.
SiteState collect_site(const SiteConf& site, std::int64_t timeout_s,
                       std::int64_t default_time_limit) {
  SiteState s;
  s.site = site.name;
  s.cluster = site.cluster;
  auto t0 = std::chrono::steady_clock::now();
  auto finish = [&]() {
    s.observed_at = static_cast<std::int64_t>(std::time(nullptr));
    s.query_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    return s;
  };
  // %R partition, %C CPUs allocated/idle/other/total, %D nodes, %c CPUs per node. sinfo groups
  // nodes of a partition into several lines (by state); they are added up.
  CommandResult si =
      run_command({"sinfo", "-M", site.cluster, "-h", "-a", "-o", "%R|%C|%D|%c"}, timeout_s);
  if (si.status != 0) {
    s.error = failure_text("sinfo -M " + site.cluster, si, timeout_s);
    return finish();
  }
  std::map<std::string, PartitionState> parts;
  for (const auto& raw : split(si.out, '\n')) {
    std::string line = trim(raw);
    if (line.empty() || line.rfind("CLUSTER:", 0) == 0) continue;
    auto f = split(line, '|');
    auto cpus = f.size() == 4 ? split(f[1], '/') : std::vector<std::string>{};
    if (cpus.size() != 4 || to_int(f[2]) < 0) {
      s.error = "sinfo -M " + site.cluster + ": unexpected line '" + line + "'";
      return finish();
    }
    PartitionState& p = parts[f[0]];
    p.name = f[0];
    p.cpus_alloc += std::max<std::int64_t>(0, to_int(cpus[0]));
    p.cpus_idle += std::max<std::int64_t>(0, to_int(cpus[1]));
    p.cpus_other += std::max<std::int64_t>(0, to_int(cpus[2]));
    p.cpus_total +=
        std::max<std::int64_t>(0, to_int(cpus[3]) - std::max<std::int64_t>(0, to_int(cpus[2])));
    p.nodes_total += to_int(f[2]);
    std::string cpn = f[3];
    cpn.erase(std::remove(cpn.begin(), cpn.end(), '+'), cpn.end());  // "64+" when nodes differ
    p.cpus_per_node = std::max(p.cpus_per_node, to_int(cpn));
  }
  // %P partition(s), %T state, %C CPUs, %L time left, %l time limit; -r: one line per array task.
  CommandResult sq = run_command({"squeue", "-M", site.cluster, "-h", "-a", "-r", "-t",
                                  "PENDING,RUNNING", "-o", "%P|%T|%C|%L|%l"},
                                 timeout_s);
  if (sq.status != 0) {
    s.error = failure_text("squeue -M " + site.cluster, sq, timeout_s);
    return finish();
  }
  for (const auto& raw : split(sq.out, '\n')) {
    std::string line = trim(raw);
    if (line.empty() || line.rfind("CLUSTER:", 0) == 0) continue;
    auto f = split(line, '|');
    if (f.size() != 5 || to_int(f[2]) < 0) {
      s.error = "squeue -M " + site.cluster + ": unexpected line '" + line + "'";
      return finish();
    }
    std::int64_t cpus = to_int(f[2]);
    bool running = f[1] == "RUNNING";
    std::int64_t secs = slurm_seconds(running ? f[3] : f[4]);
    if (secs < 0) secs = default_time_limit;      // UNLIMITED, NOT_SET: the configured default
    for (const auto& pname : split(f[0], ',')) {  // a job pending in "a,b" may start in either
      auto it = parts.find(pname);
      if (it == parts.end()) continue;
      PartitionState& p = it->second;
      std::int64_t cs = 0;
      if (__builtin_mul_overflow(cpus, secs, &cs)) cs = INT64_MAX / 4;
      if (running) {
        ++p.running_jobs;
        p.running_cpu_seconds += cs;
      } else {
        ++p.pending_jobs;
        p.pending_cpus += cpus;
        p.pending_cpu_seconds += cs;
      }
    }
  }
  for (auto& [name, p] : parts) s.partitions.push_back(p);
  s.reachable = true;
  return finish();
}

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

struct CollectArgs {
  std::vector<std::string> sites;
  std::string dir;
  bool daemon = false;
  std::int64_t interval = 0;
  std::int64_t timeout = 0;
};

// One round: every selected site queried in parallel (at most 16 at a time), each file written.
// Returns the number of unreachable sites.
int collect_round(const Config& cfg, const CollectArgs& a, const std::string& dir, bool verbose) {
  std::vector<const SiteConf*> todo;
  for (const auto& s : cfg.sites)
    if (a.sites.empty() || std::find(a.sites.begin(), a.sites.end(), s.name) != a.sites.end())
      todo.push_back(&s);
  std::vector<SiteState> results(todo.size());
  std::int64_t timeout = a.timeout > 0 ? a.timeout : cfg.site_query_timeout;
  for (std::size_t b = 0; b < todo.size(); b += 16) {
    std::vector<std::thread> threads;
    for (std::size_t i = b; i < std::min(todo.size(), b + 16); ++i)
      threads.emplace_back(
          [&, i]() { results[i] = collect_site(*todo[i], timeout, cfg.default_time_limit); });
    for (auto& t : threads) t.join();
  }
  int unreachable = 0;
  for (const auto& s : results) {
    write_site_state(dir, s);
    if (!s.reachable) ++unreachable;
    if (verbose || !s.reachable)
      std::fprintf(stderr, "paracloud: site %s: %s (%lld ms)\n", s.site.c_str(),
                   s.reachable
                       ? ("ok, " + std::to_string(s.partitions.size()) + " partitions").c_str()
                       : ("unreachable: " + s.error).c_str(),
                   static_cast<long long>(s.query_ms));
  }
  return unreachable;
}

// ------------------------------------------------------------------ job requests

// Slurm memory sizes: "500" or "500M" (MB), "4G", "1T", "512K" (rounded up to whole MB).
std::int64_t parse_mem_mb(const std::string& flag, const std::string& text) {
  std::size_t n = 0;
  while (n < text.size() && std::isdigit(static_cast<unsigned char>(text[n]))) ++n;
  char unit =
      n < text.size() ? static_cast<char>(std::toupper(static_cast<unsigned char>(text[n]))) : 'M';
  if (n == 0 || n > 12 || text.size() > n + 1 ||
      std::string("KMGT").find(unit) == std::string::npos)
    throw Error(Errc::bad_input,
                "invalid " + flag + " '" + text + "'; expected a size such as 500, 500M, 4G or 1T");
  std::int64_t v = std::stoll(text.substr(0, n));
  switch (unit) {
    case 'K':
      return (v + 1023) / 1024;
    case 'G':
      return v * 1024;
    case 'T':
      return v * 1024 * 1024;
    default:
      return v;
  }
}

struct ExplainArgs {
  std::string job_id, job_pos, partition, time, mem, mem_per_cpu, constraint, licenses, policy, deadline,
      budget, state_dir, log;
  bool rerank = false;
  std::int64_t ntasks = 1, cpus_per_task = 1, nodes = 0, top_k = 0;
  std::vector<std::string> gres, gpus;
};

// `scontrol show job -o ID` -> the request's shape (what the job asked for, as the router needs
// it).
void request_from_job(const ExplainArgs& a, RouteRequest* req, std::int64_t default_time,
                      std::int64_t timeout) {
  CommandResult r = run_command({"scontrol", "show", "job", "-o", a.job_id}, timeout);
  if (r.status != 0)
    throw Error(Errc::not_found, failure_text("scontrol show job " + a.job_id, r, timeout),
                "check the job id, and that SLURM_CONF names the cluster it ran on");
  std::map<std::string, std::string> kv;
  for (const auto& tok : split(trim(split(r.out, '\n')[0]), ' ')) {
    auto eq = tok.find('=');
    if (eq != std::string::npos) kv.emplace(tok.substr(0, eq), tok.substr(eq + 1));
  }
  auto get = [&](const char* k) -> std::string {
    auto it = kv.find(k);
    return it == kv.end() || it->second == "(null)" ? "" : it->second;
  };
  if (get("JobId").empty())
    throw Error(Errc::not_found, "scontrol show job " + a.job_id + ": no job in its output");
  JobResources& j = req->resources;
  j.cpus = std::max<std::int64_t>(1, to_int(get("NumCPUs")));
  std::string nn = get("NumNodes");
  std::int64_t nodes = to_int(nn.substr(0, nn.find('-')));
  j.nodes = nodes > 0 ? nodes : 0;
  j.partition = get("Partition");
  if (j.partition.find(',') != std::string::npos)
    j.partition.clear();  // several: let the router choose
  std::int64_t t = slurm_seconds(get("TimeLimit"));
  j.seconds = t > 0 ? t : default_time;
  if (std::string m = get("MinMemoryNode"); !m.empty())
    j.mem_mb = parse_mem_mb("MinMemoryNode", m) * std::max<std::int64_t>(1, j.nodes);
  if (std::string m = get("MinMemoryCPU"); !m.empty())
    j.mem_mb = parse_mem_mb("MinMemoryCPU", m) * j.cpus;
  if (std::string g = get("TresPerNode"); !g.empty())
    for (const auto& [k, v] : parse_tres_counts(g, "TresPerNode"))
      j.gres[k] += v * std::max<std::int64_t>(1, j.nodes);
  if (std::string g = get("TresPerJob"); !g.empty())
    for (const auto& [k, v] : parse_tres_counts(g, "TresPerJob")) j.gres[k] += v;
  req->constraint = parse_constraint(get("Features"));
  req->licenses = parse_licenses(get("Licenses"));
}

void request_from_flags(const ExplainArgs& a, RouteRequest* req, std::int64_t default_time) {
  JobResources& j = req->resources;
  if (a.ntasks < 1 || a.cpus_per_task < 1 || a.nodes < 0)
    throw Error(Errc::bad_input,
                "--ntasks and --cpus-per-task must be at least 1, --nodes 0 or more");
  if (__builtin_mul_overflow(a.ntasks, a.cpus_per_task, &j.cpus))
    throw Error(Errc::bad_input, "too many CPUs");
  j.nodes = a.nodes;
  j.partition = a.partition;
  j.seconds = a.time.empty() ? default_time : parse_duration(a.time);
  if (j.seconds < 1) throw Error(Errc::bad_input, "--time must be at least one second");
  std::int64_t per_node_count =
      std::max<std::int64_t>(1, a.nodes);  // --mem and --gres are per node
  if (!a.mem.empty()) j.mem_mb = parse_mem_mb("--mem", a.mem) * per_node_count;
  if (!a.mem_per_cpu.empty()) j.mem_mb = parse_mem_mb("--mem-per-cpu", a.mem_per_cpu) * j.cpus;
  for (const auto& g : a.gres)
    for (const auto& [k, v] : parse_tres_counts(g, "--gres")) j.gres[k] += v * per_node_count;
  for (const auto& g : a.gpus)
    for (const auto& [k, v] : parse_tres_counts("gpu:" + g, "--gpus")) j.gres[k] += v;
  req->constraint = parse_constraint(a.constraint);
  req->licenses = parse_licenses(a.licenses);
}

std::string wait_text(std::int64_t s) { return s >= INT64_MAX / 2 ? "never" : format_duration(s); }

// ------------------------------------------------------------------ recorded decisions

// Where a job's recorded routing decision was found.
struct Recorded {
  nlohmann::json route;  // route_record() JSON; null: the job exists but was not routed
  std::string source;    // "squeue", "sacct -M CLUSTER", "accounting log PATH"
};

// The decision in an AdminComment ("" / "(null)": none), or nullopt when there is no tag.
std::optional<nlohmann::json> route_of_comment(const std::string& comment) {
  std::string text = route_tag_text(trim(comment));
  if (text.empty()) return std::nullopt;
  return parse_route_text(text);
}

// The decision job_submit/paracloud recorded for JOBID when it was submitted, looked up where it
// lives: the job's AdminComment while slurmctld knows the job (squeue), then in slurmdbd (sacct,
// every cluster of the federation: the origin's own decision first), then in the accounting log
// (the record of the run, whose route slot is the running cluster's re-derivation).
Recorded recorded_route(const std::string& job, const std::string& log, std::int64_t timeout) {
  bool known = false;  // some source knows the job (a job that was not routed has no tag)
  CommandResult q = run_command({"squeue", "-h", "-j", job, "-t", "all", "-O", "admin_comment:0"}, timeout);
  if (q.status == 0 && !trim(q.out).empty()) {
    known = true;
    for (const auto& line : split(q.out, '\n'))
      if (auto r = route_of_comment(line)) return {*r, "squeue (the job's AdminComment)"};
  }
  CommandResult a = run_command({"sacct", "-n", "-X", "-P", "-M", "all", "-j", job, "-o", "cluster,admincomment"}, timeout);
  if (a.status == 0) {
    std::optional<nlohmann::json> rederived;
    std::string rederived_on;
    for (const auto& line : split(a.out, '\n')) {
      auto bar = line.find('|');
      if (bar == std::string::npos) continue;
      known = true;
      auto r = route_of_comment(line.substr(bar + 1));
      if (!r) continue;
      if (!r->value("rederived", false)) return {*r, "sacct -M " + line.substr(0, bar) + " (AdminComment)"};
      if (!rederived) rederived = *r, rederived_on = line.substr(0, bar);
    }
    if (rederived) return {*rederived, "sacct -M " + rederived_on + " (AdminComment, re-derived there)"};
  }
  if (!log.empty() && access(log.c_str(), R_OK) == 0) {
    std::optional<AccountingRecord> last;
    std::int64_t id = 0;
    try {
      id = std::stoll(job);
    } catch (const std::exception&) {
    }
    for (auto& r : read_records(log, nullptr))
      if (static_cast<std::int64_t>(r.job.job_id) == id) last = std::move(r);
    if (last) {
      if (last->route.is_null())
        return {nullptr, "accounting log " + log};
      return {last->route, "accounting log " + log + " (the run's record)"};
    }
  }
  if (known) return {nullptr, "squeue/sacct"};
  throw Error(Errc::not_found,
              "job " + job + ": not known to squeue, sacct or the accounting log" +
                  (q.status != 0 ? " (" + trim(q.err) + ")" : ""),
              "check the job id and that SLURM_CONF names the cluster it was submitted on; `route explain "
              "JOBID --rerank` ranks a job that slurmctld still knows");
}

std::string list_text(const nlohmann::json& a) {
  std::string out;
  if (a.is_array())
    for (const auto& x : a) out += (out.empty() ? "" : ",") + (x.is_string() ? x.get<std::string>() : x.dump());
  return out.empty() ? "-" : out;
}
template <typename T>
T field(const nlohmann::json& j, const char* key, T dflt) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    return dflt;
  }
}

// The ranking, the exclusions and the choice of a decision (to_json / route_record form).
void print_decision(const Context& ctx, const nlohmann::json& d) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> selected;
  if (auto s = d.find("selected"); s != d.end() && s->is_array())
    for (const auto& x : *s)
      if (x.is_string()) selected.push_back(x.get<std::string>());
  if (auto c = d.find("candidates"); c != d.end() && c->is_array())
    for (const auto& x : *c) {
      std::string site = field<std::string>(x, "site", "?");
      bool chosen = std::find(selected.begin(), selected.end(), site) != selected.end();
      std::int64_t wait = field<std::int64_t>(x, "wait_s", 0);
      rows.push_back({std::to_string(field<std::int64_t>(x, "rank", 0)), site, field<std::string>(x, "partition", ""),
                      field<std::string>(x, "cost", "?"), std::to_string(field<std::int64_t>(x, "nodes", 0)),
                      wait_text(wait), std::to_string(field<std::int64_t>(x, "score", 0)),
                      std::to_string(field<std::int64_t>(x, "state_age_s", 0)) + "s", chosen ? "selected" : ""});
    }
  if (rows.empty())
    std::puts("no feasible site");
  else
    print_table(ctx, {"RANK", "SITE", "PARTITION", "COST", "NODES", "WAIT", "SCORE", "STATE_AGE", ""}, rows);
  std::vector<std::vector<std::string>> ex;
  if (auto e = d.find("excluded"); e != d.end() && e->is_array())
    for (const auto& x : *e) {
      std::string part = field<std::string>(x, "partition", "");
      ex.push_back({field<std::string>(x, "site", "?"), part.empty() ? "-" : part, field<std::string>(x, "reason", "?"),
                    field<std::string>(x, "detail", "")});
    }
  if (!ex.empty()) {
    std::puts("");
    print_table(ctx, {"EXCLUDED", "PARTITION", "REASON", "DETAIL"}, ex);
  }
  if (!selected.empty())
    std::printf("\nroute: %s (hold %s %s)\n", list_text(d["selected"]).c_str(), field<std::string>(d, "hold", "?").c_str(),
                field<std::string>(d, "currency", "").c_str());
}

// "policy cheapest (--route), deadline ..., budget ..." of a decision.
std::string limits_text(const nlohmann::json& d, const Currency& cur) {
  std::string out = "policy " + field<std::string>(d, "policy", "?");
  std::string src = field<std::string>(d, "policy_source", "");
  if (!src.empty()) out += " (" + src + ")";
  std::int64_t deadline = field<std::int64_t>(d, "deadline", 0);
  out += deadline > 0 ? ", deadline " + format_time(deadline) : ", no deadline";
  std::int64_t budget = field<std::int64_t>(d, "budget_minor", -1);
  out += budget >= 0 ? ", budget " + format_money(budget, cur) : ", no budget";
  return out;
}

}  // namespace

void add_route_commands(CLI::App& app, Context& ctx) {
  // ---- paracloud sites [collect]
  CLI::App* sites =
      app.add_subcommand("sites", "Partner sites: state and its age; `sites collect` refreshes it");
  auto sites_dir = std::make_shared<std::string>();
  sites->add_option("--state-dir", *sites_dir,
                    "Directory of the state files (default: SiteStateDir)");

  auto ca = std::make_shared<CollectArgs>();
  CLI::App* collect = sites->add_subcommand(
      "collect", "Query each site's slurmctld (sinfo/squeue -M CLUSTER) and write its state file");
  collect->add_option("-M,--site", ca->sites, "Only these sites (default: every SiteName)")
      ->delimiter(',');
  collect->add_flag("--daemon", ca->daemon,
                    "Keep collecting every --interval seconds until SIGTERM/SIGINT");
  collect->add_option("--interval", ca->interval,
                      "Seconds between rounds with --daemon (default: SiteCollectInterval)");
  collect->add_option("--timeout", ca->timeout,
                      "Seconds allowed per sinfo/squeue (default: SiteQueryTimeout)");
  collect->callback([&ctx, ca, sites_dir]() {
    const Config& cfg = ctx.config();
    for (const auto& s : ca->sites)
      if (!cfg.find_site(s))
        throw Error(Errc::not_found, "unknown site '" + s + "'", "see `paracloud sites`");
    if (cfg.sites.empty())
      throw Error(Errc::config, cfg.path + ": no SiteName line",
                  "add a SiteName= line per partner site");
    std::string dir = sites_dir->empty() ? cfg.site_state_dir : *sites_dir;
    if (!ca->daemon) {
      int bad = collect_round(cfg, *ca, dir, true);
      if (bad > 0)
        throw Error(Errc::refused,
                    std::to_string(bad) + " site(s) unreachable (recorded in " + dir + ")");
      return;
    }
    std::int64_t interval = ca->interval > 0 ? ca->interval : cfg.site_collect_interval;
    struct sigaction sa = {};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    std::fprintf(stderr, "paracloud: collecting %zu site(s) every %lld s into %s\n",
                 ca->sites.empty() ? cfg.sites.size() : ca->sites.size(),
                 static_cast<long long>(interval), dir.c_str());
    while (!g_stop) {
      auto next = std::chrono::steady_clock::now() + std::chrono::seconds(interval);
      try {
        collect_round(cfg, *ca, dir, false);
      } catch (const Error& e) {  // e.g. the directory is not writable: say so, keep trying
        std::fprintf(stderr, "paracloud: %s\n", e.what());
      }
      while (!g_stop && std::chrono::steady_clock::now() < next) usleep(100000);
    }
  });

  sites->callback([&ctx, sites, sites_dir]() {
    if (!sites->get_subcommands().empty()) return;  // `sites collect` ran
    const Config& cfg = ctx.config();
    std::string dir = sites_dir->empty() ? cfg.site_state_dir : *sites_dir;
    SiteModel model(cfg);
    std::vector<SiteState> states = load_site_states(dir, cfg.sites);
    std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    nlohmann::json j = nlohmann::json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& site : model.sites) {
      const SiteState* st = nullptr;
      for (const auto& s : states)
        if (s.site == site.conf.name) st = &s;
      if (!st) continue;  // load_site_states gives one per site: cannot happen
      HealthVerdict hv = judge_state(st, now, site.max_age);
      std::string health = site.conf.drained ? "drained" : to_string(hv.health);
      std::int64_t idle = 0, total = 0, pjobs = 0, pcpus = 0;
      std::string parts;
      for (const auto& p : st->partitions) {
        idle += p.cpus_idle, total += p.cpus_total, pjobs += p.pending_jobs,
            pcpus += p.pending_cpus;
        parts += (parts.empty() ? "" : ",") + p.name;
      }
      std::string age = hv.age < 0 ? "-" : std::to_string(hv.age) + "s";
      rows.push_back({site.conf.name, site.conf.cluster, health, age, parts.empty() ? "-" : parts,
                      std::to_string(idle) + "/" + std::to_string(total),
                      std::to_string(pjobs) + "/" + std::to_string(pcpus), st->error});
      j.push_back({{"site", site.conf.name},
                   {"cluster", site.conf.cluster},
                   {"health", health},
                   {"age_s", hv.age},
                   {"max_age_s", site.max_age},
                   {"drained", site.conf.drained},
                   {"state", to_json(*st)}});
    }
    if (ctx.json) {
      print_json(j);
      return;
    }
    print_table(ctx,
                {"SITE", "CLUSTER", "HEALTH", "AGE", "PARTITIONS", "IDLE/CPUS",
                 "PENDING(JOBS/CPUS)", "ERROR"},
                rows);
  });

  // ---- paracloud route explain
  CLI::App* route_cmd = app.add_subcommand(
      "route", "Routing: which sites may run a job and why (paracloud-route(1))");
  route_cmd->require_subcommand(1);
  auto ea = std::make_shared<ExplainArgs>();
  CLI::App* explain = route_cmd->add_subcommand(
      "explain",
      "Show the routing decision recorded for a job (JOBID), or rank the sites for a job spec, with the reasons");
  explain->add_option("JOBID", ea->job_pos,
                      "An existing job: the decision job_submit recorded when it was submitted");
  explain->add_option("-j,--job", ea->job_id, "The same as JOBID");
  explain->add_flag("--rerank", ea->rerank,
                    "With a job: rank its sites again as things stand now (scontrol show job, the site state, "
                    "RoutePolicy unless --route) instead of showing its recorded decision");
  explain->add_option("--log", ea->log, "Accounting log to look a finished job up in (default: AccountingLog)");
  explain->add_option("-n,--ntasks", ea->ntasks, "Number of tasks (default 1)");
  explain->add_option("-c,--cpus-per-task", ea->cpus_per_task, "CPUs per task (default 1)");
  explain->add_option("-N,--nodes", ea->nodes,
                      "Number of nodes (default: as few as fit at each site)");
  auto* mem =
      explain->add_option("--mem", ea->mem, "Memory per node: 500, 500M, 4G, 1T (no suffix: MB)");
  explain->add_option("--mem-per-cpu", ea->mem_per_cpu, "Memory per CPU, same units as --mem")
      ->excludes(mem);
  explain->add_option("--gres", ea->gres, "Generic resources per node: gpu:a100:2[,...]")
      ->delimiter(',');
  explain->add_option("-G,--gpus", ea->gpus, "GPUs for the whole job: 2 or a100:2")->delimiter(',');
  explain->add_option("-t,--time", ea->time,
                      "Time limit, as sbatch --time (default: DefaultTimeLimit)");
  explain->add_option("-p,--partition", ea->partition, "Only this partition at each site");
  explain->add_option("-C,--constraint", ea->constraint, "Features: a&b, a|b (| binds tighter)");
  explain->add_option("-L,--licenses", ea->licenses, "Licenses: matlab:2,ansys");
  explain->add_option("--route,--policy", ea->policy,
                      "cheapest, fastest or balanced (default: RoutePolicy)");
  explain->add_option("--deadline", ea->deadline,
                      "The job must be expected to end by then, as sbatch --deadline: now+15minutes (a bare "
                      "count is seconds), 16:30, tomorrow, 2026-12-24T08:00, ...; also now+H:MM:SS");
  explain->add_option("--budget", ea->budget, "Largest acceptable worst-case cost, e.g. 50.00 (as sbatch --budget)");
  explain->add_option("--top-k", ea->top_k, "Sites a fastest job races on (default: RouteTopK)");
  explain->add_option("--state-dir", ea->state_dir,
                      "Directory of the state files (default: SiteStateDir)");
  explain->callback([&ctx, ea, explain]() {
    const Config& cfg = ctx.config();
    if (!ea->job_pos.empty() && !ea->job_id.empty() && ea->job_pos != ea->job_id)
      throw Error(Errc::usage, "two jobs given (" + ea->job_pos + " and -j " + ea->job_id + ")", "give one JOBID");
    if (ea->job_id.empty()) ea->job_id = ea->job_pos;
    if (!ea->job_id.empty() && ea->job_id.find_first_not_of("0123456789_") != std::string::npos)
      throw Error(Errc::usage, "'" + ea->job_id + "' is not a job id", "give the number sbatch printed, e.g. 67108869");
    static const char* const kShape[] = {"--ntasks", "--cpus-per-task", "--nodes", "--mem", "--mem-per-cpu", "--gres",
                                         "--gpus", "--time", "--partition", "--constraint", "--licenses"};
    static const char* const kLimits[] = {"--route", "--deadline", "--budget", "--top-k", "--state-dir"};
    if (!ea->job_id.empty()) {
      for (const char* f : kShape)
        if (explain->count(f) > 0)
          throw Error(Errc::usage, std::string(f) + " describes a job spec, but a job (" + ea->job_id + ") is given",
                      "give either a JOBID or the job's shape");
    } else if (ea->rerank) {
      throw Error(Errc::usage, "--rerank needs a JOBID", "paracloud route explain JOBID --rerank");
    }
    if (!ea->job_id.empty() && !ea->rerank) {
      for (const char* f : kLimits)
        if (explain->count(f) > 0)
          throw Error(Errc::usage, std::string(f) + " changes a ranking, but the recorded decision of job " +
                                       ea->job_id + " is shown as it was made",
                      "add --rerank to rank the job again with " + std::string(f));
      Recorded rec = recorded_route(ea->job_id, ea->log.empty() ? cfg.accounting_log : ea->log, cfg.site_query_timeout);
      if (rec.route.is_null() || rec.route.contains("unreadable")) {
        if (ctx.json) {
          print_json({{"job", ea->job_id}, {"source", rec.source}, {"route", rec.route}});
          return;
        }
        throw Error(Errc::not_found,
                    "job " + ea->job_id + " carries no routing decision (looked in " + rec.source + ")" +
                        (rec.route.is_null() ? "" : ": its tag is unreadable"),
                    "paracloud routes jobs only between the clusters of a Slurm federation (job arrays stay on "
                    "their origin); `route explain JOBID --rerank` ranks it as things stand now");
      }
      if (ctx.json) {
        nlohmann::json out = rec.route;
        out["job"] = ea->job_id;
        out["source"] = rec.source;
        print_json(out);
        return;
      }
      const nlohmann::json& d = rec.route;
      std::string when = format_time(field<std::int64_t>(d, "now", 0));
      std::printf("job %s: decided on %s at %s (%s), origin %s, offered to %s\n%s\n", ea->job_id.c_str(),
                  field<std::string>(d, "decided_on", "?").c_str(), when.c_str(), rec.source.c_str(),
                  field<std::string>(d, "origin", "?").c_str(), list_text(d.value("clusters", nlohmann::json())).c_str(),
                  limits_text(d, cfg.currency).c_str());
      if (d.value("rederived", false))
        std::printf("re-derived on %s from the same inputs: %s the origin's choice\n",
                    field<std::string>(d, "decided_on", "?").c_str(),
                    d.value("agrees", false) ? "agrees with" : "differs from");
      std::puts("");
      print_decision(ctx, d);
      return;
    }

    RouteRequest req;
    if (!ea->job_id.empty())
      request_from_job(*ea, &req, cfg.default_time_limit, cfg.site_query_timeout);
    else
      request_from_flags(*ea, &req, cfg.default_time_limit);
    RouteOptions opt = route_options(cfg);
    bool policy_given = !ea->policy.empty();
    if (policy_given) opt.policy = parse_route_policy(ea->policy);
    if (ea->top_k > 0) opt.top_k = ea->top_k;
    if (!ea->budget.empty()) opt.budget = parse_amount(ea->budget, cfg.currency);
    std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
    if (!ea->deadline.empty()) {
      const std::string& dl = ea->deadline;
      // now+H:MM:SS (a duration as --time takes it) is this CLI's own form; everything else is Slurm's.
      if (dl.rfind("now+", 0) == 0 && dl.find(':') != std::string::npos)
        opt.deadline = now + parse_duration(dl.substr(4));
      else
        opt.deadline = parse_slurm_time(dl, now);
    }
    SiteModel model(cfg);
    std::vector<SiteState> states =
        load_site_states(ea->state_dir.empty() ? cfg.site_state_dir : ea->state_dir, cfg.sites);
    RouteDecision d = route(model, align_states(model, states), req, opt, now);
    const Currency& cur = cfg.currency;
    const JobResources& j = req.resources;
    nlohmann::json out = to_json(d, cur);
    out["policy_source"] = policy_given ? "--route" : "RoutePolicy";
    if (ctx.json) {
      out["job"] = {{"cpus", j.cpus},          {"nodes", j.nodes},     {"mem_mb", j.mem_mb},
                    {"gres", j.gres},          {"seconds", j.seconds}, {"partition", j.partition},
                    {"licenses", req.licenses}};
      if (!ea->job_id.empty()) out["job"]["id"] = ea->job_id;
      print_json(out);
    } else {
      std::string gres;
      for (const auto& [k, v] : j.gres) gres += ", " + std::to_string(v) + " " + k;
      std::printf("%sjob: %lld cpu%s%s%s%s, %s%s\n%s\n\n",
                  ea->job_id.empty() ? "" : ("ranked again now (not the recorded decision) - job " + ea->job_id + " ").c_str(),
                  static_cast<long long>(j.cpus),
                  j.nodes ? (", " + std::to_string(j.nodes) + " node(s)").c_str() : "",
                  j.mem_mb ? (", " + std::to_string(j.mem_mb) + "M").c_str() : "", gres.c_str(),
                  j.partition.empty() ? "" : (", partition " + j.partition).c_str(),
                  format_duration(j.seconds).c_str(),
                  ea->constraint.empty() ? "" : (", constraint " + ea->constraint).c_str(),
                  limits_text(out, cur).c_str());
      print_decision(ctx, out);
    }
    if (d.selected == 0)
      throw Error(
          Errc::refused,
          "no site can run this job (" + std::to_string(d.excluded.size()) + " reasons above)",
          "relax the request, or see `paracloud sites` for stale or unreachable sites");
  });
}

}  // namespace paracloud::cli

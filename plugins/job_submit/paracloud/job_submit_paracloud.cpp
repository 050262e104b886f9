// job_submit/paracloud: quotes each job's worst case at submit and rejects jobs their account cannot pay.
//
// What it does, per submission (also will-run probes and federation siblings, which call it with
// submit_uid 0: the owner is always job_desc->user_id):
//   account  = --account, else the user's default account in the ledger (then written back into
//              job_desc->account so that the hold at start and the charge find it);
//   checks   = the account exists, the user is a member, a PriceName rule covers site/partition;
//   quote    = price_job() of the worst case (lib/billing/job_request.hpp lists the rules);
//   verdict  = reject when quote > available funds, with a message naming the numbers and the fix.
// It only reads: funds are held at job start (prep/paracloud), charged at completion (jobcomp).
// Job arrays are quoted per task and heterogeneous jobs per component (each is held at its own
// start); a partition list "a,b" is quoted in each and the dearest quote decides.
// Updates (job_modify) are not re-quoted: the hold at start prices the final limits. An update
// of Account= needs the owner's membership of the new account; TimeLimit=UNLIMITED is refused.
// A job that would run UNLIMITED (asked for, or no limit anywhere) is given the limit it was
// priced for: the partition's MaxTime, else DefaultTimeLimit.
// Batch jobs get SLURM_PARACLOUD_QUOTE="<amount> <currency>" in their environment.
//
// Routing (issue 4), when this controller is in a Slurm federation and paracloud.conf has two or
// more SiteName lines (else nothing below applies):
//   policy   = --route=cheapest|fastest|balanced (spank/paracloud option; sbatch/srun/salloc put
//              every SPANK option in job_desc->spank_job_env as _SLURM_SPANK_OPTION_paracloud_route,
//              and siblings receive it too), else RoutePolicy;
//   origin   = route() over the sites with their state files; job_desc->clusters = the chosen
//              clusters (cheapest/balanced: the best one; fastest: the top RouteTopK race), limited
//              to the user's own --clusters list when given; the quote is priced at the dearest
//              chosen site (the job may land on any of them); nothing feasible: rejected with every
//              site's reasons. When the user named no partition the chosen partition is set for
//              this cluster. When the origin itself is not chosen, its copy only tracks the job
//              (Slurm revokes it) and its --constraint is dropped there: the origin's nodes may
//              lack a feature that only the chosen sites have, and Slurm would refuse the tracker.
//   siblings = (submit_uid 0, job_id and viable-sibling bits set by the origin) never re-route
//              and never refuse for routing reasons: they accept what the origin allowed, quote
//              at their own price, and set their own chosen partition;
//   record   = the decision (fed_route.hpp route_record) goes into AdminComment as
//              "paracloud_route=<json>" (users cannot set AdminComment; siblings get the user's
//              original request, so each sibling stores its re-derivation from the same inputs
//              with the clusters the origin allowed and whether it agrees); jobcomp/paracloud puts
//              it into the accounting record of the cluster that ran the job.
//   Site states are reloaded from SiteStateDir by a background thread every second (local file
//   reads, never the network); the callback only takes a pointer to the latest snapshot.
//
// Cost (it runs under slurmctld's job write lock): no network, no file parsing per call.
//   - paracloud.conf is parsed at init and cached; its stat() is checked at most once a second
//     and a changed file is re-parsed. A broken new file is logged (file:line) and the last good
//     configuration stays in force. A broken or missing file at init makes init fail, so
//     slurmctld refuses to start: a controller that silently let every job through unpriced
//     would give away compute, and one that rejected every job would be worse to debug.
//   - the ledger is never read here: a LedgerMirror (lib/ledger/ledger_snapshot.hpp) copies accounts,
//     balances and memberships every second with its own read-only connection in its own thread,
//     and the callback reads the newest copy from memory. With no copy younger than
//     LedgerSnapshotMaxAge (default 10 s: a stalled MariaDB, an unopenable file) jobs are rejected
//     at once with "the ledger is unavailable, retry" (prepaid: fail closed, never block). A
//     rejection for funds or membership is checked again on a copy taken after the call when one
//     can be made within 50 ms (a deposit just made counts), never while the ledger is stalled.
//   - Partition facts (DefaultTime, MaxTime, node size, default memory) come from a background
//     thread that calls slurm_load_partitions()/slurm_load_node() once a second from init until
//     the first success (the controller answers RPCs only after init), then every 60 s
//     (partition edits are seen within a minute). Until the first load a job without --time is
//     priced at paracloud.conf DefaultTimeLimit and whole-node jobs at their requested CPUs.
//     The default partition's name comes from slurmctld's default_part_name global at once.
//   - user names (getpwuid_r may ask NSS/LDAP) are cached per uid for 10 minutes, unknown uids
//     for 30 s.
//   - the routing snapshot (site state files) is only ever rebuilt by its background thread.
// Latency: every call is timed (two clock reads) into a 100 ns histogram; p50/p90/p99/max are
// logged at fini and, when slurmctld runs with PARACLOUD_JOB_SUBMIT_TIMING=N, every N calls.
#include <pthread.h>
#include <pwd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>
#include <slurm/slurmdb.h>

#include "config/config.hpp"
#include "common/error.hpp"
#include "routing/fed_route.hpp"
#include "billing/job_request.hpp"
#include "ledger/ledger.hpp"
#include "ledger/ledger_snapshot.hpp"
#include "money/pricing.hpp"
#include "routing/router.hpp"
#include "routing/site_state.hpp"

typedef struct job_record job_record_t;  // opaque: slurmctld's internal job record

// Provided by slurmctld's libslurmfull at load time (the plugin does not link libslurm).
extern "C" {
char* slurm_xstrdup(const char* str);
void slurm_xfree(void** item);
void slurm_info(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void slurm_verbose(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void slurm_error(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void slurm_debug(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
int slurm_env_array_overwrite(char*** array_ptr, const char* name, const char* value);
extern slurm_conf_t slurm_conf;
// slurmctld's own global (read under the partition read lock job_submit runs with): the default
// partition's name, known from the first instant, unlike the background-loaded partition facts.
// Weak: a controller without it leaves it null and the loaded facts name the default.
extern char* default_part_name __attribute__((weak));
// slurmctld's federation (read under the federation read lock that job_submit runs with): null
// when the controller is in no federation. Weak, like default_part_name.
extern slurmdb_federation_rec_t* fed_mgr_fed_rec __attribute__((weak));
extern slurmdb_cluster_rec_t* fed_mgr_cluster_rec __attribute__((weak));
slurmdb_cluster_rec_t* fed_mgr_get_cluster_by_id(uint32_t id) __attribute__((weak));
}

extern "C" const char plugin_name[] = "paracloud prepaid job submission check";
extern "C" const char plugin_type[] = "job_submit/paracloud";
extern "C" const uint32_t plugin_version = SLURM_VERSION_NUMBER;

namespace {

using paracloud::Config;
using paracloud::Error;
using paracloud::Ledger;
using paracloud::PartitionFacts;

constexpr std::int64_t kSecond = 1000000000;
constexpr uint16_t kLogLevelDebug = 5;  // LOG_LEVEL_DEBUG of Slurm's internal log.h

std::int64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * kSecond + ts.tv_nsec;
}

// ------------------------------------------------------------------ latency histogram
constexpr std::size_t kBuckets = 20000;  // 100 ns each: 0 .. 2 ms, then overflow
struct Timing {
  std::atomic<std::uint64_t> bucket[kBuckets + 1] = {};
  std::atomic<std::uint64_t> calls{0};
  std::atomic<std::int64_t> max_ns{0};
  std::uint64_t log_every = 0;  // PARACLOUD_JOB_SUBMIT_TIMING
};
Timing g_timing;

void record_latency(std::int64_t ns) {
  std::size_t b = ns < 0 ? 0 : static_cast<std::size_t>(ns / 100);
  if (b > kBuckets) b = kBuckets;
  g_timing.bucket[b].fetch_add(1, std::memory_order_relaxed);
  std::int64_t prev = g_timing.max_ns.load(std::memory_order_relaxed);
  while (ns > prev && !g_timing.max_ns.compare_exchange_weak(prev, ns, std::memory_order_relaxed)) {
  }
  g_timing.calls.fetch_add(1, std::memory_order_relaxed);
}

void log_latency() {
  std::uint64_t calls = g_timing.calls.load();
  if (calls == 0) return;
  auto pct = [&](double p) -> std::string {
    std::uint64_t want = static_cast<std::uint64_t>(p * static_cast<double>(calls) + 0.999999);
    if (want == 0) want = 1;
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b <= kBuckets; ++b) {
      seen += g_timing.bucket[b].load();
      if (seen >= want) {
        if (b == kBuckets) return ">2000";
        char buf[32];
        snprintf(buf, sizeof buf, "%.1f", static_cast<double>(b + 1) / 10.0);  // bucket upper bound, us
        return buf;
      }
    }
    return "?";
  };
  slurm_info("%s: latency calls=%llu p50_us=%s p90_us=%s p99_us=%s max_us=%.1f", plugin_type,
             static_cast<unsigned long long>(calls), pct(0.50).c_str(), pct(0.90).c_str(), pct(0.99).c_str(),
             static_cast<double>(g_timing.max_ns.load()) / 1000.0);
}

// ------------------------------------------------------------------ partition facts
struct PartitionTable {
  std::map<std::string, PartitionFacts> by_name;
  std::string default_name;
};

// What routing needs, rebuilt off the callback every second: the site model of one paracloud.conf
// version and the site states read from SiteStateDir at that moment.
struct RouteSnapshot {
  std::shared_ptr<const Config> cfg;
  paracloud::SiteModel model;
  std::vector<paracloud::SiteState> states;
  std::vector<const paracloud::SiteState*> aligned;  // into states, in model order
  paracloud::RouteOptions options;
};

// Shared with the background threads. Allocated by init and freed by fini only: slurmctld 22.05
// exits without calling fini, and a static std::thread still joinable at exit would abort it.
struct Shared {
  std::mutex parts_mu;
  std::shared_ptr<const PartitionTable> parts;  // null until the first successful load
  std::mutex thread_mu;
  std::condition_variable thread_cv;
  bool stop = false;
  std::thread thread;
  std::mutex route_mu;
  std::shared_ptr<const RouteSnapshot> route;  // null: fewer than two sites (no routing)
  std::string route_error;                     // last snapshot failure (logged once)
  bool route_wanted = false;                   // a reload asks route_thread for a new snapshot now (thread_mu)
  std::thread route_thread;
};
Shared* g_shared = nullptr;

std::int64_t minutes_or_zero(uint32_t v) { return (v == NO_VAL || v == INFINITE) ? 0 : v; }

// DefMemPerCPU/DefMemPerNode share one field: the MEM_PER_CPU bit says which.
void set_default_mem(PartitionFacts& f, uint64_t v) {
  if (v == 0 || v == NO_VAL64 || v == INFINITE64) return;
  if (v & MEM_PER_CPU)
    f.def_mem_per_cpu_mb = static_cast<std::int64_t>(v & ~MEM_PER_CPU);
  else
    f.def_mem_per_node_mb = static_cast<std::int64_t>(v);
}

bool load_partitions() {
  partition_info_msg_t* pmsg = nullptr;
  if (slurm_load_partitions(0, &pmsg, SHOW_ALL) != SLURM_SUCCESS || !pmsg) {
    slurm_debug("%s: slurm_load_partitions: %s (will retry)", plugin_type, slurm_strerror(slurm_get_errno()));
    return false;
  }
  node_info_msg_t* nmsg = nullptr;
  if (slurm_load_node(0, &nmsg, SHOW_ALL) != SLURM_SUCCESS) nmsg = nullptr;

  auto table = std::make_shared<PartitionTable>();
  for (uint32_t i = 0; i < pmsg->record_count; ++i) {
    const partition_info_t& p = pmsg->partition_array[i];
    if (!p.name) continue;
    PartitionFacts f;
    f.name = p.name;
    f.total_nodes = p.total_nodes;
    f.default_time_min = minutes_or_zero(p.default_time);
    f.max_time_min = minutes_or_zero(p.max_time);
    set_default_mem(f, slurm_conf.def_mem_per_cpu);
    if (p.def_mem_per_cpu != 0) {
      f.def_mem_per_cpu_mb = f.def_mem_per_node_mb = 0;
      set_default_mem(f, p.def_mem_per_cpu);
    }
    if (nmsg && p.node_inx) {
      for (int j = 0; p.node_inx[j] >= 0; j += 2) {
        for (int k = p.node_inx[j]; k <= p.node_inx[j + 1]; ++k) {
          if (k < 0 || static_cast<uint32_t>(k) >= nmsg->record_count) continue;
          const node_info_t& n = nmsg->node_array[k];
          f.cpus_per_node = std::max<std::int64_t>(f.cpus_per_node, n.cpus);
          if (n.real_memory != NO_VAL64)
            f.mem_per_node_mb = std::max<std::int64_t>(f.mem_per_node_mb, static_cast<std::int64_t>(n.real_memory));
        }
      }
    }
    if (f.cpus_per_node == 0 && p.total_nodes > 0) f.cpus_per_node = p.total_cpus / p.total_nodes;
    if (p.max_cpus_per_node != INFINITE && p.max_cpus_per_node != NO_VAL && p.max_cpus_per_node > 0 &&
        p.max_cpus_per_node < f.cpus_per_node)
      f.cpus_per_node = p.max_cpus_per_node;
    if (p.flags & PART_FLAG_DEFAULT) table->default_name = f.name;
    table->by_name[f.name] = f;
  }
  slurm_free_partition_info_msg(pmsg);
  if (nmsg) slurm_free_node_info_msg(nmsg);

  std::lock_guard<std::mutex> lk(g_shared->parts_mu);
  const std::shared_ptr<const PartitionTable>& g_parts = g_shared->parts;
  bool first = !g_parts;
  bool changed = first || g_parts->by_name.size() != table->by_name.size() ||
                 g_parts->default_name != table->default_name;
  if (!changed) {
    for (const auto& [name, f] : table->by_name) {
      auto it = g_parts->by_name.find(name);
      if (it == g_parts->by_name.end() || it->second.default_time_min != f.default_time_min ||
          it->second.max_time_min != f.max_time_min || it->second.cpus_per_node != f.cpus_per_node) {
        changed = true;
        break;
      }
    }
  }
  g_shared->parts = table;
  if (changed)
    slurm_info("%s: partition facts loaded: %zu partitions, default %s", plugin_type, table->by_name.size(),
               table->default_name.empty() ? "(none)" : table->default_name.c_str());
  return true;
}

void partition_thread() {
  Shared& sh = *g_shared;
  std::unique_lock<std::mutex> lk(sh.thread_mu);
  auto delay = std::chrono::seconds(1);  // the controller is not listening yet during init
  while (!sh.stop) {
    if (sh.thread_cv.wait_for(lk, delay, [&sh] { return sh.stop; })) break;
    lk.unlock();
    bool ok = false;
    try {
      ok = load_partitions();
    } catch (const std::exception& e) {
      slurm_error("%s: loading partition facts: %s", plugin_type, e.what());
    }
    lk.lock();
    delay = std::chrono::seconds(ok ? 60 : 1);
  }
}

std::shared_ptr<const PartitionTable> partitions() {
  std::lock_guard<std::mutex> lk(g_shared->parts_mu);
  return g_shared->parts;
}

// ------------------------------------------------------------------ configuration and ledger
struct State {
  std::mutex mu;
  std::string conf_path;
  std::shared_ptr<const Config> cfg;
  struct stat conf_stat {};
  struct stat failed_stat {};  // the last file version that failed to parse (logged once)
  std::int64_t last_check_ns = 0;
  // The ledger as job_submit sees it: an in-memory copy refreshed every second by the mirror's
  // own thread and connection (issue 16 item 4: never a database round trip under the job lock).
  std::unique_ptr<paracloud::LedgerMirror> mirror;
  struct CachedUser {
    std::string name;  // empty: getpwuid_r found no such uid
    std::int64_t expires_ns = 0;
  };
  std::unordered_map<uint32_t, CachedUser> users;
};
constexpr std::int64_t kUserTtlNs = 600 * kSecond;        // a user name found: 10 minutes
constexpr std::int64_t kUnknownUserTtlNs = 30 * kSecond;  // none found (NSS/LDAP may be slow to fail)
State* g_state = nullptr;

bool same_file(const struct stat& a, const struct stat& b) {
  return a.st_ino == b.st_ino && a.st_dev == b.st_dev && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec;
}

std::string config_path() {
  if (const char* env = getenv("PARACLOUD_CONF"); env && *env) return env;
  if (slurm_conf.slurm_conf && *slurm_conf.slurm_conf) {
    std::string p = slurm_conf.slurm_conf;
    std::size_t slash = p.rfind('/');
    return (slash == std::string::npos ? std::string(".") : p.substr(0, slash)) + "/paracloud.conf";
  }
  return paracloud::default_config_path();
}

// The mirror's source: LedgerPath and LedgerPassFile (a change of either reopens the ledger).
std::string mirror_source(const Config& cfg) { return cfg.ledger_path + '\n' + cfg.get("LedgerPassFile"); }

paracloud::MirrorOptions mirror_options(const Config& cfg) {
  paracloud::MirrorOptions o;
  std::string age = cfg.get("LedgerSnapshotMaxAge");
  if (!age.empty()) o.max_age_ns = std::strtoll(age.c_str(), nullptr, 10) * kSecond;
  return o;
}

// Opens the ledger read-only in the mirror's thread (never under slurmctld's locks).
std::unique_ptr<Ledger> open_for_mirror(const std::string& source) {
  std::size_t nl = source.find('\n');
  paracloud::LedgerOptions o;
  o.read_only = true;
  o.create = false;
  o.password_file = nl == std::string::npos ? "" : source.substr(nl + 1);  // MariaDB (LedgerPath=mysql://...)
  return paracloud::open_ledger(source.substr(0, nl), o);
}

// Re-parses paracloud.conf when its stat() changed; at most once a second. Caller holds st.mu.
void maybe_reload(State& st, std::int64_t now) {
  if (now - st.last_check_ns < kSecond) return;
  st.last_check_ns = now;
  struct stat sb;
  if (stat(st.conf_path.c_str(), &sb) != 0) return;  // a vanished file: keep the last good config
  if (same_file(sb, st.conf_stat) || same_file(sb, st.failed_stat)) return;
  try {
    auto cfg = std::make_shared<const Config>(paracloud::load_config(st.conf_path));
    st.cfg = cfg;
    st.conf_stat = sb;
    if (st.mirror) st.mirror->set_source(mirror_source(*cfg), mirror_options(*cfg));
    st.users.clear();
    slurm_info("%s: reloaded %s", plugin_type, st.conf_path.c_str());
  } catch (const std::exception& e) {
    st.failed_stat = sb;
    slurm_error("%s: %s; keeping the last good configuration (fix the file, it is re-read within a second)",
                plugin_type, e.what());
  }
}

// The newest copy of the ledger, or nullptr with *why set (no copy yet, or none younger than
// LedgerSnapshotMaxAge: the ledger is not answering). Never waits.
std::shared_ptr<paracloud::SnapshotLedger> ledger(State& st, std::int64_t now, std::string* why) {
  return st.mirror->current(now, why);
}

// getpwuid_r may ask NSS/LDAP: answers, found or not, are remembered (kUserTtlNs, kUnknownUserTtlNs)
// so that a burst of jobs of an unknown uid costs one lookup, not one each. Caller holds st.mu.
std::string user_name(State& st, uint32_t uid, std::int64_t now) {
  auto it = st.users.find(uid);
  if (it != st.users.end() && now < it->second.expires_ns) return it->second.name;
  struct passwd pw, *res = nullptr;
  std::vector<char> buf(4096);
  std::string name;
  while (getpwuid_r(uid, &pw, buf.data(), buf.size(), &res) == ERANGE && buf.size() < (1u << 20))
    buf.resize(buf.size() * 2);
  if (res && res->pw_name) name = res->pw_name;
  if (st.users.size() >= 100000) st.users.clear();  // bounded: a flood of distinct uids restarts it
  st.users[uid] = State::CachedUser{name, now + (name.empty() ? kUnknownUserTtlNs : kUserTtlNs)};
  return name;
}

// The paracloud site this controller prices: ClusterName from paracloud.conf when set there,
// else the SiteName whose Cluster= is Slurm's ClusterName, else Slurm's ClusterName itself.
std::string site_name(const Config& cfg) {
  auto origin = cfg.origins.find("ClusterName");
  bool from_file = origin != cfg.origins.end() && origin->second.rfind("default", 0) != 0;
  if (from_file && !cfg.cluster_name.empty()) return cfg.cluster_name;
  std::string slurm_cluster = slurm_conf.cluster_name ? slurm_conf.cluster_name : "";
  for (const auto& s : cfg.sites)
    if (s.cluster == slurm_cluster || (s.cluster.empty() && s.name == slurm_cluster)) return s.name;
  return slurm_cluster.empty() ? cfg.cluster_name : slurm_cluster;
}

// ------------------------------------------------------------------ routing state
// Null for a paracloud.conf with fewer than two sites: nothing to route between.
std::shared_ptr<const RouteSnapshot> build_snapshot(const std::shared_ptr<const Config>& cfg) {
  if (!cfg || cfg->sites.size() < 2) return nullptr;
  auto snap = std::make_shared<RouteSnapshot>();
  snap->cfg = cfg;
  snap->model = paracloud::SiteModel(*cfg);
  snap->states = paracloud::load_site_states(cfg->site_state_dir, cfg->sites);
  snap->aligned = paracloud::align_states(snap->model, snap->states);
  snap->options = paracloud::route_options(*cfg);
  return snap;
}

void refresh_routes() {
  std::shared_ptr<const Config> cfg;
  {
    std::lock_guard<std::mutex> lk(g_state->mu);
    cfg = g_state->cfg;
  }
  std::shared_ptr<const RouteSnapshot> snap;
  std::string err;
  try {
    snap = build_snapshot(cfg);
  } catch (const std::exception& e) {
    err = e.what();
  }
  std::lock_guard<std::mutex> lk(g_shared->route_mu);
  if (!err.empty()) {  // keep routing on the last good snapshot
    if (err != g_shared->route_error) slurm_error("%s: routing state: %s", plugin_type, err.c_str());
    g_shared->route_error = err;
    return;
  }
  g_shared->route_error.clear();
  g_shared->route = std::move(snap);
}

void route_thread() {
  Shared& sh = *g_shared;
  std::unique_lock<std::mutex> lk(sh.thread_mu);
  while (!sh.stop) {
    if (sh.thread_cv.wait_for(lk, std::chrono::seconds(1), [&sh] { return sh.stop || sh.route_wanted; }) && sh.stop)
      break;
    sh.route_wanted = false;
    lk.unlock();
    refresh_routes();
    lk.lock();
  }
}

// The newest routing snapshot. Right after a reload it may still be of the previous paracloud.conf:
// the background thread is woken to rebuild it (reading SiteStateDir is file I/O, never done
// under slurmctld's job write lock, issue 16 item 4) and routing uses the previous snapshot until
// then (at most a second). Null when the new configuration has fewer than two sites.
std::shared_ptr<const RouteSnapshot> route_snapshot(const std::shared_ptr<const Config>& cfg) {
  if (cfg->sites.size() < 2) return nullptr;
  std::shared_ptr<const RouteSnapshot> snap;
  {
    std::lock_guard<std::mutex> lk(g_shared->route_mu);
    snap = g_shared->route;
  }
  if (!snap || snap->cfg != cfg) {
    {
      std::lock_guard<std::mutex> lk(g_shared->thread_mu);
      g_shared->route_wanted = true;
    }
    g_shared->thread_cv.notify_all();
  }
  return snap;
}

// Whether this controller is in a federation (its job_desc->clusters then restricts siblings).
bool federated() {
  return &fed_mgr_fed_rec != nullptr && fed_mgr_fed_rec != nullptr && &fed_mgr_cluster_rec != nullptr &&
         fed_mgr_cluster_rec != nullptr;
}

std::string fed_cluster_name(uint32_t id) {
  if (fed_mgr_get_cluster_by_id == nullptr || !federated()) return {};
  slurmdb_cluster_rec_t* c = fed_mgr_get_cluster_by_id(id);
  return c && c->name ? c->name : "";
}

// ------------------------------------------------------------------ job_desc -> JobRequest
std::int64_t count32(uint32_t v) { return (v == NO_VAL || v == INFINITE) ? 0 : v; }
std::int64_t count16(uint16_t v) { return (v == NO_VAL16 || v == INFINITE16) ? 0 : v; }
std::string str(const char* s) { return s ? s : ""; }

paracloud::JobRequest to_request(const job_desc_msg_t* jd) {
  paracloud::JobRequest r;
  r.min_cpus = count32(jd->min_cpus);
  r.max_cpus = count32(jd->max_cpus);
  r.num_tasks = count32(jd->num_tasks);
  r.cpus_per_task = count16(jd->cpus_per_task);
  r.ntasks_per_node = count16(jd->ntasks_per_node);
  r.pn_min_cpus = count16(jd->pn_min_cpus);
  r.min_nodes = count32(jd->min_nodes);
  r.max_nodes = count32(jd->max_nodes);
  r.sockets_per_node = count16(jd->sockets_per_node);
  if (jd->pn_min_memory != NO_VAL64) {
    r.mem_given = true;
    r.mem_per_cpu = (jd->pn_min_memory & MEM_PER_CPU) != 0;
    r.mem_mb = static_cast<std::int64_t>(jd->pn_min_memory & ~MEM_PER_CPU);
  }
  r.mem_per_tres = str(jd->mem_per_tres);
  r.exclusive = jd->shared == JOB_SHARED_NONE;
  r.tres_per_job = str(jd->tres_per_job);
  r.tres_per_node = str(jd->tres_per_node);
  r.tres_per_task = str(jd->tres_per_task);
  r.tres_per_socket = str(jd->tres_per_socket);
  if (jd->time_limit == NO_VAL)
    r.time_limit_min = paracloud::kTimeNotGiven;
  else if (jd->time_limit == INFINITE || jd->time_limit == 0)
    r.time_limit_min = paracloud::kTimeUnlimited;
  else
    r.time_limit_min = jd->time_limit;
  return r;
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

void set_err(char** err_msg, const std::string& msg) {
  if (!err_msg) return;
  if (*err_msg) slurm_xfree(reinterpret_cast<void**>(err_msg));
  *err_msg = slurm_xstrdup(msg.c_str());
}

int slurm_code(paracloud::Verdict v) {
  switch (v) {
    case paracloud::Verdict::ok: return SLURM_SUCCESS;
    case paracloud::Verdict::no_account:
    case paracloud::Verdict::unknown_account:
    case paracloud::Verdict::not_member: return ESLURM_INVALID_ACCOUNT;
    case paracloud::Verdict::no_price: return ESLURM_INVALID_PARTITION_NAME;
    case paracloud::Verdict::unpriced_tres: return ESLURM_INVALID_GRES;
    case paracloud::Verdict::bad_request: return SLURM_ERROR;
    case paracloud::Verdict::insufficient_funds: return ESLURM_ACCOUNTING_POLICY;
  }
  return SLURM_ERROR;
}

int reject(char** err_msg, int code, uint32_t uid, const std::string& msg) {
  slurm_info("%s: rejected a job of uid %u: %s", plugin_type, uid, msg.c_str());
  set_err(err_msg, msg);
  return code;
}

void replace_str(char** field, const std::string& value) {
  if (*field) slurm_xfree(reinterpret_cast<void**>(field));
  *field = slurm_xstrdup(value.c_str());
}

// check_submission() on the ledger copy `led`. A rejection that a change made just before could
// lift (no funds yet, not a member yet, no such account yet) is checked again on a copy taken
// after this call when the mirror makes one within MirrorOptions::fresh_wait_ns; the mirror does
// not wait at all while the ledger is stalled, so this stays bounded (issue 16 item 4).
paracloud::SubmitResult check_on_copy(State& st, const Config& cfg, std::shared_ptr<paracloud::SnapshotLedger>& led,
                                      const paracloud::SubmitCheck& check, std::int64_t now) {
  paracloud::SubmitResult res = paracloud::check_submission(cfg, *led, check);
  switch (res.verdict) {
    case paracloud::Verdict::no_account:
    case paracloud::Verdict::unknown_account:
    case paracloud::Verdict::not_member:
    case paracloud::Verdict::insufficient_funds: break;
    default: return res;
  }
  std::string why;
  std::shared_ptr<paracloud::SnapshotLedger> newer = st.mirror->fresher(now, &why);
  if (newer && newer != led) {
    led = newer;
    res = paracloud::check_submission(cfg, *led, check);
  }
  return res;
}

// An accepted job: the defaulted account, the time limit it was priced for when it would
// otherwise run UNLIMITED (issue 16 item 3), and, for batch jobs, the quote in its environment.
int accept(job_desc_msg_t* jd, const paracloud::SubmitResult& best, const Config& cfg, uint32_t uid,
           std::int64_t set_time_limit_min) {
  if (set_time_limit_min > 0 && set_time_limit_min < static_cast<std::int64_t>(INFINITE)) {
    jd->time_limit = static_cast<uint32_t>(set_time_limit_min);
    slurm_verbose("%s: uid %u: time limit set to %lld min, the limit it was priced for", plugin_type, uid,
                  static_cast<long long>(set_time_limit_min));
  }
  if (slurm_conf.slurmctld_debug >= kLogLevelDebug)  // skip building the text otherwise
    slurm_debug("%s: uid %u account %s%s quote %s (%s)", plugin_type, uid, best.account.c_str(),
                best.account_defaulted ? " (default)" : "", paracloud::format_money(best.quote.total, cfg.currency).c_str(),
                paracloud::describe_quote(best.quote).c_str());
  if (best.account_defaulted && (!jd->account || !*jd->account)) replace_str(&jd->account, best.account);
  if (jd->script && jd->environment) {  // batch jobs only: srun/salloc carry no environment here
    std::string quote = paracloud::format_money(best.quote.total, cfg.currency);
    slurm_env_array_overwrite(&jd->environment, "SLURM_PARACLOUD_QUOTE", quote.c_str());
    uint32_t n = 0;
    while (jd->environment[n]) ++n;
    jd->env_size = n;
  }
  return SLURM_SUCCESS;
}

// The value of a SPANK option the client passed (_SLURM_SPANK_OPTION_<plugin>_<option>), or null.
const char* spank_option(const job_desc_msg_t* jd, const char* var) {
  if (!jd->spank_job_env) return nullptr;
  std::size_t n = std::strlen(var);
  for (uint32_t i = 0; i < jd->spank_job_env_size; ++i) {
    const char* e = jd->spank_job_env[i];
    if (e && std::strncmp(e, var, n) == 0 && e[n] == '=') return e + n + 1;
  }
  return nullptr;
}
constexpr char kRouteOption[] = "_SLURM_SPANK_OPTION_paracloud_route";    // spank/paracloud --route
constexpr char kBudgetOption[] = "_SLURM_SPANK_OPTION_paracloud_budget";  // spank/paracloud --budget

// The job's --budget in minor units (-1: none given). False (and *err_msg set) when it is not an
// amount of the site's currency; spank/paracloud checked its form already, but a client without the
// plugin can put anything in the SPANK environment.
bool job_budget(const job_desc_msg_t* jd, const Config& cfg, uint32_t uid, char** err_msg, paracloud::Money* out) {
  *out = -1;
  const char* v = spank_option(jd, kBudgetOption);
  if (!v) return true;
  try {
    *out = paracloud::parse_amount(v, cfg.currency);
    return true;
  } catch (const Error& e) {
    reject(err_msg, SLURM_ERROR, uid,
           std::string("paracloud: --budget=") + v + " is not an amount of " + cfg.currency.code + " (" + e.what() +
               ") - give the most the job may cost in " + cfg.currency.code + ", e.g. --budget=50");
    return false;
  }
}

// "paracloud: the job may cost up to X (worst case: ...), over its --budget=Y - ..."
std::string over_budget_message(const paracloud::SubmitResult& res, paracloud::Money budget, const Config& cfg) {
  return "paracloud: this job may cost up to " + paracloud::format_money(res.quote.total, cfg.currency) +
         " (worst case: " + paracloud::describe_quote(res.quote) + "), over its --budget=" +
         paracloud::format_amount(budget, cfg.currency) +
         " - ask for less time (--time) or fewer resources, or raise --budget";
}

// Routing in a federation (see the file comment). `wc` is the job's worst case on this cluster's
// partition facts; `user_partition` whether the user named a partition.
int route_job(job_desc_msg_t* jd, uint32_t submit_uid, char** err_msg, State& st, const Config& cfg,
              const RouteSnapshot& snap, std::shared_ptr<paracloud::SnapshotLedger>& led,
              const std::string& user, uint32_t uid,
              paracloud::WorstCase wc, bool user_partition, const std::string& local_site, std::int64_t now) {
  paracloud::RouteOptions opt = snap.options;
  std::string policy_source = "RoutePolicy";
  if (const char* v = spank_option(jd, kRouteOption)) {
    try {
      opt.policy = paracloud::parse_route_policy(v);
    } catch (const Error& e) {
      return reject(err_msg, SLURM_ERROR, uid,
                    std::string("paracloud: --route=") + v + " is not a routing policy - use --route=cheapest, "
                                                          "--route=fastest or --route=balanced");
    }
    policy_source = "--route";
  }
  // The job's own limits go to the router: its --deadline (Slurm's parsed time, 0 when none) and
  // its --budget (spank/paracloud), so that a site that would end the job too late or cost too much
  // is excluded, with the reason, instead of being chosen.
  if (jd->deadline > 0) opt.deadline = static_cast<std::int64_t>(jd->deadline);
  if (!job_budget(jd, cfg, uid, err_msg, &opt.budget)) return SLURM_ERROR;
  paracloud::RouteRequest rr;
  rr.resources = wc.resources;
  rr.resources.site.clear();
  if (!user_partition || rr.resources.partition.find(',') != std::string::npos) rr.resources.partition.clear();
  try {
    rr.constraint = paracloud::parse_constraint(str(jd->features));
    rr.licenses = paracloud::parse_licenses(str(jd->licenses));
  } catch (const Error& e) {
    return reject(err_msg, SLURM_ERROR, uid,
                  std::string("paracloud: this job cannot be routed between sites: ") + e.what() +
                      (e.hint().empty() ? "" : " - " + e.hint()));
  }
  const std::int64_t unix_now = static_cast<std::int64_t>(::time(nullptr));
  paracloud::RouteDecision d;
  paracloud::route(snap.model, snap.aligned, rr, opt, unix_now, &d);

  const std::string local_cluster = str(slurm_conf.cluster_name);
  const std::vector<std::string> user_clusters = paracloud::split_list(str(jd->clusters));
  // A sibling's copy: the origin (uid 0 over the federation link) gave it a job id and the
  // viable-sibling bits. It accepts what the origin allowed; it never re-routes.
  const bool sibling = submit_uid == 0 && jd->job_id != NO_VAL && jd->job_id != 0 && jd->fed_siblings_viable != 0;
  paracloud::FedRouteInfo info;
  info.decided_on = local_cluster;
  info.policy_source = policy_source;
  const paracloud::RouteCandidate* local = nullptr;  // this site's candidate, if feasible here
  for (const auto& c : d.ranked)
    if (c.site == local_site) local = &c;
  const paracloud::RouteCandidate* priced = nullptr;  // the candidate whose price is quoted
  paracloud::FedChoice choice;
  if (sibling) {
    info.rederived = true;
    info.origin = fed_cluster_name(jd->job_id >> 26);  // FED_MGR_CLUSTER_ID_BEGIN
    for (uint32_t bit = 0; bit < 64; ++bit)
      if (jd->fed_siblings_viable & (uint64_t{1} << bit)) info.clusters.push_back(fed_cluster_name(bit + 1));
    priced = local;
  } else {
    choice = paracloud::choose_clusters(d, user_clusters);
    if (choice.empty())
      return reject(err_msg, ESLURM_FED_NO_VALID_CLUSTERS, uid,
                    paracloud::no_site_message(d, cfg.currency, user_clusters));
    info.origin = local_cluster;
    info.clusters = paracloud::split_list(choice.clusters);
    priced = &d.ranked[choice.dearest];
  }

  // Quote: the dearest chosen site (origin), or this site (sibling: the run happens here).
  if (priced) {
    wc.resources.site = priced->site;
    wc.resources.partition = priced->partition;
  } else {
    wc.resources.site = local_site;  // a sibling whose own view finds itself infeasible
  }
  paracloud::SubmitCheck check{user, str(jd->account), wc.resources, wc.time_source};
  paracloud::SubmitResult res = check_on_copy(st, cfg, led, check, now);
  if (res.verdict != paracloud::Verdict::ok) return reject(err_msg, slurm_code(res.verdict), uid, res.message);

  bool runs_here = sibling || std::find(info.clusters.begin(), info.clusters.end(), local_cluster) != info.clusters.end();
  if (!sibling) replace_str(&jd->clusters, choice.clusters);
  if (runs_here && !user_partition && local) replace_str(&jd->partition, local->partition);
  if (!runs_here && jd->features) slurm_xfree(reinterpret_cast<void**>(&jd->features));  // tracker copy
  nlohmann::json record = paracloud::route_record(d, cfg.currency, info, user_clusters);
  replace_str(&jd->admin_comment, paracloud::set_route_tag(str(jd->admin_comment), record));
  if (sibling)
    slurm_info("%s: uid %u: sibling copy of JobId=%u from %s, allowed %s: accepted (partition %s); re-derived "
               "route %s -> %s agrees: %s",
               plugin_type, uid, jd->job_id, info.origin.c_str(), record["clusters"].dump().c_str(),
               local ? local->partition.c_str() : "as requested", paracloud::to_string(d.policy),
               paracloud::choose_clusters(d, user_clusters).clusters.c_str(),
               record.value("agrees", false) ? "yes" : "no");
  else
    slurm_info("%s: uid %u: route %s (%s) -> %s, quote %s at %s", plugin_type, uid, paracloud::to_string(d.policy),
               policy_source.c_str(), choice.clusters.c_str(),
               paracloud::format_money(res.quote.total, cfg.currency).c_str(), wc.resources.site.c_str());
  return accept(jd, res, cfg, uid, wc.set_time_limit_min);
}

int check_job(job_desc_msg_t* jd, uint32_t submit_uid, char** err_msg, std::int64_t now) {
  State& st = *g_state;
  std::unique_lock<std::mutex> lk(st.mu);
  maybe_reload(st, now);
  std::shared_ptr<const Config> cfg = st.cfg;

  uint32_t uid = (jd->user_id != NO_VAL) ? jd->user_id : submit_uid;
  std::string user = user_name(st, uid, now);
  if (user.empty())
    return reject(err_msg, SLURM_ERROR, uid,
                  "paracloud: uid " + std::to_string(uid) +
                      " has no user name on the controller - ask your operator to make the user known "
                      "to slurmctld's host (passwd/LDAP)");
  std::string why;
  std::shared_ptr<paracloud::SnapshotLedger> led = ledger(st, now, &why);
  if (!led)  // fail closed, at once: never wait for the database under slurmctld's job write lock
    return reject(err_msg, SLURM_ERROR, uid,
                  "paracloud: the ledger is unavailable, retry in a minute (" + why +
                      ") - if it persists, ask your operator to check LedgerPath in " + st.conf_path);

  paracloud::JobRequest req = to_request(jd);
  std::shared_ptr<const PartitionTable> parts = partitions();
  std::vector<std::string> names = split_commas(str(jd->partition));
  if (names.empty()) {
    if (&default_part_name != nullptr && default_part_name && *default_part_name)
      names.push_back(default_part_name);
    else if (parts && !parts->default_name.empty())
      names.push_back(parts->default_name);
    else
      return reject(err_msg, ESLURM_DEFAULT_PARTITION_NOT_SET, uid,
                    "paracloud: the job names no partition and the default partition is not known yet "
                    "(slurmctld is starting) - give --partition, or submit again in a few seconds");
  }
  const std::string site = site_name(*cfg);

  if (!jd->array_inx && federated()) {  // Slurm keeps job arrays on their origin: not routed
    if (std::shared_ptr<const RouteSnapshot> snap = route_snapshot(cfg)) {
      PartitionFacts facts;
      facts.name = names[0];
      if (parts) {
        auto it = parts->by_name.find(names[0]);
        if (it != parts->by_name.end()) facts = it->second;
      } else {
        set_default_mem(facts, slurm_conf.def_mem_per_cpu);
      }
      req.partition = str(jd->partition).empty() ? names[0] : str(jd->partition);
      paracloud::WorstCase wc;
      try {
        wc = paracloud::worst_case(req, facts, cfg->default_time_limit);
      } catch (const Error& e) {
        return reject(err_msg, SLURM_ERROR, uid,
                      std::string("paracloud: cannot price the request: ") + e.what() +
                          (e.hint().empty() ? "" : " - " + e.hint()));
      }
      return route_job(jd, submit_uid, err_msg, st, *cfg, *snap, led, user, uid, wc,
                       jd->partition && *jd->partition, site, now);
    }
  }

  paracloud::Money budget = -1;
  if (!job_budget(jd, *cfg, uid, err_msg, &budget)) return SLURM_ERROR;
  paracloud::SubmitResult best;
  bool have_best = false;
  std::int64_t set_limit = 0;  // the longest limit one of the partitions was priced for, if Slurm's would be UNLIMITED
  for (const std::string& name : names) {
    PartitionFacts facts;
    facts.name = name;
    if (parts) {
      auto it = parts->by_name.find(name);
      if (it != parts->by_name.end()) facts = it->second;
    } else {
      set_default_mem(facts, slurm_conf.def_mem_per_cpu);
    }
    req.partition = name;
    paracloud::WorstCase wc;
    try {
      wc = paracloud::worst_case(req, facts, cfg->default_time_limit);
    } catch (const Error& e) {
      return reject(err_msg, SLURM_ERROR, uid,
                    std::string("paracloud: cannot price the request: ") + e.what() +
                        (e.hint().empty() ? "" : " - " + e.hint()));
    }
    wc.resources.site = site;
    paracloud::SubmitCheck check{user, str(jd->account), wc.resources, wc.time_source};
    paracloud::SubmitResult res = check_on_copy(st, *cfg, led, check, now);
    if (res.verdict != paracloud::Verdict::ok) return reject(err_msg, slurm_code(res.verdict), uid, res.message);
    if (!have_best || res.quote.total > best.quote.total) best = std::move(res);
    have_best = true;
    set_limit = std::max(set_limit, wc.set_time_limit_min);
  }

  if (budget >= 0 && best.quote.total > budget)
    return reject(err_msg, ESLURM_ACCOUNTING_POLICY, uid, over_budget_message(best, budget, *cfg));
  return accept(jd, best, *cfg, uid, set_limit);
}

}  // namespace

extern "C" int init(void) {
  try {
    auto* st = new State;
    st->conf_path = config_path();
    try {
      st->cfg = std::make_shared<const Config>(paracloud::load_config(st->conf_path));
    } catch (const std::exception& e) {
      slurm_error("%s: cannot start: %s (fix paracloud.conf, or set PARACLOUD_CONF to the right file)",
                  plugin_type, e.what());
      delete st;
      return SLURM_ERROR;
    }
    stat(st->conf_path.c_str(), &st->conf_stat);
    st->last_check_ns = now_ns();
    st->mirror = std::make_unique<paracloud::LedgerMirror>(open_for_mirror, mirror_source(*st->cfg),
                                                           mirror_options(*st->cfg));
    st->mirror->wait_first(2 * kSecond);  // the first copy before the first job, unless the ledger is slow
    {
      std::string why;
      if (!st->mirror->current(now_ns(), &why))
        slurm_error("%s: %s; jobs are rejected (\"retry\") until a copy is made", plugin_type, why.c_str());
    }
    g_state = st;
    if (const char* t = getenv("PARACLOUD_JOB_SUBMIT_TIMING"); t && *t)
      g_timing.log_every = std::strtoull(t, nullptr, 10);
    g_shared = new Shared;
    g_shared->thread = std::thread(partition_thread);
    refresh_routes();  // the first snapshot now: jobs may arrive before the thread's first round
    g_shared->route_thread = std::thread(route_thread);
    slurm_info("%s: loaded %s (site %s, ledger %s)", plugin_type, st->conf_path.c_str(),
               site_name(*st->cfg).c_str(), st->cfg->ledger_path.c_str());
    return SLURM_SUCCESS;
  } catch (const std::exception& e) {
    slurm_error("%s: init: %s", plugin_type, e.what());
    return SLURM_ERROR;
  }
}

extern "C" int fini(void) {
  if (g_shared) {
    {
      std::lock_guard<std::mutex> lk(g_shared->thread_mu);
      g_shared->stop = true;
    }
    g_shared->thread_cv.notify_all();
    if (g_shared->thread.joinable()) g_shared->thread.join();
    if (g_shared->route_thread.joinable()) g_shared->route_thread.join();
    delete g_shared;
    g_shared = nullptr;
  }
  log_latency();
  delete g_state;
  g_state = nullptr;
  return SLURM_SUCCESS;
}

extern "C" int job_submit(job_desc_msg_t* job_desc, uint32_t submit_uid, char** err_msg) {
  if (!g_state || !job_desc) return SLURM_SUCCESS;
  std::int64_t t0 = now_ns();
  int rc;
  try {
    rc = check_job(job_desc, submit_uid, err_msg, t0);
  } catch (const std::exception& e) {
    slurm_error("%s: checking a job of uid %u: %s", plugin_type, job_desc->user_id, e.what());
    set_err(err_msg, std::string("paracloud: the job could not be checked (") + e.what() +
                         ") - try again, and tell your operator if it persists");
    rc = SLURM_ERROR;
  } catch (...) {
    set_err(err_msg, "paracloud: the job could not be checked - tell your operator");
    rc = SLURM_ERROR;
  }
  record_latency(now_ns() - t0);
  if (g_timing.log_every && g_timing.calls.load(std::memory_order_relaxed) % g_timing.log_every == 0)
    log_latency();
  return rc;
}

// Updates (scontrol update job ...) are not re-quoted: the job record holds the resources and is
// opaque here (public headers only); the hold placed at job start prices the final limits.
// Two updates are checked (issue 16 items 2 and 3), for everyone including operators:
//   Account=X   : the job's owner (job_desc->user_id: slurmctld fills it in from the job before
//                 calling here) must be a member of ledger account X - else the hold and the
//                 charge would land on somebody else's account;
//   TimeLimit=UNLIMITED : refused - a run without a limit has no bounded cost.
// Both are answered from the ledger copy (never a database round trip); without a usable copy an
// account change is refused with "retry".
// Slurm 22.05 calls job_modify with THREE arguments (job_submit.c: ops.modify(job_desc, job_ptr,
// submit_uid)): there is no err_msg to write to, so the user sees only the error code's text
// (scontrol: "Invalid account or account/partition combination specified") and the reason is in
// slurmctld's log. (An err_msg parameter here would be whatever the caller left in a register.)
extern "C" int job_modify(job_desc_msg_t* job_desc, job_record_t* job_ptr, uint32_t submit_uid) {
  (void)job_ptr;
  if (!g_state || !job_desc) return SLURM_SUCCESS;
  char** err_msg = nullptr;  // reject() then only logs
  try {
    const uint32_t owner = job_desc->user_id != NO_VAL ? job_desc->user_id : submit_uid;
    if (job_desc->time_limit == INFINITE)
      return reject(err_msg, ESLURM_INVALID_TIME_LIMIT, owner,
                    "paracloud: a job cannot be given an UNLIMITED time limit (its cost would have no bound) - "
                    "give a limit such as TimeLimit=2:00:00");
    if (!job_desc->account) return SLURM_SUCCESS;
    State& st = *g_state;
    std::lock_guard<std::mutex> lk(st.mu);
    const std::int64_t now = now_ns();
    std::string user = user_name(st, owner, now);
    if (user.empty())
      return reject(err_msg, ESLURM_INVALID_ACCOUNT, owner,
                    "paracloud: uid " + std::to_string(owner) + " has no user name on the controller - ask your "
                    "operator to make the user known to slurmctld's host (passwd/LDAP)");
    std::string why;
    std::shared_ptr<paracloud::SnapshotLedger> led = ledger(st, now, &why);
    if (!led)
      return reject(err_msg, SLURM_ERROR, owner,
                    "paracloud: the ledger is unavailable, retry in a minute (" + why + ")");
    paracloud::SubmitResult r = paracloud::check_account_change(*led, user, job_desc->account);
    if (r.verdict != paracloud::Verdict::ok) {
      if (std::shared_ptr<paracloud::SnapshotLedger> newer = st.mirror->fresher(now, &why); newer && newer != led)
        r = paracloud::check_account_change(*newer, user, job_desc->account);
    }
    if (r.verdict != paracloud::Verdict::ok) return reject(err_msg, slurm_code(r.verdict), owner, r.message);
    return SLURM_SUCCESS;
  } catch (const std::exception& e) {
    slurm_error("%s: checking an update of uid %u's job: %s", plugin_type, job_desc->user_id, e.what());
    set_err(err_msg, std::string("paracloud: the update could not be checked (") + e.what() + ") - try again");
    return SLURM_ERROR;
  }
}

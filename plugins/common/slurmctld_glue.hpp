// Shared by prep/paracloud and jobcomp/paracloud: job_record_t -> JobFacts, paracloud.conf and ledger access with reload, for code inside slurmctld.
// Include after Slurm's internal headers (src/slurmctld/slurmctld.h) and the core headers.
#pragma once
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "common/error.hpp"
#include "routing/fed_route.hpp"
#include "ledger/ledger.hpp"
#include "billing/record.hpp"

namespace paracloud::slurm {

// The end state of a run as the accounting record names it. Requeue and revoke are state flags
// in Slurm; the base state of a finished job is COMPLETED, FAILED, CANCELLED, TIMEOUT, NODE_FAIL...
inline std::string run_state(uint32_t job_state) {
  if (job_state & JOB_REVOKED) return "REVOKED";
  if (job_state & (JOB_REQUEUE | JOB_REQUEUE_HOLD | JOB_SPECIAL_EXIT)) return "REQUEUED";
  return job_state_string(job_state & JOB_STATE_BASE);
}

inline std::string str(const char* s) { return s ? s : ""; }

// Copies what accounting needs out of a job record. Caller holds the job read (or write) lock.
// Allocated TRES come from tres_alloc_cnt (cpu, mem, node) and tres_fmt_alloc_str (gres).
inline JobFacts job_facts(const job_record_t* job) {
  JobFacts f;
  f.cluster = str(slurm_conf.cluster_name);
  f.job_id = job->job_id;
  f.array_job_id = job->array_job_id;
  f.array_task_id = (job->array_job_id && job->array_task_id != NO_VAL) ? static_cast<int64_t>(job->array_task_id) : -1;
  f.het_job_id = job->het_job_id;
  f.het_job_offset = job->het_job_id ? job->het_job_offset : 0;
  f.uid = job->user_id;
  f.user = str(job->user_name);
  f.account = str(job->account);
  f.partition = job->part_ptr && job->part_ptr->name ? job->part_ptr->name : str(job->partition);
  f.qos = job->qos_ptr && job->qos_ptr->name ? job->qos_ptr->name : "";
  f.submit = job->details ? job->details->submit_time : 0;
  // A pending job's start_time is the scheduler's estimate (and cancel sets it to now): a run
  // without allocated nodes never started.
  f.start = (job->nodes && *job->nodes) ? job->start_time : 0;
  f.end = job->end_time;
  f.suspended = job->tot_sus_time;
  f.time_limit = (job->time_limit == NO_VAL || job->time_limit == INFINITE) ? 0 : int64_t(job->time_limit) * 60;
  f.state = run_state(job->job_state);
  f.exit_code = job->exit_code;
  if (job->tres_fmt_alloc_str && *job->tres_fmt_alloc_str) {
    try {
      parse_tres(job->tres_fmt_alloc_str, f);
    } catch (const Error& e) {
      error("paracloud: %pJ: allocated TRES '%s' unreadable: %s", job, job->tres_fmt_alloc_str, e.what());
    }
  }
  if (job->tres_alloc_cnt) {
    auto cnt = [&](int i) -> int64_t {
      uint64_t v = job->tres_alloc_cnt[i];
      return (v == NO_VAL64 || v == INFINITE64) ? 0 : static_cast<int64_t>(v);
    };
    if (cnt(TRES_ARRAY_CPU)) f.cpus = cnt(TRES_ARRAY_CPU);
    if (cnt(TRES_ARRAY_MEM)) f.mem_mb = cnt(TRES_ARRAY_MEM);
    if (cnt(TRES_ARRAY_NODE)) f.nodes = cnt(TRES_ARRAY_NODE);
  }
  if (!f.cpus) f.cpus = job->total_cpus;
  if (!f.nodes) f.nodes = job->node_cnt;
  f.nodelist = str(job->nodes);
  f.launched = !(job->details && job->details->prolog_running);
  f.work_dir = job->details ? str(job->details->work_dir) : "";
  f.route = route_tag_text(str(job->admin_comment));  // job_submit/paracloud's decision (fed_route.hpp)
  // The user's --budget (spank/paracloud), as job_submit/paracloud accepted it.
  static constexpr char kBudget[] = "_SLURM_SPANK_OPTION_paracloud_budget=";
  for (uint32_t i = 0; job->spank_job_env && i < job->spank_job_env_size; ++i)
    if (const char* e = job->spank_job_env[i]; e && std::strncmp(e, kBudget, sizeof kBudget - 1) == 0)
      f.budget = e + sizeof kBudget - 1;
  return f;
}

// Fills in the login name when Slurm had none (outside the job lock: getpwuid may block).
inline void resolve_user(JobFacts& f) {
  if (!f.user.empty()) return;
  struct passwd pw, *res = nullptr;
  char buf[4096];
  if (getpwuid_r(f.uid, &pw, buf, sizeof buf, &res) == 0 && res) f.user = res->pw_name;
  else f.user = std::to_string(f.uid);
}

// paracloud.conf beside slurm.conf (or $PARACLOUD_CONF), loaded on first use and reloaded when
// the file changes. A broken edit keeps the last good configuration in force (and says so);
// with no good configuration at all, get() throws the parse error. Not thread-safe: one user.
class ConfigCache {
 public:
  explicit ConfigCache(const char* who) : who_(who) {}

  static std::string path() {
    if (const char* p = getenv("PARACLOUD_CONF"); p && *p) return p;
    if (slurm_conf.slurm_conf && *slurm_conf.slurm_conf) {
      std::string s = slurm_conf.slurm_conf;
      auto slash = s.rfind('/');
      return (slash == std::string::npos ? std::string(".") : s.substr(0, slash)) + "/paracloud.conf";
    }
    return default_config_path();
  }

  const Config& get() {
    std::string p = path();
    struct stat st {};
    bool exists = ::stat(p.c_str(), &st) == 0;
    std::string stamp = exists ? std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "/" +
                                     std::to_string(st.st_size) + "/" + std::to_string(st.st_ino)
                               : "missing";
    if (cfg_ && stamp == stamp_ && p == path_) return *cfg_;
    if (!cfg_ || stamp != failed_stamp_ || p != path_) {
      try {
        auto c = std::make_unique<Config>(load_config(p));
        if (cfg_) info("%s: reloaded %s", who_, p.c_str());
        else info("%s: loaded %s (site %s, ledger %s, accounting log %s)", who_, p.c_str(),
                  c->cluster_name.c_str(), c->ledger_path.c_str(), c->accounting_log.c_str());
        cfg_ = std::move(c);
        stamp_ = stamp;
        path_ = p;
        failed_stamp_.clear();
        last_error_.clear();
        return *cfg_;
      } catch (const Error& e) {
        last_error_ = std::string(e.what()) + (e.hint().empty() ? "" : " (" + e.hint() + ")");
        failed_stamp_ = stamp;
        path_ = p;
        if (cfg_) error("%s: %s is invalid, keeping the previous configuration: %s", who_, p.c_str(), last_error_.c_str());
        else error("%s: cannot use %s: %s", who_, p.c_str(), last_error_.c_str());
      }
    }
    if (cfg_) return *cfg_;
    throw Error(Errc::config, last_error_);
  }

  // The ledger named by the current configuration, (re)opened when LedgerPath changes.
  Ledger& ledger() {
    const Config& c = get();
    if (!ledger_ || ledger_path_ != c.ledger_path) {
      ledger_.reset();
      LedgerOptions o;
      o.password_file = c.get("LedgerPassFile");  // MariaDB ledgers (LedgerPath=mysql://...)
      ledger_ = open_ledger(c.ledger_path, o);
      ledger_path_ = c.ledger_path;
    }
    return *ledger_;
  }
  // Drops the ledger connection (after a storage error) so the next use reopens it.
  void reset_ledger() { ledger_.reset(); }

 private:
  const char* who_;
  std::unique_ptr<Config> cfg_;
  std::string stamp_, failed_stamp_, path_, last_error_;
  std::unique_ptr<Ledger> ledger_;
  std::string ledger_path_;
};

}  // namespace paracloud::slurm

// jobcomp/paracloud: at each job end, spools the run's facts durably; a worker charges the actual cost (releasing the hold), refunds per RefundPolicy and appends one record to AccountingLog.
//
// jobcomp_p_log_record() runs under slurmctld's job write lock. Its only I/O is one JSON line
// appended to SpoolDir/jobcomp.spool (a write(), no fdatasync: issue 16 item 4): after that the
// run is never lost, even to kill -9 of slurmctld; the worker fdatasyncs the spool before it
// settles anything, so only a power cut in between can lose a completion. The worker thread
// settles spooled runs in order (settle_run(): idempotent ledger keys;
// the record is written after the charge and looked for before writing again on replay) and
// advances SpoolDir/jobcomp.done. On start it replays whatever the previous process left.
// When the ledger or paracloud.conf is unusable, runs wait in the spool and are retried.
#include <pthread.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

extern "C" {
#include "config.h"  // Slurm's configured config.h (the plugin's include path puts it first)
#include "src/common/log.h"
#include "src/common/run_in_daemon.h"
#include "src/common/slurm_jobcomp.h"
#include "src/slurmctld/slurmctld.h"
}

#include "common/bounded_child.hpp"
#include "common/error.hpp"
#include "billing/settle.hpp"
#include "billing/spool.hpp"
#include "../../common/slurmctld_glue.hpp"

extern "C" const char plugin_name[] = "paracloud settlement at job completion";
extern "C" const char plugin_type[] = "jobcomp/paracloud";
extern "C" const uint32_t plugin_version = SLURM_VERSION_NUMBER;

namespace {

using namespace paracloud;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kMemoryCap = 10000;       // runs kept in memory only while the spool fails
constexpr auto kRetry = std::chrono::seconds(5);  // ledger/config unusable: try again after
constexpr auto kFlushOnStop = std::chrono::seconds(5);

struct Queued {
  Spool* spool;           // nullptr: from the memory fallback
  std::uint64_t end = 0;  // spool offset just past the entry
};

struct State {
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::uint64_t signals = 0;
  bool running = false;
  pthread_t thread{};
  // spools[0] receives new runs; older ones (a fallback spool of an earlier start) are drained.
  std::vector<std::unique_ptr<Spool>> spools;
  std::vector<std::uint64_t> read_at, replay_end;
  std::deque<JobFacts> memory;      // only when appending to the spool failed
  std::uint64_t dropped = 0;        // runs lost: spool failing and memory full (should stay 0)
  std::uint64_t settled = 0;
  std::string last_error;
  slurm::ConfigCache config{plugin_type};
};
State* g = nullptr;

enum class Result { done, retry };

constexpr auto kProfileTimeout = std::chrono::seconds(5);  // one run's profile lookup

// A run's profile summary, looked up in a child process that is killed after kProfileTimeout (as
// the job's user when slurmctld runs as root): ProfileDir and WorkDir are paths users control (a
// hung NFS or FUSE mount, a FIFO, a symlink), and neither the worker nor fini may wait on them.
nlohmann::json read_profile_bounded(const std::vector<std::string>& dirs, const JobFacts& f, std::string* why) {
  if (dirs.empty()) return find_run_profile(dirs, f, why);  // nothing to read
  BoundedChild opt;
  opt.timeout = kProfileTimeout;
  opt.name = "pc-profile-read";
  if (::geteuid() == 0 && f.uid != 0) {
    opt.as_user = true;
    opt.uid = f.uid;
    opt.gid = 65534;  // nogroup, when the user has no passwd entry
    struct passwd pw, *res = nullptr;
    char buf[4096];
    if (getpwuid_r(f.uid, &pw, buf, sizeof buf, &res) == 0 && res) opt.gid = res->pw_gid;
  }
  std::string err;
  auto text = run_bounded(
      [&] {
        std::string w;
        nlohmann::json p = find_run_profile(dirs, f, &w);
        return nlohmann::json{{"profile", std::move(p)}, {"why", w}}.dump(
            -1, ' ', false, nlohmann::json::error_handler_t::replace);
      },
      opt, &err);
  std::string where;
  for (const std::string& d : dirs) where += (where.empty() ? "" : ", ") + d;
  if (!text) {
    *why = "looking for profiles in " + where + ": " + err;
    return nullptr;
  }
  try {
    nlohmann::json j = nlohmann::json::parse(*text);
    *why = j.at("why").get<std::string>();
    return j.at("profile");
  } catch (const std::exception& e) {
    *why = std::string("looking for profiles: unreadable answer: ") + e.what();
    return nullptr;
  }
}

Result process(JobFacts f, bool replay) {
  slurm::resolve_user(f);
  const Config* cfg = nullptr;
  try {
    cfg = &g->config.get();
    SettleOutcome o = settle_run(*cfg, g->config.ledger(), f, replay, read_profile_bounded);
    ++g->settled;
    const AccountingRecord& r = o.record;
    info("%s: JobId=%u %s: cost %s, refund %s, account %s%s%s", plugin_type, f.job_id, f.state.c_str(),
         format_money(r.cost, cfg->currency).c_str(), format_money(r.refund, cfg->currency).c_str(),
         r.ledger_account.empty() ? "-" : r.ledger_account.c_str(), o.ledger_replayed ? " [ledger replay]" : "",
         o.record_written ? "" : " [record already written]");
    g->last_error.clear();
    return Result::done;
  } catch (const Error& e) {
    std::string what = std::string(e.what()) + (e.hint().empty() ? "" : " (" + e.hint() + ")");
    if (e.code() == Errc::storage || e.code() == Errc::config || !cfg) {
      if (e.code() == Errc::storage) g->config.reset_ledger();
      if (what != g->last_error)
        error("%s: JobId=%u not settled yet, will retry every %lld s: %s", plugin_type, f.job_id,
              static_cast<long long>(kRetry.count()), what.c_str());
      g->last_error = what;
      return Result::retry;
    }
    error("%s: JobId=%u NOT CHARGED: %s", plugin_type, f.job_id, what.c_str());
    try {
      record_unsettled(*cfg, f, what, replay, read_profile_bounded);
    } catch (const Error& e2) {
      error("%s: JobId=%u: cannot write its record: %s", plugin_type, f.job_id, e2.what());
      return Result::retry;
    }
    return Result::done;
  } catch (const std::exception& e) {
    error("%s: JobId=%u not settled (internal error, will retry): %s", plugin_type, f.job_id, e.what());
    return Result::retry;
  }
}

// Settles everything pending; returns false when blocked (retry later).
bool drain(Clock::time_point deadline, bool stopping) {
  {
    std::string err;  // durable before anything is charged for it (the callback only write()s)
    if (!g->spools[0]->flush(&err)) error("%s: %s", plugin_type, err.c_str());
  }
  for (std::size_t k = g->spools.size(); k-- > 0;) {  // older spools first, then the live one
    Spool& sp = *g->spools[k];
    for (;;) {
      if (stopping && Clock::now() > deadline) return false;
      auto items = sp.pending(g->read_at[k], 64);
      if (items.empty()) break;
      for (const auto& it : items) {
        JobFacts f;
        bool ok = true;
        try {
          from_json(nlohmann::json::parse(it.line), f);
        } catch (const std::exception& e) {
          error("%s: %s: skipping unreadable entry ending at byte %llu: %s", plugin_type, sp.path().c_str(),
                static_cast<unsigned long long>(it.end), e.what());
          ok = false;
        }
        if (ok && process(f, it.end <= g->replay_end[k]) == Result::retry) return false;
        try {
          sp.mark_done(it.end);
        } catch (const Error& e) {
          error("%s: %s", plugin_type, e.what());  // replay on restart is harmless (idempotent)
        }
        g->read_at[k] = it.end;
      }
    }
  }
  for (;;) {
    JobFacts f;
    {
      std::lock_guard<std::mutex> lock(g->mu);
      if (g->memory.empty()) break;
      f = g->memory.front();
    }
    if (process(f, true) == Result::retry) return false;
    std::lock_guard<std::mutex> lock(g->mu);
    g->memory.pop_front();
  }
  try {
    if (g->spools[0]->compact()) g->read_at[0] = g->replay_end[0] = 0;
  } catch (const Error& e) {
    error("%s: %s", plugin_type, e.what());
  }
  return true;
}

// drain(), but no exception leaves the worker thread (one escaping would terminate slurmctld):
// bad_alloc while reading a long spool, or anything else, is logged and retried after kRetry.
bool drain_guarded(Clock::time_point deadline, bool stopping) {
  std::string what;
  try {
    return drain(deadline, stopping);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "unknown exception";
  }
  try {
    if (what != g->last_error)
      error("%s: settling interrupted, will retry every %lld s: %s", plugin_type,
            static_cast<long long>(kRetry.count()), what.c_str());
    g->last_error = what;
  } catch (...) {  // not even memory for the message
  }
  return false;
}

void* worker(void*) {
  std::uint64_t seen = 0;
  for (;;) {
    bool stopping;
    {
      std::lock_guard<std::mutex> lock(g->mu);
      stopping = g->stop;
      seen = g->signals;
    }
    bool clean = drain_guarded(Clock::now() + kFlushOnStop, stopping);
    if (stopping) break;
    std::unique_lock<std::mutex> lock(g->mu);
    g->cv.wait_for(lock, clean ? std::chrono::seconds(60) : kRetry,
                   [&] { return g->stop || (clean && g->signals != seen); });
  }
  return nullptr;
}

// SpoolDir from paracloud.conf (created if its parent exists); StateSaveLocation when the file is
// unusable, so that no completion is lost while the administrator fixes it.
std::string choose_spool_dir(std::string* fallback) {
  *fallback = slurm::str(slurm_conf.state_save_location);
  try {
    std::string dir = g->config.get().spool_dir;
    if (!dir.empty()) {
      ::mkdir(dir.c_str(), 0700);
      struct stat st {};
      if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && ::access(dir.c_str(), W_OK) == 0) return dir;
      error("%s: SpoolDir %s is not a writable directory; spooling in StateSaveLocation %s instead", plugin_type,
            dir.c_str(), fallback->c_str());
    }
  } catch (const std::exception&) {
    error("%s: paracloud.conf unusable: spooling completions in StateSaveLocation %s until it is fixed", plugin_type,
          fallback->c_str());
  }
  return *fallback;
}

}  // namespace

extern "C" {

int init(void) {
  if (!running_in_slurmctld()) return SLURM_SUCCESS;  // sacct and other tools load jobcomp too
  if (g) return SLURM_SUCCESS;
  g = new State;
  try {
    std::string fallback_dir;
    std::string dir = choose_spool_dir(&fallback_dir);
    bool primary_is_fallback = dir == fallback_dir;
    g->spools.push_back(std::make_unique<Spool>(dir, primary_is_fallback ? "paracloud-jobcomp" : "jobcomp"));
    if (!primary_is_fallback && !fallback_dir.empty()) {
      struct stat st {};
      std::string old = fallback_dir + "/paracloud-jobcomp.spool";
      if (::stat(old.c_str(), &st) == 0 && st.st_size > 0)
        g->spools.push_back(std::make_unique<Spool>(fallback_dir, "paracloud-jobcomp"));
    }
    for (auto& sp : g->spools) {
      g->read_at.push_back(sp->done_offset());
      struct stat st {};
      g->replay_end.push_back(::stat(sp->path().c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0);
      if (g->replay_end.back() > g->read_at.back())
        info("%s: replaying %llu bytes of completions left in %s", plugin_type,
             static_cast<unsigned long long>(g->replay_end.back() - g->read_at.back()), sp->path().c_str());
    }
  } catch (const std::exception& e) {
    error("%s: cannot open its spool: %s", plugin_type, e.what());
    delete g;
    g = nullptr;
    return SLURM_ERROR;
  }
  if (pthread_create(&g->thread, nullptr, worker, nullptr) != 0) {
    error("%s: cannot start its worker thread", plugin_type);
    return SLURM_ERROR;
  }
  g->running = true;
  verbose("%s: spooling in %s", plugin_type, g->spools[0]->path().c_str());
  return SLURM_SUCCESS;
}

int fini(void) {
  if (!g) return SLURM_SUCCESS;
  {
    std::lock_guard<std::mutex> lock(g->mu);
    g->stop = true;
  }
  g->cv.notify_all();
  if (g->running) pthread_join(g->thread, nullptr);
  if (g->dropped)
    error("%s: %llu completions were lost (spool unwritable and memory queue full)", plugin_type,
          static_cast<unsigned long long>(g->dropped));
  if (!g->memory.empty())
    error("%s: %zu completions held only in memory were not settled (spool unwritable)", plugin_type, g->memory.size());
  delete g;  // fini is followed by dlclose: leave nothing behind
  g = nullptr;
  return SLURM_SUCCESS;
}

int jobcomp_p_set_location(char*) { return SLURM_SUCCESS; }  // JobCompLoc is not used: see paracloud.conf

// Under the job write lock: copy, append one line, signal. Nothing else.
int jobcomp_p_log_record(job_record_t* job) {
  if (!g) return SLURM_SUCCESS;
  if (job->job_state & JOB_REVOKED) return SLURM_SUCCESS;  // sibling copy: the cluster that ran it settles
  try {
    JobFacts f = slurm::job_facts(job);
    std::string line = nlohmann::json(f).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string err;
    if (!g->spools[0]->append(line, &err, /*durable=*/false)) {  // the worker fdatasyncs
      std::lock_guard<std::mutex> lock(g->mu);
      if (g->memory.size() < kMemoryCap) {
        g->memory.push_back(std::move(f));
        error("%s: %pJ: %s; kept in memory only (%zu queued)", plugin_type, job, err.c_str(), g->memory.size());
      } else {
        ++g->dropped;
        error("%s: %pJ: COMPLETION LOST: %s and the memory queue is full (%llu lost so far)", plugin_type, job,
              err.c_str(), static_cast<unsigned long long>(g->dropped));
      }
    }
    {
      std::lock_guard<std::mutex> lock(g->mu);
      ++g->signals;
    }
    g->cv.notify_one();
  } catch (const std::exception& e) {
    error("%s: %pJ: completion not recorded: %s", plugin_type, job, e.what());
  }
  return SLURM_SUCCESS;
}

List jobcomp_p_get_jobs(slurmdb_job_cond_t*) { return nullptr; }

}  // extern "C"

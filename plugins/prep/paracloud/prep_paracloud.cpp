// prep/paracloud: at job start, holds the run's worst-case cost in the ledger off the controller's locks; holds the job with a clear reason when the account cannot cover it.
//
// prep_p_prolog_slurmctld() runs under slurmctld's job write lock: it only copies the facts and
// queues them (*async = true). One worker thread places the liens in order (so funds for 5 jobs
// admit exactly 5, however many start at once), then reports back through Slurm's prolog
// callback. A refused start: the job gets priority 0 (user hold) and a reason naming the amounts,
// and the callback reports a failed PrologSlurmctld, on which slurmctld requeues a batch job (it
// stays pending and held) and kills an interactive one (its srun/salloc is told why first).
#include <pthread.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>

extern "C" {
#include "config.h"  // Slurm's configured config.h (the plugin's include path puts it first)
#include "src/common/log.h"
#include "src/common/prep.h"
#include "src/common/run_in_daemon.h"
#include "src/common/xstring.h"
#include "src/slurmctld/locks.h"
#include "src/slurmctld/slurmctld.h"
#include "src/slurmctld/srun_comm.h"
}

#include "common/error.hpp"
#include "billing/settle.hpp"
#include "../../common/slurmctld_glue.hpp"

extern "C" const char plugin_name[] = "paracloud hold of funds at job start";
extern "C" const char plugin_type[] = "prep/paracloud";
extern "C" const uint32_t plugin_version = SLURM_VERSION_NUMBER;

namespace {

using namespace paracloud;

struct Request {
  JobFacts facts;
  bool batch = false;
};

// Heap-allocated and never destroyed: slurmctld exits without calling fini(), and a static
// destructor must not pull the queue from under a running worker.
struct State {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Request> queue;
  bool stop = false;
  bool running = false;
  pthread_t thread{};
  slurm::ConfigCache config{plugin_type};
  void (*prolog_callback)(int rc, uint32_t job_id, bool timed_out) = nullptr;
};
State* g = nullptr;

// Holds the job (user hold, so its owner can release it after depositing) and tells the user why;
// then reports the failed prolog so slurmctld requeues (batch) or kills (interactive) it.
void refuse(const Request& req, const std::string& reason) {
  slurmctld_lock_t job_write_lock = {NO_LOCK, WRITE_LOCK, NO_LOCK, NO_LOCK, NO_LOCK};
  lock_slurmctld(job_write_lock);
  job_record_t* job = find_job_record(req.facts.job_id);
  if (job && job->start_time == req.facts.start) {
    if (job->batch_flag) {
      job->priority = 0;
      job->state_reason = WAIT_HELD_USER;
      xfree(job->state_desc);
      job->state_desc = xstrdup(reason.c_str());
    } else {
      srun_user_message(job, const_cast<char*>(reason.c_str()));
    }
  }
  unlock_slurmctld(job_write_lock);
  g->prolog_callback(1 << 8, req.facts.job_id, false);
}

// Whether this run is over (or the job gone): then nobody will charge the hold just placed.
bool run_ended(const JobFacts& f) {
  slurmctld_lock_t job_read_lock = {NO_LOCK, READ_LOCK, NO_LOCK, NO_LOCK, NO_LOCK};
  lock_slurmctld(job_read_lock);
  job_record_t* job = find_job_record(f.job_id);
  bool ended = !job || job->start_time != f.start || IS_JOB_FINISHED(job) || IS_JOB_PENDING(job);
  unlock_slurmctld(job_read_lock);
  return ended;
}

void handle(Request& req) {
  slurm::resolve_user(req.facts);
  std::string reason;
  try {
    const Config& cfg = g->config.get();
    HoldOutcome h = place_hold(cfg, g->config.ledger(), req.facts);
    if (h.placed) {
      info("%s: JobId=%u: held %s on account %s (%s, until settled)%s", plugin_type, req.facts.job_id,
           format_money(h.amount, cfg.currency).c_str(), h.account.c_str(), h.key.c_str(),
           h.replayed ? " [already held]" : "");
      if (h.amount > 0 && !h.replayed && run_ended(req.facts)) {
        // Cancelled while we held: its completion was settled before the hold existed.
        try {
          g->config.ledger().release_lien(h.key, "release:" + h.key.substr(5), "run ended before its hold was placed");
          info("%s: JobId=%u ended while starting: hold released", plugin_type, req.facts.job_id);
        } catch (const Error& e) {
          if (e.code() != Errc::not_found) throw;  // not_found: completion already charged it
        }
      }
      g->prolog_callback(0, req.facts.job_id, false);
      return;
    }
    info("%s: JobId=%u refused: %s", plugin_type, req.facts.job_id, h.message.c_str());
    reason = h.message;
  } catch (const Error& e) {
    if (e.code() == Errc::storage) g->config.reset_ledger();
    reason = "paracloud: cannot hold funds for job " + std::to_string(req.facts.job_id) + ": " + e.what() +
             (e.hint().empty() ? "" : " (" + e.hint() + ")") + " - ask the administrator, then scontrol release " +
             std::to_string(req.facts.job_id);
    error("%s: JobId=%u not started: %s", plugin_type, req.facts.job_id, reason.c_str());
  } catch (const std::exception& e) {
    reason = std::string("paracloud: internal error while holding funds: ") + e.what();
    error("%s: JobId=%u not started: %s", plugin_type, req.facts.job_id, reason.c_str());
  }
  refuse(req, reason);
}

void* worker(void*) {
  std::unique_lock<std::mutex> lock(g->mu);
  for (;;) {
    g->cv.wait(lock, [] { return g->stop || !g->queue.empty(); });
    if (g->stop) break;  // queued starts are re-run by slurmctld after a restart (CONFIGURING jobs)
    Request req = std::move(g->queue.front());
    g->queue.pop_front();
    lock.unlock();
    handle(req);
    lock.lock();
  }
  return nullptr;
}

}  // namespace

extern "C" {

int init(void) {
  if (!running_in_slurmctld()) return SLURM_SUCCESS;  // also loaded by slurmd: nothing to do there
  if (!g) g = new State;
  try {
    g->config.get();  // says in the log now whether paracloud.conf is usable
  } catch (const std::exception&) {
    // logged by ConfigCache; every start is refused with the reason until the file is fixed
  }
  std::lock_guard<std::mutex> lock(g->mu);
  if (!g->running) {
    g->stop = false;
    if (pthread_create(&g->thread, nullptr, worker, nullptr) != 0) {
      error("%s: cannot start its worker thread", plugin_type);
      return SLURM_ERROR;
    }
    g->running = true;
  }
  verbose("%s: loaded", plugin_type);
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
  g->running = false;
  return SLURM_SUCCESS;
}

void prep_p_register_callbacks(prep_callbacks_t* callbacks) {
  if (g && callbacks) g->prolog_callback = callbacks->prolog_slurmctld;
}

int prep_p_prolog(job_env_t*, slurm_cred_t*) { return SLURM_SUCCESS; }
int prep_p_epilog(job_env_t*, slurm_cred_t*) { return SLURM_SUCCESS; }

// Under the job write lock: copy and queue, nothing else.
int prep_p_prolog_slurmctld(job_record_t* job, bool* async) {
  *async = false;
  if (!g || !g->prolog_callback) return SLURM_SUCCESS;
  try {
    Request req;
    req.facts = slurm::job_facts(job);
    req.facts.state = "RUNNING";
    req.facts.end = 0;
    req.batch = job->batch_flag != 0;
    {
      std::lock_guard<std::mutex> lock(g->mu);
      g->queue.push_back(std::move(req));
    }
    g->cv.notify_one();
    *async = true;
  } catch (const std::exception& e) {
    error("%s: %pJ: cannot queue its hold (%s); letting Slurm continue without it", plugin_type, job, e.what());
  }
  return SLURM_SUCCESS;
}

int prep_p_epilog_slurmctld(job_record_t*, bool* async) {
  *async = false;
  return SLURM_SUCCESS;
}

void prep_p_required(prep_call_type_t type, bool* required) {
  *required = (type == PREP_PROLOG_SLURMCTLD) && running_in_slurmctld() && g && g->prolog_callback;
}

}  // extern "C"

// Live state of partner sites (free/busy CPUs, queued work, reachability) as JSON files, and its
// staleness.
//
// `paracloud sites collect` queries each site's slurmctld off the submit path and writes one file
// per site, SiteStateDir/SITE.json, atomically (temporary file + rename). job_submit and the router
// only read these files: a read is a local open() of a small file, never a network call.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace paracloud {

constexpr int kSiteStateSchema = 1;  // "schema" of the JSON files; readers refuse a newer one

// One partition as the site's sinfo/squeue saw it. 0 means none (or unknown).
struct PartitionState {
  std::string name;
  std::int64_t cpus_total = 0;     // CPUs of nodes that can run jobs (sinfo %C total minus "other")
  std::int64_t cpus_idle = 0;      // free CPUs
  std::int64_t cpus_alloc = 0;     // busy CPUs
  std::int64_t cpus_other = 0;     // CPUs of down, drained or failed nodes (not in cpus_total)
  std::int64_t nodes_total = 0;    // nodes in the partition
  std::int64_t cpus_per_node = 0;  // CPUs of its largest node
  std::int64_t running_jobs = 0;
  std::int64_t pending_jobs = 0;
  std::int64_t pending_cpus = 0;         // CPUs asked for by pending jobs
  std::int64_t running_cpu_seconds = 0;  // sum over running jobs of CPUs x time left of their limit
  std::int64_t pending_cpu_seconds = 0;  // sum over pending jobs of CPUs x time limit
};

struct SiteState {
  std::string site;              // SiteName
  std::string cluster;           // Slurm ClusterName queried
  bool reachable = false;        // false: the last query failed (error says why)
  std::string error;             // why unreachable, or why the state file could not be read
  std::int64_t observed_at = 0;  // unix seconds when the query finished; 0: never observed
  std::int64_t query_ms = 0;     // how long the query took
  std::vector<PartitionState> partitions;  // sorted by name

  const PartitionState* find(const std::string& partition) const;  // nullptr when not reported
};

nlohmann::json to_json(const SiteState& s);
// Throws Error(bad_input) naming `what` (a file name) and the field for a malformed document,
// Error(refused) for a schema newer than kSiteStateSchema.
SiteState site_state_from_json(const nlohmann::json& j, const std::string& what);

// SiteStateDir/SITE.json
std::string site_state_path(const std::string& dir, const std::string& site);
// Writes the state of s.site atomically: a reader sees the old file or the new one, never a part.
// Creates dir (and its parents) when missing. Throws Error(storage) naming the path and errno.
void write_site_state(const std::string& dir, const SiteState& s);
// Throws Error(not_found) when the file does not exist, Error(bad_input)/Error(refused) as above.
// Never blocks and never reads more than 1 MiB: a symlink, a FIFO, a device, a file owned by
// another user than root or this process's is Error(storage); a larger file is Error(bad_input).
SiteState read_site_state(const std::string& path);
// The state of every configured site, in cfg.sites order. A missing or unreadable file gives a
// state with observed_at 0 and `error` saying what went wrong (judged StateHealth::missing); it
// never throws for one bad file, so one broken site cannot hide the others.
std::vector<SiteState> load_site_states(const std::string& dir, const std::vector<SiteConf>& sites);

// Whether a site's state may be routed on.
enum class StateHealth {
  fresh,        // reachable and observed at most max_age seconds ago
  stale,        // reachable when observed, but more than max_age seconds ago
  unreachable,  // the last query failed
  missing,      // never observed (no state file, unreadable file, or no state given)
};
const char* to_string(StateHealth h);

struct HealthVerdict {
  StateHealth health = StateHealth::missing;
  std::int64_t age = -1;  // now - observed_at in seconds, 0 when observed_at is in the future
                          // (clock skew between hosts), -1 when never observed
};
// Pure: the verdict for s (nullptr: no state) at `now` (unix seconds) with the site's max age.
// Unreachable wins over stale: the newest news about the site is that it did not answer.
HealthVerdict judge_state(const SiteState* s, std::int64_t now, std::int64_t max_age);

}  // namespace paracloud

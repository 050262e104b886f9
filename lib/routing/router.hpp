// Router: job request + site descriptions + live site states + policy -> ranked feasible sites with
// reasons.
//
// Pure and deterministic: integers only (money in minor units, time in seconds), no hash order, no
// clock (the caller passes `now`), sites in name order, every tie broken by site then partition
// name. The same inputs give the same decision on every host and in every order of the input.
//
// Use from job_submit (under slurmctld's locks): build a SiteModel when paracloud.conf is loaded,
// keep the SiteStates that a background thread reloads from SiteStateDir (load_site_states), and
// call route(model, align_states(...), request, options, now, &decision) per job: no I/O, no
// network, and with a reused RouteDecision no allocation beyond short strings.
//
// Expected start (the "wait") of a job needing C CPUs in a partition, from its collected state:
//   wait = 0                                        when idle CPUs >= pending CPUs + C
//   wait = ceil((running_cpu_seconds + pending_cpu_seconds) / cpus_total)   otherwise,
// i.e. the time the partition, busy on all its CPUs, needs to finish the work running (time left
// of their limits) and queued before the job (their limits), first come first served; backfill
// and early ends make the real wait shorter, so the estimate errs towards later. expected start =
// now + wait; a deadline is met when expected start + time limit <= deadline.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "money/pricing.hpp"
#include "routing/site_state.hpp"

namespace paracloud {

enum class RoutePolicy {
  cheapest,  // lowest worst-case cost; ties: earlier start
  fastest,   // earliest expected start; ties: lower cost; the top RouteTopK sites race
  balanced,  // cost + RouteWaitWeight x expected wait in hours; ties: lower cost, earlier start
};
const char* to_string(RoutePolicy p);
// "cheapest", "fastest", "balanced" (any case); Error(bad_input) naming the choices otherwise.
RoutePolicy parse_route_policy(const std::string& text);

// What the router needs of a job beyond its worst-case resources.
struct RouteRequest {
  // Worst case as for pricing (job_request.hpp): cpus (>= 1), nodes (0: as few as the partition's
  // CpusPerNode allows), mem_mb (whole job), gres totals ("gpu", "gpu:a100"), seconds (> 0: the
  // time limit). `partition` empty: every partition of a site may take the job; else only that one.
  JobResources resources;
  // --constraint as an AND of OR groups: "a&b|c" (also "a,b|c") is a AND (b OR c); see
  // parse_constraint. A group is met when the partition's Features or CpuModel has one of its
  // items.
  std::vector<std::vector<std::string>> constraint;
  std::map<std::string, std::int64_t> licenses;  // --licenses: name -> count (parse_licenses)
};

// sbatch --constraint: items joined by '&' or ',' (AND) and '|' (OR, binding tighter). Brackets,
// counts ("a*2") and spaces are refused with Error(bad_input) naming the text.
std::vector<std::vector<std::string>> parse_constraint(const std::string& text);
// sbatch --licenses "matlab:2,ansys" (count 1 when absent). Error(bad_input) for junk, or '|'.
std::map<std::string, std::int64_t> parse_licenses(const std::string& text);

struct RouteOptions {
  RoutePolicy policy = RoutePolicy::cheapest;
  std::int64_t top_k = 1;     // fastest: how many of the best sites the job is offered to (>= 1)
  Money wait_weight = 0;      // balanced: minor units that one hour of expected wait costs
  std::int64_t deadline = 0;  // unix seconds the job must have ended by (expected); 0: none
  Money budget = -1;          // largest acceptable worst-case cost in minor units; -1: none
};
// RoutePolicy=, RouteTopK=, RouteWaitWeight= of paracloud.conf; no deadline, no budget.
RouteOptions route_options(const Config& cfg);

// The sites of paracloud.conf compiled for routing: copied (independent of the Config's
// lifetime), sorted by site name, each with its price lines and PartitionName lines.
struct SiteModel {
  struct Site {
    SiteConf conf;
    std::int64_t max_age = 60;              // HealthMaxAge, else SiteStateMaxAge
    std::vector<PartitionConf> partitions;  // PartitionName lines, sorted by name; when empty the
                                            // partitions the site reports are used, with no
                                            // declared capabilities (no features, no GPUs)
    std::vector<PriceRule> prices;          // its PriceName lines
    // Derived when the model is built, so that route() does no lookup by name for them:
    std::vector<long> partition_price;  // per partition: index in prices (exact, else "*"), or -1
    struct BaseRates {
      Rate cpu = 0, mem = 0, node = 0;
    };
    std::vector<BaseRates> base_rates;  // per price line: its cpu, mem and node rates
    long find_price(
        const std::string& partition) const;  // index in prices (exact, else "*"), or -1
  };
  Currency currency;
  std::vector<Site> sites;

  SiteModel() = default;
  explicit SiteModel(const Config& cfg);
  // Index of a site in `sites`, or -1.
  long index_of(const std::string& site) const;
};

// Pointers to the state of each model site, in model order (nullptr: no state for it).
std::vector<const SiteState*> align_states(const SiteModel& model,
                                           const std::vector<SiteState>& states);

// Why a site (or one of its partitions) cannot take the job.
enum class RejectReason {
  drained,                 // State=DRAIN in paracloud.conf
  no_state,                // never observed (no or unreadable state file)
  unreachable,             // the last query failed
  stale_state,             // state older than its max age
  license_missing,         // the site lacks a license, or has fewer than asked
  no_partition,            // the requested partition does not exist at the site (or none is known)
  partition_not_reported,  // declared, but absent from the collected state (down or removed)
  no_price,                // no PriceName line prices the partition
  walltime_over_max,       // time limit > MaxTime
  too_many_nodes,          // nodes > MaxNodes or > the partition's nodes
  too_many_cpus,           // CPUs > CPUs of its nodes, or of the whole partition
  memory_over_max,         // memory per node > MemPerNode
  feature_missing,         // a --constraint group matches no Feature/CpuModel
  gpu_type_missing,        // no node has that GPU type (or no GPUs at all)
  too_many_gpus,           // more GPUs per node than its nodes have
  unpriced_gres,           // the price line does not price a requested gres
  cost_too_large,          // the worst-case cost does not fit in 64 bits
  over_budget,             // worst-case cost > budget
  misses_deadline,         // expected end > deadline
};
const char* to_string(RejectReason r);  // "stale_state", ...

struct RouteReject {
  std::string site;
  std::string partition;  // empty for a reason about the whole site
  RejectReason reason = RejectReason::no_state;
  std::int64_t have = 0;  // the numbers behind the reason: age vs max age, nodes vs MaxNodes,
  std::int64_t want = 0;  // cost vs budget (minor units), expected end vs deadline, ...
  std::string item;       // feature group, GPU type, license, gres, or the site's error text
};
// One sentence: "state is 95 s old (max 60 s)", "feature 'avx512' missing (has: avx2, ib)".
std::string describe(const RouteReject& r, const Currency& cur);

struct RouteCandidate {
  std::string site, cluster, partition;
  Money cost = 0;              // worst case, exactly as price_job() would quote it
  std::int64_t nodes = 0;      // nodes priced (the request's, or ceil(cpus / CpusPerNode))
  std::int64_t wait = 0;       // expected wait in seconds (model above)
  std::int64_t start = 0;      // now + wait
  std::int64_t score = 0;      // the policy's key: cost, wait, or cost + weighted wait
  std::int64_t state_age = 0;  // seconds
};

struct RouteDecision {
  RoutePolicy policy = RoutePolicy::cheapest;
  std::int64_t now = 0;
  RouteOptions options;
  std::vector<RouteCandidate> ranked;  // feasible sites, best first, one (its best partition) each
  std::vector<RouteReject> excluded;   // sites with no feasible partition: every reason, by site
  std::size_t selected = 0;            // ranked[0, selected) are chosen: top_k for fastest, else 1;
                                       // 0 when nothing is feasible
  // Largest cost among the selected sites: what a hold must cover when they race. 0 if none.
  Money hold() const;
};

// Ranks the model's sites for the request. states[i] is the state of model.sites[i] (nullptr:
// none). Never throws for a site's problem (that is a RouteReject); throws Error(bad_input) when
// states.size() != model.sites.size() or the request is absurd (cpus < 1, seconds < 1, negatives).
void route(const SiteModel& model, const std::vector<const SiteState*>& states,
           const RouteRequest& req, const RouteOptions& opt, std::int64_t now, RouteDecision* out);
RouteDecision route(const SiteModel& model, const std::vector<const SiteState*>& states,
                    const RouteRequest& req, const RouteOptions& opt, std::int64_t now);

// {"schema":1,"policy":..,"selected":[sites],"hold_minor":..,"candidates":[..],"excluded":[..]}:
// the accounting record's `route` slot and `paracloud route explain --json`.
nlohmann::json to_json(const RouteDecision& d, const Currency& cur);

}  // namespace paracloud

// Routing in a Slurm federation: which clusters a job is offered to, the rejection text, and the decision record that travels in the job's AdminComment to the accounting record.
//
// job_submit/paracloud on the origin controller routes (router.hpp), restricts the federation to
// the chosen clusters (job_desc->clusters) and stores the decision in the job's AdminComment as
// "paracloud_route=<compact JSON>": AdminComment is refused from non-administrators before
// job_submit runs, so a user cannot forge it. Siblings receive the user's original request (not
// the origin's edited one); each re-derives the decision from the same inputs (the request, the
// policy, the site state files), records the clusters the origin actually allowed (from the
// federation's viable-sibling bits) and whether its re-derivation agrees. jobcomp/paracloud on
// the cluster that ran the job copies the tag into the accounting record's `route` slot.
#pragma once
#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "routing/router.hpp"

namespace paracloud {

// The clusters a job is offered to.
struct FedChoice {
  std::vector<std::size_t> picks;  // indices into RouteDecision::ranked, best first
  std::string clusters;            // their Slurm ClusterNames, comma-separated (job_desc->clusters)
  std::size_t dearest = 0;         // index into ranked of the most expensive pick (the quote)
  bool empty() const { return picks.empty(); }
};

// The router's selection d.ranked[0, d.selected). With `user_clusters` (the job's own
// --clusters/-M list) only candidates whose cluster is in it count: the first
// max(d.selected, 1) of them in rank order. No picks: nothing feasible (for the user's list).
FedChoice choose_clusters(const RouteDecision& d, const std::vector<std::string>& user_clusters = {});

// "paracloud: no site can run this job - a: <reason>; b: <reason>, <reason> - <fix>": every
// excluded site with each of its reasons (partition-level ones named "site/partition"); with
// `user_clusters`, only those clusters (one that is no paracloud site says so).
std::string no_site_message(const RouteDecision& d, const Currency& cur,
                            const std::vector<std::string>& user_clusters = {});

// Federation facts that go beside the router's decision in the record.
struct FedRouteInfo {
  std::string origin;                 // ClusterName of the origin (where the user submitted)
  std::string decided_on;             // ClusterName of the controller that computed this record
  bool rederived = false;             // true on a sibling: re-derived, not the origin's own
  std::string policy_source;          // "--route" or "RoutePolicy"
  std::vector<std::string> clusters;  // the clusters the job was offered to (origin's choice)
};
// to_json(d) plus "origin", "decided_on", "rederived", "policy_source", "clusters" and, when
// rederived, "agrees": whether this re-derivation picks exactly `clusters` (same inputs, same
// answer; false when a site's state changed between the origin's call and the sibling's).
nlohmann::json route_record(const RouteDecision& d, const Currency& cur, const FedRouteInfo& info,
                            const std::vector<std::string>& user_clusters = {});

constexpr const char kRouteTag[] = "paracloud_route=";
// admin_comment with its route tag replaced by "paracloud_route=" + the compact JSON of `record`;
// an administrator's text before the tag is kept (the tag always comes last).
std::string set_route_tag(const std::string& admin_comment, const nlohmann::json& record);
// The JSON text of the tag ("" when there is none).
std::string route_tag_text(const std::string& admin_comment);
// The tag's JSON: null for "", {"unreadable": TEXT} when it does not parse (never throws).
nlohmann::json parse_route_text(const std::string& text);

// "a,b" -> {"a", "b"} (empty items dropped).
std::vector<std::string> split_list(const std::string& text);

}  // namespace paracloud

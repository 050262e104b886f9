// Federation routing glue: cluster choice, rejection text, decision record and its AdminComment tag (fed_route.hpp).
#include "routing/fed_route.hpp"

#include <algorithm>
#include <map>

namespace paracloud {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

static bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

FedChoice choose_clusters(const RouteDecision& d, const std::vector<std::string>& user_clusters) {
  FedChoice c;
  std::size_t want = std::max<std::size_t>(d.selected, 1);
  if (d.selected == 0) return c;  // nothing feasible at all
  for (std::size_t i = 0; i < d.ranked.size() && c.picks.size() < want; ++i) {
    if (!user_clusters.empty() && !contains(user_clusters, d.ranked[i].cluster)) continue;
    if (user_clusters.empty() && i >= d.selected) break;
    c.picks.push_back(i);
  }
  for (std::size_t k = 0; k < c.picks.size(); ++k) {
    const RouteCandidate& rc = d.ranked[c.picks[k]];
    c.clusters += (k ? "," : "") + rc.cluster;
    if (k == 0 || rc.cost > d.ranked[c.dearest].cost) c.dearest = c.picks[k];
  }
  return c;
}

std::string no_site_message(const RouteDecision& d, const Currency& cur,
                            const std::vector<std::string>& user_clusters) {
  // Reasons by site, in the router's (site name) order; partition-level ones name the partition.
  std::vector<std::string> order;
  std::map<std::string, std::string> reasons, cluster_of;
  for (const auto& r : d.excluded) {
    if (!reasons.count(r.site)) order.push_back(r.site);
    std::string& text = reasons[r.site];
    text += (text.empty() ? "" : ", ") + (r.partition.empty() ? "" : r.partition + ": ") + describe(r, cur);
  }
  for (const auto& c : d.ranked) cluster_of[c.site] = c.cluster;
  std::string msg = "paracloud: no site can run this job";
  std::string list;
  if (user_clusters.empty()) {
    for (const auto& s : order) list += (list.empty() ? "" : "; ") + s + ": " + reasons[s];
  } else {
    msg += " among the clusters you named (" + [&] {
      std::string s;
      for (const auto& u : user_clusters) s += (s.empty() ? "" : ",") + u;
      return s;
    }() + ")";
    for (const auto& u : user_clusters) {
      auto it = reasons.find(u);  // a site's name is its cluster's unless Cluster= says otherwise
      if (it == reasons.end())
        for (const auto& r : d.excluded)
          if (r.site == u || cluster_of[r.site] == u) it = reasons.find(r.site);
      list += (list.empty() ? "" : "; ") + u + ": " +
              (it != reasons.end() ? it->second : std::string("not a paracloud site, or feasible but not chosen"));
    }
  }
  if (!list.empty()) msg += " - " + list;
  return msg + " - relax the request, or see `paracloud route explain` and `paracloud sites`";
}

nlohmann::json route_record(const RouteDecision& d, const Currency& cur, const FedRouteInfo& info,
                            const std::vector<std::string>& user_clusters) {
  nlohmann::json j = to_json(d, cur);
  j["origin"] = info.origin;
  j["decided_on"] = info.decided_on;
  j["rederived"] = info.rederived;
  j["policy_source"] = info.policy_source;
  j["clusters"] = info.clusters;
  if (!user_clusters.empty()) j["user_clusters"] = user_clusters;
  if (info.rederived) {
    FedChoice mine = choose_clusters(d, user_clusters);
    std::vector<std::string> a = split_list(mine.clusters), b = info.clusters;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    j["agrees"] = a == b;
  }
  return j;
}

std::string set_route_tag(const std::string& admin_comment, const nlohmann::json& record) {
  std::string keep = admin_comment;
  std::size_t at = keep.rfind(kRouteTag);
  if (at != std::string::npos) keep.erase(at);
  while (!keep.empty() && keep.back() == ' ') keep.pop_back();
  std::string tag = kRouteTag + record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return keep.empty() ? tag : keep + " " + tag;
}

std::string route_tag_text(const std::string& admin_comment) {
  std::size_t at = admin_comment.rfind(kRouteTag);
  if (at == std::string::npos) return {};
  return admin_comment.substr(at + sizeof(kRouteTag) - 1);
}

nlohmann::json parse_route_text(const std::string& text) {
  if (text.empty()) return nullptr;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return {{"unreadable", text}};
  return j;
}

}  // namespace paracloud

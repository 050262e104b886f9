// Unit tests of fed_route.hpp: cluster choice (top-k, the user's --clusters), the no-site message, the decision record's agreement flag and the AdminComment tag round trip.
#include <criterion/criterion.h>

#include "routing/fed_route.hpp"

using namespace paracloud;

// A decision by hand: b (cost 100) ranked before c (200) before a (300); d excluded twice.
static RouteDecision decision(std::size_t selected) {
  RouteDecision d;
  d.policy = RoutePolicy::fastest;
  for (auto [site, cost] : {std::pair<const char*, Money>{"b", 100}, {"c", 200}, {"a", 300}}) {
    RouteCandidate c;
    c.site = site;
    c.cluster = std::string("clu-") + site;
    c.partition = "batch";
    c.cost = cost;
    d.ranked.push_back(c);
  }
  d.selected = selected;
  RouteReject r1;
  r1.site = "d";
  r1.reason = RejectReason::unreachable;
  r1.item = "sinfo failed";
  RouteReject r2 = r1;
  r2.partition = "gpu";
  r2.reason = RejectReason::drained;
  d.excluded = {r1, r2};
  return d;
}

Test(fed_route, chooses_the_selection_and_quotes_the_dearest) {
  FedChoice c = choose_clusters(decision(2));
  cr_assert_eq(c.picks.size(), 2u);
  cr_assert_str_eq(c.clusters.c_str(), "clu-b,clu-c");
  cr_assert_eq(c.dearest, 1u);  // c costs more than b
  const std::string one = choose_clusters(decision(1)).clusters;  // keep the temporary alive
  cr_assert_str_eq(one.c_str(), "clu-b");
}

Test(fed_route, user_clusters_restrict_in_rank_order) {
  FedChoice c = choose_clusters(decision(1), {"clu-a", "clu-c"});
  cr_assert_str_eq(c.clusters.c_str(), "clu-c");  // the best of the user's, not b
  cr_assert(choose_clusters(decision(1), {"clu-x"}).empty());
  cr_assert(choose_clusters(decision(0)).empty());  // nothing feasible
}

Test(fed_route, no_site_message_names_every_reason) {
  RouteDecision d = decision(0);
  d.ranked.clear();
  Currency cur;
  std::string m = no_site_message(d, cur);
  cr_assert(m.rfind("paracloud: no site can run this job - d: ", 0) == 0, "%s", m.c_str());
  cr_assert(m.find("gpu: ") != std::string::npos, "%s", m.c_str());  // the partition-level reason
  cr_assert(m.find(" - relax the request") != std::string::npos, "%s", m.c_str());
  std::string u = no_site_message(d, cur, {"zz"});
  cr_assert(u.find("(zz) - zz: not a paracloud site") != std::string::npos, "%s", u.c_str());
}

Test(fed_route, record_says_whether_a_rederivation_agrees) {
  Currency cur;
  FedRouteInfo info;
  info.origin = "clu-a";
  info.decided_on = "clu-b";
  info.rederived = true;
  info.clusters = {"clu-c", "clu-b"};
  nlohmann::json j = route_record(decision(2), cur, info);
  cr_assert(j["agrees"].get<bool>());
  const std::string origin = j["origin"].get<std::string>();
  cr_assert_str_eq(origin.c_str(), "clu-a");
  info.clusters = {"clu-b"};
  cr_assert(!route_record(decision(2), cur, info)["agrees"].get<bool>());
  info.rederived = false;
  cr_assert(!route_record(decision(2), cur, info).contains("agrees"));
}

Test(fed_route, tag_round_trip_keeps_admin_text) {
  nlohmann::json rec = {{"policy", "cheapest"}, {"clusters", {"b"}}};
  std::string once = set_route_tag("", rec);
  cr_assert_str_eq(once.c_str(), "paracloud_route={\"clusters\":[\"b\"],\"policy\":\"cheapest\"}");
  std::string admin = set_route_tag("checked by ops", rec);
  std::string twice = set_route_tag(admin, {{"policy", "fastest"}});
  cr_assert_str_eq(twice.c_str(), "checked by ops paracloud_route={\"policy\":\"fastest\"}");
  cr_assert(parse_route_text(route_tag_text(once)) == rec);
  cr_assert(parse_route_text("").is_null());
  cr_assert(parse_route_text("{broken")["unreadable"] == "{broken");
  cr_assert(route_tag_text("no tag here").empty());
}

// Unit tests of site_state.hpp: JSON round trip, atomic state files, loading with broken files,
// staleness.
#include <criterion/criterion.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "config/config.hpp"
#include "common/error.hpp"
#include "routing/site_state.hpp"

using namespace paracloud;

#define assert_str(actual, expected)                                                       \
  do {                                                                                     \
    std::string a_ = (actual), e_ = (expected);                                            \
    cr_assert(a_ == e_, "%s is \"%s\", expected \"%s\"", #actual, a_.c_str(), e_.c_str()); \
  } while (0)

static std::string scratch() {
  char tmpl[] = "/tmp/paracloud-test-site-state-XXXXXX";
  cr_assert_not_null(mkdtemp(tmpl));
  return tmpl;
}

static void remove_tree(const std::string& dir) {
  std::string cmd = "rm -rf '" + dir + "'";
  cr_assert_eq(std::system(cmd.c_str()), 0);
}

static void write(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  cr_assert(out.good());
}

static SiteState sample() {
  SiteState s;
  s.site = "b";
  s.cluster = "clu-b";
  s.reachable = true;
  s.observed_at = 1700000000;
  s.query_ms = 42;
  PartitionState p;
  p.name = "gpu";
  p.cpus_total = 64;
  p.cpus_idle = 16;
  p.cpus_alloc = 48;
  p.cpus_other = 8;
  p.nodes_total = 2;
  p.cpus_per_node = 32;
  p.running_jobs = 3;
  p.pending_jobs = 2;
  p.pending_cpus = 40;
  p.running_cpu_seconds = 123456;
  p.pending_cpu_seconds = 654321;
  s.partitions.push_back(p);
  p.name = "batch";  // out of order: readers sort by name
  s.partitions.push_back(p);
  return s;
}

static std::size_t entries(const std::string& dir) {
  std::size_t n = 0;
  DIR* d = opendir(dir.c_str());
  cr_assert_not_null(d);
  while (struct dirent* e = readdir(d))
    if (e->d_name[0] != '.' || (e->d_name[1] != '\0' && e->d_name[1] != '.')) ++n;
  closedir(d);
  return n;
}

Test(site_state, json_round_trip_sorts_partitions) {
  SiteState s = site_state_from_json(to_json(sample()), "mem");
  assert_str(s.site, "b");
  assert_str(s.cluster, "clu-b");
  cr_assert(s.reachable);
  cr_assert_eq(s.observed_at, 1700000000);
  cr_assert_eq(s.query_ms, 42);
  cr_assert_eq(s.partitions.size(), 2u);
  assert_str(s.partitions[0].name, "batch");
  const PartitionState* g = s.find("gpu");
  cr_assert_not_null(g);
  cr_assert_eq(g->cpus_total, 64);
  cr_assert_eq(g->cpus_idle, 16);
  cr_assert_eq(g->cpus_alloc, 48);
  cr_assert_eq(g->cpus_other, 8);
  cr_assert_eq(g->nodes_total, 2);
  cr_assert_eq(g->cpus_per_node, 32);
  cr_assert_eq(g->running_jobs, 3);
  cr_assert_eq(g->pending_jobs, 2);
  cr_assert_eq(g->pending_cpus, 40);
  cr_assert_eq(g->running_cpu_seconds, 123456);
  cr_assert_eq(g->pending_cpu_seconds, 654321);
  cr_assert_null(s.find("debug"));
}

Test(site_state, malformed_documents_are_refused_with_the_field) {
  auto msg = [](const nlohmann::json& j, Errc want) -> std::string {
    try {
      site_state_from_json(j, "b.json");
    } catch (const Error& e) {
      cr_assert_eq(static_cast<int>(e.code()), static_cast<int>(want), "%s", e.what());
      return e.what();
    }
    cr_assert_fail("no error for %s", j.dump().c_str());
    return {};
  };
  nlohmann::json j = to_json(sample());
  j["schema"] = 2;
  cr_assert(msg(j, Errc::refused).find("newer") != std::string::npos);
  j = to_json(sample());
  j.erase("schema");
  msg(j, Errc::bad_input);
  j = to_json(sample());
  j["reachable"] = "yes";
  cr_assert(msg(j, Errc::bad_input).find("'reachable'") != std::string::npos);
  j = to_json(sample());
  j["partitions"][0]["cpus_idle"] = "many";
  cr_assert(msg(j, Errc::bad_input).find("'cpus_idle'") != std::string::npos);
  j = to_json(sample());
  j["partitions"][1]["cpus_total"] = -1;
  cr_assert(msg(j, Errc::bad_input).find("negative") != std::string::npos);
  msg(nlohmann::json::array(), Errc::bad_input);
}

Test(site_state, write_is_atomic_and_readable) {
  std::string dir = scratch() + "/nested/sites";  // parents are created
  write_site_state(dir, sample());
  std::string path = site_state_path(dir, "b");
  assert_str(path, dir + "/b.json");
  struct stat st;
  cr_assert_eq(stat(path.c_str(), &st), 0);
  cr_assert_eq(st.st_mode & 0777, 0644u);
  cr_assert_eq(entries(dir), 1u);  // no temporary file left behind
  SiteState s = read_site_state(path);
  cr_assert_eq(s.partitions.size(), 2u);
  SiteState t = sample();
  t.reachable = false;
  t.error = "timed out after 5 s";
  t.partitions.clear();
  write_site_state(dir, t);  // replaces
  s = read_site_state(path);
  cr_assert_not(s.reachable);
  assert_str(s.error, "timed out after 5 s");
  cr_assert_eq(entries(dir), 1u);
  SiteState bad = sample();
  bad.site = "../x";
  cr_assert_throw(write_site_state(dir, bad), Error);
  remove_tree(dir.substr(0, dir.find("/nested")));
}

Test(site_state, unwritable_directory_is_a_storage_error) {
  // A path below a regular file fails even for root.
  std::string dir = scratch();
  write(dir + "/file", "x");
  try {
    write_site_state(dir + "/file/sub", sample());
    cr_assert_fail("no error");
  } catch (const Error& e) {
    cr_assert_eq(static_cast<int>(e.code()), static_cast<int>(Errc::storage));
    cr_assert(std::string(e.what()).find(dir + "/file") != std::string::npos, "%s", e.what());
  }
  remove_tree(dir);
}

Test(site_state, load_reports_each_broken_file_without_hiding_the_others) {
  std::string dir = scratch();
  Config cfg = parse_config("SiteName=a\nSiteName=b Cluster=clu-b\nSiteName=c\nSiteName=d\n", "t");
  SiteState b = sample();
  write_site_state(dir, b);
  write(dir + "/c.json", "{not json");
  SiteState other = sample();
  other.site = "a";
  write_site_state(dir, other);
  std::rename((dir + "/a.json").c_str(), (dir + "/d.json").c_str());  // d.json holds site a
  std::vector<SiteState> all = load_site_states(dir, cfg.sites);
  cr_assert_eq(all.size(), 4u);
  assert_str(all[0].site, "a");
  cr_assert_eq(all[0].observed_at, 0);
  cr_assert(all[0].error.find("no state file") != std::string::npos, "%s", all[0].error.c_str());
  assert_str(all[0].cluster, "a");
  cr_assert(all[1].reachable);
  cr_assert_eq(all[1].partitions.size(), 2u);
  cr_assert(all[2].error.find("not valid JSON") != std::string::npos, "%s", all[2].error.c_str());
  cr_assert(all[3].error.find("holds site 'a'") != std::string::npos, "%s", all[3].error.c_str());
  for (int i : {0, 2, 3})
    cr_assert(judge_state(&all[i], 1700000000, 60).health == StateHealth::missing);
  remove_tree(dir);
}

Test(site_state, judge_staleness) {
  SiteState s = sample();
  const std::int64_t t = s.observed_at;
  HealthVerdict v = judge_state(&s, t + 60, 60);
  cr_assert(v.health == StateHealth::fresh);
  cr_assert_eq(v.age, 60);
  v = judge_state(&s, t + 61, 60);
  cr_assert(v.health == StateHealth::stale);
  cr_assert_eq(v.age, 61);
  v = judge_state(&s, t - 30, 60);  // observed "in the future": clock skew, age 0
  cr_assert(v.health == StateHealth::fresh);
  cr_assert_eq(v.age, 0);
  s.reachable = false;
  v = judge_state(&s, t + 1000, 60);  // unreachable wins over stale
  cr_assert(v.health == StateHealth::unreachable);
  cr_assert_eq(v.age, 1000);
  v = judge_state(nullptr, t, 60);
  cr_assert(v.health == StateHealth::missing);
  cr_assert_eq(v.age, -1);
  s.observed_at = 0;
  cr_assert(judge_state(&s, t, 60).health == StateHealth::missing);
  cr_assert_str_eq(to_string(StateHealth::stale), "stale");
}

// Issue 16 item 4: job_submit reads these files; a FIFO, a device or a huge file in SiteStateDir
// must not hang or bloat slurmctld. (The timeout only ends a hung read; it asserts nothing.)
static Errc read_error_of(const std::string& path, std::string* what) {
  try {
    read_site_state(path);
  } catch (const Error& e) {
    *what = e.what();
    return e.code();
  }
  *what = "(no error)";
  return Errc::internal;
}

Test(site_state, a_fifo_is_refused_without_blocking, .timeout = 20) {
  std::string dir = scratch();
  std::string path = dir + "/a.json";
  cr_assert_eq(mkfifo(path.c_str(), 0600), 0);
  std::string what;
  Errc c = read_error_of(path, &what);
  cr_assert_eq(static_cast<int>(c), static_cast<int>(Errc::storage), "%s", what.c_str());
  cr_assert(what.find("not a regular file") != std::string::npos, "%s", what.c_str());
  remove_tree(dir);
}

Test(site_state, symlinks_and_devices_are_refused, .timeout = 20) {
  std::string dir = scratch();
  std::string link = dir + "/a.json";
  cr_assert_eq(symlink("/dev/zero", link.c_str()), 0);
  std::string what;
  Errc c = read_error_of(link, &what);
  cr_assert_eq(static_cast<int>(c), static_cast<int>(Errc::storage), "symlink: %s", what.c_str());
  c = read_error_of("/dev/zero", &what);
  cr_assert_eq(static_cast<int>(c), static_cast<int>(Errc::storage), "/dev/zero: %s", what.c_str());
  remove_tree(dir);
}

Test(site_state, files_over_the_size_cap_are_refused) {
  std::string dir = scratch();
  write_site_state(dir, sample());
  std::string path = site_state_path(dir, sample().site);
  {
    std::ofstream out(path, std::ios::app);
    out << std::string(2 << 20, ' ');  // still valid JSON, 2 MiB
  }
  std::string what;
  Errc c = read_error_of(path, &what);
  cr_assert_eq(static_cast<int>(c), static_cast<int>(Errc::bad_input), "%s", what.c_str());
  cr_assert(what.find("larger than") != std::string::npos, "%s", what.c_str());
  remove_tree(dir);
}

// Unit tests of where a run's profiles are looked for (lib/billing/settle.hpp): ProfileDir before WorkDir,
// the first directory with a usable profile wins, the reasons of every directory when none has one.
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "config/config.hpp"
#include "billing/settle.hpp"

using namespace paracloud;

namespace {
const char kConf[] = "SiteName=s\nPriceName=s:* cpu=1\n";

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(PROFILE_DATA_DIR) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Scratch {
  std::string dir;
  Scratch() {
    char t[] = "/tmp/pc-profile-dirs.XXXXXX";
    cr_assert_not_null(mkdtemp(t));
    dir = t;
  }
  ~Scratch() { std::system(("rm -rf '" + dir + "'").c_str()); }
  std::string sub(const std::string& name) {
    std::string p = dir + "/" + name;
    cr_assert_eq(mkdir(p.c_str(), 0755), 0);
    return p;
  }
};

JobFacts job(const std::string& work_dir) {
  JobFacts f;
  f.job_id = 77;
  f.uid = getuid();
  f.start = 100;
  f.work_dir = work_dir;
  return f;
}
}  // namespace

Test(profile_dirs, profile_dir_comes_first_then_the_work_dir) {
  Config none = parse_config(kConf, "t.conf");
  cr_assert(profile_dirs(none, job("/w")) == std::vector<std::string>{"/w"});
  cr_assert(profile_dirs(none, job("")).empty());
  Config with = parse_config(std::string(kConf) + "ProfileDir=/p\n", "t.conf");
  cr_assert(profile_dirs(with, job("/w")) == (std::vector<std::string>{"/p", "/w"}));
  cr_assert(profile_dirs(with, job("/p")) == std::vector<std::string>{"/p"}, "the same directory once");
  cr_assert(profile_dirs(with, job("")) == std::vector<std::string>{"/p"});
}

Test(profile_dirs, the_first_directory_with_a_usable_profile_wins, .timeout = 10) {
  Scratch t;
  const std::string p = t.sub("profiles"), w = t.sub("work");
  std::ofstream(w + "/paracloud-profile-77.0.json") << fixture("profile_calls_np4.json");
  std::string why = "unset";
  nlohmann::json r = find_run_profile({p, w}, job(w), &why);
  cr_assert(why.empty(), "%s", why.c_str());
  cr_assert_eq(r["dir"], w);
  std::ofstream(p + "/paracloud-profile-77.0.json") << fixture("profile_calls_np4.json");
  r = find_run_profile({p, w}, job(w), &why);
  cr_assert_eq(r["dir"], p);
}

Test(profile_dirs, without_a_profile_every_directory_says_why, .timeout = 10) {
  Scratch t;
  const std::string p = t.sub("profiles"), w = t.sub("work");
  std::string why;
  cr_assert(find_run_profile({p, w}, job(w), &why).is_null());
  cr_assert_eq(why, "no paracloud-profile-77.*.json in " + p + "; no paracloud-profile-77.*.json in " + w);
  cr_assert(find_run_profile({}, job(""), &why).is_null());
  cr_assert_eq(why, "the job has no absolute working directory");
}

Test(profile_dirs, a_fifo_or_a_file_as_directory_is_refused_without_blocking, .timeout = 10) {
  Scratch t;
  const std::string w = t.sub("work");
  const std::string fifo = t.dir + "/fifo", file = t.dir + "/file";
  cr_assert_eq(mkfifo(fifo.c_str(), 0600), 0);
  std::ofstream(file) << "x";
  std::ofstream(w + "/paracloud-profile-77.0.json") << fixture("profile_calls_np4.json");
  std::string why;
  nlohmann::json r = find_run_profile({fifo, file, w}, job(fifo), &why);
  cr_assert_eq(r["dir"], w, "the usable directory after the bad ones: %s", why.c_str());
  cr_assert(find_run_profile({fifo, file}, job(fifo), &why).is_null());
  cr_assert_eq(why, "cannot open " + fifo + ": Not a directory; cannot open " + file + ": Not a directory");
}

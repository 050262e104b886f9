// Unit tests of lib/tune_store: file format, merge order, atomic concurrent saves, ownership and
// corruption handling, and the Open MPI coll/tuned rules file.
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "tuning/tune_store.hpp"

using namespace paracloud::tune;

namespace {

std::string scratch() {
  char tmpl[] = "/tmp/pc-tune-store.XXXXXX";
  const char* d = mkdtemp(tmpl);
  cr_assert(d != nullptr);
  return d;
}

Decision dec(const std::string& coll, int size, int bucket, const std::string& alg,
             const std::string& dtype = "int") {
  Decision d;
  d.collective = coll;
  d.comm_size = size;
  d.ranks_per_node = size;
  d.bucket = bucket;
  d.dtype = dtype;
  d.algorithm = alg;
  d.source = "explore";
  return d;
}

AppId app(int ranks = 4) {
  AppId a;
  a.name = "solver";
  a.build_id = "0123456789abcdef0123";
  a.ranks = ranks;
  a.ranks_per_node = ranks;
  return a;
}

void write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

bool throws_with(const std::string& text, const std::string& needle) {
  try {
    parse(text);
  } catch (const TuneStoreError& e) {
    return std::string(e.what()).find(needle) != std::string::npos;
  }
  return false;
}

}  // namespace

Test(tune_store, names_files_by_app_and_geometry) {
  cr_assert_eq(app().file_name(), "solver-0123456789abcdef.n4.r4.json");
  AppId h;
  h.name = "a.out";
  h.hash = "fnv1a64:00ff";
  h.ranks = 8;
  h.ranks_per_node = 2;
  cr_assert_eq(h.file_name(), "a.out-fnv1a64_00ff.n8.r2.json");
  AppId any;
  any.ranks = 2;
  any.ranks_per_node = 2;
  cr_assert_eq(any.file_name(), "any.n2.r2.json");
}

Test(tune_store, round_trips_and_ignores_unknown_collectives) {
  StoreFile f;
  f.app = app();
  f.decisions = {dec("allreduce", 4, 10, "ring"), dec("barrier", 4, -1, "dissemination", "bytes")};
  f.decisions[0].time_us = 12.5;
  f.decisions[0].calls = 7;
  StoreFile g = parse(serialize(f));
  cr_assert_eq(g.decisions.size(), 2u);
  cr_assert_eq(g.decisions[0].algorithm, "ring");
  cr_assert_eq(g.decisions[0].calls, 7u);
  cr_assert_float_eq(g.decisions[0].time_us, 12.5, 1e-9);
  cr_assert_eq(g.decisions[1].bucket, -1);
  cr_assert_eq(g.app.build_id, f.app.build_id);
  std::string text = serialize(f);
  text.replace(text.find("\"barrier\""), 9, "\"scan\"");
  cr_assert_eq(parse(text).decisions.size(), 1u);
}

Test(tune_store, rejects_bad_files_with_a_reason) {
  cr_assert(throws_with("{", "not JSON"));
  cr_assert(throws_with("[]", "not a JSON object"));
  cr_assert(throws_with(R"({"schema": "other", "version": 1})", "schema"));
  cr_assert(throws_with(R"({"schema": "paracloud-tune", "version": 2})", "version 2"));
  cr_assert(throws_with(R"({"schema": "paracloud-tune", "version": 1, "app": {"name": "x"}})",
                        "build_id"));
  StoreFile f;
  f.app = app();
  f.decisions = {dec("allreduce", 0, 3, "ring")};
  cr_assert(throws_with(serialize(f), "out-of-range"));
}

Test(tune_store, merge_prefers_newer_per_key) {
  auto m = merge({dec("allreduce", 4, 10, "ring"), dec("bcast", 4, 3, "binomial", "bytes")},
                 {dec("allreduce", 4, 10, "rabenseifner"), dec("allreduce", 4, 11, "ring")});
  cr_assert_eq(m.size(), 3u);
  cr_assert_eq(m[0].algorithm, "rabenseifner");
  cr_assert_eq(m[2].bucket, 11);
}

Test(tune_store, saves_merges_and_loads_in_priority_order) {
  const std::string user = scratch() + "/user/tune", site = scratch();
  save(app(), user, {dec("allreduce", 4, 10, "ring")});
  const std::string path = save(app(), user, {dec("allreduce", 4, 12, "recursive_doubling")});
  cr_assert_eq(path, user + "/" + app().file_name());
  cr_assert_eq(read_file(path, false).decisions.size(), 2u);
  // Site file for the app and the geometry-wide file: lower priority than the user's.
  StoreFile s;
  s.app = app();
  s.decisions = {dec("allreduce", 4, 10, "rabenseifner"), dec("bcast", 4, 5, "chain", "bytes")};
  write(site + "/" + app().file_name(), serialize(s));
  AppId any = app();
  any.name = any.build_id = "";
  s.decisions = {dec("bcast", 4, 5, "binomial", "bytes"), dec("barrier", 4, -1, "native", "bytes")};
  write(site + "/" + any.file_name(), serialize(s));
  LoadResult r = load(app(), user, site);
  cr_assert_eq(r.warnings.size(), 0u, "%s", r.warnings.empty() ? "" : r.warnings[0].c_str());
  cr_assert_eq(r.files.size(), 3u);
  cr_assert_eq(r.decisions.size(), 4u);
  for (const Decision& d : r.decisions) {
    if (d.collective == "allreduce" && d.bucket == 10) cr_assert_eq(d.algorithm, "ring");
    if (d.collective == "bcast") cr_assert_eq(d.algorithm, "chain");
  }
}

Test(tune_store, corrupt_and_foreign_files_are_ignored_with_a_warning) {
  const std::string user = scratch(), site = scratch();
  write(user + "/" + app().file_name(), "{\"schema\": ");
  StoreFile s;
  s.app = app();
  s.decisions = {dec("allreduce", 4, 10, "ring")};
  write(site + "/" + app().file_name(), serialize(s));
  LoadResult r = load(app(), user, site);
  cr_assert_eq(r.warnings.size(), 1u);
  cr_assert(r.warnings[0].find("not JSON") != std::string::npos, "%s", r.warnings[0].c_str());
  cr_assert_eq(r.decisions.size(), 1u);
  if (geteuid() == 0) {
    cr_assert_eq(chown((site + "/" + app().file_name()).c_str(), 65534, 65534), 0);
    r = load(app(), user, site);
    cr_assert_eq(r.warnings.size(), 2u);
    cr_assert(r.warnings[1].find("owned by uid 65534") != std::string::npos, "%s",
              r.warnings[1].c_str());
    cr_assert_eq(r.decisions.size(), 0u);
  }
  // A missing directory is not an error.
  cr_assert_eq(load(app(), "/nonexistent/a", "/nonexistent/b").warnings.size(), 0u);
}

Test(tune_store, concurrent_saves_keep_every_decision) {
  const std::string dir = scratch();
  constexpr int kWriters = 8;
  for (int i = 0; i < kWriters; i++) {
    if (fork() == 0) {
      for (int k = 0; k < 5; k++) save(app(), dir, {dec("allreduce", 4, i, "ring")});
      _exit(0);
    }
  }
  for (int i = 0; i < kWriters; i++) {
    int status = 0;
    wait(&status);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  StoreFile f = read_file(dir + "/" + app().file_name(), false);
  cr_assert_eq(f.decisions.size(), static_cast<size_t>(kWriters));
}

Test(tune_store, writes_the_classic_rules_file) {
  cr_assert_eq(ompi_algorithm("allreduce", "ring"), 4);
  cr_assert_eq(ompi_algorithm("allreduce", "hierarchical"), 0);
  cr_assert_eq(ompi_collective_id("bcast"), 7);
  cr_assert_eq(rules_file({dec("allreduce", 4, 11, "native")}), "");
  const std::string text = rules_file({dec("allreduce", 4, 11, "ring"),
                                       dec("allgather", 4, 4, "bruck", "bytes")});
  // Strip comments: numbers only, in Open MPI's order.
  std::string nums;
  bool comment = false;
  for (char c : text) {
    if (c == '#') comment = true;
    if (c == '\n') comment = false;
    if (!comment) nums += c;
  }
  std::string flat;
  for (char c : nums) {
    if (c == '\n' || c == ' ') {
      if (!flat.empty() && flat.back() != ' ') flat += ' ';
    } else {
      flat += c;
    }
  }
  cr_assert_eq(flat,
               "2 0 2 4 3 0 0 0 0 64 2 0 0 128 0 0 0 5 1 0 0 0 0 "   // allgather: x4 ranks
               "2 2 4 3 0 0 0 0 2048 4 0 0 4096 0 0 0 5 1 0 0 0 0 ", // allreduce: 2-4 KiB ring
               "%s", flat.c_str());
  const std::string dir = scratch();
  const std::string p1 = write_rules_file({dec("allreduce", 4, 11, "ring")}, dir);
  const std::string p2 = write_rules_file({dec("allreduce", 4, 11, "ring")}, dir);
  cr_assert_eq(p1, p2);
  cr_assert_eq(write_rules_file({dec("allreduce", 4, 11, "native")}, dir), "");
}

// ---------------------------------------------------------------- issue 16 items 5, 11, 12

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  cr_assert_eq(lstat(path.c_str(), &st), 0, "lstat %s", path.c_str());
  return st.st_mode & 07777;
}

// getpwuid/getpwuid_r of this test binary interpose libc's for the statically linked core: with
// g_no_passwd set the user has no passwd entry.
bool g_no_passwd = false;

}  // namespace

extern "C" struct passwd* getpwuid(uid_t uid) {
  using Fn = struct passwd* (*)(uid_t);
  static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "getpwuid"));
  if (g_no_passwd) return nullptr;
  return real(uid);
}
extern "C" int getpwuid_r(uid_t uid, struct passwd* pw, char* buf, size_t len,
                          struct passwd** out) {
  using Fn = int (*)(uid_t, struct passwd*, char*, size_t, struct passwd**);
  static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "getpwuid_r"));
  if (g_no_passwd) {
    *out = nullptr;
    return 0;
  }
  return real(uid, pw, buf, len, out);
}

// Item 5: the temporary file had a predictable name (<path>.tmp.<pid>) opened without O_EXCL: a
// symlink planted there by someone who can write the directory made save() overwrite its target.
Test(tune_store, save_does_not_write_through_a_planted_temp_symlink) {
  const std::string dir = scratch(), victim = scratch() + "/victim";
  write(victim, "precious\n");
  const std::string path = dir + "/" + app().file_name();
  const std::string planted = path + ".tmp." + std::to_string(getpid());
  cr_assert_eq(symlink(victim.c_str(), planted.c_str()), 0);
  save(app(), dir, {dec("allreduce", 4, 10, "ring")});
  cr_assert_eq(slurp(victim), "precious\n", "the symlink's target was overwritten: \"%.60s\"",
               slurp(victim).c_str());
  cr_assert_eq(read_file(path, false).decisions.size(), 1u);
  // The rules file is written the same way.
  const std::vector<Decision> d = {dec("allreduce", 4, 11, "ring")};
  char name[64];
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : rules_file(d)) h = (h ^ c) * 1099511628211ull;
  snprintf(name, sizeof(name), "rules-%016llx.conf", static_cast<unsigned long long>(h));
  const std::string rules_dir = scratch();
  chmod(rules_dir.c_str(), 0700);
  cr_assert_eq(
      symlink(victim.c_str(), (rules_dir + "/" + name + ".tmp." + std::to_string(getpid())).c_str()),
      0);
  cr_assert_eq(write_rules_file(d, rules_dir), rules_dir + "/" + name);
  cr_assert_eq(slurp(victim), "precious\n");
  cr_assert_eq(slurp(rules_dir + "/" + name), rules_file(d));
}

// Item 12: valid JSON of the wrong shape made j.at("app") throw a JSON exception that escaped the
// "replace a corrupt file" catch of save(): every later save of that app failed.
Test(tune_store, a_file_of_the_wrong_shape_is_refused_and_replaced) {
  cr_assert(throws_with(R"({"schema": "paracloud-tune", "version": 1})", "app"));
  cr_assert(throws_with(R"({"schema": "paracloud-tune", "version": 1, "app": [],
                            "decisions": []})", "app"));
  const std::string ok_app = serialize(StoreFile{app(), "", {}});
  std::string no_decisions = ok_app;
  no_decisions.replace(no_decisions.find("\"decisions\""), 11, "\"decision_list\"");
  cr_assert(throws_with(no_decisions, "decisions"));
  cr_assert(throws_with(R"({"schema": "paracloud-tune", "version": 1, "app": {"name": "s",
      "build_id": "", "hash": "", "ranks": 4, "ranks_per_node": 4}, "decisions": [{"collective":
      "allreduce", "comm_size": 4, "ranks_per_node": 4, "bucket": 3, "dtype": "int",
      "algorithm": "ring", "time_us": "fast"}]})", "time_us"));
  for (const char* bad : {R"({"schema": "paracloud-tune", "version": 1})",
                          R"({"schema": "paracloud-tune", "version": 1, "app": {}, "decisions": 3})",
                          R"({"schema": "paracloud-tune", "version": 1.5})"}) {
    const std::string dir = scratch();
    const std::string path = dir + "/" + app().file_name();
    write(path, bad);
    LoadResult r = load(app(), dir, "/nonexistent");
    cr_assert_eq(r.warnings.size(), 1u, "%s: one warning expected", bad);
    try {
      save(app(), dir, {dec("allreduce", 4, 10, "ring")});
    } catch (const std::exception& e) {
      cr_assert_fail("save over %s threw: %s", bad, e.what());
    }
    cr_assert_eq(read_file(path, false).decisions.size(), 1u, "the bad file was replaced");
  }
}

// Item 12: reads had no size cap (a huge file was read whole into memory, in every rank).
Test(tune_store, an_oversized_file_is_refused_unread) {
  const std::string dir = scratch();
  const std::string path = dir + "/" + app().file_name();
  // Valid and otherwise acceptable, but padded beyond any real store file.
  write(path, serialize(StoreFile{app(), "", {dec("allreduce", 4, 10, "ring")}}) +
                  std::string(std::size_t{9} << 20, ' '));
  bool refused = false;
  try {
    read_file(path, false);
  } catch (const TuneStoreError& e) {
    refused = std::string(e.what()).find("larger than") != std::string::npos;
    cr_assert(refused, "%s", e.what());
  }
  cr_assert(refused, "a 9 MiB store file was read");
  cr_assert_eq(load(app(), dir, "/nonexistent").warnings.size(), 1u);
  save(app(), dir, {dec("allreduce", 4, 11, "ring")});
  cr_assert_eq(read_file(path, false).decisions.size(), 1u, "the oversized file was replaced");
}

// Item 11: the store is private: directories 0700, files 0600 (they name the user's
// applications), whatever the umask.
Test(tune_store, user_store_is_private) {
  umask(022);
  const std::string top = scratch();
  const std::string dir = top + "/a/tune";
  const std::string path = save(app(), dir, {dec("allreduce", 4, 10, "ring")});
  cr_assert_eq(mode_of(top + "/a"), 0700u, "created directory mode %o", mode_of(top + "/a"));
  cr_assert_eq(mode_of(dir), 0700u, "store directory mode %o", mode_of(dir));
  cr_assert_eq(mode_of(path), 0600u, "store file mode %o", mode_of(path));
  cr_assert_eq(mode_of(path + ".lock"), 0600u, "lock file mode %o", mode_of(path + ".lock"));
  const std::string rules = write_rules_file({dec("allreduce", 4, 11, "ring")}, dir + "/rules");
  cr_assert_eq(mode_of(dir + "/rules"), 0700u, "rules directory mode %o", mode_of(dir + "/rules"));
  cr_assert_eq(mode_of(rules), 0600u, "rules file mode %o", mode_of(rules));
}

// Item 11: with HOME unset and no passwd entry the store fell back to /tmp/.cache/paracloud/tune,
// shared by every such user. Now there is no user store (empty: disabled) and saving says why.
Test(tune_store, no_shared_fallback_without_a_home) {
  unsetenv("PARACLOUD_TUNE_DIR");
  unsetenv("HOME");
  g_no_passwd = true;
  const std::string dir = default_user_dir();
  g_no_passwd = false;
  cr_assert_eq(dir, "", "user store without a home: \"%s\"", dir.c_str());
  bool refused = false;
  try {
    save(app(), dir, {dec("allreduce", 4, 10, "ring")});
  } catch (const TuneStoreError& e) {
    refused = std::string(e.what()).find("PARACLOUD_TUNE_DIR") != std::string::npos;
    cr_assert(refused, "%s", e.what());
  }
  cr_assert(refused, "saving without a user store directory must fail");
  cr_assert_eq(load(app(), "", "/nonexistent").warnings.size(), 0u);
  setenv("HOME", "/home/someone", 1);
  cr_assert_eq(default_user_dir(), "/home/someone/.cache/paracloud/tune");
}

// Item 11: the Open MPI rules file (content-addressed) was used as found: a file of that name
// planted with other rules, or in a directory others can write, reached Open MPI.
Test(tune_store, rules_file_is_trusted_only_when_ours) {
  const std::vector<Decision> d = {dec("allreduce", 4, 11, "ring")};
  const std::string dir = scratch();
  chmod(dir.c_str(), 0700);
  const std::string path = write_rules_file(d, dir);
  write(path, "1\n2\n1\n4\n1\n0 6 0 0\n");  // someone's other rules under the same name
  cr_assert_eq(write_rules_file(d, dir), path);
  cr_assert_eq(slurp(path), rules_file(d), "a rules file with other content was used");
  if (geteuid() == 0) {
    cr_assert_eq(chown(path.c_str(), 65534, 65534), 0);
    cr_assert_eq(write_rules_file(d, dir), path);
    struct stat st {};
    cr_assert_eq(stat(path.c_str(), &st), 0);
    cr_assert_eq(st.st_uid, 0u, "a rules file owned by uid %u was used", st.st_uid);
  }
  // A directory that others may write is not used at all.
  const std::string shared = scratch();
  chmod(shared.c_str(), 01777);
  bool refused = false;
  try {
    write_rules_file(d, shared);
  } catch (const TuneStoreError& e) {
    refused = std::string(e.what()).find("writable by others") != std::string::npos;
    cr_assert(refused, "%s", e.what());
  }
  cr_assert(refused, "rules written into a directory others can write");
}

// The site store (seeded by `paracloud tune bench`) stays readable by every user.
Test(tune_store, site_store_is_readable_by_all) {
  umask(022);
  const std::string dir = scratch() + "/site";
  AppId any;
  any.ranks = any.ranks_per_node = 2;
  const std::string path = save(any, dir, {dec("allreduce", 2, 10, "ring")}, Visibility::site);
  cr_assert_eq(mode_of(dir), 0755u, "site directory mode %o", mode_of(dir));
  cr_assert_eq(mode_of(path), 0644u, "site file mode %o", mode_of(path));
}

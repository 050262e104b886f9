// Unit tests of lib/tune_store: file format, merge order, atomic concurrent saves, ownership and
// corruption handling, and the Open MPI coll/tuned rules file.
#include <criterion/criterion.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "tune_store.hpp"

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

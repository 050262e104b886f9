// paracloud tune: the collective tuning store (list, show, export as JSON or an Open MPI rules
// file, clear) and `tune bench`, which sweeps an allocation with the autotuner and seeds the store.
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli.hpp"
#include "error.hpp"
#include "tune_store.hpp"

namespace paracloud::cli {

namespace {

using nlohmann::json;
namespace tune = paracloud::tune;

struct TuneArgs {
  bool site = false;
  std::string dir;        // --dir: overrides the user/site directory
  std::string target;     // show/export/clear: a file path or a file name in the store
  std::string format = "json";
  bool all = false;
  // bench
  int np = 2;
  std::string launcher = "mpirun";
  std::string sweep, runtime;
  int iters = 40;
  long max_bytes = 16L << 20;
};

std::string store_dir(const TuneArgs& a) {
  if (!a.dir.empty()) return a.dir;
  return a.site ? tune::default_site_dir() : tune::default_user_dir();
}

std::vector<std::string> store_files(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 5 && n.compare(n.size() - 5, 5, ".json") == 0) out.push_back(dir + "/" + n);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::string resolve(const TuneArgs& a) {
  if (a.target.find('/') != std::string::npos) return a.target;
  std::string p = store_dir(a) + "/" + a.target;
  if (access(p.c_str(), F_OK) != 0 && access((p + ".json").c_str(), F_OK) == 0) p += ".json";
  return p;
}

tune::StoreFile read_or_throw(const std::string& path, bool site) {
  try {
    return tune::read_file(path, site);
  } catch (const tune::TuneStoreError& e) {
    throw Error(access(path.c_str(), F_OK) ? Errc::not_found : Errc::bad_input, e.what(),
                "paracloud tune list shows the store's files");
  }
}

json to_json(const tune::StoreFile& f) { return json::parse(tune::serialize(f)); }

std::string bucket_text(const tune::Decision& d) {
  if (d.bucket < 0) return "-";
  const unsigned long long lo = 1ull << d.bucket, hi = (1ull << (d.bucket + 1)) - 1;
  return std::to_string(lo) + "-" + std::to_string(hi);
}

void cmd_list(Context& ctx, const TuneArgs& a) {
  const std::string dir = store_dir(a);
  json arr = json::array();
  std::vector<std::vector<std::string>> rows;
  for (const std::string& path : store_files(dir)) {
    try {
      tune::StoreFile f = tune::read_file(path, a.site || !a.dir.empty());
      const std::string app = f.app.key();
      arr.push_back({{"file", path},
                     {"app", app},
                     {"ranks", f.app.ranks},
                     {"ranks_per_node", f.app.ranks_per_node},
                     {"decisions", f.decisions.size()},
                     {"updated", f.updated}});
      rows.push_back({path.substr(path.rfind('/') + 1), app, std::to_string(f.app.ranks),
                      std::to_string(f.app.ranks_per_node), std::to_string(f.decisions.size()),
                      f.updated});
    } catch (const std::exception& e) {
      std::cerr << "paracloud tune: " << e.what() << "\n";
    }
  }
  if (ctx.json) return print_json({{"dir", dir}, {"files", arr}});
  if (rows.empty()) {
    std::cout << "no tuning decisions in " << dir << "\n";
    return;
  }
  print_table(ctx, {"FILE", "APP", "RANKS", "PER_NODE", "DECISIONS", "UPDATED"}, rows);
}

void cmd_show(Context& ctx, const TuneArgs& a) {
  const tune::StoreFile f = read_or_throw(resolve(a), true);
  if (ctx.json) return print_json(to_json(f));
  std::vector<std::vector<std::string>> rows;
  for (const tune::Decision& d : f.decisions) {
    char t[32];
    std::snprintf(t, sizeof t, "%.2f", d.time_us);
    rows.push_back({d.collective, std::to_string(d.comm_size), std::to_string(d.ranks_per_node),
                    bucket_text(d), d.dtype, d.algorithm, d.source, t, std::to_string(d.calls)});
  }
  std::cout << f.app.key() << ": " << f.app.ranks << " ranks, " << f.app.ranks_per_node
            << " per node, updated " << f.updated << "\n";
  print_table(ctx, {"COLLECTIVE", "SIZE", "PER_NODE", "BYTES", "DTYPE", "ALGORITHM", "SOURCE",
                    "TIME_US", "CALLS"},
              rows);
}

void cmd_export(Context&, const TuneArgs& a) {
  const tune::StoreFile f = read_or_throw(resolve(a), true);
  if (a.format == "json") {
    std::cout << tune::serialize(f);
  } else if (a.format == "ompi-rules") {
    const std::string text = tune::rules_file(f.decisions);
    if (text.empty())
      throw Error(Errc::not_found, "no decision of " + resolve(a) + " names an Open MPI algorithm",
                  "only decisions such as allreduce ring/recursive_doubling/rabenseifner map");
    std::cout << text;
  } else {
    throw Error(Errc::usage, "--format '" + a.format + "' is not json or ompi-rules",
                "use --format json or --format ompi-rules");
  }
}

void cmd_clear(Context& ctx, const TuneArgs& a) {
  std::vector<std::string> victims;
  if (a.all)
    victims = store_files(store_dir(a));
  else if (!a.target.empty())
    victims = {resolve(a)};
  else
    throw Error(Errc::usage, "tune clear needs a FILE or --all", "paracloud tune list shows the files");
  int removed = 0;
  for (const std::string& v : victims) {
    if (unlink(v.c_str()) == 0) {
      removed++;
      unlink((v + ".lock").c_str());
    } else {
      throw Error(errno == ENOENT ? Errc::not_found : Errc::refused, "cannot remove " + v + ": " + std::strerror(errno),
                  "check the path and your permissions on the store");
    }
  }
  if (ctx.json) return print_json({{"removed", removed}});
  std::cout << "removed " << removed << " file(s) from " << store_dir(a) << "\n";
}

// Runs the sweep program under the autotuner in a scratch store, then copies what it learned
// (source "bench") into the geometry-wide file "any.n<ranks>.r<rpn>.json" of the target store.
void cmd_bench(Context& ctx, const TuneArgs& a) {
  std::string sweep = a.sweep, rt = a.runtime;
  if (sweep.empty()) sweep = std::getenv("PARACLOUD_TUNE_SWEEP") ? std::getenv("PARACLOUD_TUNE_SWEEP") : PKGLIBDIR "/coll_sweep";
  if (rt.empty()) rt = std::getenv("PARACLOUD_RT") ? std::getenv("PARACLOUD_RT") : PKGLIBDIR "/libparacloud_rt.so";
  for (const std::string& f : {sweep, rt})
    if (access(f.c_str(), R_OK) != 0)
      throw Error(Errc::not_found, f + " not found", "give --sweep and --runtime (the build tree's runtime/bench/coll_sweep and runtime/.libs/libparacloud_rt.so)");
  char tmpl[] = "/tmp/paracloud-tune-bench.XXXXXX";
  const char* scratch = mkdtemp(tmpl);
  if (!scratch) throw Error(Errc::storage, "cannot create a scratch directory", "check /tmp");
  const std::string work = scratch;
  std::vector<std::string> args;
  const std::string env_list = "LD_PRELOAD=" + rt + ",PARACLOUD_TUNE=auto,PARACLOUD_TUNE_DIR=" + work +
                               ",PARACLOUD_TUNE_SITE_DIR=" + work + "/none,PARACLOUD_PROFILE=" + work + "/profile.json";
  if (a.launcher == "mpirun") {
    args = {"mpirun", "-np", std::to_string(a.np)};
    for (const std::string& kv : {"LD_PRELOAD=" + rt, std::string("PARACLOUD_TUNE=auto"),
                                  "PARACLOUD_TUNE_DIR=" + work, "PARACLOUD_TUNE_SITE_DIR=" + work + "/none",
                                  "PARACLOUD_PROFILE=" + work + "/profile.json"}) {
      args.push_back("-x");
      args.push_back(kv);
    }
  } else if (a.launcher == "srun") {
    args = {"srun", "--mpi=pmix", "-n", std::to_string(a.np), "--export=ALL," + env_list};
  } else {
    throw Error(Errc::usage, "--launcher '" + a.launcher + "' is not mpirun or srun", "use --launcher mpirun or srun");
  }
  args.insert(args.end(), {sweep, "-i", std::to_string(a.iters), "-m", std::to_string(a.max_bytes), "-2"});
  std::string cmdline;
  for (const std::string& s : args) cmdline += (cmdline.empty() ? "" : " ") + s;
  std::cerr << "paracloud tune bench: " << cmdline << "\n";
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (const std::string& s : args) argv.push_back(const_cast<char*>(s.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    std::perror(argv[0]);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error(Errc::refused, "the sweep failed (" + cmdline + ")", "run it by hand to see why");
  const std::vector<std::string> learned = store_files(work);
  if (learned.empty())
    throw Error(Errc::storage, "the sweep saved no decisions in " + work, "check that the runtime and libparacloud_tunestore.so are installed side by side");
  tune::StoreFile f = tune::read_file(learned[0], false);
  std::error_code ec;
  std::filesystem::remove_all(work, ec);
  for (tune::Decision& d : f.decisions) d.source = "bench";
  tune::AppId any;
  any.ranks = f.app.ranks;
  any.ranks_per_node = f.app.ranks_per_node;
  const std::string dir = a.dir.empty() ? tune::default_site_dir() : a.dir;
  const std::string path = tune::save(any, dir, f.decisions);
  if (ctx.json) return print_json({{"file", path}, {"decisions", f.decisions.size()}});
  std::cout << "seeded " << path << " with " << f.decisions.size() << " decisions\n";
}

}  // namespace

void add_tune_commands(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<TuneArgs>();
  CLI::App* t = app.add_subcommand("tune", "Collective tuning store: list, show, export, clear, bench");
  t->require_subcommand(1);
  auto dir_opts = [&](CLI::App* c) {
    c->add_flag("--site", args->site, "the site-wide store (PARACLOUD_TUNE_SITE_DIR) instead of yours");
    c->add_option("--dir", args->dir, "a store directory (instead of PARACLOUD_TUNE_DIR / the site's)");
  };
  CLI::App* list = t->add_subcommand("list", "List the store's files (application, geometry, decisions)");
  dir_opts(list);
  list->callback([&ctx, args] { cmd_list(ctx, *args); });
  CLI::App* show = t->add_subcommand("show", "Show the decisions of one store file");
  dir_opts(show);
  show->add_option("file", args->target, "file name (as listed) or path")->required();
  show->callback([&ctx, args] { cmd_show(ctx, *args); });
  CLI::App* exp = t->add_subcommand("export", "Print a store file as JSON or as an Open MPI coll/tuned rules file");
  dir_opts(exp);
  exp->add_option("file", args->target, "file name (as listed) or path")->required();
  exp->add_option("--format", args->format, "json (default) or ompi-rules");
  exp->callback([&ctx, args] { cmd_export(ctx, *args); });
  CLI::App* clr = t->add_subcommand("clear", "Remove store files (the next runs explore again)");
  dir_opts(clr);
  clr->add_option("file", args->target, "file name (as listed) or path");
  clr->add_flag("--all", args->all, "every file of the store");
  clr->callback([&ctx, args] { cmd_clear(ctx, *args); });
  CLI::App* bench = t->add_subcommand("bench", "Sweep an allocation with the autotuner and seed the site store (like mpitune)");
  bench->add_option("-n,--np", args->np, "ranks (default 2)");
  bench->add_option("--launcher", args->launcher, "mpirun (default) or srun (inside an allocation)");
  bench->add_option("--sweep", args->sweep, "the sweep program (default $PARACLOUD_TUNE_SWEEP or <pkglibdir>/coll_sweep)");
  bench->add_option("--runtime", args->runtime, "libparacloud_rt.so (default $PARACLOUD_RT or <pkglibdir>)");
  bench->add_option("--iters", args->iters, "calls per size (default 40)");
  bench->add_option("--max-bytes", args->max_bytes, "largest message (default 16 MiB)");
  bench->add_option("--dir", args->dir, "store to seed (default PARACLOUD_TUNE_SITE_DIR)");
  bench->callback([&ctx, args] { cmd_bench(ctx, *args); });
}

}  // namespace paracloud::cli

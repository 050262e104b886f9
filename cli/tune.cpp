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
#include "common/error.hpp"
#include "io/io_store.hpp"
#include "tuning/tune_store.hpp"

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
  int iters = 100;  // enough calls for every key to finish exploring (5 candidates x 6 calls x 3 rounds)
  long max_bytes = 16L << 20;
};

std::string store_dir(const TuneArgs& a) {
  if (!a.dir.empty()) return a.dir;
  if (a.site) return tune::default_site_dir();
  std::string dir = tune::default_user_dir();
  if (dir.empty())
    throw Error(Errc::config, "no user tuning store: HOME is not set and this user has no passwd entry",
                "set PARACLOUD_TUNE_DIR or give --dir DIR");
  return dir;
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

bool is_io_file(const std::string& path) {
  return path.size() > 8 && path.compare(path.size() - 8, 8, ".io.json") == 0;
}

std::string mib_text(uint64_t bytes) {
  char t[32];
  std::snprintf(t, sizeof t, "%.1f MiB", double(bytes) / 1048576.0);
  return t;
}

// Issue 12: the IO decisions of one application (<key>.io.json): the setting, why, the evidence,
// the measured effect of the runs that applied it, a withdrawal.
void show_io(Context& ctx, const std::string& path, json* collect) {
  paracloud::io::IoStoreFile f;
  try {
    f = paracloud::io::read_store(path);
  } catch (const paracloud::io::IoRulesError& e) {
    throw Error(access(path.c_str(), F_OK) ? Errc::not_found : Errc::bad_input, e.what(),
                "paracloud tune list shows the store's files");
  }
  if (ctx.json) {
    collect->push_back(json::parse(paracloud::io::serialize_store(f)));
    return;
  }
  std::cout << f.app_key << ": IO decisions (" << path << "), updated " << f.updated << "\n";
  for (const auto& s : f.decisions) {
    const auto& d = s.decision;
    char buf[512];
    std::cout << "  dataset " << d.dataset << ": " << d.setting << "(nslots=" << d.nslots
              << ", nbytes=" << d.nbytes << " = " << mib_text(d.nbytes) << ", w0=" << d.w0
              << ")  [" << s.status << ", decided " << s.decided << "]\n";
    std::cout << "    why: " << d.reason << "\n";
    std::snprintf(buf, sizeof buf,
                  "    evidence (run that decided): file %s, chunk %s, %s, cache %s, %llu H5Dread "
                  "%.1f us/call, %llu chunk touches, %llu preads\n",
                  s.file.c_str(), mib_text(s.chunk_bytes).c_str(),
                  s.filters > 0 ? "compressed" : "not compressed",
                  mib_text(s.before.cache_bytes).c_str(), (unsigned long long)s.before.reads,
                  s.before.read_us_per_call(), (unsigned long long)s.before.chunk_touches,
                  (unsigned long long)s.before.preads);
    std::cout << buf;
    if (s.runs_applied) {
      std::snprintf(buf, sizeof buf,
                    "    effect (latest of %llu run(s) with it): H5Dread %.1f -> %.1f us/call "
                    "(%.1fx faster), preads %llu -> %llu (%.1fx fewer), cache %s\n",
                    (unsigned long long)s.runs_applied, s.before.read_us_per_call(),
                    s.after.read_us_per_call(), s.speedup(), (unsigned long long)s.before.preads,
                    (unsigned long long)s.after.preads,
                    s.after.preads ? double(s.before.preads) / double(s.after.preads) : 0.0,
                    mib_text(s.after.cache_bytes).c_str());
      std::cout << buf;
    } else {
      std::cout << "    effect: not measured yet (the next run under PARACLOUD_TUNE=auto applies it)\n";
    }
    if (s.status == "withdrawn")
      std::cout << "    withdrawn " << s.withdrawn << ": " << s.withdrawn_reason << "\n";
  }
}

void cmd_list(Context& ctx, const TuneArgs& a) {
  const std::string dir = store_dir(a);
  json arr = json::array();
  std::vector<std::vector<std::string>> rows;
  for (const std::string& path : store_files(dir)) {
    if (is_io_file(path)) {
      try {
        const auto f = paracloud::io::read_store(path);
        arr.push_back({{"file", path}, {"app", f.app_key}, {"io_decisions", f.decisions.size()},
                       {"updated", f.updated}});
        rows.push_back({path.substr(path.rfind('/') + 1), f.app_key, "-", "-",
                        std::to_string(f.decisions.size()) + " io", f.updated});
      } catch (const std::exception& e) {
        std::cerr << "paracloud tune: " << e.what() << "\n";
      }
      continue;
    }
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

void show_one(Context& ctx, const std::string& path, json* collect) {
  if (is_io_file(path)) return show_io(ctx, path, collect);
  const tune::StoreFile f = read_or_throw(path, true);
  if (ctx.json) {
    collect->push_back(to_json(f));
    return;
  }
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

// FILE (a name as listed, or a path), or APP: every store file of that application (its
// collective decisions per geometry and its IO decisions, <APP>-<id>.*).
void cmd_show(Context& ctx, const TuneArgs& a) {
  std::vector<std::string> paths;
  const std::string direct = resolve(a);
  if (a.target.find('/') != std::string::npos || access(direct.c_str(), F_OK) == 0) {
    paths.push_back(direct);
  } else {
    for (const std::string& p : store_files(store_dir(a))) {
      const std::string base = p.substr(p.rfind('/') + 1);
      if (base.rfind(a.target + "-", 0) == 0 || base.rfind(a.target + ".", 0) == 0)
        paths.push_back(p);
    }
    if (paths.empty()) paths.push_back(direct);  // not found: the error names it
  }
  json collect = json::array();
  for (std::size_t i = 0; i < paths.size(); i++) {
    if (i && !ctx.json) std::cout << "\n";
    show_one(ctx, paths[i], &collect);
  }
  if (ctx.json) print_json(collect.size() == 1 ? collect[0] : json{{"files", collect}});
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

// The program a launcher name resolves to through PATH (or the name itself when it has a '/'),
// empty when there is none.
std::string in_path(const std::string& name) {
  if (name.find('/') != std::string::npos) return access(name.c_str(), X_OK) == 0 ? name : "";
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (size_t pos = 0; pos <= dirs.size();) {
    size_t end = dirs.find(':', pos);
    if (end == std::string::npos) end = dirs.size();
    const std::string dir = end > pos ? dirs.substr(pos, end - pos) : ".";
    const std::string full = dir + "/" + name;
    if (access(full.c_str(), X_OK) == 0) return full;
    pos = end + 1;
  }
  return "";
}

// A scratch directory removed with everything in it when the bench ends, however it ends.
// `id` is what a rank must see at `path` to be on this host: "dev:inode:uid:mode" of the directory.
struct ScratchDir {
  std::string path, id;
  ScratchDir() {
    char tmpl[] = "/tmp/paracloud-tune-bench.XXXXXX";
    struct stat st {};
    if (const char* p = mkdtemp(tmpl)) path = p;
    if (!path.empty() && lstat(path.c_str(), &st) == 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%o", static_cast<unsigned>(st.st_mode & 07777));
      id = std::to_string(static_cast<unsigned long long>(st.st_dev)) + ":" +
           std::to_string(static_cast<unsigned long long>(st.st_ino)) + ":" +
           std::to_string(st.st_uid) + ":" + mode;
    }
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

// Exit status of a rank that does not start because it does not see the bench's scratch directory.
constexpr int kRankElsewhere = 86;

// What each rank runs (sh -c SCRIPT NAME SWEEP ARGS...): before the runtime is preloaded, the rank
// checks that the scratch path is the very directory this process made (not a symlink; device,
// inode, owner and mode 0700 as made), i.e. that it runs on this host. On another node the path
// would be that node's /tmp, where any user could have planted it (the name is in the launcher's
// arguments) for root's ranks to write through, and what they learned would stay there.
const char kRankScript[] =
    "d=$PARACLOUD_TUNE_BENCH_SCRATCH; "
    "if [ -L \"$d\" ] || [ ! -d \"$d\" ] || "
    "[ \"$(stat -c %d:%i:%u:%a -- \"$d\" 2>/dev/null)\" != \"$PARACLOUD_TUNE_BENCH_ID\" ]; then "
    "echo \"paracloud tune bench: a rank on $(uname -n) does not see the scratch directory $d that "
    "tune bench made on $PARACLOUD_TUNE_BENCH_HOST: not started\" >&2; exit 86; fi; "
    "LD_PRELOAD=$PARACLOUD_TUNE_BENCH_PRELOAD; export LD_PRELOAD; exec \"$@\"";

std::string host_name() {
  char h[256] = {};
  if (gethostname(h, sizeof h - 1) != 0) return "this host";
  return h;
}

// Runs the sweep program under the autotuner in a scratch store, then copies what it learned
// (source "bench") into the geometry-wide file "any.n<ranks>.r<rpn>.json" of the target store.
// Every rank runs on this host (mpirun --host localhost:NP; srun --nodes=1 on this node), and a rank
// that finds itself elsewhere refuses to start (kRankScript): the bench tunes one node.
// Progress (the command line, the sweep's latencies as they come, what was learned) goes to stderr;
// stdout carries only the result.
void cmd_bench(Context& ctx, const TuneArgs& a) {
  const char* env_sweep = std::getenv("PARACLOUD_TUNE_SWEEP");
  const char* env_rt = std::getenv("PARACLOUD_RT");
  const std::string sweep = !a.sweep.empty()          ? a.sweep
                            : env_sweep && *env_sweep ? env_sweep
                                                      : PKGLIBDIR "/coll_sweep";
  const std::string rt = !a.runtime.empty()  ? a.runtime
                         : env_rt && *env_rt ? env_rt
                                             : PKGLIBDIR "/libparacloud_rt.so";
  const std::string built =
      " (in a build tree: --sweep BUILD/runtime/bench/coll_sweep --runtime "
      "BUILD/runtime/.libs/libparacloud_rt.so)";
  if (access(sweep.c_str(), X_OK) != 0)
    throw Error(Errc::not_found, "the sweep program " + sweep + " is missing or not executable",
                "install paracloud built with MPI (configure must find mpicc; make install puts "
                "coll_sweep in " PKGLIBDIR "), or give --sweep or PARACLOUD_TUNE_SWEEP" +
                    built);
  if (access(rt.c_str(), R_OK) != 0)
    throw Error(Errc::not_found, "the runtime " + rt + " is missing",
                "install paracloud built with MPI, or give --runtime or PARACLOUD_RT" + built);
  const std::string store_lib = rt.substr(0, rt.rfind('/') + 1) + "libparacloud_tunestore.so";
  if (access(store_lib.c_str(), R_OK) != 0)
    throw Error(Errc::not_found,
                store_lib + " is missing: the runtime could not save what it learns",
                "libparacloud_tunestore.so must sit beside " + rt +
                    " (make install, or the build tree's runtime/.libs)");
  if (a.launcher != "mpirun" && a.launcher != "srun")
    throw Error(Errc::usage, "--launcher '" + a.launcher + "' is not mpirun or srun",
                "use --launcher mpirun or srun");
  if (in_path(a.launcher).empty())
    throw Error(
        Errc::not_found, a.launcher + " is not in PATH",
        a.launcher == "mpirun"
            ? "install Open MPI (apt-get install openmpi-bin) or use --launcher srun"
            : "run inside a Slurm allocation on a node with srun, or use --launcher mpirun");
  ScratchDir scratch;
  if (scratch.path.empty() || scratch.id.empty())
    throw Error(Errc::storage,
                std::string("cannot create a scratch directory in /tmp: ") + std::strerror(errno),
                "check that /tmp exists and is writable");
  const std::string work = scratch.path;
  // The scratch store is a directory of its own: everything in it ending in .json is a store file.
  const std::string store = work + "/store";
  const std::string host = host_name();
  // The runtime is preloaded by kRankScript once the rank has checked where it runs.
  const std::vector<std::string> env = {
      "PARACLOUD_TUNE_BENCH_PRELOAD=" + rt, "PARACLOUD_TUNE_BENCH_SCRATCH=" + work,
      "PARACLOUD_TUNE_BENCH_ID=" + scratch.id, "PARACLOUD_TUNE_BENCH_HOST=" + host,
      "PARACLOUD_TUNE=auto", "PARACLOUD_TUNE_DIR=" + store,
      "PARACLOUD_TUNE_SITE_DIR=" + work + "/none", "PARACLOUD_PROFILE=" + work + "/profile.json"};
  std::vector<std::string> args;
  if (a.launcher == "mpirun") {
    // localhost:NP: every rank here, whatever default hostfile or allocation mpirun would use.
    args = {"mpirun", "-np", std::to_string(a.np), "--host", "localhost:" + std::to_string(a.np)};
    if (geteuid() == 0)
      args.push_back("--allow-run-as-root");  // seeding the site store is root's job
    for (const std::string& kv : env) args.insert(args.end(), {"-x", kv});
  } else {
    std::string list = "--export=ALL";
    for (const std::string& kv : env) list += "," + kv;
    // One node, this one when this shell is in a step or batch script (SLURMD_NODENAME); a rank
    // that refuses ends the step (--kill-on-bad-exit) instead of leaving the others in MPI_Init.
    args = {"srun", "--mpi=pmix", "--nodes=1", "--kill-on-bad-exit=1"};
    if (const char* node = std::getenv("SLURMD_NODENAME"); node && *node)
      args.push_back(std::string("--nodelist=") + node);
    args.insert(args.end(), {"-n", std::to_string(a.np), list});
  }
  // -s 0: exactly --iters calls per size (coll_sweep would otherwise run more at small sizes).
  args.insert(args.end(), {"/bin/sh", "-c", kRankScript, "paracloud-tune-bench", sweep, "-i",
                           std::to_string(a.iters), "-s", "0", "-m", std::to_string(a.max_bytes),
                           "-2"});
  std::string cmdline;
  for (const std::string& s : args) cmdline += (cmdline.empty() ? "" : " ") + s;
  std::cerr << "paracloud tune bench: " << a.np << " ranks, 8 B .. " << a.max_bytes
            << " B in powers of 2, " << a.iters
            << " calls per size; latencies (us) as they come:\n  " << cmdline << "\n";
  std::cerr.flush();
  const pid_t pid = fork();
  if (pid < 0) throw Error(Errc::internal, std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    dup2(2, 1);  // the sweep's table is progress: stdout stays for the result
    std::vector<char*> argv;
    for (const std::string& s : args) argv.push_back(const_cast<char*>(s.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    std::perror(argv[0]);
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == kRankElsewhere)
    throw Error(Errc::refused,
                "a rank did not start: it does not see the scratch directory " + work +
                    " that tune bench made on " + host +
                    " (it ran on another host, or with a private /tmp); every rank must run on "
                    "this host (nothing was run or seeded)",
                a.launcher == "srun"
                    ? "run paracloud tune bench on the node to tune, inside its allocation (in the "
                      "batch script, or in srun -N1 --pty bash); it tunes one node, -n ranks on it"
                    : "run paracloud tune bench on the node to tune, with Open MPI's mpirun (it "
                      "is given --host localhost:NP); it tunes one node, -n ranks on it");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error(Errc::refused,
                "the sweep failed (" +
                    (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                       : std::string("killed by a signal")) +
                    "): " + cmdline,
                "the launcher's message is above; fewer ranks (-n) than cores, or --launcher srun "
                "inside an "
                "allocation, usually fix it");
  // What the runtime learned: keys still exploring when the sweep ended are not in the store.
  int decided = 0, exploring = 0;
  try {
    std::ifstream in(work + "/profile.json");
    const json prof = json::parse(in);
    for (const json& d : prof.at("tuning").at("decisions"))
      (d.at("source") == "exploring" ? exploring : decided)++;
    std::cerr << "paracloud tune bench: " << decided << " keys decided, " << exploring
              << " still exploring\n";
    if (exploring > 0)
      std::cerr << "paracloud tune bench: warning: the " << exploring
                << " keys still exploring are not seeded: "
                << "raise --iters (now " << a.iters << ")\n";
  } catch (const std::exception& e) {
    std::cerr << "paracloud tune bench: warning: cannot read the sweep's profile " << work
              << "/profile.json (" << e.what() << ")\n";
  }
  const std::vector<std::string> learned = store_files(store);
  if (learned.empty())
    throw Error(Errc::storage, "the sweep saved no decisions",
                exploring > 0 ? "raise --iters: every key was still exploring when the sweep ended"
                              : "check that PARACLOUD_TUNE=auto reaches the ranks and that " +
                                    store_lib + " loads");
  tune::StoreFile f = read_or_throw(learned[0], false);
  for (tune::Decision& d : f.decisions) d.source = "bench";
  tune::AppId any;
  any.ranks = f.app.ranks;
  any.ranks_per_node = f.app.ranks_per_node;
  const std::string dir = a.dir.empty() ? tune::default_site_dir() : a.dir;
  std::string path;
  try {
    path = tune::save(any, dir, f.decisions, tune::Visibility::site);  // read by every user
  } catch (const tune::TuneStoreError& e) {
    throw Error(Errc::storage, std::string("cannot seed the store in ") + dir + ": " + e.what(),
                "the site store is writable by root only: run as root, or give --dir DIR");
  }
  if (ctx.json)
    return print_json(
        {{"file", path}, {"decisions", f.decisions.size()}, {"exploring", exploring}});
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
  CLI::App* show = t->add_subcommand(
      "show", "Show the decisions of a store file, or every file of an application (collective and IO)");
  dir_opts(show);
  show->add_option("file", args->target, "file name (as listed), path, or application name")->required();
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
  CLI::App* bench = t->add_subcommand(
      "bench", "Sweep collectives 8 B..--max-bytes with the autotuner and seed a store (like mpitune)");
  bench->add_option("-n,--np", args->np, "ranks (default 2)")->check(CLI::PositiveNumber);
  bench->add_option("--launcher", args->launcher,
                    "mpirun (default) or srun (inside an allocation, on its node): every rank runs on this host");
  bench->add_option("--sweep", args->sweep,
                    "the sweep program (default $PARACLOUD_TUNE_SWEEP, else " PKGLIBDIR
                    "/coll_sweep)");
  bench->add_option("--runtime", args->runtime,
                    "libparacloud_rt.so (default $PARACLOUD_RT, else " PKGLIBDIR
                    "/libparacloud_rt.so)");
  bench
      ->add_option("--iters", args->iters,
                   "calls per size (default 100; keys still exploring at the end are not seeded)")
      ->check(CLI::Range(1, 1000000));
  bench
      ->add_option("--max-bytes", args->max_bytes,
                   "largest message in bytes (default 16777216 = 16 MiB)")
      ->check(CLI::Range(8L, 1L << 30));
  bench->add_option("--dir", args->dir,
                    "store to seed (default: the site store, $PARACLOUD_TUNE_SITE_DIR or "
                    "/var/lib/paracloud/tune)");
  bench->callback([&ctx, args] { cmd_bench(ctx, *args); });
}

}  // namespace paracloud::cli

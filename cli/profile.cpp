// paracloud profile: a readable report (like mpiP's and Darshan's summaries) of the runtime
// profiles of a job or of one profile file (paracloud-profile(1)).
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <regex>

#include "cli.hpp"
#include "common/error.hpp"
#include "profile/profile_summary.hpp"

namespace paracloud::cli {

namespace {

using nlohmann::json;

struct ProfileArgs {
  std::string target;  // JOBID, JOBID.STEP or FILE
  std::string dir;     // --dir
  std::size_t top = 10;
  bool all = false;
};

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
// Seconds with a unit that keeps 3 significant digits readable: "1.23 s", "45.6 ms", "7.10 us".
std::string seconds(double s) {
  if (s == 0) return "0";
  if (s >= 1) return fmt("%.3f s", s);
  if (s >= 1e-3) return fmt("%.3g ms", s * 1e3);
  if (s >= 1e-6) return fmt("%.3g us", s * 1e6);
  return fmt("%.3g ns", s * 1e9);
}
std::string percent(double p) { return fmt("%.2f", p); }
std::string integer(double v) { return fmt("%.0f", v); }
std::string ratio(const std::optional<double>& v) { return v ? fmt("%.2f", *v) : "-"; }
std::string layer_title(const std::string& l) {
  if (l == "posix") return "POSIX";
  if (l == "mpiio") return "MPI-IO";
  if (l == "hdf5") return "HDF5";
  if (l == "mpi") return "MPI";
  return l;
}
std::string bin_label(const SizeBin& b) {
  if (!b.max_bytes) return ">= " + std::to_string(b.min_bytes);
  if (*b.max_bytes == b.min_bytes) return std::to_string(b.min_bytes);
  return std::to_string(b.min_bytes) + "-" + std::to_string(*b.max_bytes);
}

void print_calls(const Context& ctx, const std::vector<const CallSummary*>& calls,
                 const char* pct_title) {
  std::vector<std::vector<std::string>> rows;
  bool estimated = false;
  for (const CallSummary* c : calls) {
    estimated = estimated || c->time_estimated;
    std::string mark = c->time_estimated ? "~" : "";
    rows.push_back({c->name, integer(c->count.sum), integer(c->bytes.sum),
                    mark + seconds(c->time_s.sum), percent(c->pct_of_layer),
                    percent(c->pct_of_wall), seconds(c->time_s.min), seconds(c->time_s.avg),
                    seconds(c->time_s.max), ratio(c->time_s.imbalance)});
  }
  print_table(ctx,
              {"call", "count", "bytes", "time", pct_title, "%wall", "min/rank", "avg/rank",
               "max/rank", "imbalance"},
              rows);
  if (estimated && !ctx.parsable)
    std::puts(
        "  ~ estimated: only a sample of these short calls was timed (the profile's \"timer\" says "
        "how)");
}

void print_report(const Context& ctx, const ProfileSummary& s, const ProfileArgs& a) {
  std::size_t n = a.all ? SIZE_MAX : a.top;
  std::printf("== %s\n", s.source.c_str());
  std::printf("app:        %s%s\n", s.app_name.empty() ? "?" : s.app_name.c_str(),
              s.app_exe.empty() ? "" : ("  (" + s.app_exe + ")").c_str());
  std::string job =
      s.job_id.empty() ? "none" : s.job_id + (s.job_step.empty() ? "" : " step " + s.job_step);
  std::printf("job:        %s (%s), mode %s%s%s\n", job.c_str(),
              s.launcher.empty() ? "?" : s.launcher.c_str(), s.mode.empty() ? "?" : s.mode.c_str(),
              s.created.empty() ? "" : ", written ", s.created.c_str());
  std::printf("ranks:      %lld on %lld node%s\n", static_cast<long long>(s.ranks),
              static_cast<long long>(s.nodes), s.nodes == 1 ? "" : "s");
  std::printf("wall time:  %s (longest rank; shortest %s, mean %s)\n",
              seconds(s.wall_time_s.max).c_str(), seconds(s.wall_time_s.min).c_str(),
              seconds(s.wall_time_s.avg).c_str());
  if (s.mpi) {
    double init_pct = s.wall_time_s.sum > 0 ? 100.0 * s.mpi_init_s / s.wall_time_s.sum : 0;
    std::printf("MPI time:   %s%% of wall time (MPI_Init %s%%; after MPI_Init: %s%%)%s\n",
                percent(s.mpi_pct).c_str(), percent(init_pct).c_str(),
                percent(s.mpi_pct_excl_init).c_str(),
                s.mpi_pct > 100 ? "  [over 100%: sampled call times are estimates]" : "");
  } else {
    std::printf("MPI time:   not an MPI program (POSIX IO profile)\n");
  }
  std::printf("IO time:    %s%% of wall time\n", percent(s.io_pct).c_str());
  for (const std::string& m : s.disabled_modules) std::printf("disabled:   %s\n", m.c_str());
  if (const BindingSummary& b = s.binding; b.present) {
    std::printf("binding:    PARACLOUD_BIND=%s: %lld applied, %lld kept, %lld skipped, %lld failed "
                "(at most %.1f ms per rank)\n",
                b.request.c_str(), static_cast<long long>(b.applied), static_cast<long long>(b.kept),
                static_cast<long long>(b.skipped), static_cast<long long>(b.failed), b.time_ms_max);
    if (!b.action.empty())
      std::printf("            rank 0 (%s): %s %s cpus %s%s%s, %lld thread%s (%s)%s%s\n",
                  b.launcher.empty() ? "?" : b.launcher.c_str(), b.policy.c_str(), b.action.c_str(),
                  b.cpus.empty() ? "-" : b.cpus.c_str(), b.mem.empty() ? "" : " mem ", b.mem.c_str(),
                  static_cast<long long>(b.threads), b.threads == 1 ? "" : "s", b.why.c_str(),
                  b.omp.empty() ? "" : "; OpenMP: ", b.omp.c_str());
  }

  auto mpi_calls = s.top_calls("mpi", n);
  std::size_t mpi_total = s.top_calls("mpi", SIZE_MAX).size();
  if (!mpi_calls.empty()) {
    std::printf(
        "\nTop MPI calls by time (%zu of %zu; time summed over ranks; %%MPI of the MPI calls' time "
        "without MPI_Init):\n",
        mpi_calls.size(), mpi_total);
    print_calls(ctx, mpi_calls, "%MPI");
  }
  if (!s.message_sizes.empty()) {
    std::int64_t total = 0, most = 0;
    for (const SizeBin& b : s.message_sizes) {
      total += b.count;
      most = std::max(most, b.count);
    }
    std::printf(
        "\nMessage sizes (payload bytes per MPI point-to-point and collective call, all ranks; "
        "%lld bytes in all):\n",
        static_cast<long long>(s.mpi_bytes));
    std::vector<std::vector<std::string>> rows;
    for (const SizeBin& b : s.message_sizes) {
      int bar = most > 0 ? static_cast<int>(std::lround(30.0 * static_cast<double>(b.count) /
                                                        static_cast<double>(most)))
                         : 0;
      rows.push_back(
          {bin_label(b), std::to_string(b.count),
           percent(total ? 100.0 * static_cast<double>(b.count) / static_cast<double>(total) : 0),
           std::string(static_cast<std::size_t>(std::max(bar, b.count > 0 ? 1 : 0)), '#')});
    }
    print_table(ctx, {"bytes", "calls", "%", ""}, rows);
  }
  std::vector<std::vector<std::string>> io_rows;
  for (const char* l : {"posix", "mpiio", "hdf5"})
    if (const LayerSummary* ls = s.layer(l); ls && ls->calls.sum > 0)
      io_rows.push_back(
          {layer_title(l), integer(ls->calls.sum), integer(ls->bytes_read.sum),
           integer(ls->bytes_written.sum), seconds(ls->time_s.sum),
           percent(s.wall_time_s.sum > 0 ? 100.0 * ls->time_s.sum / s.wall_time_s.sum : 0)});
  std::printf(
      "\nIO by layer (summed over ranks; layers overlap: HDF5 bytes appear again in MPI-IO, MPI-IO "
      "in POSIX):\n");
  if (io_rows.empty())
    std::printf("  no traced IO\n");
  else
    print_table(ctx, {"layer", "calls", "bytes read", "bytes written", "time", "%wall"}, io_rows);
  auto io_calls = s.top_calls("", SIZE_MAX);
  io_calls.erase(std::remove_if(io_calls.begin(), io_calls.end(),
                                [](const CallSummary* c) { return c->layer == "mpi"; }),
                 io_calls.end());
  std::size_t io_total = io_calls.size();
  if (io_calls.size() > n) io_calls.resize(n);
  if (!io_calls.empty()) {
    std::printf(
        "\nTop IO calls by time (%zu of %zu; %%IO of the IO time; nested layers overlap):\n",
        io_calls.size(), io_total);
    print_calls(ctx, io_calls, "%IO");
  }
}

// The working directory Slurm recorded for a job (scontrol, else sacct), "" when unknown.
std::string slurm_work_dir(const std::string& job) {
  auto run = [](const std::string& cmd) {
    std::string out;
    std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
    if (!p) return out;
    char buf[4096];
    while (std::fgets(buf, sizeof buf, p.get())) out += buf;
    return out;
  };
  // job is digits only (checked by the caller), so it is safe inside the command line.
  std::string out = run("timeout 5 scontrol -o show job " + job + " 2>/dev/null");
  std::smatch m;
  static const std::regex kWorkDir("(?:^| )WorkDir=(.*?)(?= [A-Za-z]+=|\\n|$)");
  if (std::regex_search(out, m, kWorkDir)) return m[1];
  out = run("timeout 5 sacct -n -X -P -j " + job + " -o WorkDir 2>/dev/null");
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  if (!out.empty() && out[0] == '/' && out.find('\n') == std::string::npos) return out;
  return {};
}

bool is_file(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The files the target names: FILE itself, or the profiles of JOBID[.STEP] found in the
// directories.
std::vector<std::string> resolve(const ProfileArgs& a) {
  const std::string& t = a.target;
  static const std::regex kJob("([0-9]+)(?:\\.([A-Za-z0-9_]+))?");
  std::smatch m;
  if (is_file(t) || !std::regex_match(t, m, kJob)) {
    if (!is_file(t))
      throw Error(
          Errc::not_found, "no profile file " + t,
          "give a job id (12345 or 12345.0) or the path of a paracloud-profile-*.json file");
    return {t};
  }
  std::string job = m[1], step = m[2];
  std::vector<std::string> dirs;
  if (!a.dir.empty())
    dirs.push_back(a.dir);
  else {
    dirs.push_back(".");
    if (std::string wd = slurm_work_dir(job); !wd.empty()) dirs.push_back(wd);
  }
  std::vector<std::string> where;
  for (const std::string& d : dirs) {
    std::vector<std::string> files = find_profile_files(d, job);
    if (!step.empty())
      files.erase(std::remove_if(files.begin(), files.end(),
                                 [&](const std::string& f) {
                                   return f.substr(f.rfind('/') + 1) !=
                                          profile_file_name(job, step);
                                 }),
                  files.end());
    if (!files.empty()) return files;
    where.push_back(d);
  }
  std::string list;
  for (const std::string& d : where) list += (list.empty() ? "" : ", ") + d;
  throw Error(Errc::not_found,
              "no profile of job " + job + (step.empty() ? "" : " step " + step) + " (" +
                  profile_file_name(job, step.empty() ? "*" : step) + ") in " + list,
              "run the job with --tune=profile (srun/sbatch) and look in its submit directory, or "
              "give --dir DIR");
}

void run_profile(Context& ctx, const ProfileArgs& a) {
  std::vector<std::string> files = resolve(a);
  json out = json::array();
  std::vector<Error> errors;
  bool first = true;
  for (const std::string& f : files) {
    try {
      std::FILE* fp = std::fopen(f.c_str(), "rb");
      if (!fp) throw Error(Errc::not_found, f + ": cannot open: " + std::strerror(errno));
      std::string body;
      char buf[65536];
      std::size_t got;
      while ((got = std::fread(buf, 1, sizeof buf, fp)) > 0 && body.size() <= kProfileMaxBytes)
        body.append(buf, got);
      std::fclose(fp);
      if (body.size() > kProfileMaxBytes)
        throw Error(Errc::bad_input, f + ": larger than " + std::to_string(kProfileMaxBytes) +
                                         " bytes: not a profile");
      ProfileSummary s = parse_profile(body, f);
      if (ctx.json) {
        out.push_back(to_json(s));
      } else {
        if (!first) std::puts("");
        print_report(ctx, s, a);
        std::fflush(stdout);
      }
      first = false;
    } catch (const Error& e) {
      if (files.size() > 1)
        std::fprintf(stderr, "paracloud: %s\n", e.what());  // one file: main() says it
      errors.push_back(e);
    }
  }
  if (ctx.json && !out.empty()) print_json(out);
  if (!errors.empty()) {
    if (files.size() == 1) throw errors[0];
    throw Error(errors[0].code(),
                std::to_string(errors.size()) + " of " + std::to_string(files.size()) +
                    " profiles could not be read (above)",
                errors[0].hint());
  }
}

}  // namespace

void add_profile_commands(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<ProfileArgs>();
  CLI::App* cmd = app.add_subcommand("profile",
                                     "Report of the runtime profiles of a job (each step) or of "
                                     "one profile file: MPI and IO time, top calls, "
                                     "message sizes, IO by layer. See paracloud-profile(1).");
  cmd->add_option("target", args->target, "JOBID, JOBID.STEP, or a profile file")->required();
  cmd->add_option("-d,--dir", args->dir,
                  "directory of the job's profiles (default: the current directory, then the job's "
                  "WorkDir from Slurm)");
  cmd->add_option("-n,--top", args->top, "calls listed per table (default 10)")
      ->check(CLI::Range(1, 100000));
  cmd->add_flag("-a,--all", args->all, "list every call");
  cmd->callback([&ctx, args] { run_profile(ctx, *args); });
}

}  // namespace paracloud::cli

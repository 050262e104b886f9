// Runtime profiles (runtime/PROFILE-SCHEMA.md, version 1): parsing into a summary, the compact form
// kept in accounting records, and safe lookup of a job's profile files.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace paracloud {

constexpr int kProfileSchemaVersion = 1;  // the newest profile version this build reads
constexpr int kProfileSummaryVersion =
    1;  // layout of to_json(ProfileSummary) and compact_profile()
constexpr std::size_t kProfileMaxBytes = 16u << 20;  // larger files are refused (record_profile)
// What all profiles of one job may cost record_profile() (with at most 64 files): the bytes read
// and parsed, in all. Parsing is linear, so this bounds the time a job holds jobcomp's worker.
constexpr std::size_t kProfileJobMaxBytes = 32u << 20;
// Values (keys, scalars, containers) a profile may hold: a real one has a few thousand (about 40
// per call; every call of the runtime with full histograms stays under 100000); a document with
// more is refused before its tree is built (memory: 1M empty objects took ~100 MB).
constexpr std::size_t kProfileMaxValues = 1u << 18;

// A statistic over the ranks of a step ({"sum", "min", "avg", "max", "imbalance"} in the profile).
struct ProfileStat {
  double sum = 0, min = 0, avg = 0, max = 0;
  std::optional<double> imbalance;  // max / avg; empty when avg is 0 or the profile has none
};

// One bin of a message-size histogram: calls whose payload was in [min_bytes, max_bytes].
struct SizeBin {
  int bin = 0;
  std::int64_t min_bytes = 0;
  std::optional<std::int64_t> max_bytes;  // empty: open-ended (the last bin)
  std::int64_t count = 0;
};

struct CallSummary {
  std::string name, layer, kind;  // "MPI_Allreduce", "mpi", "coll"
  ProfileStat count, bytes, time_s;
  bool time_estimated = false;  // sampled calls: time_s is an unbiased estimate
  std::int64_t fortran_calls = 0, errors = 0;
  std::vector<SizeBin> size_hist;
  // time_s.sum as a share: MPI calls of the summed time of all MPI calls but MPI_Init/Finalize; IO
  // calls of io_time_s.sum (outermost IO time, so nested layers' shares overlap: H5Dwrite contains
  // its pwrite)
  double pct_of_layer = 0;
  double pct_of_wall = 0;  // time_s.sum as % of wall_time_s.sum
};

struct LayerSummary {
  std::string name;  // mpi, mpiio, posix, hdf5
  ProfileStat calls, bytes_read, bytes_written, time_s;
};

// The profile's "binding" object (runtime 1.3, issue 11): how the ranks were bound.
struct BindingSummary {
  bool present = false;
  std::string request;                          // PARACLOUD_BIND's policy word
  std::int64_t applied = 0, kept = 0, skipped = 0, failed = 0;  // ranks
  double time_ms_max = 0;
  std::string action, launcher, policy, cpus, mem, omp, why;  // rank 0's
  std::int64_t threads = 0;
};

struct ProfileSummary {
  std::string source;  // file name (for messages)
  int version = 0;
  std::string generator, created, mode;
  std::string app_name, app_exe;
  std::string job_id, job_step, launcher;  // "" when the profile has null
  bool mpi = false;
  std::int64_t ranks = 0, nodes = 0;
  ProfileStat wall_time_s, mpi_time_s, io_time_s;
  double mpi_pct = 0, io_pct = 0;  // as written by the runtime (MPI_Init included)
  double mpi_init_s = 0;           // MPI_Init(_thread) time summed over ranks
  double mpi_pct_excl_init =
      0;  // MPI time as % of wall time, MPI_Init left out of both (as mpiP counts)
  std::vector<std::string> disabled_modules;  // "posix: PARACLOUD_DISABLE"
  std::vector<CallSummary> calls;             // every call, most time first (ties: by name)
  std::vector<LayerSummary> layers;           // mpi, mpiio, posix, hdf5 (those present)
  std::vector<SizeBin>
      message_sizes;  // MPI p2p and collective payloads, summed over calls (barriers left out)
  std::int64_t mpi_bytes = 0;  // payload bytes of those calls, summed over ranks
  BindingSummary binding;

  const LayerSummary* layer(std::string_view name) const;
  // The n calls of `layer` ("" for any layer) with the most time; MPI_Init/MPI_Finalize left out.
  std::vector<const CallSummary*> top_calls(std::string_view layer, std::size_t n) const;
};

// Parses one profile document in time linear in its length. Throws Error(bad_input) naming
// `source` and what is wrong: not JSON (with the byte offset), nested deeper than 32 levels, more
// than kProfileMaxValues values, not a paracloud profile, a newer version, a field of the wrong
// type. Unknown keys are ignored (later versions only add keys).
ProfileSummary parse_profile(std::string_view text, const std::string& source);
ProfileSummary summarize_profile(const nlohmann::json& doc, const std::string& source);

// The normalized summary (`paracloud --json profile`): every call with its percentages, the
// message-size histogram and the IO layers, in a layout that does not follow the profile's.
nlohmann::json to_json(const ProfileSummary& s);
// A few hundred bytes for an accounting record: app, step, ranks, nodes, wall_s, mpi_pct, io_pct,
// top_calls (3, with time_s and pct of wall), bytes {mpi, and read/written per IO layer used},
// binding {policy, applied, kept} when the profile has one.
nlohmann::json compact_profile(const ProfileSummary& s);

// ---------------------------------------------------------------- files of a job

// "paracloud-profile-<jobid>.<step>.json" (the runtime's name under Slurm).
std::string profile_file_name(const std::string& job_id, const std::string& step);
// The step of a file name of job `job_id`, or nullopt when the name is not one of its profiles.
std::optional<std::string> profile_step_of(const std::string& file_name, const std::string& job_id);
// Orders steps as users read them: numeric steps ascending, then "batch", then others by name.
bool step_less(const std::string& a, const std::string& b);

// The profiles of job `job_id` in `dir` (full paths, in step order). Throws Error(not_found)
// when `dir` cannot be read.
std::vector<std::string> find_profile_files(const std::string& dir, const std::string& job_id);

// Reads a file of a directory that another user controls, as a privileged process may: the name
// is opened relative to `dirfd` with O_NOFOLLOW|O_NONBLOCK (no symlink, no blocking FIFO); it must
// be a regular file owned by `owner` and at most `max_bytes` long. Returns the text, or nullopt
// with *why set ("not owned by uid 1001 (owner 0)", "larger than 16777216 bytes", ...).
std::optional<std::string> read_owned_file(int dirfd, const std::string& name, uid_t owner,
                                           std::size_t max_bytes, std::string* why);

// The `profile` value of an accounting record for job `job_id` of user `uid` whose profiles
// were written to `dir`: {"summary_version", "dir", "steps": [compact_profile...], "skipped":
// [{"file", "reason"}]}, or null with *why set when no usable profile exists (no dir, no file,
// every file refused). Never throws; looks at no more than `max_files` files, reads none larger
// than `max_bytes`, and no more than `max_total_bytes` in all (the rest are skipped, "not read:
// the job's profiles exceed N bytes in all").
nlohmann::json record_profile(const std::string& dir, std::uint32_t job_id, uid_t uid,
                              std::string* why, std::size_t max_files = 64,
                              std::size_t max_bytes = kProfileMaxBytes,
                              std::size_t max_total_bytes = kProfileJobMaxBytes);

}  // namespace paracloud

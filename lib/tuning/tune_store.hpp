// The collective tuning store: decisions per application and job geometry as versioned JSON files
// (user and site directories), their merge order, atomic saving, and the Open MPI coll/tuned
// dynamic rules file generated from them. Pure core: no MPI header; shared by the CLI and the
// preload runtime (through runtime/coll/store_capi.h).
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace paracloud::tune {

constexpr const char* kSchema = "paracloud-tune";
constexpr int kVersion = 1;
// Larger store files are refused unread (a real one holds a few thousand decisions, < 2 MiB).
constexpr std::size_t kMaxFileBytes = 8u << 20;

// Who may read what save() writes: the user alone (directories 0700, files 0600: the file names
// name the user's applications), or every user (the site store: 0755, 0644).
enum class Visibility { user, site };

struct TuneStoreError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One decision: which algorithm runs this collective for this communicator size, ranks per node,
// message-size bucket (bytes in [2^bucket, 2^(bucket+1)), -1 for barrier) and datatype class.
struct Decision {
  std::string collective, dtype, algorithm, source;
  int comm_size = 0, ranks_per_node = 0, bucket = 0;
  double time_us = 0;
  uint64_t calls = 0;
  bool same_key(const Decision& o) const;
};

// The application and geometry a store file belongs to. An empty name with no build-id/hash is the
// site's geometry-wide file ("any"), which `paracloud tune bench` seeds.
struct AppId {
  std::string name, build_id, hash;
  int ranks = 0, ranks_per_node = 0;
  std::string key() const;        // "<name>-<build-id prefix or hash>" or "any"
  std::string file_name() const;  // "<key>.n<ranks>.r<ranks_per_node>.json"
};

struct StoreFile {
  AppId app;
  std::string updated;  // UTC ISO 8601 of the last save
  std::vector<Decision> decisions;
};

StoreFile parse(const std::string& text);  // throws TuneStoreError naming what is wrong
std::string serialize(const StoreFile& f);
// base with every decision of `newer` replacing the one with the same key (or appended).
std::vector<Decision> merge(std::vector<Decision> base, const std::vector<Decision>& newer);

struct LoadResult {
  std::vector<Decision> decisions;
  std::vector<std::string> files;     // files read, in priority order
  std::vector<std::string> warnings;  // one per ignored (corrupt or foreign) file
};
// User file for the app, then the site's file for the app, then the site's geometry-wide file:
// earlier ones win per key. Missing files are skipped silently; a corrupt file (not JSON, the wrong
// shape, larger than kMaxFileBytes, not a regular file), or one owned by another user (site
// files: by another user than root), is ignored with a warning. An empty user_dir (no user
// store, see default_user_dir) is skipped. Never throws.
LoadResult load(const AppId& app, const std::string& user_dir, const std::string& site_dir);
// Reads one file (ownership checked as for `site` when site is true). Throws TuneStoreError.
StoreFile read_file(const std::string& path, bool site);
// Merges decisions into dir/app.file_name() under an exclusive lock; writes a new temporary file
// (unpredictable name, O_EXCL|O_NOFOLLOW) and renames it. A corrupt existing file is replaced.
// Creates dir and its missing parents (0700, or 0755 for Visibility::site); the file gets 0600
// (0644). Returns the path. Throws TuneStoreError (also for an empty dir: no user store).
std::string save(const AppId& app, const std::string& dir, const std::vector<Decision>& d,
                 Visibility visibility = Visibility::user);

// Open MPI 4.1 coll/tuned names: its algorithm number for one of ours (0: none), its collective id.
int ompi_algorithm(const std::string& collective, const std::string& algorithm);
int ompi_collective_id(const std::string& collective);  // -1 when coll/tuned has no rules for it
// The classic (v1) dynamic rules file for the decisions that map to Open MPI algorithms; empty
// when none does. Each rule covers exactly its communicator size and bucket: defaults (algorithm 0)
// are written around it, so that Open MPI's "largest size <= actual" matching changes nothing else.
std::string rules_file(const std::vector<Decision>& decisions);
// Writes rules_file() to dir/rules-<hash of content>.conf (atomically, 0600); returns the path, or
// "" when no decision maps. Open MPI reads that file later by name, so dir (created 0700) and each
// directory above it must be owned by the user or root and not writable by others (sticky ones
// above dir excepted): else TuneStoreError. An existing file is used only when it is a regular
// file of the user's holding exactly that text; anything else there is replaced.
std::string write_rules_file(const std::vector<Decision>& decisions, const std::string& dir);

// Default directories: PARACLOUD_TUNE_DIR or ~/.cache/paracloud/tune ($HOME, else the passwd
// entry's home; "" when there is neither: no user store, never a shared fallback);
// PARACLOUD_TUNE_SITE_DIR or /var/lib/paracloud/tune.
std::string default_user_dir();
std::string default_site_dir();

}  // namespace paracloud::tune

// IO tuning rules (issue 12): profile evidence about one HDF5 dataset -> a setting with a reason.
// Pure core: no HDF5, MPI or runtime header. The thresholds live in a versioned rules file
// (lib/io/io-rules.json, installed as $(pkgdatadir)/io-rules.json), never in this code: a rule is a
// list of conditions on named metrics of the evidence ("all" must hold, and one of "any" when
// given) plus the sizing parameters of its setting; the first rule that matches wins.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace paracloud::io {

constexpr const char* kRulesSchema = "paracloud-io-rules";
constexpr int kRulesVersion = 1;

struct IoRulesError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What the runtime saw of one dataset during one run (one process: rank 0's view).
struct DatasetEvidence {
  std::string dataset;  // the name the application opened it by ("/grid/temperature")
  std::string file;     // the file's name as HDF5 reports it (H5Fget_name)
  std::vector<uint64_t> dims, chunk;  // extent and chunk dims (chunk empty: not chunked)
  uint64_t chunk_bytes = 0;   // product of chunk dims x element size
  int filters = 0;            // filters in the pipeline (deflate, shuffle, ...): compressed when > 0
  uint64_t cache_bytes = 0;   // the dataset's effective chunk cache at open (H5Pget_chunk_cache)
  uint64_t cache_slots = 0;
  uint64_t reads = 0;               // H5Dread calls
  uint64_t chunk_touches = 0;       // sum over reads of the chunks each read's selection spans
  uint64_t max_chunks_per_read = 0; // the working set of one read, in chunks
  uint64_t read_ns = 0;             // time in H5Dread
  bool tuned = false;               // this run opened it with a stored decision applied
  uint64_t total_chunks() const;    // chunks in the extent (0: not chunked)
};

// Named metrics of the evidence, which the rules' conditions compare: chunked, compressed,
// chunk_bytes, cache_bytes, reads, chunk_touches, total_chunks, working_set_chunks,
// working_set_bytes, reread_ratio (chunk touches per chunk of the extent).
std::map<std::string, double> metrics(const DatasetEvidence& e);

struct Condition {
  std::string metric, op;  // op: one of < <= > >= == !=
  double value = 0;
  std::string other;  // compare with this metric instead of `value` when set
};

struct ChunkCacheSizing {
  double headroom = 2.0;        // cache bytes = working set bytes x headroom, rounded up
  uint64_t round_bytes = 1 << 20;
  uint64_t max_bytes = 256u << 20;  // no decision when the working set needs more than this
  double slots_per_chunk = 100;     // hash slots per chunk that fits (HDF5's advice: ~100)
  uint64_t min_slots = 521;         // HDF5's default
  double w0 = 0.75;
};

struct Rule {
  std::string name, setting;  // setting: "chunk_cache"
  std::vector<Condition> all, any;
  ChunkCacheSizing chunk_cache;
};

struct Rules {
  int version = 0;
  std::vector<Rule> rules;
  // A decision whose next run's H5Dread time per read exceeds the time before by this factor is
  // withdrawn.
  double withdraw_slower_than = 1.05;
};

// The setting chosen for one dataset.
struct Decision {
  std::string dataset, rule, setting;
  uint64_t nslots = 0, nbytes = 0;
  double w0 = 0;
  std::string reason;
};

Rules parse_rules(const std::string& text);  // throws IoRulesError naming what is wrong
Rules read_rules(const std::string& path);   // the same for a file (regular, at most 1 MiB)
// The first matching rule's decision for the dataset, or none.
std::optional<Decision> decide(const DatasetEvidence& e, const Rules& rules);

}  // namespace paracloud::io

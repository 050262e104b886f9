// IO tuning decisions per application (issue 12): "<app key>.io.json" beside the collective
// decisions in the tuning store directory (same owner checks, modes 0700/0600, lock, atomic
// write). Each decision keeps the evidence it was made from, the measured effect of the runs that
// applied it, and, when such a run got slower, its withdrawal. Pure core: no HDF5 or MPI header.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/io_rules.hpp"
#include "tuning/tune_store.hpp"

namespace paracloud::io {

constexpr const char* kStoreSchema = "paracloud-io-tune";
constexpr int kStoreVersion = 1;

// One run's measurement of a dataset (before: the run the decision came from; after: the latest
// run that applied it).
struct Measure {
  uint64_t reads = 0, chunk_touches = 0, read_ns = 0, cache_bytes = 0;
  uint64_t preads = 0;  // pread/pread64 calls of the process (all files), POSIX layer
  double read_us_per_call() const { return reads ? double(read_ns) / 1e3 / double(reads) : 0; }
};

struct StoredDecision {
  Decision decision;                // dataset, rule, setting, nslots, nbytes, w0, reason
  std::string status = "active";    // "active" or "withdrawn"
  std::string decided, withdrawn;   // UTC times
  std::string withdrawn_reason;
  std::string file;                 // the HDF5 file it was seen in
  uint64_t chunk_bytes = 0, working_set_chunks = 0;
  int filters = 0;
  Measure before, after;
  uint64_t runs_applied = 0;
  double speedup() const;  // before / after H5Dread time per call (0: not measured yet)
};

struct IoStoreFile {
  std::string app_key, updated;
  std::vector<StoredDecision> decisions;
};

IoStoreFile parse_store(const std::string& text);  // throws IoRulesError
std::string serialize_store(const IoStoreFile& f);

// One run folded into the file: a dataset opened with a decision applied (tuned) records its
// effect and is withdrawn when its H5Dread time per call exceeds before's by the rules'
// withdraw_slower_than; a dataset without a stored decision gets the rules' decision, if any
// (a withdrawn one is never decided again). `now` is the UTC time to stamp.
void fold_run(IoStoreFile& f, const std::vector<DatasetEvidence>& run, uint64_t preads,
              const Rules& rules, const std::string& now);

std::string store_path(const tune::AppId& app, const std::string& dir);  // dir/<key>.io.json
// Reads the file (regular, ours, at most tune::kMaxFileBytes); throws IoRulesError.
IoStoreFile read_store(const std::string& path);
// Under dir/<key>.io.json.lock: read (a corrupt file starts empty), fold_run, write atomically
// (0600; dir created 0700). Returns the path. Throws IoRulesError or tune::TuneStoreError.
std::string record_run(const tune::AppId& app, const std::string& dir,
                       const std::vector<DatasetEvidence>& run, uint64_t preads,
                       const Rules& rules);

}  // namespace paracloud::io

// libparacloud_tunestore.so: lib/tuning/tune_store.cpp behind the C interface of store_capi.h, for the
// preload runtime (which has no C++ runtime of its own). No exception leaves these functions.
#include "store_capi.h"

#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <unistd.h>

#include "io/io_store.hpp"
#include "tuning/tune_store.hpp"

namespace {

using namespace paracloud::tune;

// Each problem file is reported once per process, however often it is read.
void warn_once(pc_tune_warn_fn warn, const std::string& message) {
  static std::mutex mu;
  static std::set<std::string> seen;
  std::lock_guard<std::mutex> lock(mu);
  if (warn && seen.insert(message).second) warn(message.c_str());
}

// Runs `body` (the C result); an exception becomes one warning, `prefix` + what it says (or
// `unknown` for anything else), and -1: no exception leaves the C interface.
template <typename F>
int guarded(pc_tune_warn_fn warn, const char* prefix, const char* unknown, F&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    warn_once(warn, std::string(prefix) + e.what());
  } catch (...) {
    warn_once(warn, unknown);
  }
  return -1;
}

AppId app_of(const pc_tune_app* a) {
  AppId id;
  id.name = a->name ? a->name : "";
  id.build_id = a->build_id ? a->build_id : "";
  id.hash = a->hash ? a->hash : "";
  id.ranks = a->ranks;
  id.ranks_per_node = a->ranks_per_node;
  return id;
}

void copy(char* dst, size_t len, const std::string& s) {
  if (len) snprintf(dst, len, "%s", s.c_str());
}

Decision from_c(const pc_tune_decision& d) {
  Decision x;
  x.collective = d.collective;
  x.comm_size = d.comm_size;
  x.ranks_per_node = d.ranks_per_node;
  x.bucket = d.bucket;
  x.dtype = d.dtype;
  x.algorithm = d.algorithm;
  x.source = d.source;
  x.time_us = d.time_us;
  x.calls = d.calls;
  return x;
}

}  // namespace

extern "C" __attribute__((visibility("default"))) int pc_tune_capi_version() {
  return PC_TUNE_CAPI_VERSION;
}

extern "C" __attribute__((visibility("default"))) int pc_tune_store_load(
    const pc_tune_app* app, pc_tune_decision* out, int max, char* loaded, size_t loaded_len,
    pc_tune_warn_fn warn) {
  return guarded(warn, "", "unknown error while loading", [&] {
    const LoadResult r = load(app_of(app), app->user_dir, app->site_dir);
    for (const std::string& w : r.warnings) warn_once(warn, w);
    std::string files;
    for (const std::string& f : r.files) files += (files.empty() ? "" : ";") + f;
    copy(loaded, loaded_len, files);
    int n = 0;
    for (const Decision& d : r.decisions) {
      if (n >= max) break;
      pc_tune_decision& o = out[n++];
      std::memset(&o, 0, sizeof(o));
      copy(o.collective, sizeof(o.collective), d.collective);
      o.comm_size = d.comm_size;
      o.ranks_per_node = d.ranks_per_node;
      o.bucket = d.bucket;
      copy(o.dtype, sizeof(o.dtype), d.dtype);
      copy(o.algorithm, sizeof(o.algorithm), d.algorithm);
      copy(o.source, sizeof(o.source), d.source);
      o.time_us = d.time_us;
      o.calls = d.calls;
    }
    return n;
  });
}

extern "C" __attribute__((visibility("default"))) int pc_tune_store_save(
    const pc_tune_app* app, const pc_tune_decision* d, int n, char* path, size_t path_len,
    pc_tune_warn_fn warn) {
  return guarded(warn, "not saved: ", "not saved: unknown error", [&] {
    std::vector<Decision> v;
    for (int i = 0; i < n; i++) v.push_back(from_c(d[i]));
    copy(path, path_len, save(app_of(app), app->user_dir, v));
    return 0;
  });
}

extern "C" __attribute__((visibility("default"))) int pc_tune_rules_write(
    const pc_tune_decision* d, int n, const char* dir, char* path, size_t path_len,
    pc_tune_warn_fn warn) {
  return guarded(warn, "rules file not written: ", "rules file not written: unknown error",
                 [&] {
    std::vector<Decision> v;
    for (int i = 0; i < n; i++) v.push_back(from_c(d[i]));
    const std::string p = write_rules_file(v, dir);
    copy(path, path_len, p);
    return p.empty() ? 0 : 1;
  });
}

// ---- IO decisions (issue 12): lib/io/io_store behind pc_io_store_load / pc_io_store_record.

extern "C" __attribute__((visibility("default"))) int pc_io_store_load(const pc_tune_app* app,
                                                                       pc_io_decision* out,
                                                                       int max,
                                                                       pc_tune_warn_fn warn) {
  return guarded(warn, "IO decisions not used: ", "IO decisions not used: unknown error", [&] {
    if (!app->user_dir || !*app->user_dir) return 0;
    const std::string path = paracloud::io::store_path(app_of(app), app->user_dir);
    if (access(path.c_str(), F_OK) != 0) return 0;
    const paracloud::io::IoStoreFile f = paracloud::io::read_store(path);
    int n = 0;
    for (const auto& d : f.decisions) {
      if (n >= max) break;
      if (d.status != "active" || d.decision.dataset.size() >= PC_IO_NAME_MAX) continue;
      pc_io_decision& o = out[n++];
      std::memset(&o, 0, sizeof(o));
      copy(o.dataset, sizeof(o.dataset), d.decision.dataset);
      o.nslots = d.decision.nslots;
      o.nbytes = d.decision.nbytes;
      o.w0 = d.decision.w0;
    }
    return n;
  });
}

extern "C" __attribute__((visibility("default"))) int pc_io_store_record(
    const pc_tune_app* app, const char* rules_path, const pc_io_evidence* ev, int n,
    uint64_t preads, char* path, size_t path_len, pc_tune_warn_fn warn) {
  return guarded(warn, "IO decisions not recorded: ", "IO decisions not recorded: unknown error",
                 [&] {
    const paracloud::io::Rules rules = paracloud::io::read_rules(rules_path ? rules_path : "");
    std::vector<paracloud::io::DatasetEvidence> run;
    for (int i = 0; i < n; i++) {
      const pc_io_evidence& e = ev[i];
      paracloud::io::DatasetEvidence x;
      x.dataset.assign(e.dataset, strnlen(e.dataset, sizeof(e.dataset)));
      x.file.assign(e.file, strnlen(e.file, sizeof(e.file)));
      const int rank = e.rank < 0 ? 0 : e.rank > PC_IO_RANK_MAX ? PC_IO_RANK_MAX : e.rank;
      bool chunked = rank > 0;
      for (int k = 0; k < rank; k++) chunked = chunked && e.chunk[k] > 0;
      for (int k = 0; k < rank; k++) {
        x.dims.push_back(e.dims[k]);
        if (chunked) x.chunk.push_back(e.chunk[k]);
      }
      x.chunk_bytes = e.chunk_bytes;
      x.filters = e.filters;
      x.cache_bytes = e.cache_bytes;
      x.cache_slots = e.cache_slots;
      x.reads = e.reads;
      x.chunk_touches = e.chunk_touches;
      x.max_chunks_per_read = e.max_chunks_per_read;
      x.read_ns = e.read_ns;
      x.tuned = e.tuned != 0;
      run.push_back(x);
    }
    copy(path, path_len, paracloud::io::record_run(app_of(app), app->user_dir ? app->user_dir : "",
                                                   run, preads, rules));
    return 0;
  });
}

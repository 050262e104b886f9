// libparacloud_tunestore.so: lib/tune_store.cpp behind the C interface of store_capi.h, for the
// preload runtime (which has no C++ runtime of its own). No exception leaves these functions.
#include "store_capi.h"

#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>
#include <string>

#include "tune_store.hpp"

namespace {

using namespace paracloud::tune;

// Each problem file is reported once per process, however often it is read.
void warn_once(pc_tune_warn_fn warn, const std::string& message) {
  static std::mutex mu;
  static std::set<std::string> seen;
  std::lock_guard<std::mutex> lock(mu);
  if (warn && seen.insert(message).second) warn(message.c_str());
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
  try {
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
  } catch (const std::exception& e) {
    warn_once(warn, e.what());
  } catch (...) {
    warn_once(warn, "unknown error while loading");
  }
  return -1;
}

extern "C" __attribute__((visibility("default"))) int pc_tune_store_save(
    const pc_tune_app* app, const pc_tune_decision* d, int n, char* path, size_t path_len,
    pc_tune_warn_fn warn) {
  try {
    std::vector<Decision> v;
    for (int i = 0; i < n; i++) v.push_back(from_c(d[i]));
    copy(path, path_len, save(app_of(app), app->user_dir, v));
    return 0;
  } catch (const std::exception& e) {
    warn_once(warn, std::string("not saved: ") + e.what());
  } catch (...) {
    warn_once(warn, "not saved: unknown error");
  }
  return -1;
}

extern "C" __attribute__((visibility("default"))) int pc_tune_rules_write(
    const pc_tune_decision* d, int n, const char* dir, char* path, size_t path_len,
    pc_tune_warn_fn warn) {
  try {
    std::vector<Decision> v;
    for (int i = 0; i < n; i++) v.push_back(from_c(d[i]));
    const std::string p = write_rules_file(v, dir);
    copy(path, path_len, p);
    return p.empty() ? 0 : 1;
  } catch (const std::exception& e) {
    warn_once(warn, std::string("rules file not written: ") + e.what());
  } catch (...) {
    warn_once(warn, "rules file not written: unknown error");
  }
  return -1;
}

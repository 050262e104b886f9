// The profile: per-rank counters summed over threads, reduced over ranks (sum/min/max) with PMPI
// and written by rank 0 as one JSON document (schema: PROFILE-SCHEMA.md).
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#include "../lib/common/atomic_file.h"
#include "hdf5_helpers.hpp"
#include "json_writer.hpp"
#include "session.hpp"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

namespace pc {
namespace {

constexpr int kSchemaVersion = 1;
constexpr int kSchemaMinor = 3;  // 1.1: "minor_version" and "tuning" (PARACLOUD_TUNE=auto); 1.2: "io";
                                 // 1.3: "binding"

// ------------------------------------------------------------------ per-rank vector
// Per used call: the fields below, then per layer kLayerFields, then kScalars.
enum CallField {
  fCount,
  fFortran,
  fErrors,
  fBytes,
  fTimeNs,
  fEstimated,
  fHist,
  fCommCount = fHist + kHistBins,
  fCommBytes = fCommCount + kCommClasses,
  kCallFields = fCommBytes + kCommClasses
};
enum LayerField { lCalls, lBytesRead, lBytesWritten, lTimeNs, kLayerFields };
// sBind0 + action code (mod_bind.cpp: 1 applied .. 4 failed) is 1 on a rank; sBindUs its time.
enum Scalar { sWallNs, sMpiNs, sIoNs, sBind0, sBindUs = sBind0 + 5, kScalars };

struct Vec {
  uint64_t* v = nullptr;
  int n = 0;
  bool alloc(int size) {
    v = static_cast<uint64_t*>(calloc(static_cast<size_t>(size), sizeof(uint64_t)));
    n = size;
    return v != nullptr;
  }
  ~Vec() { free(v); }
};

struct Layout {
  int used[kCallCount];  // call ids present anywhere
  int nused = 0;
  int call(int u, int field) const { return u * kCallFields + field; }
  int layer(int l, int field) const { return nused * kCallFields + l * kLayerFields + field; }
  int scalar(int s) const { return nused * kCallFields + kLayerCount * kLayerFields + s; }
  int size() const { return scalar(kScalars); }
};

template <typename F>
void for_each_block(F f) {
  for (ThreadBlock* b = thread_blocks(); b; b = b->next) f(*b);
  f(*fallback_block());
}

void fill(Vec& out, const Layout& lay, double ns_tick, uint64_t wall_ns) {
  for (int u = 0; u < lay.nused; u++) {
    const int id = lay.used[u];
    const bool io_read = !strcmp(kCalls[id].kind, "read");
    const bool io_write = !strcmp(kCalls[id].kind, "write");
    uint64_t* c = out.v + lay.call(u, 0);
    uint64_t ticks = 0, timed = 0;
    for_each_block([&](const ThreadBlock& b) {
      const CallStats& s = b.calls[id];
      c[fCount] += s.count.get();
      c[fFortran] += s.fortran.get();
      c[fErrors] += s.errors.get();
      c[fBytes] += s.bytes.get();
      ticks += s.est_ticks.get();
      timed += s.timed.get();
      for (int h = 0; h < kHistBins; h++) c[fHist + h] += s.hist[h].get();
      for (int k = 0; k < kCommClasses; k++) {
        c[fCommCount + k] += s.comm_count[k].get();
        c[fCommBytes + k] += s.comm_bytes[k].get();
      }
    });
    c[fTimeNs] = static_cast<uint64_t>(static_cast<double>(ticks) * ns_tick);
    c[fEstimated] = timed < c[fCount] + c[fErrors] ? 1 : 0;
    uint64_t* l = out.v + lay.layer(kCalls[id].layer, 0);
    l[lCalls] += c[fCount];
    if (io_read) l[lBytesRead] += c[fBytes];
    if (io_write) l[lBytesWritten] += c[fBytes];
    l[lTimeNs] += c[fTimeNs];
  }
  uint64_t outer[kLayerCount] = {};
  for_each_block([&](const ThreadBlock& b) {
    for (int l = 0; l < kLayerCount; l++) outer[l] += b.outer_ticks[l].get();
  });
  out.v[lay.scalar(sWallNs)] = wall_ns;
  out.v[lay.scalar(sBind0 + bind_action_code())] = 1;
  out.v[lay.scalar(sBindUs)] = bind_time_us();
  out.v[lay.scalar(sMpiNs)] =
      static_cast<uint64_t>(static_cast<double>(outer[kLayerMpi]) * ns_tick);
  out.v[lay.scalar(sIoNs)] = static_cast<uint64_t>(
      static_cast<double>(outer[kLayerMpiio] + outer[kLayerPosix] + outer[kLayerHdf5]) * ns_tick);
}

// {"sum", "min", "avg", "max", "imbalance"} of one quantity over ranks.
void stat(Json& j, const char* name, uint64_t sum, uint64_t mn, uint64_t mx, int ranks,
          double scale, bool with_imbalance) {
  j.key(name);
  j.begin('{');
  const double avg = static_cast<double>(sum) / ranks;
  j.key("sum");
  scale == 1 ? j.u64(sum) : j.num(static_cast<double>(sum) * scale);
  j.key("min");
  scale == 1 ? j.u64(mn) : j.num(static_cast<double>(mn) * scale);
  j.key("avg");
  j.num(avg * scale);
  j.key("max");
  scale == 1 ? j.u64(mx) : j.num(static_cast<double>(mx) * scale);
  if (with_imbalance) {
    j.key("imbalance");
    if (avg > 0)
      j.num(static_cast<double>(mx) / avg);
    else
      j.null();
  }
  j.end('}');
}

// ------------------------------------------------------------------ application identity
struct BuildId {
  char hex[2 * 64 + 1] = "";
};

int find_build_id(dl_phdr_info* info, size_t, void* data) {
  BuildId* id = static_cast<BuildId*>(data);
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_NOTE) continue;
    const char* p = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
    const char* end = p + ph.p_memsz;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
      const ElfW(Nhdr)* n = reinterpret_cast<const ElfW(Nhdr)*>(p);
      const char* name = p + sizeof(*n);
      const char* desc = name + ((n->n_namesz + 3) & ~3u);
      if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && !memcmp(name, "GNU", 4) &&
          n->n_descsz <= 64) {
        for (unsigned k = 0; k < n->n_descsz; k++)
          snprintf(id->hex + 2 * k, 3, "%02x", static_cast<unsigned char>(desc[k]));
        return 1;
      }
      p = desc + ((n->n_descsz + 3) & ~3u);
    }
  }
  return 1;  // only the first object (the executable) is looked at
}

uint64_t fnv1a(const void* data, size_t n, uint64_t h = 1469598103934665603ull) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

// FNV-1a 64 of the executable's bytes, for executables built without a build-id.
bool exe_hash(const char* path, uint64_t* out) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  static char buf[1 << 16];
  uint64_t h = 1469598103934665603ull;
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) h = fnv1a(buf, static_cast<size_t>(n), h);
  close(fd);
  *out = h;
  return n == 0;
}

uint64_t host_hash() {
  char host[256] = "";
  gethostname(host, sizeof(host) - 1);
  return fnv1a(host, strlen(host));
}

void profile_path(char* out, size_t n, const Settings& s) {
  if (*s.profile) {
    snprintf(out, n, "%s", s.profile);
    return;
  }
  const char* dir = *s.profile_dir ? s.profile_dir : ".";
  const char* job = getenv("SLURM_JOB_ID");
  const char* step = getenv("SLURM_STEP_ID");
  if (!step || !*step) step = getenv("SLURM_STEPID");
  if (job && *job)
    snprintf(out, n, "%s/paracloud-profile-%s.%s.json", dir, job, step && *step ? step : "batch");
  else
    snprintf(out, n, "%s/%s-%d.json", dir, *s.exe_name ? s.exe_name : "app",
             static_cast<int>(getpid()));
}

void write_json(FILE* f, const Layout& lay, const uint64_t* sum, const uint64_t* mn,
                const uint64_t* mx, int ranks, int nodes, bool mpi, double ns_tick) {
  const Settings& s = settings();
  Json j(f);
  j.begin('{');
  j.key("schema");
  j.str("paracloud-profile");
  j.key("version");
  j.u64(kSchemaVersion);
  j.key("minor_version");
  j.u64(kSchemaMinor);
  j.key("generator");
  j.str("libparacloud_rt " PACKAGE_VERSION);
  char created[32];
  const time_t now = time(nullptr);
  tm t;
  gmtime_r(&now, &t);
  strftime(created, sizeof(created), "%Y-%m-%dT%H:%M:%SZ", &t);
  j.key("created");
  j.str(created);

  j.key("app");
  j.begin('{');
  j.key("exe");
  j.str(s.exe);
  j.key("name");
  j.str(s.exe_name);
  BuildId id;
  dl_iterate_phdr(find_build_id, &id);
  j.key("build_id");
  j.str_or_null(id.hex);
  uint64_t h = 0;
  char hash[32] = "";
  if (!*id.hex && exe_hash(s.exe, &h))
    snprintf(hash, sizeof(hash), "fnv1a64:%016llx", static_cast<unsigned long long>(h));
  j.key("hash");
  j.str_or_null(hash);
  j.end('}');

  j.key("job");
  j.begin('{');
  const char* job = getenv("SLURM_JOB_ID");
  const char* step = getenv("SLURM_STEP_ID");
  if (!step || !*step) step = getenv("SLURM_STEPID");
  j.key("id");
  j.str_or_null(job);
  j.key("step");
  j.str_or_null(job && *job ? (step && *step ? step : "batch") : nullptr);
  j.key("launcher");
  j.str(job && *job ? "slurm" : getenv("OMPI_COMM_WORLD_SIZE") ? "mpirun" : "none");
  j.end('}');

  j.key("mode");
  j.str(mode_name(s.mode));
  if (s.mode == Mode::autotune && mpi) {
    char* tuning = tune_profile_json();
    if (tuning) {
      j.key("tuning");
      j.raw(tuning);
      free(tuning);
    }
  }
  io_profile_write(j);  // issue 12: "io", HDF5 datasets (rank 0's) and IO decisions
  if (mpi) {  // issue 11: how the ranks were bound, and rank 0's map
    uint64_t counts[5];
    for (int a = 0; a < 5; a++) counts[a] = sum[lay.scalar(sBind0 + a)];
    bind_profile_write(j, counts, mx[lay.scalar(sBindUs)]);
  }
  j.key("mpi");
  j.boolean(mpi);
  j.key("ranks");
  j.u64(static_cast<uint64_t>(ranks));
  j.key("nodes");
  j.u64(static_cast<uint64_t>(nodes));
  const double sec = 1e-9;
  stat(j, "wall_time_s", sum[lay.scalar(sWallNs)], mn[lay.scalar(sWallNs)], mx[lay.scalar(sWallNs)],
       ranks, sec, false);
  const double wall = static_cast<double>(sum[lay.scalar(sWallNs)]);
  j.key("mpi_time_pct");
  j.num(wall > 0 ? 100.0 * static_cast<double>(sum[lay.scalar(sMpiNs)]) / wall : 0);
  j.key("io_time_pct");
  j.num(wall > 0 ? 100.0 * static_cast<double>(sum[lay.scalar(sIoNs)]) / wall : 0);
  stat(j, "mpi_time_s", sum[lay.scalar(sMpiNs)], mn[lay.scalar(sMpiNs)], mx[lay.scalar(sMpiNs)],
       ranks, sec, true);
  stat(j, "io_time_s", sum[lay.scalar(sIoNs)], mn[lay.scalar(sIoNs)], mx[lay.scalar(sIoNs)], ranks,
       sec, true);

  j.key("timer");
  j.begin('{');
  j.key("source");
  j.str(g_use_tsc ? "tsc" : "clock_gettime");
  j.key("rank0_ns_per_tick");
  j.num(ns_tick);
  j.key("sample_every");
  j.u64(kSampleEvery);
  j.key("warmup_calls");
  j.u64(kWarmupCalls);
  j.key("always_time_above_ticks");
  j.u64(kAlwaysTimeTicks);
  j.end('}');

  j.key("modules");
  j.begin('[');
  for (Module* const* m = modules(); *m; m++) {
    j.begin('{');
    j.key("name");
    j.str((*m)->name);
    j.key("enabled");
    j.boolean((*m)->enabled.load());
    j.key("reason");
    j.str_or_null((*m)->disabled_why);
    j.end('}');
  }
  j.end(']');

  j.key("layers");
  j.begin('{');
  for (int l = 0; l < kLayerCount; l++) {
    j.key(kLayerNames[l]);
    j.begin('{');
    auto at = [&](int field) { return lay.layer(l, field); };
    stat(j, "calls", sum[at(lCalls)], mn[at(lCalls)], mx[at(lCalls)], ranks, 1, false);
    if (l != kLayerMpi) {
      stat(j, "bytes_read", sum[at(lBytesRead)], mn[at(lBytesRead)], mx[at(lBytesRead)], ranks, 1,
           true);
      stat(j, "bytes_written", sum[at(lBytesWritten)], mn[at(lBytesWritten)], mx[at(lBytesWritten)],
           ranks, 1, true);
    }
    stat(j, "time_s", sum[at(lTimeNs)], mn[at(lTimeNs)], mx[at(lTimeNs)], ranks, sec, true);
    j.end('}');
  }
  j.end('}');

  j.key("size_bins");
  j.str("bin 0: 0 bytes; bin k: [2^(k-1), 2^k) bytes; the last bin is open-ended");
  j.key("calls");
  j.begin('[');
  for (int u = 0; u < lay.nused; u++) {
    const int id = lay.used[u];
    auto at = [&](int field) { return lay.call(u, field); };
    j.begin('{');
    j.key("name");
    j.str(kCalls[id].name);
    j.key("layer");
    j.str(kLayerNames[kCalls[id].layer]);
    j.key("kind");
    j.str(kCalls[id].kind);
    stat(j, "count", sum[at(fCount)], mn[at(fCount)], mx[at(fCount)], ranks, 1, true);
    j.key("fortran_calls");
    j.u64(sum[at(fFortran)]);
    j.key("errors");
    j.u64(sum[at(fErrors)]);
    stat(j, "bytes", sum[at(fBytes)], mn[at(fBytes)], mx[at(fBytes)], ranks, 1, true);
    stat(j, "time_s", sum[at(fTimeNs)], mn[at(fTimeNs)], mx[at(fTimeNs)], ranks, sec, true);
    j.key("time_estimated");
    j.boolean(sum[at(fEstimated)] > 0);
    j.key("size_hist");
    j.begin('[');
    for (int h = 0; h < kHistBins; h++) {
      const uint64_t n = sum[at(fHist + h)];
      if (!n) continue;
      j.begin('{');
      j.key("bin");
      j.u64(static_cast<uint64_t>(h));
      j.key("min_bytes");
      j.u64(h == 0 ? 0 : 1ull << (h - 1));
      j.key("max_bytes");
      if (h == 0)
        j.u64(0);
      else if (h == kHistBins - 1)
        j.null();
      else
        j.u64((1ull << h) - 1);
      j.key("count");
      j.u64(n);
      j.end('}');
    }
    j.end(']');
    j.key("comm_sizes");
    j.begin('[');
    for (int k = 1; k < kCommClasses; k++) {
      const uint64_t n = sum[at(fCommCount + k)];
      if (!n) continue;
      j.begin('{');
      j.key("min_size");
      j.u64(k == 1 ? 1 : (1ull << (k - 2)) + 1);
      j.key("max_size");
      if (k == kCommClasses - 1)
        j.null();
      else
        j.u64(k == 1 ? 1 : 1ull << (k - 1));
      j.key("count");
      j.u64(n);
      j.key("bytes");
      j.u64(sum[at(fCommBytes + k)]);
      j.end('}');
    }
    j.end(']');
    j.end('}');
  }
  j.end(']');
  j.end('}');
  fputc('\n', f);
}

}  // namespace

void app_identity(char* build_id, size_t build_id_len, char* hash, size_t hash_len) {
  BuildId id;
  dl_iterate_phdr(find_build_id, &id);
  snprintf(build_id, build_id_len, "%s", id.hex);
  uint64_t h = 0;
  if (hash_len) *hash = '\0';
  if (!*id.hex && exe_hash(settings().exe, &h))
    snprintf(hash, hash_len, "fnv1a64:%016llx", static_cast<unsigned long long>(h));
}

void write_profile(bool mpi, uint64_t start_ns, uint64_t end_ns) {
  const double ns_tick = ns_per_tick();
  const bool world = mpi && mpi_world_ok();
  const int rank = world ? world_rank() : 0;
  const int ranks = world ? world_size() : 1;
  if (mpi && !world) return;  // MPI session without a usable world: the reason was logged

  // 1. Which calls were made anywhere (so every rank packs the same layout).
  uint64_t local_used[kCallCount] = {}, used[kCallCount] = {};
  for_each_block([&](const ThreadBlock& b) {
    for (int id = 0; id < kCallCount; id++)
      local_used[id] |= (b.calls[id].count.get() + b.calls[id].errors.get()) > 0;
  });
  if (!world) {
    memcpy(used, local_used, sizeof(used));
  } else if (!allreduce_max_u64(local_used, used, kCallCount)) {
    log("profile disabled: reduction over MPI_COMM_WORLD failed");
    mpi_session_end();
    return;
  }
  Layout lay;
  for (int id = 0; id < kCallCount; id++)
    if (used[id]) lay.used[lay.nused++] = id;

  // 2. This rank's vector, reduced three ways onto rank 0.
  Vec mine, sum, mn, mx;
  if (!mine.alloc(lay.size()) || !sum.alloc(lay.size()) || !mn.alloc(lay.size()) ||
      !mx.alloc(lay.size())) {
    log("profile disabled: out of memory for %d counters", lay.size());
    mpi_session_end();
    return;
  }
  fill(mine, lay, ns_tick, end_ns - start_ns);
  uint64_t* hosts = nullptr;
  int nodes = 1;
  bool ok = true;
  if (world) {
    ok = reduce_u64(mine.v, sum.v, mine.n, ReduceOp::sum) &&
         reduce_u64(mine.v, mn.v, mine.n, ReduceOp::min) &&
         reduce_u64(mine.v, mx.v, mine.n, ReduceOp::max);
    hosts = static_cast<uint64_t*>(calloc(static_cast<size_t>(ranks), sizeof(uint64_t)));
    ok = ok && hosts && gather_u64(host_hash(), hosts);
    mpi_session_end();
    if (ok && rank == 0) {
      qsort(hosts, static_cast<size_t>(ranks), sizeof(uint64_t), [](const void* a, const void* b) {
        const uint64_t x = *static_cast<const uint64_t*>(a), y = *static_cast<const uint64_t*>(b);
        return x < y ? -1 : x > y ? 1 : 0;
      });
      nodes = 0;
      for (int i = 0; i < ranks; i++) nodes += i == 0 || hosts[i] != hosts[i - 1];
    }
    free(hosts);
  } else {
    memcpy(sum.v, mine.v, sizeof(uint64_t) * static_cast<size_t>(mine.n));
    memcpy(mn.v, mine.v, sizeof(uint64_t) * static_cast<size_t>(mine.n));
    memcpy(mx.v, mine.v, sizeof(uint64_t) * static_cast<size_t>(mine.n));
  }
  if (!ok) {
    log("profile disabled: reduction over MPI_COMM_WORLD failed");
    return;
  }
  if (rank != 0) return;

  char path[kPathMax + 64], tmp[kPathMax + 96];
  profile_path(path, sizeof(path), settings());
  // PARACLOUD_PROFILE naming something that is not a regular file (/dev/null, /dev/stdout, a FIFO
  // with a reader) is written into as it is. Renaming a temporary file over it would replace the
  // device: a root job with PARACLOUD_PROFILE=/dev/null turned /dev/null into a regular file 0644,
  // and every later job of other users failed ("Could not open stdout file /dev/null").
  // Otherwise a new temporary file with an unpredictable name (O_EXCL|O_NOFOLLOW: a symlink planted
  // in a shared work directory is never followed) is renamed over the profile. Mode 0666 & ~umask,
  // as fopen gave: jobcomp, not running as the user, reads it.
  struct stat st;
  const bool into = stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
  const int fd = into ? open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
                      : pc_atomic_create(path, 0666, tmp, sizeof(tmp));
  FILE* f = fd >= 0 ? fdopen(fd, "w") : nullptr;
  const char* written = into ? path : tmp;
  if (f == nullptr) {
    log("profile disabled: cannot write %s: %s", fd >= 0 ? written : path, strerror(errno));
    if (fd >= 0 && into) close(fd);
    if (fd >= 0 && !into) pc_atomic_abort(fd, tmp);
    return;
  }
  write_json(f, lay, sum.v, mn.v, mx.v, ranks, nodes, mpi, ns_tick);
  const bool write_failed = ferror(f) != 0;
  if (fclose(f) != 0 || write_failed) {
    log("profile disabled: cannot write %s: %s", written, strerror(errno));
    if (!into) pc_atomic_abort(-1, tmp);
  } else if (!into && pc_atomic_commit(-1, tmp, path, 0) != 0) {
    log("profile disabled: cannot write %s: %s", path, strerror(errno));
  }
}

}  // namespace pc

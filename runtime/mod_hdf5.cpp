// hdf5 module: H5F/H5D open, create, read, write and close (wrappers generated from mpi.spec).
// Active only when the application calls into libhdf5: every symbol is resolved on first use.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hdf5_helpers.hpp"
#include "json_writer.hpp"
#include "session.hpp"

namespace pc {
namespace {

constexpr hid_t kH5S_ALL = 0;  // H5S_ALL in HDF5 1.10 and 1.12

using npoints_fn = int64_t (*)(hid_t);  // H5Sget_select_npoints (hssize_t)
using tsize_fn = size_t (*)(hid_t);     // H5Tget_size
using space_fn = hid_t (*)(hid_t);      // H5Dget_space
using close_fn = herr_t (*)(hid_t);     // H5Sclose

bool hdf5_init(const char**) { return true; }
void hdf5_finalize();  // issue 12: the datasets' evidence to the store (below)

}  // namespace

Module module_hdf5 = {"hdf5", kLayerHdf5, hdf5_init, hdf5_finalize, {false}, nullptr};

namespace {

// HDF5's helpers of the library copy that `real` (the wrapped H5Dread/H5Dwrite) belongs to: two
// copies may be loaded at once (h5py's libhdf5_openmpi and netCDF4's libhdf5_serial), and a hid_t
// means something only to its own copy. Remembered keyed by `real` (H5Dread and H5Dwrite of one
// copy take two entries); past kH5Entries (a program that loads and unloads libhdf5 again and again)
// the helpers are looked up on every call.
struct H5Helpers {
  std::atomic<const void*> real{nullptr};
  npoints_fn npoints;
  tsize_fn type_size;
  space_fn get_space;
  close_fn close_space;
};
constexpr int kH5Entries = 16;
H5Helpers g_h5[kH5Entries];
pthread_mutex_t g_h5_fill = PTHREAD_MUTEX_INITIALIZER;  // one filler at a time (cold)

bool fill(H5Helpers& h, const void* real) {
  h.npoints = reinterpret_cast<npoints_fn>(symbol_beside(real, "H5Sget_select_npoints"));
  h.type_size = reinterpret_cast<tsize_fn>(symbol_beside(real, "H5Tget_size"));
  h.get_space = reinterpret_cast<space_fn>(symbol_beside(real, "H5Dget_space"));
  h.close_space = reinterpret_cast<close_fn>(symbol_beside(real, "H5Sclose"));
  return h.npoints && h.type_size && h.get_space && h.close_space;
}

const H5Helpers* h5_helpers(const void* real, H5Helpers& scratch) {
  for (H5Helpers& h : g_h5)
    if (h.real.load(std::memory_order_acquire) == real) return &h;
  pthread_mutex_lock(&g_h5_fill);
  H5Helpers* found = nullptr;
  for (H5Helpers& h : g_h5) {
    const void* r = h.real.load(std::memory_order_relaxed);
    if (r == real) {  // filled by another thread meanwhile
      found = &h;
      break;
    }
    if (r != nullptr) continue;
    if (fill(h, real)) {
      h.real.store(real, std::memory_order_release);
      found = &h;
    }
    pthread_mutex_unlock(&g_h5_fill);
    return found;  // null: this copy lacks the helpers (bytes not counted)
  }
  pthread_mutex_unlock(&g_h5_fill);
  if (found == nullptr && fill(scratch, real)) found = &scratch;  // table full: looked up per call
  return found;
}

}  // namespace

uint64_t h5_bytes_via(const void* real, hid_t dset, hid_t mem_type, hid_t mem_space,
                      hid_t file_space) {
  H5Helpers scratch;
  const H5Helpers* h = h5_helpers(real, scratch);
  if (h == nullptr) return 0;
  int64_t n = 0;
  if (mem_space != kH5S_ALL) {
    n = h->npoints(mem_space);
  } else if (file_space != kH5S_ALL) {
    n = h->npoints(file_space);
  } else {
    const hid_t space = h->get_space(dset);
    if (space < 0) return 0;
    n = h->npoints(space);
    h->close_space(space);
  }
  const size_t size = h->type_size(mem_type);
  return n > 0 ? static_cast<uint64_t>(n) * size : 0;
}

// Reached only when `symbol` is defined nowhere in the process (symbols.cpp looks in the global
// scope and in every loaded object): a caller that linked libhdf5 always finds it, so this serves
// only a program that defines the wrapper's name without any HDF5 at all.
int missing_hdf5(const char* symbol) {
  static std::atomic<bool> once{false};
  if (!once.exchange(true))
    log("hdf5: %s is defined nowhere in this process: the call returns -1", symbol);
  return -1;
}

}  // namespace pc

// ================================================================== IO tuning (issue 12)
// Per dataset (by the name it was opened or created by; the first kDatasets names): its chunk
// dims and bytes, filters, the effective chunk cache, H5Dread calls, the chunks each read's file
// selection spans (bounding box vs chunk dims) and the time in H5Dread. In PARACLOUD_TUNE=auto a
// stored decision for the name is applied at H5Dcreate2 and H5Dopen2 on a copy of the
// application's dataset access plist (H5Pset_chunk_cache), and at the end rank 0 folds the run
// into the store. Every
// HDF5 helper comes from the copy of libhdf5 the wrapped function belongs to; HDF5's automatic
// error printing is off while the runtime asks (so a refused query prints nothing).
namespace pc {
namespace {

using hsize_t = uint64_t;
constexpr hid_t kH5P_DEFAULT = 0;
constexpr hid_t kH5E_DEFAULT = 0;
constexpr int kH5D_CHUNKED = 2;
constexpr int kMaxRank = 32;  // H5S_MAX_RANK
constexpr size_t kCacheDefault = static_cast<size_t>(-1);  // H5D_CHUNK_CACHE_N{SLOTS,BYTES}_DEFAULT
constexpr double kW0Default = -1.0;                        // H5D_CHUNK_CACHE_W0_DEFAULT
constexpr int kDatasets = 64, kOpen = 128, kDecisions = 64;

using h5_eauto_fn = herr_t (*)(void*, hid_t);  // H5E_auto2_t
struct H5Api {
  hid_t (*get_create_plist)(hid_t);
  hid_t (*get_access_plist)(hid_t);
  int (*get_layout)(hid_t);
  int (*get_chunk)(hid_t, int, hsize_t*);
  int (*get_nfilters)(hid_t);
  herr_t (*get_chunk_cache)(hid_t, size_t*, size_t*, double*);
  herr_t (*set_chunk_cache)(hid_t, size_t, size_t, double);
  hid_t (*pcopy)(hid_t);
  hid_t (*pcreate)(hid_t);
  herr_t (*pclose)(hid_t);
  hid_t (*dget_type)(hid_t);
  size_t (*tget_size)(hid_t);
  herr_t (*tclose)(hid_t);
  hid_t (*dget_space)(hid_t);
  int (*extent_dims)(hid_t, hsize_t*, hsize_t*);
  herr_t (*select_bounds)(hid_t, hsize_t*, hsize_t*);
  int64_t (*select_npoints)(hid_t);
  herr_t (*sclose)(hid_t);
  int64_t (*fget_name)(hid_t, char*, size_t);
  herr_t (*eget_auto)(hid_t, h5_eauto_fn*, void**);
  herr_t (*eset_auto)(hid_t, h5_eauto_fn, void*);
  herr_t (*eclear)(hid_t);
  herr_t (*pget)(hid_t, const char*, void*);  // a property's raw value (unset: the _DEFAULT)
  const void* dread;   // this copy's H5Dread and H5Dclose: a dataset id means something only to
  const void* dclose;  // its own copy (h5py's and netCDF4's libhdf5 can both be loaded)
  const void* dapl_class_beside;  // &H5P_CLS_DATASET_ACCESS_ID_g in this copy
};

template <typename F>
bool get(F& f, const void* real, const char* name) {
  f = reinterpret_cast<F>(symbol_beside(real, name));
  return f != nullptr;
}

bool load_api(H5Api& a, const void* real) {
  a.dapl_class_beside = symbol_beside(real, "H5P_CLS_DATASET_ACCESS_ID_g");
  a.dread = symbol_beside(real, "H5Dread");
  a.dclose = symbol_beside(real, "H5Dclose");
  return get(a.get_create_plist, real, "H5Dget_create_plist") &&
         get(a.get_access_plist, real, "H5Dget_access_plist") &&
         get(a.get_layout, real, "H5Pget_layout") && get(a.get_chunk, real, "H5Pget_chunk") &&
         get(a.get_nfilters, real, "H5Pget_nfilters") &&
         get(a.get_chunk_cache, real, "H5Pget_chunk_cache") &&
         get(a.set_chunk_cache, real, "H5Pset_chunk_cache") && get(a.pcopy, real, "H5Pcopy") &&
         get(a.pcreate, real, "H5Pcreate") && get(a.pclose, real, "H5Pclose") &&
         get(a.dget_type, real, "H5Dget_type") && get(a.tget_size, real, "H5Tget_size") &&
         get(a.tclose, real, "H5Tclose") && get(a.dget_space, real, "H5Dget_space") &&
         get(a.extent_dims, real, "H5Sget_simple_extent_dims") &&
         get(a.select_bounds, real, "H5Sget_select_bounds") &&
         get(a.select_npoints, real, "H5Sget_select_npoints") && get(a.sclose, real, "H5Sclose") &&
         get(a.fget_name, real, "H5Fget_name") && get(a.eget_auto, real, "H5Eget_auto2") &&
         get(a.eset_auto, real, "H5Eset_auto2") && get(a.eclear, real, "H5Eclear2") &&
         get(a.pget, real, "H5Pget") && a.dread != nullptr && a.dclose != nullptr;
}

// HDF5's error printing off while the runtime asks; the application's handler back afterwards
// and nothing left on its error stack.
struct QuietErrors {
  const H5Api& a;
  h5_eauto_fn func = nullptr;
  void* data = nullptr;
  bool saved;
  explicit QuietErrors(const H5Api& api) : a(api) {
    saved = a.eget_auto(kH5E_DEFAULT, &func, &data) >= 0;
    if (saved) a.eset_auto(kH5E_DEFAULT, nullptr, nullptr);
  }
  ~QuietErrors() {
    a.eclear(kH5E_DEFAULT);
    if (saved) a.eset_auto(kH5E_DEFAULT, func, data);
  }
};

struct OpenDataset {
  hid_t id;
  int record;  // index into g_ds, -1 free
  int rank;
  hsize_t chunk[kMaxRank];
  hsize_t dims[kMaxRank];
  const H5Api* api;
};

struct Applied {
  bool any;
  uint64_t nslots, nbytes;
  double w0;
};

struct DatasetRecord {
  pc_io_evidence ev;
  uint64_t opens;
  Applied applied;
};

pthread_mutex_t g_ds_mu = PTHREAD_MUTEX_INITIALIZER;
DatasetRecord g_ds[kDatasets];
int g_nds = 0;
uint64_t g_ds_dropped = 0;  // datasets past kDatasets (or with over-long names): not recorded
OpenDataset g_open[kOpen];
// One API table per library copy (keyed by the wrapped H5Dopen2/H5Dcreate2).
struct ApiEntry {
  const void* real;
  bool ok;
  H5Api api;
};
ApiEntry g_api[8];
// Stored decisions (auto): loaded once, at the first H5Dcreate2 or H5Dopen2.
pc_io_decision g_dec[kDecisions];
int g_ndec = -2;  // -2 not loaded yet, -1 no store
char g_saved[1024] = "";
bool g_save_tried = false;

const H5Api* api_of(const void* real) {  // under g_ds_mu
  for (ApiEntry& e : g_api)
    if (e.real == real) return e.ok ? &e.api : nullptr;
  for (ApiEntry& e : g_api)
    if (e.real == nullptr) {
      e.real = real;
      e.ok = load_api(e.api, real);
      if (!e.ok) log("hdf5: IO evidence off for this libhdf5: a helper function is missing");
      return e.ok ? &e.api : nullptr;
    }
  return nullptr;
}

DatasetRecord* record_of(const char* name) {  // under g_ds_mu
  if (!name || strlen(name) >= PC_IO_NAME_MAX) {
    g_ds_dropped++;
    return nullptr;
  }
  for (int i = 0; i < g_nds; i++)
    if (!strcmp(g_ds[i].ev.dataset, name)) return &g_ds[i];
  if (g_nds == kDatasets) {
    g_ds_dropped++;
    return nullptr;
  }
  DatasetRecord* r = &g_ds[g_nds++];
  memset(r, 0, sizeof(*r));
  snprintf(r->ev.dataset, sizeof(r->ev.dataset), "%s", name);
  return r;
}

// After a successful open/create: the dataset's shape, chunking, filters and effective cache.
void note_dataset(const void* real, hid_t id, const char* name, const Applied& applied) {
  Guard guard;
  pthread_mutex_lock(&g_ds_mu);
  const H5Api* a = api_of(real);
  DatasetRecord* r = a ? record_of(name) : nullptr;
  OpenDataset* slot = nullptr;
  for (OpenDataset& o : g_open)
    if (o.record >= 0 && o.id == id && o.api == a) slot = &o;  // a stale handle reused
  if (!slot)
    for (OpenDataset& o : g_open)
      if (o.record < 0 || o.api == nullptr) {
        slot = &o;
        break;
      }
  if (r && slot) {
    QuietErrors quiet(*a);
    OpenDataset o{};
    o.id = id;
    o.record = static_cast<int>(r - g_ds);
    o.api = a;
    const hid_t space = a->dget_space(id);
    o.rank = space >= 0 ? a->extent_dims(space, o.dims, nullptr) : -1;
    if (space >= 0) a->sclose(space);
    size_t tsize = 0;
    const hid_t type = a->dget_type(id);
    if (type >= 0) {
      tsize = a->tget_size(type);
      a->tclose(type);
    }
    const hid_t dcpl = a->get_create_plist(id);
    int filters = 0;
    bool chunked = false;
    if (dcpl >= 0) {
      if (a->get_layout(dcpl) == kH5D_CHUNKED && o.rank > 0)
        chunked = a->get_chunk(dcpl, kMaxRank, o.chunk) == o.rank;
      filters = a->get_nfilters(dcpl);
      a->pclose(dcpl);
    }
    size_t nslots = 0, nbytes = 0;
    double w0 = 0;
    const hid_t dapl = a->get_access_plist(id);
    if (dapl >= 0) {
      if (a->get_chunk_cache(dapl, &nslots, &nbytes, &w0) < 0) nslots = nbytes = 0;
      a->pclose(dapl);
    }
    pc_io_evidence& ev = r->ev;
    r->opens++;
    if (applied.any) r->applied = applied;
    ev.tuned = ev.tuned || applied.any;
    ev.rank = o.rank < 0 ? 0 : (o.rank > PC_IO_RANK_MAX ? PC_IO_RANK_MAX : o.rank);
    uint64_t chunk_bytes = chunked ? tsize : 0;
    for (int k = 0; k < ev.rank; k++) {
      ev.dims[k] = o.dims[k];
      ev.chunk[k] = chunked ? o.chunk[k] : 0;
    }
    for (int k = 0; chunked && k < o.rank; k++) chunk_bytes *= o.chunk[k];
    if (!chunked) o.rank = -1;  // reads of a dataset that is not chunked touch no chunks
    ev.chunk_bytes = chunk_bytes;
    ev.filters = filters > 0 ? filters : 0;
    ev.cache_bytes = nbytes;
    ev.cache_slots = nslots;
    if (!ev.file[0]) {
      char file[PC_IO_NAME_MAX];
      const int64_t n = a->fget_name(id, file, sizeof(file));
      if (n > 0) snprintf(ev.file, sizeof(ev.file), "%s", file);
    }
    *slot = o;
  }
  pthread_mutex_unlock(&g_ds_mu);
}

// The chunks the file selection of one H5Dread spans (its bounding box against the chunk grid).
void note_read(const void* real_read, hid_t dset, hid_t file_space, uint64_t ns) {
  Guard guard;
  pthread_mutex_lock(&g_ds_mu);
  for (OpenDataset& o : g_open) {
    if (o.record < 0 || o.api == nullptr || o.id != dset || o.api->dread != real_read) continue;
    pc_io_evidence& ev = g_ds[o.record].ev;
    ev.reads++;
    ev.read_ns += ns;
    if (o.rank <= 0) break;
    hsize_t start[kMaxRank] = {}, end[kMaxRank] = {};
    bool have = false;
    if (file_space == kH5S_ALL) {
      for (int k = 0; k < o.rank; k++) end[k] = o.dims[k] ? o.dims[k] - 1 : 0;
      have = true;
    } else {
      QuietErrors quiet(*o.api);
      have = o.api->select_npoints(file_space) > 0 &&
             o.api->select_bounds(file_space, start, end) >= 0;
    }
    if (have) {
      uint64_t touched = 1;
      for (int k = 0; k < o.rank; k++) touched *= end[k] / o.chunk[k] - start[k] / o.chunk[k] + 1;
      ev.chunk_touches += touched;
      if (touched > ev.max_chunks_per_read) ev.max_chunks_per_read = touched;
    }
    break;
  }
  pthread_mutex_unlock(&g_ds_mu);
}

void forget(const void* real_close, hid_t dset) {
  pthread_mutex_lock(&g_ds_mu);
  for (OpenDataset& o : g_open)
    if (o.record >= 0 && o.api != nullptr && o.id == dset && o.api->dclose == real_close)
      o.record = -1;
  pthread_mutex_unlock(&g_ds_mu);
}

bool tracking() {  // a dataset was recorded (H5Dread's fast exit; a benign racy read)
  return __atomic_load_n(&g_nds, __ATOMIC_RELAXED) > 0;
}

const pc_io_decision* decision_for(const char* name) {
  if (mode() != Mode::autotune || !settings().io || !name) return nullptr;
  pthread_mutex_lock(&g_ds_mu);
  if (g_ndec == -2) {
    Guard guard;
    g_ndec = io_store_load(g_dec, kDecisions);
  }
  const pc_io_decision* d = nullptr;
  for (int i = 0; i < g_ndec; i++)
    if (!strcmp(g_dec[i].dataset, name)) d = &g_dec[i];
  pthread_mutex_unlock(&g_ds_mu);
  return d;
}

// A new dataset access plist for `dapl` (H5P_DEFAULT: a fresh one of the dataset access class)
// with the decision's chunk cache; -1 when the application set its own chunk cache on dapl (its
// setting wins) or anything fails.
hid_t tuned_dapl(const H5Api& a, hid_t dapl, const pc_io_decision& d) {
  QuietErrors quiet(a);
  hid_t copy = -1;
  if (dapl == kH5P_DEFAULT) {
    // The class id: this copy's variable, else the global one (a PIE executable that names
    // H5P_DATASET_ACCESS has a copy relocation, and libhdf5 then writes that copy).
    const void* where[2] = {a.dapl_class_beside, data_symbol("H5P_CLS_DATASET_ACCESS_ID_g")};
    for (const void* w : where) {
      if (!w) continue;
      const hid_t cls = *static_cast<const hid_t*>(w);
      if (cls > 0 && (copy = a.pcreate(cls)) >= 0) break;
    }
  } else {
    // Whether the application set a chunk cache on its dapl: the properties' raw values (all three
    // are H5D_CHUNK_CACHE_*_DEFAULT until H5Pset_chunk_cache). H5Pget_chunk_cache cannot tell: for
    // an unset dapl it answers the file access defaults (521, 1 MiB, 0.75), not the sentinel.
    size_t nslots = 0, nbytes = 0;
    double w0 = 0;
    if (a.pget(dapl, "rdcc_nslots", &nslots) < 0 || a.pget(dapl, "rdcc_nbytes", &nbytes) < 0 ||
        a.pget(dapl, "rdcc_w0", &w0) < 0)
      return -1;
    if (nslots != kCacheDefault || nbytes != kCacheDefault || w0 != kW0Default) return -1;
    copy = a.pcopy(dapl);
  }
  if (copy < 0) return -1;
  if (a.set_chunk_cache(copy, d.nslots, d.nbytes, d.w0) < 0) {
    a.pclose(copy);
    return -1;
  }
  return copy;
}

// The decision for `name` on a copy of the application's dapl: the copy and its library copy's
// API, or dapl -1 (no decision, PARACLOUD_IO=off, not auto, the application's own cache, or a
// failure: then the call passes through untouched).
struct Tuned {
  const H5Api* api = nullptr;
  hid_t dapl = -1;
  Applied applied{};
};

Tuned tune_dapl(const void* real, const char* name, hid_t dapl) {
  Tuned t;
  const pc_io_decision* d = decision_for(name);
  if (d == nullptr) return t;
  Guard guard;
  pthread_mutex_lock(&g_ds_mu);
  t.api = api_of(real);
  pthread_mutex_unlock(&g_ds_mu);
  if (t.api == nullptr) return t;
  t.dapl = tuned_dapl(*t.api, dapl, *d);
  if (t.dapl >= 0) t.applied = Applied{true, d->nslots, d->nbytes, d->w0};
  return t;
}

// After the call: the copy closed (the open dataset keeps its own access properties). A call that
// had to run untouched applied nothing.
void drop_tuned(Tuned& t) {
  Guard guard;
  QuietErrors quiet(*t.api);
  t.api->pclose(t.dapl);
  t.dapl = -1;
}

void hdf5_finalize() {
  if (world_rank() != 0) return;
  pthread_mutex_lock(&g_ds_mu);
  if (mode() == Mode::autotune && settings().io && g_nds > 0 && !g_save_tried) {
    g_save_tried = true;
    pc_io_evidence* ev = static_cast<pc_io_evidence*>(calloc(kDatasets, sizeof(pc_io_evidence)));
    if (ev) {
      for (int i = 0; i < g_nds; i++) ev[i] = g_ds[i].ev;
      uint64_t preads = 0;
      for (ThreadBlock* b = thread_blocks(); b; b = b->next)
        preads += b->calls[k_pread].count.get() + b->calls[k_pread64].count.get();
      if (!io_store_record(ev, g_nds, preads, g_saved, sizeof(g_saved))) g_saved[0] = '\0';
      free(ev);
    }
  }
  pthread_mutex_unlock(&g_ds_mu);
}

}  // namespace

#if !PC_WITH_MPI
// Without MPI at build time there is no tuning store (libparacloud_tunestore needs MPI's build).
int io_store_load(pc_io_decision*, int) { return -1; }
bool io_store_record(const pc_io_evidence*, int, uint64_t, char*, size_t) { return false; }
#endif

void io_profile_write(Json& j) {
  pthread_mutex_lock(&g_ds_mu);
  if (g_nds == 0) {
    pthread_mutex_unlock(&g_ds_mu);
    return;
  }
  const bool applying = mode() == Mode::autotune && settings().io;
  j.key("io");
  j.begin('{');
  j.key("tuning");
  j.str(applying ? "auto" : mode() == Mode::autotune ? "off" : "profile");
  j.key("datasets_dropped");
  j.u64(g_ds_dropped);
  j.key("store_decisions");
  if (g_ndec >= 0)
    j.u64(static_cast<uint64_t>(g_ndec));
  else
    j.null();
  j.key("store_saved");
  j.str_or_null(g_saved);
  j.key("datasets");
  j.begin('[');
  for (int i = 0; i < g_nds; i++) {
    const DatasetRecord& r = g_ds[i];
    const pc_io_evidence& e = r.ev;
    j.begin('{');
    j.key("name");
    j.str(e.dataset);
    j.key("file");
    j.str(e.file);
    j.key("dims");
    j.begin('[');
    for (int k = 0; k < e.rank; k++) j.u64(e.dims[k]);
    j.end(']');
    j.key("chunk");
    if (e.chunk_bytes) {
      j.begin('[');
      for (int k = 0; k < e.rank; k++) j.u64(e.chunk[k]);
      j.end(']');
    } else {
      j.null();
    }
    uint64_t total = e.chunk_bytes ? 1 : 0;
    for (int k = 0; e.chunk_bytes && k < e.rank; k++)
      total *= e.chunk[k] ? (e.dims[k] + e.chunk[k] - 1) / e.chunk[k] : 0;
    j.key("chunk_bytes");
    j.u64(e.chunk_bytes);
    j.key("filters");
    j.num(static_cast<double>(e.filters));  // -1: unknown
    j.key("compressed");
    j.boolean(e.filters > 0);
    j.key("cache_bytes");
    j.u64(e.cache_bytes);
    j.key("cache_slots");
    j.u64(e.cache_slots);
    j.key("opens");
    j.u64(r.opens);
    j.key("reads");
    j.u64(e.reads);
    j.key("chunk_touches");
    j.u64(e.chunk_touches);
    j.key("chunks_per_read_max");
    j.u64(e.max_chunks_per_read);
    j.key("chunks_per_read_avg");
    j.num(e.reads ? static_cast<double>(e.chunk_touches) / static_cast<double>(e.reads) : 0.0);
    j.key("total_chunks");
    j.u64(total);
    j.key("working_set_bytes");
    j.u64(e.max_chunks_per_read * e.chunk_bytes);
    j.key("read_time_s");
    j.num(static_cast<double>(e.read_ns) / 1e9);
    j.key("tuned");
    if (r.applied.any) {
      j.begin('{');
      j.key("call");
      j.str("H5Pset_chunk_cache");
      j.key("nslots");
      j.u64(r.applied.nslots);
      j.key("nbytes");
      j.u64(r.applied.nbytes);
      j.key("w0");
      j.num(r.applied.w0);
      j.end('}');
    } else {
      j.null();
    }
    j.end('}');
  }
  j.end(']');
  j.end('}');
  pthread_mutex_unlock(&g_ds_mu);
}

}  // namespace pc

// ------------------------------------------------------------------ the hand-written wrappers
using namespace pc;

// H5Dopen2 and H5Dcreate2 (the access plist is a property of the open dataset, so the decided
// cache applies from creation on: a program that writes a dataset row by row thrashes the same
// way as one that reads it). The decided plist is a copy (the application's dapl is never
// modified); the call with it runs with HDF5's error printing off, and if it fails the
// application's own call runs untouched (its errors printed as they would be without us).
PC_EXPORT hid_t H5Dopen2(hid_t loc_id, const char* name, hid_t dapl_id) {
  using fn_t = hid_t (*)(hid_t, const char*, hid_t);
  static std::atomic<fn_t> slot{nullptr};
  const fn_t real = resolve(slot, "H5Dopen2", __builtin_return_address(0));
  if (PC_UNLIKELY(!real)) return missing_hdf5("H5Dopen2");
  if (!live(kLayerHdf5)) return real(loc_id, name, dapl_id);
  Tuned t = tune_dapl(reinterpret_cast<const void*>(real), name, dapl_id);
  const Probe p = probe_begin(k_H5Dopen2);
  hid_t rc = -1;
  if (t.dapl >= 0) {
    {
      QuietErrors quiet(*t.api);
      rc = real(loc_id, name, t.dapl);
    }
    drop_tuned(t);
    if (rc < 0) {  // any failure: the untouched call, nothing applied
      t.applied = Applied{};
      rc = real(loc_id, name, dapl_id);
    }
  } else {
    rc = real(loc_id, name, dapl_id);
  }
  const uint64_t t1 = probe_clock(p);
  const bool ok = rc >= 0;
  probe_end(p, t1, ok, 0, -1, false);
  if (ok) note_dataset(reinterpret_cast<const void*>(real), rc, name, t.applied);
  return rc;
}

PC_EXPORT hid_t H5Dcreate2(hid_t loc_id, const char* name, hid_t type_id, hid_t space_id,
                           hid_t lcpl_id, hid_t dcpl_id, hid_t dapl_id) {
  using fn_t = hid_t (*)(hid_t, const char*, hid_t, hid_t, hid_t, hid_t, hid_t);
  static std::atomic<fn_t> slot{nullptr};
  const fn_t real = resolve(slot, "H5Dcreate2", __builtin_return_address(0));
  if (PC_UNLIKELY(!real)) return missing_hdf5("H5Dcreate2");
  if (!live(kLayerHdf5)) return real(loc_id, name, type_id, space_id, lcpl_id, dcpl_id, dapl_id);
  Tuned t = tune_dapl(reinterpret_cast<const void*>(real), name, dapl_id);
  const Probe p = probe_begin(k_H5Dcreate2);
  hid_t rc = -1;
  if (t.dapl >= 0) {
    {
      QuietErrors quiet(*t.api);
      rc = real(loc_id, name, type_id, space_id, lcpl_id, dcpl_id, t.dapl);
    }
    drop_tuned(t);
    if (rc < 0) {
      t.applied = Applied{};
      rc = real(loc_id, name, type_id, space_id, lcpl_id, dcpl_id, dapl_id);
    }
  } else {
    rc = real(loc_id, name, type_id, space_id, lcpl_id, dcpl_id, dapl_id);
  }
  const uint64_t t1 = probe_clock(p);
  const bool ok = rc >= 0;
  probe_end(p, t1, ok, 0, -1, false);
  if (ok) note_dataset(reinterpret_cast<const void*>(real), rc, name, t.applied);
  return rc;
}

PC_EXPORT herr_t H5Dread(hid_t dset_id, hid_t mem_type_id, hid_t mem_space_id,
                         hid_t file_space_id, hid_t plist_id, void* buf) {
  using fn_t = herr_t (*)(hid_t, hid_t, hid_t, hid_t, hid_t, void*);
  static std::atomic<fn_t> slot{nullptr};
  const fn_t real = resolve(slot, "H5Dread", __builtin_return_address(0));
  if (PC_UNLIKELY(!real)) return missing_hdf5("H5Dread");
  if (!live(kLayerHdf5)) return real(dset_id, mem_type_id, mem_space_id, file_space_id, plist_id, buf);
  const Probe p = probe_begin(k_H5Dread);
  const uint64_t t0 = tracking() ? mono_ns() : 0;
  const herr_t rc = real(dset_id, mem_type_id, mem_space_id, file_space_id, plist_id, buf);
  const uint64_t t1 = probe_clock(p);
  const bool ok = rc >= 0;
  if (ok && t0) note_read(reinterpret_cast<const void*>(real), dset_id, file_space_id, mono_ns() - t0);
  probe_end(p, t1, ok,
            ok ? static_cast<uint64_t>(
                     h5_bytes(real, dset_id, mem_type_id, mem_space_id, file_space_id))
               : 0,
            -1, false);
  return rc;
}

PC_EXPORT herr_t H5Dclose(hid_t dset_id) {
  using fn_t = herr_t (*)(hid_t);
  static std::atomic<fn_t> slot{nullptr};
  const fn_t real = resolve(slot, "H5Dclose", __builtin_return_address(0));
  if (PC_UNLIKELY(!real)) return missing_hdf5("H5Dclose");
  if (!live(kLayerHdf5)) return real(dset_id);
  forget(reinterpret_cast<const void*>(real), dset_id);
  const Probe p = probe_begin(k_H5Dclose);
  const herr_t rc = real(dset_id);
  const uint64_t t1 = probe_clock(p);
  probe_end(p, t1, rc >= 0, 0, -1, false);
  return rc;
}

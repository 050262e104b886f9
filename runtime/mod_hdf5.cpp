// hdf5 module: H5F/H5D open, create, read, write and close (wrappers generated from mpi.spec).
// Active only when the application calls into libhdf5: every symbol is resolved on first use.
#include <pthread.h>

#include "hdf5_helpers.hpp"

namespace pc {
namespace {

constexpr hid_t kH5S_ALL = 0;  // H5S_ALL in HDF5 1.10 and 1.12

using npoints_fn = int64_t (*)(hid_t);  // H5Sget_select_npoints (hssize_t)
using tsize_fn = size_t (*)(hid_t);     // H5Tget_size
using space_fn = hid_t (*)(hid_t);      // H5Dget_space
using close_fn = herr_t (*)(hid_t);     // H5Sclose

bool hdf5_init(const char**) { return true; }

}  // namespace

Module module_hdf5 = {"hdf5", kLayerHdf5, hdf5_init, nullptr, {false}, nullptr};

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

// hdf5 module: H5F/H5D open, create, read, write and close (wrappers generated from mpi.spec).
// Active only when the application calls into libhdf5: every symbol is resolved on first use.
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

uint64_t h5_bytes(hid_t dset, hid_t mem_type, hid_t mem_space, hid_t file_space) {
  static std::atomic<npoints_fn> npoints_slot{nullptr};
  static std::atomic<tsize_fn> tsize_slot{nullptr};
  static std::atomic<space_fn> space_slot{nullptr};
  static std::atomic<close_fn> close_slot{nullptr};
  // HDF5's own helpers are looked up in the global scope (they are not wrapped).
  auto find = [](auto& slot, const char* name) {
    auto f = slot.load(std::memory_order_relaxed);
    if (f == nullptr) {
      f = reinterpret_cast<decltype(f)>(data_symbol(name));
      slot.store(f, std::memory_order_relaxed);
    }
    return f;
  };
  const npoints_fn npoints = find(npoints_slot, "H5Sget_select_npoints");
  const tsize_fn type_size = find(tsize_slot, "H5Tget_size");
  const space_fn get_space = find(space_slot, "H5Dget_space");
  const close_fn close_space = find(close_slot, "H5Sclose");
  if (!npoints || !type_size || !get_space || !close_space) {
    disable_module(module_hdf5,
                   "H5Sget_select_npoints/H5Tget_size/H5Dget_space/H5Sclose not found");
    return 0;
  }
  int64_t n = 0;
  if (mem_space != kH5S_ALL) {
    n = npoints(mem_space);
  } else if (file_space != kH5S_ALL) {
    n = npoints(file_space);
  } else {
    const hid_t space = get_space(dset);
    if (space < 0) return 0;
    n = npoints(space);
    close_space(space);
  }
  const size_t size = type_size(mem_type);
  return n > 0 ? static_cast<uint64_t>(n) * size : 0;
}

int missing_hdf5(const char* symbol) {
  static std::atomic<bool> once{false};
  if (!once.exchange(true)) log("hdf5 disabled: %s not found: the call fails", symbol);
  return -1;
}

}  // namespace pc

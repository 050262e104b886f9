// HDF5-side helpers of the generated HDF5 wrappers: the 1.10+ handle types and byte counting.
#pragma once
#include <cstdint>

#include "rt.hpp"

// HDF5 >= 1.10 ABI (hid_t is 64-bit since 1.10); declared here so that the runtime builds without
// HDF5 headers and never links libhdf5.
typedef int64_t hid_t;
typedef int herr_t;

namespace pc {
// Bytes an H5Dread/H5Dwrite moved: selected points of the memory space (or the file space, or
// the whole dataset for H5S_ALL) times the memory type's size, asked of the library copy that
// `real` (the wrapped function) belongs to. 0 when HDF5's helpers are missing.
uint64_t h5_bytes_via(const void* real, hid_t dset, hid_t mem_type, hid_t mem_space,
                      hid_t file_space);
template <typename F>
inline uint64_t h5_bytes(F real, hid_t dset, hid_t mem_type, hid_t mem_space, hid_t file_space) {
  return h5_bytes_via(reinterpret_cast<const void*>(real), dset, mem_type, mem_space, file_space);
}
int missing_hdf5(const char* symbol);  // logs once, returns -1 (HDF5's FAIL)
}  // namespace pc

// ---- IO tuning (issue 12): the HDF5 datasets' evidence, decisions applied at H5Dcreate2/H5Dopen2.
#include "coll/store_capi.h"
namespace pc {
// Active IO decisions of this application from the tuning store (coll/store_link.cpp): how many,
// -1 when there is no store (no MPI build, no store library, no user store).
int io_store_load(pc_io_decision* out, int max);
// Rank 0 at the end of the session: folds this run's datasets into the store; the file in path.
bool io_store_record(const pc_io_evidence* ev, int n, uint64_t preads, char* path, size_t len);
class Json;
// The profile's "io" key and object (nothing when no dataset was seen); profile.cpp calls it.
void io_profile_write(Json& j);
}  // namespace pc

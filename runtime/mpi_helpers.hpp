// MPI-side helpers of the generated wrappers: sizes (cached), Fortran handle/sentinel conversion.
#pragma once
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include "rt.hpp"

// The predefined handles are data symbols of libmpi. Referencing them here would put a data
// relocation into the preload library (not lazy: every process would then need libmpi), so the
// macros are removed and the handles are looked up at run time (mpi_handles()).
#undef MPI_COMM_WORLD
#undef MPI_COMM_SELF
#undef MPI_COMM_NULL
#undef MPI_DATATYPE_NULL
#undef MPI_SUM
#undef MPI_MIN
#undef MPI_MAX
#undef MPI_UINT64_T
#undef MPI_CHAR
#undef MPI_ERRORS_RETURN
#undef MPI_INFO_NULL
#undef MPI_REQUEST_NULL

namespace pc {

// Predefined handles resolved with dlsym(RTLD_DEFAULT) (mod_mpi.cpp); null until resolved.
struct MpiHandles {
  MPI_Comm comm_world, comm_null;
  MPI_Datatype datatype_null, uint64, chr;
  MPI_Op sum, min, max;
  MPI_Errhandler errors_return;
  MPI_Datatype int32;  // MPI_INT (the tuner)
  MPI_Info info_null;  // the tuner
  // Addresses of the Fortran sentinels (common blocks), in their four name manglings.
  const void* f_in_place[4];
  const void* f_bottom[4];
};
extern MpiHandles g_mpi;
void resolve_fortran_sentinels();

int missing_mpi(const char* symbol);                       // logs once, returns MPI_ERR_OTHER
void missing_fortran(const char* symbol, MPI_Fint* ierr);  // logs once, sets *ierr

// ---- sizes, cached per thread (see HandleCache)
uint64_t tsize_slow(MPI_Datatype t, HandleCache& c, uint32_t epoch);
PC_HOT uint64_t tsize(MPI_Datatype t) {
  const uintptr_t key = reinterpret_cast<uintptr_t>(t);
  HandleCache& c = cache_slot(thread_block()->type_cache, key);
  const uint32_t epoch = g_handle_epoch.load(std::memory_order_relaxed);
  if (PC_LIKELY(c.key == key && c.epoch == epoch)) return static_cast<uint64_t>(c.a);
  return tsize_slow(t, c, epoch);
}

HandleCache& comm_entry_slow(MPI_Comm comm, HandleCache& c, uint32_t epoch);
PC_HOT HandleCache& comm_entry(MPI_Comm comm) {
  const uintptr_t key = reinterpret_cast<uintptr_t>(comm);
  HandleCache& c = cache_slot(thread_block()->comm_cache, key);
  const uint32_t epoch = g_handle_epoch.load(std::memory_order_relaxed);
  if (PC_LIKELY(c.key == key && c.epoch == epoch)) return c;
  return comm_entry_slow(comm, c, epoch);
}
// Size of the communicator's (local) group; 0 when unknown.
PC_HOT int comm_size(MPI_Comm comm) { return comm_entry(comm).a; }
// Number of peers a v-collective's count arrays cover: the remote group of an intercommunicator.
PC_HOT int peers(MPI_Comm comm) { return comm_entry(comm).b; }
int crank(MPI_Comm comm);  // this rank in comm (uncached: only in-place v-collectives need it)

inline uint64_t sumcounts(const int* counts, int n) {
  uint64_t s = 0;
  for (int i = 0; i < n; i++) s += counts[i] > 0 ? static_cast<uint64_t>(counts[i]) : 0;
  return s;
}
// Alltoallw: sum of counts[i] x size(types[i]) over n peers.
inline uint64_t sumw(const int* counts, const MPI_Datatype* types, int n) {
  uint64_t s = 0;
  for (int i = 0; i < n; i++)
    if (counts[i] > 0) s += static_cast<uint64_t>(counts[i]) * tsize(types[i]);
  return s;
}
PC_HOT bool inplace(const void* buf) { return buf == MPI_IN_PLACE; }

// ---- Fortran
MPI_Datatype type_f2c(MPI_Fint f);
MPI_Comm comm_f2c(MPI_Fint f);
// MPI_Op_f2c (the tuned Fortran collectives' ops), resolved on first use.
inline MPI_Op op_f2c(MPI_Fint f) {
  static std::atomic<decltype(&PMPI_Op_f2c)> slot{nullptr};
  const auto fn = resolve(slot, "PMPI_Op_f2c");
  return fn ? fn(f) : nullptr;
}
// A Fortran buffer address with Open MPI's sentinels (MPI_IN_PLACE, MPI_BOTTOM common blocks)
// turned into the C values; other addresses unchanged.
PC_HOT const void* f2c_buffer(const void* p) {
  for (const void* s : g_mpi.f_in_place)
    if (s != nullptr && p == s) return MPI_IN_PLACE;
  for (const void* s : g_mpi.f_bottom)
    if (s != nullptr && p == s) return MPI_BOTTOM;
  return p;
}
PC_HOT void* f2c_buffer(void* p) {
  return const_cast<void*>(f2c_buffer(static_cast<const void*>(p)));
}

}  // namespace pc

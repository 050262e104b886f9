// Session services shared by core.cpp, profile.cpp and mod_mpi.cpp (the MPI world, reductions).
#pragma once
#include "controls.hpp"

namespace pc {

const Settings& settings();
ThreadBlock* fallback_block();  // the shared block used when a thread's calloc failed

// ---- the MPI world (mod_mpi.cpp; without MPI at build time: a world of one)
// The process calls an MPI library that is not Open MPI 4.x (MPICH, Intel MPI, ...): its handles
// mean nothing to the runtime, so it stays out of the way. *why names what was found.
bool foreign_mpi(const char** why);
void mpi_session_start();  // after PMPI_Init: rank, size, a private communicator for the reduction
bool mpi_world_ok();       // the reduction machinery is usable
int world_rank();
int world_size();
enum class ReduceOp { sum, min, max };
// Element-wise reduction of n counters onto rank 0 (over a private dup of MPI_COMM_WORLD with
// MPI_ERRORS_RETURN): false on failure (then no profile is written).
bool reduce_u64(const uint64_t* in, uint64_t* out, int n, ReduceOp op);
bool allreduce_max_u64(const uint64_t* in, uint64_t* out, int n);
bool gather_u64(uint64_t value, uint64_t* out);  // out: world_size() values, on rank 0
void mpi_session_end();  // frees the private communicator (before PMPI_Finalize)

// ---- the profile (profile.cpp): reduce (MPI) and write it from rank 0
void write_profile(bool mpi, uint64_t start_ns, uint64_t end_ns);
// The executable's GNU build-id (hex) or, without one, "fnv1a64:<hex>" of its bytes in hash.
void app_identity(char* build_id, size_t build_id_len, char* hash, size_t hash_len);

// ---- binding (mod_bind.cpp): the profile's "binding" object; counts[a]: ranks with action code a
class Json;
void bind_profile_write(Json& j, const uint64_t counts[5], uint64_t max_us);

// ---- the tuner (coll/tuner.cpp): the profile's "tuning" object, malloc'd JSON (null: none)
char* tune_profile_json();

}  // namespace pc

// mpi module: Open MPI handles resolved at run time, cached sizes, Fortran conversions, and the
// world reduction used to write the profile (all through PMPI, so none of it is traced).
#include "session.hpp"

#if PC_WITH_MPI
#include "mpi_helpers.hpp"

namespace pc {

MpiHandles g_mpi;

namespace {

// Typed, lazily resolved PMPI entry points the runtime calls itself (never on the hot path).
#define PC_PMPI(fn)                                     \
  decltype(&P##fn) p_##fn() {                           \
    static std::atomic<decltype(&P##fn)> slot{nullptr}; \
    return resolve(slot, "P" #fn);                      \
  }
PC_PMPI(MPI_Type_size)
PC_PMPI(MPI_Comm_size)
PC_PMPI(MPI_Comm_rank)
PC_PMPI(MPI_Comm_test_inter)
PC_PMPI(MPI_Comm_remote_size)
PC_PMPI(MPI_Type_f2c)
PC_PMPI(MPI_Comm_f2c)
PC_PMPI(MPI_Comm_dup)
PC_PMPI(MPI_Comm_free)
PC_PMPI(MPI_Comm_set_errhandler)
PC_PMPI(MPI_Reduce)
PC_PMPI(MPI_Allreduce)
PC_PMPI(MPI_Gather)
#undef PC_PMPI

int g_rank = 0, g_size = 1;
bool g_world_ok = false;
MPI_Comm g_private = nullptr;  // dup of MPI_COMM_WORLD with MPI_ERRORS_RETURN, for the reduction

template <typename T>
T handle(const char* symbol) {
  return reinterpret_cast<T>(data_symbol(symbol));
}

// Resolves Open MPI's predefined handles: the addresses of data symbols, looked up with
// dlsym(RTLD_DEFAULT) (a PIE executable's copy relocation is the object everyone uses).
bool resolve_handles(const char** why) {
  g_mpi.comm_world = handle<MPI_Comm>("ompi_mpi_comm_world");
  g_mpi.comm_null = handle<MPI_Comm>("ompi_mpi_comm_null");
  g_mpi.datatype_null = handle<MPI_Datatype>("ompi_mpi_datatype_null");
  g_mpi.uint64 = handle<MPI_Datatype>("ompi_mpi_uint64_t");
  g_mpi.chr = handle<MPI_Datatype>("ompi_mpi_char");
  g_mpi.sum = handle<MPI_Op>("ompi_mpi_op_sum");
  g_mpi.min = handle<MPI_Op>("ompi_mpi_op_min");
  g_mpi.max = handle<MPI_Op>("ompi_mpi_op_max");
  g_mpi.errors_return = handle<MPI_Errhandler>("ompi_mpi_errors_return");
  g_mpi.int32 = handle<MPI_Datatype>("ompi_mpi_int");
  g_mpi.info_null = handle<MPI_Info>("ompi_mpi_info_null");
  resolve_fortran_sentinels();
  if (!g_mpi.comm_world || !g_mpi.comm_null || !g_mpi.datatype_null || !g_mpi.uint64 ||
      !g_mpi.sum || !g_mpi.min || !g_mpi.max || !g_mpi.errors_return || !g_mpi.int32 ||
      !g_mpi.info_null) {
    *why =
        "Open MPI's predefined handles (ompi_mpi_comm_world, ...) not found: not an Open MPI 4.x "
        "program";
    return false;
  }
  return true;
}

bool mpi_module_init(const char** why) {
  // A process without libmpi (PARACLOUD_PROFILE_NONMPI=1) leaves the module dormant: no MPI call
  // can reach it. mpi4py-style programs load libmpi later: MPI_Init resolves the handles again.
  if (next_function("PMPI_Init") == nullptr) return true;
  return resolve_handles(why);
}

}  // namespace

Module module_mpi = {"mpi", kLayerMpi, mpi_module_init, nullptr, {false}, nullptr};

bool foreign_mpi(const char** why) {
  if (next_function("PMPI_Init") == nullptr || data_symbol("ompi_mpi_comm_world") != nullptr)
    return false;
  *why = data_symbol("MPIR_Err_return_comm") || data_symbol("MPII_Version_ABI")
             ? "this program's MPI library is MPICH, not Open MPI 4.x"
             : "this program's MPI library is not Open MPI 4.x";
  return true;
}

void resolve_fortran_sentinels() {
  const char* in_place[4] = {"mpi_fortran_in_place_", "mpi_fortran_in_place",
                             "MPI_FORTRAN_IN_PLACE", "mpi_fortran_in_place__"};
  const char* bottom[4] = {"mpi_fortran_bottom_", "mpi_fortran_bottom", "MPI_FORTRAN_BOTTOM",
                           "mpi_fortran_bottom__"};
  for (int i = 0; i < 4; i++) {
    g_mpi.f_in_place[i] = data_symbol(in_place[i]);
    g_mpi.f_bottom[i] = data_symbol(bottom[i]);
  }
}

// Reached only when neither PMPI_X nor MPI_X (Fortran: mpi_x_) is defined anywhere in the process
// but in this library (symbols.cpp looks in the global scope, then in every loaded object, then
// tries the MPI_X name): a caller that linked an MPI library always finds it. What remains is a
// program that calls MPI_X with no MPI library loaded at all, which would not have linked or run
// without the preload either.
int missing_mpi(const char* symbol) {
  static std::atomic<bool> once{false};
  if (!once.exchange(true))
    log("mpi: %s is defined nowhere in this process: the call returns MPI_ERR_OTHER", symbol);
  return MPI_ERR_OTHER;
}

void missing_fortran(const char* symbol, MPI_Fint* ierr) {
  static std::atomic<bool> once{false};
  if (!once.exchange(true))
    log("mpi: Fortran %s is defined nowhere in this process: ierror = MPI_ERR_OTHER", symbol);
  if (ierr) *ierr = MPI_ERR_OTHER;
}

uint64_t tsize_slow(MPI_Datatype t, HandleCache& c, uint32_t epoch) {
  int size = 0;
  auto fn = p_MPI_Type_size();
  if (t == nullptr || t == g_mpi.datatype_null || fn == nullptr || fn(t, &size) != MPI_SUCCESS ||
      size < 0)
    size = 0;
  c = HandleCache{reinterpret_cast<uintptr_t>(t), epoch, size, 0};
  return static_cast<uint64_t>(size);
}

HandleCache& comm_entry_slow(MPI_Comm comm, HandleCache& c, uint32_t epoch) {
  int size = 0, peers = 0, inter = 0;
  auto size_fn = p_MPI_Comm_size();
  auto inter_fn = p_MPI_Comm_test_inter();
  auto remote_fn = p_MPI_Comm_remote_size();
  if (comm != nullptr && comm != g_mpi.comm_null && size_fn &&
      size_fn(comm, &size) == MPI_SUCCESS) {
    peers = size;
    if (inter_fn && remote_fn && inter_fn(comm, &inter) == MPI_SUCCESS && inter &&
        remote_fn(comm, &peers) != MPI_SUCCESS)
      peers = 0;
  } else {
    size = 0;
  }
  c = HandleCache{reinterpret_cast<uintptr_t>(comm), epoch, size, peers};
  return c;
}

int crank(MPI_Comm comm) {
  int rank = 0;
  auto fn = p_MPI_Comm_rank();
  if (!fn || fn(comm, &rank) != MPI_SUCCESS) rank = 0;
  return rank;
}

MPI_Datatype type_f2c(MPI_Fint f) {
  auto fn = p_MPI_Type_f2c();
  return fn ? fn(f) : nullptr;
}

MPI_Comm comm_f2c(MPI_Fint f) {
  auto fn = p_MPI_Comm_f2c();
  return fn ? fn(f) : nullptr;
}

// ------------------------------------------------------------------ world services
void mpi_session_start() {
  const char* why = nullptr;
  if (!resolve_handles(&why)) {
    disable_module(module_mpi, why);
    disable_module(module_mpiio, why);  // MPI-IO needs the same handles
    return;
  }
  auto rank_fn = p_MPI_Comm_rank();
  auto size_fn = p_MPI_Comm_size();
  if (!rank_fn || !size_fn || rank_fn(g_mpi.comm_world, &g_rank) != MPI_SUCCESS ||
      size_fn(g_mpi.comm_world, &g_size) != MPI_SUCCESS) {
    disable_module(module_mpi, "PMPI_Comm_rank/PMPI_Comm_size on MPI_COMM_WORLD failed");
    return;
  }
  g_world_ok = true;
}

bool mpi_world_ok() { return g_world_ok; }
int world_rank() { return g_rank; }
int world_size() { return g_size; }

namespace {
bool private_comm() {
  if (g_private != nullptr) return true;
  auto dup = p_MPI_Comm_dup();
  auto seterr = p_MPI_Comm_set_errhandler();
  if (!g_world_ok || !dup || !seterr) return false;
  MPI_Comm c = nullptr;
  if (dup(g_mpi.comm_world, &c) != MPI_SUCCESS) return false;
  seterr(c, g_mpi.errors_return);
  g_private = c;
  return true;
}
MPI_Op op_of(ReduceOp op) {
  return op == ReduceOp::sum ? g_mpi.sum : op == ReduceOp::min ? g_mpi.min : g_mpi.max;
}
}  // namespace

bool reduce_u64(const uint64_t* in, uint64_t* out, int n, ReduceOp op) {
  auto fn = p_MPI_Reduce();
  return private_comm() && fn &&
         fn(in, out, n, g_mpi.uint64, op_of(op), 0, g_private) == MPI_SUCCESS;
}

bool allreduce_max_u64(const uint64_t* in, uint64_t* out, int n) {
  auto fn = p_MPI_Allreduce();
  return private_comm() && fn && fn(in, out, n, g_mpi.uint64, g_mpi.max, g_private) == MPI_SUCCESS;
}

bool gather_u64(uint64_t value, uint64_t* out) {
  auto fn = p_MPI_Gather();
  return private_comm() && fn &&
         fn(&value, 1, g_mpi.uint64, out, 1, g_mpi.uint64, 0, g_private) == MPI_SUCCESS;
}

void mpi_session_end() {
  auto fn = p_MPI_Comm_free();
  if (g_private != nullptr && fn) fn(&g_private);
  g_private = nullptr;
}

}  // namespace pc

#else  // built without MPI: a world of one, and no MPI wrappers exist

namespace pc {
Module module_mpi = {"mpi", kLayerMpi, nullptr, nullptr, {false}, nullptr};
bool foreign_mpi(const char**) { return false; }
void mpi_session_start() {}
bool mpi_world_ok() { return false; }
int world_rank() { return 0; }
int world_size() { return 1; }
bool reduce_u64(const uint64_t* in, uint64_t* out, int n, ReduceOp) {
  for (int i = 0; i < n; i++) out[i] = in[i];
  return true;
}
bool allreduce_max_u64(const uint64_t* in, uint64_t* out, int n) {
  return reduce_u64(in, out, n, ReduceOp::max);
}
bool gather_u64(uint64_t value, uint64_t* out) {
  out[0] = value;
  return true;
}
void mpi_session_end() {}
}  // namespace pc

#endif

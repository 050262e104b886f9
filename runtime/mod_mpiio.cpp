// mpiio module: MPI-IO calls (MPI_File_*), wrapped by the generated code from mpi.spec's mpiio
// entries; it uses the mpi module's handles and sizes and is disabled with it.
#include "rt.hpp"

namespace pc {
namespace {
bool mpiio_init(const char**) { return true; }
}  // namespace
Module module_mpiio = {"mpiio", kLayerMpiio, mpiio_init, nullptr, {false}, nullptr};
}  // namespace pc

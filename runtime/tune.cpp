// Autotuner hook (PARACLOUD_TUNE=auto): runs in MPI_Init* before PMPI_Init*, where setenv() of
// OMPI_MCA_* still takes effect (FACTS.md). The autotuner issue fills it in; for now auto =
// profile.
#include "rt.hpp"

namespace pc {
void tune_before_init() {}
}  // namespace pc

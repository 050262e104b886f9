// Autotuner hook before PMPI_Init (PARACLOUD_TUNE=auto): apply the Open MPI coll/tuned dynamic
// rules file generated from the tuning store through the environment, where setenv() of
// OMPI_MCA_* still takes effect (FACTS.md), unless the user set those variables (forced > rules
// file > defaults). The online tuner itself is coll/tuner.cpp.
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "session.hpp"

namespace pc {

#if PC_WITH_MPI
bool tune_rules_file(int ranks, int rpn, char* path, size_t len);  // coll/store_link.cpp

namespace {
int env_int(const char* a, const char* b) {
  const char* v = getenv(a);
  if ((!v || !*v) && b) v = getenv(b);
  return v && *v ? atoi(v) : 0;
}

// Open MPI reads the rules file by name after we hand it over: only a regular file of ours that
// nobody else may write (the store checked its directory when it wrote the file).
bool trusted_rules_file(const char* path) {
  struct stat st;
  if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
      (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    log("tuning store: rules file %s is not a regular file of uid %d writable only by it: not used",
        path, static_cast<int>(geteuid()));
    return false;
  }
  return true;
}
}  // namespace

void tune_before_init() {
  if (getenv("OMPI_MCA_coll_tuned_use_dynamic_rules") ||
      getenv("OMPI_MCA_coll_tuned_dynamic_rules_filename"))
    return;  // the user's own coll/tuned settings win
  // Geometry from the launcher: Open MPI's mpirun, else Slurm (uniform nodes assumed).
  const int ranks = env_int("OMPI_COMM_WORLD_SIZE", "SLURM_NTASKS");
  int rpn = env_int("OMPI_COMM_WORLD_LOCAL_SIZE", nullptr);
  if (rpn <= 0) rpn = env_int("SLURM_NTASKS_PER_NODE", "SLURM_TASKS_PER_NODE");
  if (ranks <= 0 || rpn <= 0) return;
  char path[4096];
  if (!tune_rules_file(ranks, rpn, path, sizeof(path)) || !trusted_rules_file(path)) return;
  setenv("OMPI_MCA_coll_tuned_use_dynamic_rules", "1", 1);
  setenv("OMPI_MCA_coll_tuned_dynamic_rules_filename", path, 1);
}
#else
void tune_before_init() {}
void tune_after_init() {}
void tune_finish() {}
char* tune_profile_json() { return nullptr; }
#endif

}  // namespace pc

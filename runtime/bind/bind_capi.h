/* libparacloud_bind.so's C interface (issue 11 item 3): the preload runtime (no libstdc++, no
 * hwloc) dlopens this library beside itself, in MPI ranks only, and calls pc_bind_run once. The
 * library holds the pure binding core (lib/binding), the launcher rule (lib/binding/launch) and the
 * hwloc adapter; it never throws across this interface. */
#ifndef PARACLOUD_BIND_CAPI_H
#define PARACLOUD_BIND_CAPI_H
#ifdef __cplusplus
extern "C" {
#endif

#define PC_BIND_CAPI_VERSION 1

struct pc_bind_result {
  char action[12];       /* "applied", "kept", "skipped", "failed" */
  char policy[12];       /* the policy of the map ("spread", ...) */
  char launcher[12];     /* "mpirun", "hydra", "srun", "singleton" */
  int local_rank, local_size, threads;
  char cpus[512];        /* the PUs the rank runs on after this call (a cpulist) */
  char mem[128];         /* NUMA nodes its memory is bound to; "" none */
  char gpus[128];        /* the map's GPUs (names, comma separated); "" none */
  char omp_places[1024]; /* what OMP_PLACES is now ("" unset) */
  char omp_proc_bind[16];
  char omp[160];         /* what was done about OMP_PLACES / OMP_PROC_BIND */
  char why[320];         /* the reason for the action, the map's note, or the error */
  double seconds;        /* time spent in pc_bind_run */
};

/* request: PARACLOUD_BIND's policy word (auto, spread, compact, numa, none, keep).
 * set_omp: nonzero to export OMP_PLACES / OMP_PROC_BIND when the user set neither (only safe while
 * the process has one thread). Returns 0 (action says what happened; "failed": nothing was
 * changed and why says what failed). */
typedef int (*pc_bind_run_fn)(const char* request, int set_omp, struct pc_bind_result* out);
int pc_bind_run(const char* request, int set_omp, struct pc_bind_result* out);
int pc_bind_capi_version(void);

#ifdef __cplusplus
}
#endif
#endif

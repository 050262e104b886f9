/* The C interface between the preload runtime (no libstdc++) and libparacloud_tunestore.so (the
 * tuning store of lib/tune_store.cpp behind extern "C" functions that catch every exception). */
#ifndef PARACLOUD_STORE_CAPI_H
#define PARACLOUD_STORE_CAPI_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PC_TUNE_CAPI_VERSION 1

/* One decision: for this collective, communicator size, ranks per node, message-size bucket
 * (bytes in [2^bucket, 2^(bucket+1)); -1 for barrier) and datatype class, use `algorithm`. */
typedef struct pc_tune_decision {
  char collective[16];
  int comm_size;
  int ranks_per_node;
  int bucket;
  char dtype[8];
  char algorithm[32];
  char source[8]; /* "explore", "store", "bench" */
  double time_us; /* the winner's agreed time per call during exploration (0 unknown) */
  uint64_t calls;
} pc_tune_decision;

/* Which application and job geometry a store file belongs to. */
typedef struct pc_tune_app {
  const char* name;     /* executable basename */
  const char* build_id; /* GNU build-id hex, or "" */
  const char* hash;     /* "fnv1a64:..." when there is no build-id, or "" */
  int ranks;
  int ranks_per_node;
  const char* user_dir; /* PARACLOUD_TUNE_DIR or ~/.cache/paracloud/tune */
  const char* site_dir; /* PARACLOUD_TUNE_SITE_DIR or /var/lib/paracloud/tune */
} pc_tune_app;

typedef void (*pc_tune_warn_fn)(const char* message);

/* Decisions for `app` (user file, then site file for the app, then the site's geometry-wide file;
 * earlier ones win per key). Returns how many were written to out (at most max), -1 on failure.
 * `loaded` receives the files read (";"-separated). Corrupt or foreign files: one warning each. */
typedef int (*pc_tune_store_load_fn)(const pc_tune_app* app, pc_tune_decision* out, int max,
                                     char* loaded, size_t loaded_len, pc_tune_warn_fn warn);
/* Merges decisions into the user's store file for `app` (atomic temp + rename, under a lock).
 * Returns 0 and the path in `path`, or -1 (warned). */
typedef int (*pc_tune_store_save_fn)(const pc_tune_app* app, const pc_tune_decision* d, int n,
                                     char* path, size_t path_len, pc_tune_warn_fn warn);
/* Writes an Open MPI coll/tuned dynamic rules file (classic v1) for the decisions that map to Open
 * MPI algorithms, into dir (unique name, content-addressed). Returns the number of rules (0: no
 * file written), -1 on failure (warned). */
typedef int (*pc_tune_rules_write_fn)(const pc_tune_decision* d, int n, const char* dir,
                                      char* path, size_t path_len, pc_tune_warn_fn warn);

#ifdef __cplusplus
}
#endif
#endif

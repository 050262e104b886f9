/* The C interface between the preload runtime (no libstdc++) and libparacloud_tunestore.so (the
 * tuning store of lib/tuning/tune_store.cpp behind extern "C" functions that catch every exception). */
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

/* ---- IO decisions (issue 12): "<app key>.io.json" beside the collective files in the user store.
 * Separate symbols (pc_io_store_load, pc_io_store_record), looked up on their own: a store library
 * without them leaves IO tuning off and the collective store working (PC_TUNE_CAPI_VERSION is
 * unchanged). */
#define PC_IO_NAME_MAX 256
#define PC_IO_RANK_MAX 8

/* What the runtime saw of one dataset (rank 0). */
typedef struct pc_io_evidence {
  char dataset[PC_IO_NAME_MAX]; /* the name it was opened or created by */
  char file[PC_IO_NAME_MAX];    /* H5Fget_name */
  int rank;                     /* dims used: at most PC_IO_RANK_MAX */
  uint64_t dims[PC_IO_RANK_MAX], chunk[PC_IO_RANK_MAX]; /* chunk all 0: not chunked */
  uint64_t chunk_bytes;
  int filters;
  uint64_t cache_bytes, cache_slots; /* effective chunk cache at open */
  uint64_t reads, chunk_touches, max_chunks_per_read, read_ns;
  int tuned; /* opened with a stored decision applied */
} pc_io_evidence;

/* A stored, active decision: open `dataset` with H5Pset_chunk_cache(nslots, nbytes, w0). */
typedef struct pc_io_decision {
  char dataset[PC_IO_NAME_MAX];
  uint64_t nslots, nbytes;
  double w0;
} pc_io_decision;

/* Active decisions for app from user_dir/<key>.io.json; how many were written to out, 0 when there
 * is no file, -1 when it is unusable (warned once). */
typedef int (*pc_io_store_load_fn)(const pc_tune_app* app, pc_io_decision* out, int max,
                                   pc_tune_warn_fn warn);
/* Folds one run into the file: rules from rules_path decide datasets without a decision, applied
 * ones record their effect (withdrawn when slower). 0 and the file in path, or -1 (warned; a
 * corrupt rules file: no decision). preads: pread/pread64 calls of the process. */
typedef int (*pc_io_store_record_fn)(const pc_tune_app* app, const char* rules_path,
                                     const pc_io_evidence* ev, int n, uint64_t preads, char* path,
                                     size_t path_len, pc_tune_warn_fn warn);

#ifdef __cplusplus
}
#endif
#endif

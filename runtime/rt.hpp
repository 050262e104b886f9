// The preload runtime's core: per-thread call counters, the cheap timer, probes, modules, logging.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <ctime>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "calls_gen.hpp"  // generated from mpi.spec: enum CallId, kCalls[], Layer

#define PC_LIKELY(x) __builtin_expect(!!(x), 1)
#define PC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define PC_EXPORT extern "C" __attribute__((visibility("default")))
// The per-call path is a few dozen instructions; left to itself GCC outlines it (one call site per
// wrapper), which costs more than the work. Forced inline, the call id folds to a constant.
#define PC_HOT inline __attribute__((always_inline))

namespace pc {

// ------------------------------------------------------------------ counters
// A counter written by its owning thread only and read by MPI_Finalize's reduction: relaxed
// load + store (a plain `add` on x86, no lock prefix), race-free for the reader.
struct Counter {
  std::atomic<uint64_t> v{0};
  void add(uint64_t d) {
    v.store(v.load(std::memory_order_relaxed) + d, std::memory_order_relaxed);
  }
  uint64_t get() const { return v.load(std::memory_order_relaxed); }
};

// Message-size histogram: bin 0 holds 0-byte calls, bin k (1..kHistBins-2) holds
// [2^(k-1), 2^k), the last bin everything from 2^(kHistBins-2) up.
constexpr int kHistBins = 32;
PC_HOT int size_bin(uint64_t bytes) {
  if (bytes == 0) return 0;
  int b = 64 - __builtin_clzll(bytes);
  return b < kHistBins - 1 ? b : kHistBins - 1;
}
// Communicator-size classes: class 0 = no communicator, class c >= 1 holds sizes in
// (2^(c-2), 2^(c-1)], i.e. 1, 2, 3-4, 5-8, ...; the last class is open-ended.
constexpr int kCommClasses = 24;
PC_HOT int comm_class(int size) {
  if (size <= 0) return 0;
  int c = size == 1 ? 1 : 2 + (31 - __builtin_clz(static_cast<unsigned>(size - 1)));
  return c < kCommClasses ? c : kCommClasses - 1;
}

struct CallStats {
  Counter count;                    // successful calls
  Counter fortran;                  // of which through a Fortran binding
  Counter errors;                   // calls that returned an error
  Counter bytes;                    // payload bytes (see PROFILE-SCHEMA.md per kind)
  Counter timed;                    // calls whose duration was measured
  Counter raw_ticks;                // sum of measured durations
  Counter est_ticks;                // estimated total duration (each measured call weighted 1/p)
  std::atomic<uint8_t> sampled{0};  // 0: time every call; 1: time 1 in kSampleEvery (cheap call)
  Counter hist[kHistBins];
  Counter comm_count[kCommClasses];
  Counter comm_bytes[kCommClasses];
};

// Everything one thread records. Allocated on a thread's first traced call, linked into a global
// list, never freed (a finished thread's numbers still count at MPI_Finalize).
// A small per-thread cache of handle -> size (datatype sizes, communicator sizes), so that counting
// bytes costs no MPI call on the hot path. Entries are valid while `epoch` equals g_handle_epoch,
// which every call that frees handles (MPI_Comm_free, MPI_Type_free, ...) bumps.
struct HandleCache {
  uintptr_t key;
  uint32_t epoch;
  int32_t a, b;
};
constexpr int kHandleCacheSlots = 16;
extern std::atomic<uint32_t> g_handle_epoch;
inline void invalidate_handle_caches() { g_handle_epoch.fetch_add(1, std::memory_order_relaxed); }
PC_HOT HandleCache& cache_slot(HandleCache* table, uintptr_t key) {
  return table[(key * 0x9E3779B97F4A7C15ull) >> 60];
}

struct ThreadBlock {
  ThreadBlock* next = nullptr;
  HandleCache type_cache[kHandleCacheSlots] = {};
  HandleCache comm_cache[kHandleCacheSlots] = {};
  uint32_t rng = 0x9e3779b9u;  // xorshift32 state for timer sampling
  int depth = 0;               // nesting of traced calls (HDF5 -> MPI-IO -> POSIX)
  int mpi_depth = 0;           // nesting inside mpi-layer calls (their file opens are MPI's own)
  int guard = 0;               // > 0 while the runtime does its own work: nothing is traced
  Counter outer_ticks[kLayerCount];  // estimated time of outermost calls, per layer
  CallStats calls[kCallCount];
};

extern __thread ThreadBlock* t_block __attribute__((tls_model("initial-exec")));
ThreadBlock* thread_block_slow();  // allocates and links this thread's block (cold)
PC_HOT ThreadBlock* thread_block() {
  ThreadBlock* b = t_block;
  return PC_LIKELY(b != nullptr) ? b : thread_block_slow();
}
ThreadBlock* thread_blocks();  // head of the list of all threads' blocks

// ------------------------------------------------------------------ layers
// live[layer]: record calls of this layer now (mode != off, module enabled, session open).
extern std::atomic<bool> g_live[kLayerCount];
PC_HOT bool live(Layer l) { return g_live[l].load(std::memory_order_relaxed); }

// ------------------------------------------------------------------ timer
// rdtsc on x86 with an invariant TSC (converted to ns once, at the end, from the same interval
// measured with CLOCK_MONOTONIC), else CLOCK_MONOTONIC in ns.
extern bool g_use_tsc;
PC_HOT uint64_t now_ticks() {
#if defined(__x86_64__) || defined(__i386__)
  if (PC_LIKELY(g_use_tsc)) return __rdtsc();
#endif
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}
double ns_per_tick();  // calibrated lazily (first call after activation + 20 ms, or now)
uint64_t mono_ns();

// The timer costs ~20 ns per read on some CPUs, more than a cheap MPI call. So a call kind is
// timed with probability 1/kSampleEvery while its measured mean stays under kAlwaysTimeTicks, and
// every call is timed otherwise. Estimated totals weight each measured call by 1/p (unbiased).
// The first kWarmupCalls calls of each kind are always timed, so rare expensive calls (MPI_Init,
// MPI_File_open) are measured exactly.
constexpr uint32_t kSampleEvery = 16;
// (Instruction-count measurements under valgrind, where every call is slow, build with
// -DPC_ALWAYS_TIME_TICKS=<huge> to see the sampled steady state.)
#ifndef PC_ALWAYS_TIME_TICKS
#define PC_ALWAYS_TIME_TICKS 2000
#endif
constexpr uint64_t kAlwaysTimeTicks = PC_ALWAYS_TIME_TICKS;
constexpr uint64_t kWarmupCalls = 8;

// ------------------------------------------------------------------ probes
struct Probe {
  ThreadBlock* b;
  uint64_t t0;
  uint32_t weight;  // 0: not timed; else 1/p
  CallId id;
};

PC_HOT Probe probe_begin(CallId id) {
  ThreadBlock* b = thread_block();
  Probe p{b, 0, 0, id};
  CallStats& s = b->calls[id];
  if (!s.sampled.load(std::memory_order_relaxed)) {
    p.weight = 1;
  } else {
    uint32_t x = b->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b->rng = x;
    if ((x & (kSampleEvery - 1)) == 0) p.weight = kSampleEvery;
  }
  b->depth++;
  if (kCalls[id].layer == kLayerMpi) b->mpi_depth++;
  if (p.weight) p.t0 = now_ticks();
  return p;
}

// The end time of a probe, read right after the call returns (before bytes are counted).
PC_HOT uint64_t probe_clock(const Probe& p) { return p.weight ? now_ticks() : 0; }

// Ends a probe: the call's duration (if timed), its outcome, payload bytes and communicator size.
PC_HOT void probe_end(const Probe& p, uint64_t t1, bool ok, uint64_t bytes, int comm_size,
                      bool fortran) {
  const uint64_t dt = p.weight ? t1 - p.t0 : 0;
  ThreadBlock* b = p.b;
  CallStats& s = b->calls[p.id];
  const Layer layer = kCalls[p.id].layer;
  b->depth--;
  if (layer == kLayerMpi) b->mpi_depth--;
  if (p.weight) {
    s.timed.add(1);
    s.raw_ticks.add(dt);
    s.est_ticks.add(dt * p.weight);
    if (b->depth == 0) b->outer_ticks[layer].add(dt * p.weight);
    // Sample only a call kind that is cheap on average after its warm-up calls.
    const uint64_t timed = s.timed.get();
    s.sampled.store(timed >= kWarmupCalls && s.raw_ticks.get() <= kAlwaysTimeTicks * timed,
                    std::memory_order_relaxed);
  }
  if (!ok) {
    s.errors.add(1);
    return;
  }
  s.count.add(1);
  if (fortran) s.fortran.add(1);
  s.bytes.add(bytes);
  s.hist[size_bin(bytes)].add(1);
  if (comm_size >= 0) {
    int c = comm_class(comm_size);
    s.comm_count[c].add(1);
    s.comm_bytes[c].add(bytes);
  }
}

// A call counted without timing (MPI_Finalize: the profile is written inside it).
void count_only(CallId id, bool fortran);

// RAII reentry guard: the runtime's own IO and MPI calls are not traced.
struct Guard {
  ThreadBlock* b;
  Guard() : b(thread_block()) { b->guard++; }
  ~Guard() { b->guard--; }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
};

// ------------------------------------------------------------------ symbols (symbols.cpp)
// A function: dlsym(RTLD_NEXT, name), else its definition in the loaded objects (a libmpi or libhdf5
// that Python loaded with RTLD_LOCAL is not in the global scope). Data: dlsym(RTLD_DEFAULT, name)
// first (copy relocations), then the loaded objects. Null only when nothing in the process has it.
void* next_function(const char* name);
void* data_symbol(const char* name);
// The cold half of resolve(): the next definition of `name` (else of `alt`); *per_caller is set
// when several loaded objects outside the global scope define it, so that the right one depends on
// the caller (resolve_for_caller: the definition in the caller's own dependency tree).
void* resolve_slow(const char* name, const char* alt, const void* caller, bool* per_caller);
void* resolve_for_caller(const char* name, const char* alt, const void* caller);
// `name` in the dependency tree of the object that holds `addr` (a function of the same library).
void* symbol_beside(const void* addr, const char* name);
// Remembers a resolved slot, cleared when a dlclose unloads an object.
void register_slot(void* slot, void (*clear)(void*));

template <typename F>
void clear_slot(void* s) {
  static_cast<std::atomic<F>*>(s)->store(nullptr, std::memory_order_relaxed);
}
template <typename F>
__attribute__((noinline)) F resolve_cold(std::atomic<F>& slot, const char* name, const char* alt,
                                         const void* caller) {
  if (reinterpret_cast<uintptr_t>(slot.load(std::memory_order_relaxed)) == 1)
    return reinterpret_cast<F>(resolve_for_caller(name, alt, caller));
  bool per_caller = false;
  void* f = resolve_slow(name, alt, caller, &per_caller);
  if (f == nullptr) return nullptr;
  slot.store(per_caller ? reinterpret_cast<F>(uintptr_t{1}) : reinterpret_cast<F>(f),
             std::memory_order_relaxed);
  register_slot(&slot, clear_slot<F>);
  return reinterpret_cast<F>(f);
}
// The function behind a wrapper, resolved on its first call and cached in `slot`: one relaxed load
// and a predictable branch afterwards (a benign race resolves the same pointer twice). `caller` is
// the wrapper's return address (which copy of a library the caller linked, see symbols.cpp); `alt`
// a second name to try (MPI_X when a library has no PMPI_X). Slot values: null unresolved, 1 per
// caller, else the function.
template <typename F>
PC_HOT F resolve(std::atomic<F>& slot, const char* name, const void* caller = nullptr,
                 const char* alt = nullptr) {
  F f = slot.load(std::memory_order_relaxed);
  if (PC_LIKELY(reinterpret_cast<uintptr_t>(f) > 1)) {
    if (f == nullptr) __builtin_unreachable();  // lets the caller's null test fold away
    return f;
  }
  return resolve_cold(slot, name, alt, caller);
}

// ------------------------------------------------------------------ process
// Rank from the launcher's environment (before MPI_Init), -1 when not launched by one.
int env_rank();
// The path of a library installed beside libparacloud_rt.so; false when it cannot be told.
bool sibling_library(const char* name, char* path, size_t len);

// ------------------------------------------------------------------ binding (mod_bind.cpp)
// Binds this MPI rank once (early: in the constructor, single-threaded, OMP_* may be exported).
void bind_rank(bool early);
int bind_action_code();  // 0 not tried, 1 applied, 2 kept, 3 skipped, 4 failed
uint64_t bind_time_us();

// ------------------------------------------------------------------ logging
// One line "paracloud: <text>" to PARACLOUD_LOG (path or "stderr", default stderr).
void log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// ------------------------------------------------------------------ modules
// Every interception module registers one of these (one file per module: mod_<name>.cpp).
struct Module {
  const char* name;  // as in PARACLOUD_DISABLE and in the profile's "layers"
  Layer layer;
  // Resolves what the module needs; false (with *why set) disables the module.
  bool (*init)(const char** why);
  // Called once at the end of the session, before the reduction (may be null).
  void (*finalize)();
  std::atomic<bool> enabled;  // false: calls pass straight through
  const char* disabled_why;   // reason shown in the profile, null while enabled
};
extern Module module_mpi, module_posix, module_mpiio, module_hdf5;
Module* const* modules();  // null-terminated

// Disables a module at run time: logs once, stops recording, calls keep passing through.
void disable_module(Module& m, const char* why);

// ------------------------------------------------------------------ session
enum class Mode { off, profile, autotune };
Mode mode();
bool activate();             // reads the controls once; true when this process is traced
void session_before_init();  // in MPI_Init*, before PMPI_Init*
void session_start();        // in MPI_Init*, after a successful PMPI_Init*
void session_finish();       // in MPI_Finalize, before PMPI_Finalize
bool posix_armed();          // files opened now are tracked

// Autotuner hooks (PARACLOUD_TUNE=auto): before PMPI_Init (tune.cpp: the Open MPI rules file),
// after a successful PMPI_Init and before PMPI_Finalize (coll/tuner.cpp: tuned dispatch, store).
void tune_before_init();
void tune_after_init();
void tune_finish();

}  // namespace pc

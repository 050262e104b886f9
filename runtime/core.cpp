// Runtime core: activation (inert unless MPI or PARACLOUD_PROFILE_NONMPI), thread blocks, timer,
// logging, module registry and the profiling session (MPI_Init .. MPI_Finalize).
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include <new>

#include "controls.hpp"
#include "session.hpp"

namespace pc {

__thread ThreadBlock* t_block __attribute__((tls_model("initial-exec"))) = nullptr;
std::atomic<bool> g_live[kLayerCount];
std::atomic<uint32_t> g_handle_epoch{1};
bool g_use_tsc = false;

namespace {

std::atomic<ThreadBlock*> g_blocks{nullptr};
ThreadBlock g_fallback_block;  // used only if calloc fails: shared, approximate, never fatal

Settings g_settings;
pthread_once_t g_once = PTHREAD_ONCE_INIT;
bool g_active = false;        // activated and mode != off
bool g_session = false;       // between MPI_Init and MPI_Finalize
bool g_session_done = false;  // MPI_Finalize wrote (or tried) the profile
pid_t g_pid = 0;
uint64_t g_start_ns = 0;  // activation (non-MPI profile) or MPI_Init entry
uint64_t g_cal_tick0 = 0, g_cal_ns0 = 0;
int g_log_fd = 2;


void vlog(const char* fmt, va_list ap) {
  Guard g;
  char line[1024];
  int n = snprintf(line, sizeof(line), "paracloud: ");
  n += vsnprintf(line + n, sizeof(line) - static_cast<size_t>(n) - 1, fmt, ap);
  if (n > static_cast<int>(sizeof(line)) - 2) n = static_cast<int>(sizeof(line)) - 2;
  line[n++] = '\n';
  ssize_t w = write(g_log_fd, line, static_cast<size_t>(n));
  (void)w;
}

// Settings warnings: printed once, by rank 0 (or a process that is not an MPI rank).
void warn_setting(const char* fmt, ...) {
  if (env_rank() > 0) return;
  va_list ap;
  va_start(ap, fmt);
  vlog(fmt, ap);
  va_end(ap);
}

void init_timer() {
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  // CPUID 0x80000007 EDX bit 8: invariant TSC (constant rate, runs in every C/P state).
  if (__get_cpuid(0x80000007, &a, &b, &c, &d) && (d & (1u << 8))) g_use_tsc = true;
#endif
  g_cal_ns0 = mono_ns();
  g_cal_tick0 = now_ticks();
}

void open_log() {
  if (!strcmp(g_settings.log, "stderr")) return;
  Guard g;
  int fd = open(g_settings.log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    log("cannot open PARACLOUD_LOG=%s: %s; logging to stderr", g_settings.log, strerror(errno));
    return;
  }
  g_log_fd = fd;
}

void do_activate() {
  g_pid = getpid();
  // A set-user-ID, set-group-ID or capability-raising exec (AT_SECURE): the environment belongs
  // to a less privileged user, so nothing in it is read (no log file, no store paths) and the
  // runtime stays inert. (ld.so already ignores LD_PRELOAD paths with slashes there, but a
  // preload from the system directories, or /etc/ld.so.preload, still loads this library.)
  if (getauxval(AT_SECURE) != 0) {
    g_settings.mode = Mode::off;
    return;
  }
  read_settings(g_settings, warn_setting);
  open_log();
  init_timer();
  g_start_ns = mono_ns();
  if (g_settings.dump_config && env_rank() <= 0) dump_settings(g_settings);
  if (!g_settings.app_selected) g_settings.mode = Mode::off;
  const char* foreign = nullptr;
  if (g_settings.mode != Mode::off && foreign_mpi(&foreign)) {
    if (env_rank() <= 0) log("%s: the runtime stays out of the way (every call passes through)", foreign);
    g_settings.mode = Mode::off;
  }
  if (g_settings.mode == Mode::off) return;  // pure pass-through: nothing is ever live
  g_active = true;
  for (Module* const* m = modules(); *m; m++) {
    Module& mod = **m;
    if (g_settings.disabled & (1u << mod.layer)) {
      mod.disabled_why = "PARACLOUD_DISABLE";
      continue;
    }
    const char* why = nullptr;
    if (mod.init != nullptr && !mod.init(&why)) {
      mod.enabled.store(true);  // so that disable_module logs once
      disable_module(mod, why ? why : "initialisation failed");
      continue;
    }
    mod.enabled.store(true);
    g_live[mod.layer].store(true);
  }
}

}  // namespace

// ------------------------------------------------------------------ threads
ThreadBlock* thread_block_slow() {
  void* mem = calloc(1, sizeof(ThreadBlock));
  if (mem == nullptr) {
    t_block = &g_fallback_block;
    return t_block;
  }
  ThreadBlock* b = new (mem) ThreadBlock();
  b->rng ^= static_cast<uint32_t>(reinterpret_cast<uintptr_t>(b) >> 4);
  if (b->rng == 0) b->rng = 1;
  ThreadBlock* head = g_blocks.load(std::memory_order_relaxed);
  do {
    b->next = head;
  } while (!g_blocks.compare_exchange_weak(head, b, std::memory_order_release,
                                           std::memory_order_relaxed));
  t_block = b;
  return b;
}

ThreadBlock* thread_blocks() { return g_blocks.load(std::memory_order_acquire); }
ThreadBlock* fallback_block() { return &g_fallback_block; }

void count_only(CallId id, bool fortran) {
  CallStats& s = thread_block()->calls[id];
  s.count.add(1);
  if (fortran) s.fortran.add(1);
  s.hist[0].add(1);
}

int env_rank() {
  static const char* const vars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK",
                                     "SLURM_PROCID"};
  for (const char* v : vars) {
    const char* s = getenv(v);
    if (s && *s) return atoi(s);
  }
  return -1;
}

bool sibling_library(const char* name, char* path, size_t len) {
  Dl_info info;
  if (!dladdr(reinterpret_cast<void*>(&sibling_library), &info) || !info.dli_fname) return false;
  const char* slash = strrchr(info.dli_fname, '/');
  const size_t dir = slash ? static_cast<size_t>(slash + 1 - info.dli_fname) : 0;
  return snprintf(path, len, "%.*s%s", static_cast<int>(dir), info.dli_fname, name) < static_cast<int>(len);
}

// ------------------------------------------------------------------ timer
uint64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

double ns_per_tick() {
  if (!g_use_tsc) return 1.0;
  // Calibrate over the whole run: the TSC and CLOCK_MONOTONIC since activation. A short run waits
  // until 20 ms have passed so that the ratio is good to ~1e-4.
  uint64_t ns = mono_ns();
  while (ns - g_cal_ns0 < 20000000u) ns = mono_ns();
  const uint64_t ticks = now_ticks() - g_cal_tick0;
  return ticks ? static_cast<double>(ns - g_cal_ns0) / static_cast<double>(ticks) : 1.0;
}

// ------------------------------------------------------------------ logging
void log(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vlog(fmt, ap);
  va_end(ap);
}

// ------------------------------------------------------------------ modules
Module* const* modules() {
  static Module* const list[] = {&module_mpi, &module_mpiio, &module_posix, &module_hdf5, nullptr};
  return list;
}

void disable_module(Module& m, const char* why) {
  g_live[m.layer].store(false);
  if (m.enabled.exchange(false)) {
    m.disabled_why = why;
    log("%s disabled: %s", m.name, why);
  }
}

// ------------------------------------------------------------------ session
const Settings& settings() { return g_settings; }
Mode mode() { return g_settings.mode; }

bool activate() {
  pthread_once(&g_once, do_activate);
  return g_active;
}

bool posix_armed() { return g_active && live(kLayerPosix); }

void session_before_init() {
  if (!activate()) return;
  bind_rank(false);  // MPI loaded with dlopen (mpi4py): bound here, before PMPI_Init
  g_start_ns = mono_ns();
  if (g_settings.mode == Mode::autotune) tune_before_init();
}

void session_start() {
  if (!g_active || g_session || g_session_done) return;
  Guard g;
  mpi_session_start();
  g_session = true;
  if (g_settings.mode == Mode::autotune) tune_after_init();
}

void session_finish() {
  if (!g_session) return;
  g_session = false;
  g_session_done = true;
  Guard g;
  if (g_settings.mode == Mode::autotune) tune_finish();
  for (Module* const* m = modules(); *m; m++)
    if ((*m)->finalize != nullptr) (*m)->finalize();
  write_profile(true, g_start_ns, mono_ns());
  for (auto& l : g_live) l.store(false);
}

namespace {

__attribute__((constructor)) void runtime_constructor() {
  // Inert unless this is an MPI program (libmpi is loaded) or non-MPI profiling was asked for:
  // bash, python, hostname and mpirun itself only pay for these two lookups.
  const char* nonmpi = getenv("PARACLOUD_PROFILE_NONMPI");
  const bool want_nonmpi = nonmpi != nullptr && *nonmpi != '\0' && strcmp(nonmpi, "0") != 0;
  // (Plain dlsym: a library loaded later, privately, is found when MPI_Init* is called.)
  const bool mpi_linked = dlsym(RTLD_DEFAULT, "ompi_mpi_comm_world") != nullptr ||
                          dlsym(RTLD_NEXT, "PMPI_Init") != nullptr;
  if (want_nonmpi || mpi_linked) activate();
  // An MPI rank is bound now, before main() starts threads (issue 11; mod_bind.cpp).
  if (mpi_linked && g_active) bind_rank(true);
}

__attribute__((destructor)) void runtime_destructor() {
  if (!g_active || g_session || g_session_done || !g_settings.profile_nonmpi) return;
  if (getpid() != g_pid) return;  // a forked child that did not exec
  g_session_done = true;
  Guard g;
  for (Module* const* m = modules(); *m; m++)
    if ((*m)->finalize != nullptr) (*m)->finalize();
  write_profile(false, g_start_ns, mono_ns());
  for (auto& l : g_live) l.store(false);
}

}  // namespace
}  // namespace pc

// Symbol lookup for the wrappers: the next definition in the global scope (RTLD_NEXT), else the
// library the caller itself loaded privately (Python, R and Julia load extension modules with
// RTLD_LOCAL, so their libmpi / libhdf5 are not in the global scope), found by walking the loaded
// objects. Resolved slots are registered so that a dlclose that unloads a library forgets them.
//
// Why the caller matters: with RTLD_LOCAL two copies of a library can be loaded at once (h5py's
// libhdf5_openmpi and netCDF4's libhdf5_serial in one Python process). Without the preload each
// extension binds to the copy in its own dependency tree; the wrapper must do the same, so when a
// symbol has several providers outside the global scope it is looked up in the scope of the object
// that called the wrapper (its dependency tree), per call site.
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "rt.hpp"

namespace pc {
namespace {

// ------------------------------------------------------------------ our own object
uintptr_t self_base() {
  static uintptr_t base = [] {
    Dl_info info;
    return dladdr(reinterpret_cast<void*>(&self_base), &info) && info.dli_fbase
               ? reinterpret_cast<uintptr_t>(info.dli_fbase)
               : 0;
  }();
  return base;
}

bool in_self(const void* p) {
  Dl_info info;
  return dladdr(p, &info) && reinterpret_cast<uintptr_t>(info.dli_fbase) == self_base();
}

// dlclose without passing through our own dlclose wrapper (below).
using dlclose_fn = int (*)(void*);
dlclose_fn real_dlclose() {
  static std::atomic<dlclose_fn> slot{nullptr};
  dlclose_fn f = slot.load(std::memory_order_relaxed);
  if (f == nullptr) {
    f = reinterpret_cast<dlclose_fn>(dlsym(RTLD_NEXT, "dlclose"));
    slot.store(f, std::memory_order_relaxed);
  }
  return f;
}

// `name` in the dependency tree of the loaded object `path` (no load: RTLD_NOLOAD), not ours.
void* lookup_in(const char* path, const char* name) {
  void* h = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
  if (h == nullptr) return nullptr;
  void* p = dlsym(h, name);
  if (dlclose_fn close = real_dlclose()) close(h);  // NOLOAD took a reference: give it back
  return p != nullptr && !in_self(p) ? p : nullptr;
}

// ------------------------------------------------------------------ walking the loaded objects
// The file names of the loaded objects, in load order (the main program and unnamed objects such
// as the vDSO left out), copied out of dl_iterate_phdr's callback so that no loader lock is held
// while they are opened. A null-separated list in one malloc'ed buffer; null when out of memory.
struct Objects {
  char* names = nullptr;
  size_t len = 0, cap = 0;
  bool oom = false;
  ~Objects() { free(names); }
};

int collect(dl_phdr_info* info, size_t, void* data) {
  Objects& o = *static_cast<Objects*>(data);
  const char* n = info->dlpi_name;
  if (n == nullptr || *n == '\0' || o.oom) return 0;
  const size_t l = strlen(n) + 1;
  if (o.len + l > o.cap) {
    const size_t cap = (o.cap ? o.cap * 2 : 4096) + l;
    char* grown = static_cast<char*>(realloc(o.names, cap));
    if (grown == nullptr) {
      o.oom = true;
      return 0;
    }
    o.names = grown;
    o.cap = cap;
  }
  memcpy(o.names + o.len, n, l);
  o.len += l;
  return 0;
}

// The distinct definitions of `name` outside our object, in load order: up to `max` of them into
// out[], and how many there are in all.
int providers(const char* name, void** out, int max) {
  Objects objs;
  dl_iterate_phdr(collect, &objs);
  int n = 0;
  for (size_t i = 0; i < objs.len; i += strlen(objs.names + i) + 1) {
    void* p = lookup_in(objs.names + i, name);
    if (p == nullptr) continue;
    bool seen = false;
    for (int k = 0; k < n && k < max; k++) seen = seen || out[k] == p;
    if (seen) continue;
    if (n < max) out[n] = p;
    n++;
  }
  return n;
}

// `name` as the caller at `caller` (a return address) would have bound it: in the scope of the
// object that holds the caller; null when that object does not see it.
void* scoped(const char* name, const void* caller) {
  Dl_info info;
  if (caller == nullptr || !dladdr(caller, &info) || info.dli_fname == nullptr ||
      reinterpret_cast<uintptr_t>(info.dli_fbase) == self_base())
    return nullptr;
  return lookup_in(info.dli_fname, name);
}

// ------------------------------------------------------------------ forgetting (dlclose)
// Every slot that holds a resolution, with the function that clears it. Cleared (and the table
// emptied) when a dlclose unloads an object: the slots resolve again on their next call.
struct SlotRef {
  void* slot;
  void (*clear)(void*);
};
constexpr int kMaxSlots = 4096;
SlotRef g_slots[kMaxSlots];
int g_nslots = 0;
pthread_mutex_t g_slots_lock = PTHREAD_MUTEX_INITIALIZER;

// Per call site resolutions of symbols with several providers: (name, return address) -> function.
struct CallerEntry {
  const char* name;
  const void* caller;
  void* fn;
  uint32_t epoch;
};
constexpr int kCallerSlots = 256;
CallerEntry g_callers[kCallerSlots];
std::atomic<uint32_t> g_sym_epoch{1};
pthread_mutex_t g_callers_lock = PTHREAD_MUTEX_INITIALIZER;

unsigned long long unload_count() {
  unsigned long long subs = 0;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t size, void* data) {
        if (size >= offsetof(dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs))
          *static_cast<unsigned long long*>(data) = info->dlpi_subs;
        return 1;  // the counter is the same in every entry: the first one is enough
      },
      &subs);
  return subs;
}

void forget_symbols() {
  pthread_mutex_lock(&g_slots_lock);
  for (int i = 0; i < g_nslots; i++) g_slots[i].clear(g_slots[i].slot);
  g_nslots = 0;
  pthread_mutex_unlock(&g_slots_lock);
  g_sym_epoch.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

void register_slot(void* slot, void (*clear)(void*)) {
  pthread_mutex_lock(&g_slots_lock);
  bool seen = false;
  for (int i = 0; i < g_nslots && !seen; i++) seen = g_slots[i].slot == slot;
  if (!seen && g_nslots < kMaxSlots) g_slots[g_nslots++] = SlotRef{slot, clear};
  pthread_mutex_unlock(&g_slots_lock);
}

void* symbol_beside(const void* addr, const char* name) { return scoped(name, addr); }

void* loaded_symbol(const char* name) {
  void* first = nullptr;
  return providers(name, &first, 1) > 0 ? first : nullptr;
}

void* next_function(const char* name) {
  void* f = dlsym(RTLD_NEXT, name);
  return f != nullptr ? f : loaded_symbol(name);
}

void* data_symbol(const char* name) {
  // The global scope first: a PIE executable's copy relocation is the object everyone uses.
  void* p = dlsym(RTLD_DEFAULT, name);
  return p != nullptr && !in_self(p) ? p : loaded_symbol(name);
}

void* resolve_slow(const char* name, const char* alt, const void* caller, bool* per_caller) {
  *per_caller = false;
  const char* const names[2] = {name, alt};
  for (const char* n : names) {
    if (n == nullptr) continue;
    if (void* f = dlsym(RTLD_NEXT, n)) return f;
    void* found[2] = {nullptr, nullptr};
    const int count = providers(n, found, 2);
    if (count == 1) return found[0];
    if (count > 1) {
      *per_caller = true;
      void* f = scoped(n, caller);
      return f != nullptr ? f : found[0];
    }
  }
  return nullptr;
}

void* resolve_for_caller(const char* name, const char* alt, const void* caller) {
  const uint32_t epoch = g_sym_epoch.load(std::memory_order_relaxed);
  const uintptr_t h = (reinterpret_cast<uintptr_t>(caller) ^ reinterpret_cast<uintptr_t>(name)) *
                      0x9E3779B97F4A7C15ull;
  CallerEntry& e = g_callers[h >> 56];
  pthread_mutex_lock(&g_callers_lock);
  if (e.name == name && e.caller == caller && e.epoch == epoch) {
    void* f = e.fn;
    pthread_mutex_unlock(&g_callers_lock);
    return f;
  }
  pthread_mutex_unlock(&g_callers_lock);
  bool per_caller = false;
  void* f = resolve_slow(name, alt, caller, &per_caller);
  if (f != nullptr) {
    pthread_mutex_lock(&g_callers_lock);
    e = CallerEntry{name, caller, f, epoch};
    pthread_mutex_unlock(&g_callers_lock);
  }
  return f;
}

}  // namespace pc

// dlclose: when it unloads an object, every resolved function is forgotten (a library that is
// loaded again gets new addresses; a cached pointer into the old one would crash the next call).
PC_EXPORT int dlclose(void* handle) {
  const pc::dlclose_fn real = pc::real_dlclose();
  if (real == nullptr) return -1;
  const unsigned long long before = pc::unload_count();
  const int rc = real(handle);
  if (pc::unload_count() != before) pc::forget_symbols();
  return rc;
}

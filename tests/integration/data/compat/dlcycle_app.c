/* Loads h5user.so (and with it libhdf5) with RTLD_LOCAL, uses it, unloads it, and again, three
 * times. Between cycles the address range the old libhdf5 occupied is reserved, so the next load
 * lands elsewhere: a wrapper that kept a pointer into the old copy would crash.
 * Usage: dlcycle_app PLUGIN.so SCRATCH_FILE */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static int find_hdf5(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  if (strstr(info->dlpi_name, "libhdf5") != NULL) {
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
      if (info->dlpi_phdr[i].p_type != PT_LOAD) continue;
      uintptr_t a = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
      uintptr_t b = a + info->dlpi_phdr[i].p_memsz;
      if (a < lo) lo = a;
      if (b > hi) hi = b;
    }
    ((uintptr_t *)data)[0] = lo & ~(uintptr_t)4095;
    ((uintptr_t *)data)[1] = (hi + 4095) & ~(uintptr_t)4095;
    return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s PLUGIN.so SCRATCH_FILE\n", argv[0]);
    return 2;
  }
  int moved = 0;
  for (int cycle = 0; cycle < 3; cycle++) {
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      fprintf(stderr, "dlopen: %s\n", dlerror());
      return 1;
    }
    long (*roundtrip)(const char *, int) = (long (*)(const char *, int))dlsym(h, "h5user_roundtrip");
    uintptr_t range[2] = {0, 0};
    dl_iterate_phdr(find_hdf5, range);
    long sum = roundtrip ? roundtrip(argv[2], cycle) : -2;
    printf("cycle %d: sum=%ld\n", cycle, sum);
    fflush(stdout);
    dlclose(h);
    /* Reserve the range libhdf5 had, if it really was unloaded. */
    if (range[0] && mmap((void *)range[0], range[1] - range[0], PROT_NONE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) != MAP_FAILED)
      moved++;
  }
  fprintf(stderr, "dlcycle: libhdf5 unloaded and its range reserved %d times\n", moved);
  return 0;
}

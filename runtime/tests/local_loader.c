/* Not linked with MPI: loads PLUGIN.so with dlopen(RTLD_NOW | RTLD_LOCAL) and runs its
 * plugin_main, as Python runs mpi4py (test_rtld_local.sh). Usage: local_loader PLUGIN.so */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s PLUGIN.so\n", argv[0]);
    return 2;
  }
  void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    fprintf(stderr, "local_loader: %s\n", dlerror());
    return 2;
  }
  int (*run)(int, char **) = (int (*)(int, char **))dlsym(h, "plugin_main");
  if (run == NULL) {
    fprintf(stderr, "local_loader: no plugin_main in %s\n", argv[1]);
    return 2;
  }
  return run(argc - 1, argv + 1);
}

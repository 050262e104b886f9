/* Atomic file replacement safe in directories that others can write: the data goes to a new
 * temporary file with an unpredictable name, created with O_CREAT|O_EXCL|O_NOFOLLOW (so never an
 * existing file nor the target of a planted symlink), and is then renamed over the destination
 * (rename replaces a symlink there, it does not follow it).
 *
 * Plain C on libc only, all static inline: included by lib/ (C++) and by the preload runtime,
 * which links no libstdc++ and is built without exceptions. The one copy of this logic:
 * lib/tuning/tune_store.cpp, lib/billing/spool.cpp and runtime/profile.cpp use it. */
#ifndef PARACLOUD_ATOMIC_FILE_H
#define PARACLOUD_ATOMIC_FILE_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* Creates a new, empty file "<path>.tmp.<pid>.<12 random hex digits>" for writing with permission
 * `mode` (the umask applies) and returns its descriptor (O_WRONLY|O_CLOEXEC); its name is written
 * to tmp. Returns -1 with errno set on failure (ENAMETOOLONG when tmp_len is too short). */
static inline int pc_atomic_create(const char* path, mode_t mode, char* tmp, size_t tmp_len) {
  for (unsigned attempt = 0; attempt < 64; ++attempt) {
    uint64_t r = 0;
    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      r = ((uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)ts.tv_sec << 29) ^
          ((uint64_t)(uintptr_t)&r) ^ ((uint64_t)attempt << 50);
    }
    int n = snprintf(tmp, tmp_len, "%s.tmp.%d.%012llx", path, (int)getpid(),
                     (unsigned long long)(r & 0xffffffffffffull));
    if (n < 0 || (size_t)n >= tmp_len) {
      errno = ENAMETOOLONG;
      return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
    if (fd >= 0) return fd;
    if (errno != EEXIST) return -1;
  }
  errno = EEXIST;
  return -1;
}

/* Gives up on a temporary file: closes fd (when >= 0) and removes tmp; errno is kept. */
static inline void pc_atomic_abort(int fd, const char* tmp) {
  int e = errno;
  if (fd >= 0) close(fd);
  unlink(tmp);
  errno = e;
}

/* Makes the temporary file `tmp` the file `path`: when fd >= 0, fsync (if `sync`) and close it
 * first (fd < 0: the caller closed it). Returns 0, or -1 with errno set and tmp removed. */
static inline int pc_atomic_commit(int fd, const char* tmp, const char* path, int sync) {
  if (fd >= 0) {
    if (sync && fsync(fd) != 0) {
      pc_atomic_abort(fd, tmp);
      return -1;
    }
    if (close(fd) != 0) {
      pc_atomic_abort(-1, tmp);
      return -1;
    }
  }
  if (rename(tmp, path) != 0) {
    pc_atomic_abort(-1, tmp);
    return -1;
  }
  return 0;
}

/* Replaces `path` with `len` bytes of `data` (create, write, fsync when `sync`, rename). The new
 * file has permission `mode` exactly when `exact_mode` (fchmod: no umask), else mode & ~umask.
 * Returns 0, or -1 with errno set and nothing left behind. */
static inline int pc_atomic_write(const char* path, const void* data, size_t len, mode_t mode,
                                  int exact_mode, int sync) {
  char tmp[4096 + 64];
  int fd = pc_atomic_create(path, mode, tmp, sizeof(tmp));
  if (fd < 0) return -1;
  if (exact_mode && fchmod(fd, mode) != 0) {
    pc_atomic_abort(fd, tmp);
    return -1;
  }
  const char* p = (const char*)data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      pc_atomic_abort(fd, tmp);
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return pc_atomic_commit(fd, tmp, path, sync);
}

#endif

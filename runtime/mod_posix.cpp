// posix module: open/close/read/write/pread/pwrite/lseek/fsync (and 64-bit and _FORTIFY_SOURCE
// variants), readv/writev/preadv/pwritev, mmap of files (bytes mapped), and stdio (fopen, fread,
// fwrite, fclose on regular files) on files the application opened while traced. Descriptors opened before activation,
// inside non-IO MPI calls (MPI_Init's own /proc and /sys reads) or by socket()/pipe()/dup() are
// never counted, so MPI's sockets, the terminal and the runtime's own files stay out. A duplicate
// (dup, dup2, dup3) of a tracked descriptor is tracked: `dd` reads its input through dup2'd fd 0.
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include "rt.hpp"

extern "C" {
// The _FORTIFY_SOURCE entry points (declared by glibc only under fortification).
int __open_2(const char* path, int flags);
int __open64_2(const char* path, int flags);
ssize_t __read_chk(int fd, void* buf, size_t count, size_t buflen);
ssize_t __pread_chk(int fd, void* buf, size_t count, off_t offset, size_t buflen);
ssize_t __pread64_chk(int fd, void* buf, size_t count, off64_t offset, size_t buflen);
}

namespace pc {
namespace {

constexpr int kMaxFd = 1 << 16;  // descriptors above this are never tracked
std::atomic<uint8_t> g_tracked[kMaxFd];

inline bool tracked(int fd) {
  return fd >= 0 && fd < kMaxFd && g_tracked[fd].load(std::memory_order_relaxed) != 0;
}

// open(2) and friends: track the new descriptor when the open is the application's.
template <typename F, typename... A>
inline int traced_open(CallId id, F real, A... args) {
  if (!live(kLayerPosix)) return real(args...);
  ThreadBlock* b = thread_block();
  if (b->guard || b->mpi_depth > 0) return real(args...);
  const Probe p = probe_begin(id);
  const int fd = real(args...);
  const uint64_t t1 = probe_clock(p);
  const int saved = errno;
  if (fd >= 0 && fd < kMaxFd) g_tracked[fd].store(1, std::memory_order_relaxed);
  probe_end(p, t1, fd >= 0, 0, -1, false);
  errno = saved;
  return fd;
}

// Calls on a descriptor: recorded only when the descriptor is tracked. `payload`: the return
// value is a byte count (read/write family).
template <typename R, typename F, typename... A>
inline R traced_fd(CallId id, bool payload, F real, int fd, A... args) {
  if (!live(kLayerPosix) || !tracked(fd)) return real(fd, args...);
  ThreadBlock* b = thread_block();
  if (b->guard) return real(fd, args...);
  const Probe p = probe_begin(id);
  const R rc = real(fd, args...);
  const uint64_t t1 = probe_clock(p);
  const int saved = errno;
  probe_end(p, t1, rc >= 0, payload && rc > 0 ? static_cast<uint64_t>(rc) : 0, -1, false);
  errno = saved;
  return rc;
}

inline bool needs_mode(int flags) {
  return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
}

template <typename F>
inline F real_or_enosys(std::atomic<F>& slot, const char* name) {
  F f = resolve(slot, name);
  if (PC_UNLIKELY(f == nullptr)) errno = ENOSYS;
  return f;
}

// Plain pointer types (glibc's declarations carry attributes that std::atomic would drop).
using open_fn = int (*)(const char*, int, ...);
using openat_fn = int (*)(int, const char*, int, ...);
using open2_fn = int (*)(const char*, int);
using creat_fn = int (*)(const char*, mode_t);
using fd_fn = int (*)(int);
using dup2_fn = int (*)(int, int);
using dup3_fn = int (*)(int, int, int);
using read_fn = ssize_t (*)(int, void*, size_t);
using read_chk_fn = ssize_t (*)(int, void*, size_t, size_t);
using write_fn = ssize_t (*)(int, const void*, size_t);
using pread_fn = ssize_t (*)(int, void*, size_t, off_t);
using pread_chk_fn = ssize_t (*)(int, void*, size_t, off_t, size_t);
using pread64_fn = ssize_t (*)(int, void*, size_t, off64_t);
using pread64_chk_fn = ssize_t (*)(int, void*, size_t, off64_t, size_t);
using pwrite_fn = ssize_t (*)(int, const void*, size_t, off_t);
using pwrite64_fn = ssize_t (*)(int, const void*, size_t, off64_t);
using lseek_fn = off_t (*)(int, off_t, int);
using iov_fn = ssize_t (*)(int, const struct iovec*, int);
using piov_fn = ssize_t (*)(int, const struct iovec*, int, off_t);
using piov64_fn = ssize_t (*)(int, const struct iovec*, int, off64_t);
using mmap_fn = void* (*)(void*, size_t, int, int, int, off_t);
using fopen_fn = FILE* (*)(const char*, const char*);
using fclose_fn = int (*)(FILE*);
using fread_fn = size_t (*)(void*, size_t, size_t, FILE*);
using fwrite_fn = size_t (*)(const void*, size_t, size_t, FILE*);
using lseek64_fn = off64_t (*)(int, off64_t, int);

// The next definition of `name` (glibc's), resolved once; on failure errno = ENOSYS, return -1.
#define PC_REAL(type, name)                     \
  static std::atomic<type> slot{nullptr};       \
  const type real = real_or_enosys(slot, name); \
  if (PC_UNLIKELY(real == nullptr)) return -1

// dup family: the new descriptor inherits the old one's tracking (and forgets what it was).
template <typename F, typename... A>
inline int traced_dup(CallId id, F real, int oldfd, A... args) {
  if (!live(kLayerPosix)) return real(oldfd, args...);
  const bool was_tracked = tracked(oldfd);
  const int fd = real(oldfd, args...);
  if (fd < 0 || fd >= kMaxFd) return fd;
  g_tracked[fd].store(was_tracked ? 1 : 0, std::memory_order_relaxed);
  if (was_tracked && !thread_block()->guard) count_only(id, false);
  return fd;
}

// fopen family: the stream's descriptor is tracked when it is a regular file (not a terminal, pipe
// or /dev node) opened by the application.
template <typename F>
inline FILE* traced_fopen(CallId id, F real, const char* path, const char* mode) {
  if (!live(kLayerPosix)) return real(path, mode);
  ThreadBlock* b = thread_block();
  if (b->guard || b->mpi_depth > 0) return real(path, mode);
  const Probe p = probe_begin(id);
  FILE* f = real(path, mode);
  const uint64_t t1 = probe_clock(p);
  const int saved = errno;
  if (f != nullptr) {
    const int fd = fileno(f);
    struct stat st;
    if (fd >= 0 && fd < kMaxFd && fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
      g_tracked[fd].store(1, std::memory_order_relaxed);
  }
  probe_end(p, t1, f != nullptr, 0, -1, false);
  errno = saved;
  return f;
}

// fread/fwrite: recorded when the stream's descriptor is tracked; bytes = items x size. (fprintf,
// fputs, fgets and the like are not wrapped: their bytes are not in the profile.)
template <typename F, typename P>
inline size_t traced_stdio(CallId id, F real, P ptr, size_t size, size_t n, FILE* stream) {
  if (!live(kLayerPosix)) return real(ptr, size, n, stream);
  const int fd = stream != nullptr ? fileno(stream) : -1;
  if (!tracked(fd) || thread_block()->guard) return real(ptr, size, n, stream);
  const Probe p = probe_begin(id);
  const size_t items = real(ptr, size, n, stream);
  const uint64_t t1 = probe_clock(p);
  const int saved = errno;
  // A short count is an error only when the stream says so (not at end of file).
  const bool ok = items > 0 || n == 0 || size == 0 || !ferror(stream);
  probe_end(p, t1, ok, static_cast<uint64_t>(items) * size, -1, false);
  errno = saved;
  return items;
}

bool posix_init(const char**) { return true; }

}  // namespace

Module module_posix = {"posix", kLayerPosix, posix_init, nullptr, {false}, nullptr};

}  // namespace pc

using namespace pc;

PC_EXPORT int open(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (needs_mode(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = static_cast<mode_t>(va_arg(ap, int));
    va_end(ap);
  }
  PC_REAL(open_fn, "open");
  return traced_open(k_open, real, path, flags, mode);
}

PC_EXPORT int open64(const char* path, int flags, ...) {
  mode_t mode = 0;
  if (needs_mode(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = static_cast<mode_t>(va_arg(ap, int));
    va_end(ap);
  }
  PC_REAL(open_fn, "open64");
  return traced_open(k_open64, real, path, flags, mode);
}

PC_EXPORT int openat(int dirfd, const char* path, int flags, ...) {
  mode_t mode = 0;
  if (needs_mode(flags)) {
    va_list ap;
    va_start(ap, flags);
    mode = static_cast<mode_t>(va_arg(ap, int));
    va_end(ap);
  }
  PC_REAL(openat_fn, "openat");
  return traced_open(k_openat, real, dirfd, path, flags, mode);
}

PC_EXPORT int __open_2(const char* path, int flags) {
  PC_REAL(open2_fn, "__open_2");
  return traced_open(k_open, real, path, flags);
}

PC_EXPORT int __open64_2(const char* path, int flags) {
  PC_REAL(open2_fn, "__open64_2");
  return traced_open(k_open64, real, path, flags);
}

PC_EXPORT int creat(const char* path, mode_t mode) {
  PC_REAL(creat_fn, "creat");
  return traced_open(k_creat, real, path, mode);
}

PC_EXPORT int creat64(const char* path, mode_t mode) {
  PC_REAL(creat_fn, "creat64");
  return traced_open(k_creat64, real, path, mode);
}

PC_EXPORT int close(int fd) {
  PC_REAL(fd_fn, "close");
  if (!live(kLayerPosix) || !tracked(fd)) return real(fd);
  g_tracked[fd].store(0, std::memory_order_relaxed);  // before the close: the number may be reused
  ThreadBlock* b = thread_block();
  if (b->guard) return real(fd);
  const Probe p = probe_begin(k_close);
  const int rc = real(fd);
  const uint64_t t1 = probe_clock(p);
  const int saved = errno;
  probe_end(p, t1, rc == 0, 0, -1, false);
  errno = saved;
  return rc;
}

PC_EXPORT ssize_t read(int fd, void* buf, size_t count) {
  PC_REAL(read_fn, "read");
  return traced_fd<ssize_t>(k_read, true, real, fd, buf, count);
}

PC_EXPORT ssize_t __read_chk(int fd, void* buf, size_t count, size_t buflen) {
  PC_REAL(read_chk_fn, "__read_chk");
  return traced_fd<ssize_t>(k_read, true, real, fd, buf, count, buflen);
}

PC_EXPORT ssize_t write(int fd, const void* buf, size_t count) {
  PC_REAL(write_fn, "write");
  return traced_fd<ssize_t>(k_write, true, real, fd, buf, count);
}

PC_EXPORT ssize_t pread(int fd, void* buf, size_t count, off_t offset) {
  PC_REAL(pread_fn, "pread");
  return traced_fd<ssize_t>(k_pread, true, real, fd, buf, count, offset);
}

PC_EXPORT ssize_t __pread_chk(int fd, void* buf, size_t count, off_t offset, size_t buflen) {
  PC_REAL(pread_chk_fn, "__pread_chk");
  return traced_fd<ssize_t>(k_pread, true, real, fd, buf, count, offset, buflen);
}

PC_EXPORT ssize_t pread64(int fd, void* buf, size_t count, off64_t offset) {
  PC_REAL(pread64_fn, "pread64");
  return traced_fd<ssize_t>(k_pread64, true, real, fd, buf, count, offset);
}

PC_EXPORT ssize_t __pread64_chk(int fd, void* buf, size_t count, off64_t offset, size_t buflen) {
  PC_REAL(pread64_chk_fn, "__pread64_chk");
  return traced_fd<ssize_t>(k_pread64, true, real, fd, buf, count, offset, buflen);
}

PC_EXPORT ssize_t pwrite(int fd, const void* buf, size_t count, off_t offset) {
  PC_REAL(pwrite_fn, "pwrite");
  return traced_fd<ssize_t>(k_pwrite, true, real, fd, buf, count, offset);
}

PC_EXPORT ssize_t pwrite64(int fd, const void* buf, size_t count, off64_t offset) {
  PC_REAL(pwrite64_fn, "pwrite64");
  return traced_fd<ssize_t>(k_pwrite64, true, real, fd, buf, count, offset);
}

PC_EXPORT off_t lseek(int fd, off_t offset, int whence) noexcept {
  PC_REAL(lseek_fn, "lseek");
  return traced_fd<off_t>(k_lseek, false, real, fd, offset, whence);
}

PC_EXPORT off64_t lseek64(int fd, off64_t offset, int whence) noexcept {
  PC_REAL(lseek64_fn, "lseek64");
  return traced_fd<off64_t>(k_lseek64, false, real, fd, offset, whence);
}

PC_EXPORT int fsync(int fd) {
  PC_REAL(fd_fn, "fsync");
  return traced_fd<int>(k_fsync, false, real, fd);
}

PC_EXPORT int fdatasync(int fd) {
  PC_REAL(fd_fn, "fdatasync");
  return traced_fd<int>(k_fdatasync, false, real, fd);
}

PC_EXPORT int dup(int oldfd) noexcept {
  PC_REAL(fd_fn, "dup");
  return traced_dup(k_dup, real, oldfd);
}

PC_EXPORT int dup2(int oldfd, int newfd) noexcept {
  PC_REAL(dup2_fn, "dup2");
  return traced_dup(k_dup2, real, oldfd, newfd);
}

PC_EXPORT int dup3(int oldfd, int newfd, int flags) noexcept {
  PC_REAL(dup3_fn, "dup3");
  return traced_dup(k_dup3, real, oldfd, newfd, flags);
}

PC_EXPORT ssize_t readv(int fd, const struct iovec* iov, int iovcnt) {
  PC_REAL(iov_fn, "readv");
  return traced_fd<ssize_t>(k_readv, true, real, fd, iov, iovcnt);
}

PC_EXPORT ssize_t writev(int fd, const struct iovec* iov, int iovcnt) {
  PC_REAL(iov_fn, "writev");
  return traced_fd<ssize_t>(k_writev, true, real, fd, iov, iovcnt);
}

PC_EXPORT ssize_t preadv(int fd, const struct iovec* iov, int iovcnt, off_t offset) {
  PC_REAL(piov_fn, "preadv");
  return traced_fd<ssize_t>(k_preadv, true, real, fd, iov, iovcnt, offset);
}

PC_EXPORT ssize_t pwritev(int fd, const struct iovec* iov, int iovcnt, off_t offset) {
  PC_REAL(piov_fn, "pwritev");
  return traced_fd<ssize_t>(k_pwritev, true, real, fd, iov, iovcnt, offset);
}

PC_EXPORT ssize_t preadv64(int fd, const struct iovec* iov, int iovcnt, off64_t offset) {
  PC_REAL(piov64_fn, "preadv64");
  return traced_fd<ssize_t>(k_preadv64, true, real, fd, iov, iovcnt, offset);
}

PC_EXPORT ssize_t pwritev64(int fd, const struct iovec* iov, int iovcnt, off64_t offset) {
  PC_REAL(piov64_fn, "pwritev64");
  return traced_fd<ssize_t>(k_pwritev64, true, real, fd, iov, iovcnt, offset);
}

// mmap of a tracked file: recorded with the bytes mapped (anonymous and untracked maps pass).
PC_EXPORT void* mmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset) {
  static std::atomic<mmap_fn> slot{nullptr};
  const mmap_fn real = resolve(slot, "mmap");
  if (PC_UNLIKELY(real == nullptr)) {
    errno = ENOSYS;
    return MAP_FAILED;
  }
  if (!live(kLayerPosix) || (flags & MAP_ANONYMOUS) || !tracked(fd) || thread_block()->guard)
    return real(addr, length, prot, flags, fd, offset);
  const Probe p = probe_begin(k_mmap);
  void* rc = real(addr, length, prot, flags, fd, offset);
  const uint64_t t1 = probe_clock(p);
  const int saved = errno;
  probe_end(p, t1, rc != MAP_FAILED, rc != MAP_FAILED ? length : 0, -1, false);
  errno = saved;
  return rc;
}

PC_EXPORT FILE* fopen(const char* path, const char* mode) {
  static std::atomic<fopen_fn> slot{nullptr};
  const fopen_fn real = resolve(slot, "fopen");
  if (PC_UNLIKELY(real == nullptr)) {
    errno = ENOSYS;
    return nullptr;
  }
  return traced_fopen(k_fopen, real, path, mode);
}

PC_EXPORT FILE* fopen64(const char* path, const char* mode) {
  static std::atomic<fopen_fn> slot{nullptr};
  const fopen_fn real = resolve(slot, "fopen64");
  if (PC_UNLIKELY(real == nullptr)) {
    errno = ENOSYS;
    return nullptr;
  }
  return traced_fopen(k_fopen64, real, path, mode);
}

PC_EXPORT int fclose(FILE* stream) {
  static std::atomic<fclose_fn> slot{nullptr};
  const fclose_fn real = resolve(slot, "fclose");
  if (PC_UNLIKELY(real == nullptr)) return EOF;
  const int fd = live(kLayerPosix) && stream != nullptr ? fileno(stream) : -1;
  if (!tracked(fd)) return real(stream);
  g_tracked[fd].store(0, std::memory_order_relaxed);  // before the close: the number may be reused
  if (thread_block()->guard) return real(stream);
  const Probe p = probe_begin(k_fclose);
  const int rc = real(stream);
  const uint64_t t1 = probe_clock(p);
  const int saved = errno;
  probe_end(p, t1, rc == 0, 0, -1, false);
  errno = saved;
  return rc;
}

PC_EXPORT size_t fread(void* ptr, size_t size, size_t n, FILE* stream) {
  static std::atomic<fread_fn> slot{nullptr};
  const fread_fn real = resolve(slot, "fread");
  if (PC_UNLIKELY(real == nullptr)) return 0;
  return traced_stdio(k_fread, real, ptr, size, n, stream);
}

PC_EXPORT size_t fwrite(const void* ptr, size_t size, size_t n, FILE* stream) {
  static std::atomic<fwrite_fn> slot{nullptr};
  const fwrite_fn real = resolve(slot, "fwrite");
  if (PC_UNLIKELY(real == nullptr)) return 0;
  return traced_stdio(k_fwrite, real, ptr, size, n, stream);
}

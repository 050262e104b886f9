// Unit tests of lib/spool: a torn append (disk full) must not swallow the next entry, and the
// consumer's catch-up reads each byte of the spool a bounded number of times (issue 16 items 7, 8).
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "billing/spool.hpp"

using namespace paracloud;

// Bytes the code under test reads with pread while `g_counting` is set (the spool reads with pread
// only): the test binary's own definitions interpose libc's for the statically linked core (the
// work done, not the time taken). read() is left alone: Criterion's runner uses it.
static std::atomic<bool> g_counting{false};
static std::atomic<std::uint64_t> g_bytes_read{0};

extern "C" ssize_t pread(int fd, void* buf, size_t n, off_t off) {
  using Fn = ssize_t (*)(int, void*, size_t, off_t);
  static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "pread"));
  ssize_t r = real(fd, buf, n, off);
  if (r > 0 && g_counting) g_bytes_read += static_cast<std::uint64_t>(r);
  return r;
}
extern "C" ssize_t pread64(int fd, void* buf, size_t n, off_t off) {
  using Fn = ssize_t (*)(int, void*, size_t, off_t);
  static Fn real = reinterpret_cast<Fn>(dlsym(RTLD_NEXT, "pread64"));
  ssize_t r = real(fd, buf, n, off);
  if (r > 0 && g_counting) g_bytes_read += static_cast<std::uint64_t>(r);
  return r;
}

namespace {

struct Scratch {
  std::string dir;
  Scratch() {
    char t[] = "/tmp/pc-spool-test.XXXXXX";
    cr_assert(mkdtemp(t), "mkdtemp failed");
    dir = t;
  }
  ~Scratch() { std::system(("rm -rf '" + dir + "'").c_str()); }
};

std::string entry(int i) {
  return "{\"job_id\":" + std::to_string(i) + ",\"pad\":\"" + std::string(100, 'x') + "\"}";
}

off_t size_of(const std::string& path) {
  struct stat st {};
  cr_assert_eq(stat(path.c_str(), &st), 0);
  return st.st_size;
}

}  // namespace

// A write cut short (here by RLIMIT_FSIZE, as by a full disk) leaves part of an entry. The next
// good append used to be glued onto it and the consumer skipped both as one unreadable line.
Test(spool, append_after_a_torn_write_starts_a_fresh_entry, .timeout = 20) {
  Scratch t;
  Spool sp(t.dir, "jobcomp");
  std::string err;
  cr_assert(sp.append(entry(1), &err), "%s", err.c_str());
  const off_t good = size_of(sp.path());

  signal(SIGXFSZ, SIG_IGN);  // the write then fails with EFBIG instead of killing the test
  struct rlimit old {}, lim {};
  cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
  lim = old;
  lim.rlim_cur = static_cast<rlim_t>(good + 20);  // room for 20 bytes of the next entry only
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
  cr_assert_not(sp.append(entry(2), &err), "the write past the limit must fail");
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);  // the disk has room again

  cr_assert(sp.append(entry(3), &err), "%s", err.c_str());
  auto items = sp.pending(sp.done_offset(), 100);
  std::vector<std::string> lines;
  for (const auto& it : items) lines.push_back(it.line);
  cr_assert_eq(lines.size(), 2u, "entries read after the torn write: %zu (spool is %lld bytes)",
               lines.size(), static_cast<long long>(size_of(sp.path())));
  cr_assert_eq(lines[0], entry(1));
  cr_assert_eq(lines[1], entry(3), "the entry after the torn write: \"%s\"", lines[1].c_str());
  cr_assert_eq(items.back().end, static_cast<std::uint64_t>(size_of(sp.path())));
}

// The consumer takes 64 entries at a time from its offset. Each call used to read everything from
// the offset to the end of the file: catching up on N entries read ~N^2/128 entries' bytes.
Test(spool, catch_up_reads_each_byte_a_bounded_number_of_times, .timeout = 60) {
  Scratch t;
  Spool sp(t.dir, "jobcomp");
  std::string err;
  constexpr int kProcessed = 1000, kPending = 5000;
  for (int i = 0; i < kProcessed + kPending; ++i) cr_assert(sp.append(entry(i), &err), "%s", err.c_str());
  // The first kProcessed entries are processed already.
  std::uint64_t at = 0;
  for (int got = 0; got < kProcessed;) {
    auto items = sp.pending(at, std::min(64, kProcessed - got));
    cr_assert(!items.empty());
    got += static_cast<int>(items.size());
    at = items.back().end;
  }
  sp.mark_done(at);

  const std::uint64_t file = static_cast<std::uint64_t>(size_of(sp.path()));
  const std::uint64_t unprocessed = file - at;
  g_bytes_read = 0;
  g_counting = true;
  int seen = 0;
  for (;;) {
    auto items = sp.pending(at, 64);
    if (items.empty()) break;
    for (const auto& it : items) cr_assert_eq(it.line, entry(kProcessed + seen++));
    at = items.back().end;
  }
  g_counting = false;
  cr_assert_eq(seen, kPending);
  cr_assert_eq(at, file);
  const std::uint64_t read = g_bytes_read;
  cr_log_info("catching up on %llu bytes read %llu bytes",
              static_cast<unsigned long long>(unprocessed), static_cast<unsigned long long>(read));
  // Linear: each byte once, plus what a bounded read-ahead per call may add (generously, 4x).
  cr_assert(read <= 4 * unprocessed + 64 * 1024,
            "catching up on %llu bytes read %llu bytes (%.1fx)",
            static_cast<unsigned long long>(unprocessed), static_cast<unsigned long long>(read),
            static_cast<double>(read) / static_cast<double>(unprocessed));
}

// An entry longer than any record is refused by append() (the caller keeps it elsewhere). One
// found in the file (corruption) is returned empty, so the consumer skips it as unreadable, without
// the reader holding it in memory; the entries after it are read.
Test(spool, an_oversized_entry_is_skipped_not_buffered, .timeout = 30) {
  Scratch t;
  std::string err;
  {
    Spool sp(t.dir, "jobcomp");
    cr_assert_not(sp.append(std::string(Spool::kMaxEntryBytes + 1, 'y'), &err));
    cr_assert(err.find("too long") != std::string::npos, "%s", err.c_str());
    cr_assert(sp.append(entry(1), &err));
  }
  {
    FILE* f = fopen((t.dir + "/jobcomp.spool").c_str(), "a");
    cr_assert(f);
    const std::string junk(Spool::kMaxEntryBytes + 10, 'y');
    fwrite(junk.data(), 1, junk.size(), f);
    fputc('\n', f);
    fclose(f);
  }
  Spool sp(t.dir, "jobcomp");
  cr_assert(sp.append(entry(2), &err));
  std::vector<Spool::Item> all;
  for (std::uint64_t at = 0;;) {
    auto items = sp.pending(at, 64);
    if (items.empty()) break;
    all.insert(all.end(), items.begin(), items.end());
    at = items.back().end;
  }
  cr_assert_eq(all.size(), 3u);
  cr_assert_eq(all[0].line, entry(1));
  cr_assert(all[1].line.empty(), "the oversized entry comes back empty (%zu bytes)", all[1].line.size());
  cr_assert_eq(all[2].line, entry(2));
  cr_assert_eq(all[2].end, static_cast<std::uint64_t>(size_of(sp.path())));
}

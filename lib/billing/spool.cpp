// Spool: durable FIFO of JSON lines (append + fdatasync) with an atomically replaced done offset.
#include "billing/spool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "common/atomic_file.h"
#include "common/error.hpp"

namespace paracloud {

static Error io_error(const std::string& path, const char* what) {
  return Error(Errc::storage, "spool " + path + ": " + what + ": " + std::strerror(errno),
               "check that SpoolDir exists and is writable by SlurmUser");
}

Spool::Spool(const std::string& dir, const std::string& name)
    : path_(dir + "/" + name + ".spool"), done_path_(dir + "/" + name + ".done") {
  fd_ = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) throw io_error(path_, "cannot open");
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw io_error(path_, "cannot stat");
  if (st.st_size > 0) {
    char last = '\n';
    if (::pread(fd_, &last, 1, st.st_size - 1) == 1 && last != '\n') {
      if (::write(fd_, "\n", 1) != 1 || ::fdatasync(fd_) != 0) throw io_error(path_, "cannot repair torn entry");
      st.st_size += 1;
    }
  }
  std::ifstream in(done_path_);
  unsigned long long d = 0;
  if (in >> d) done_ = d;
  if (done_ > static_cast<std::uint64_t>(st.st_size)) done_ = 0;  // spool replaced under us: replay all
}

Spool::~Spool() {
  if (fd_ >= 0) ::close(fd_);
}

bool Spool::flush(std::string* err) {
  std::lock_guard<std::mutex> lock(mu_);
  if (::fdatasync(fd_) == 0) return true;
  if (err) *err = "spool " + path_ + ": fdatasync failed: " + std::strerror(errno);
  return false;
}

bool Spool::append(const std::string& line, std::string* err, bool durable) {
  if (line.size() > kMaxEntryBytes || line.find('\n') != std::string::npos) {
    if (err)
      *err = "spool " + path_ + ": entry of " + std::to_string(line.size()) + " bytes " +
             (line.size() > kMaxEntryBytes ? "is too long" : "contains a newline");
    return false;
  }
  std::lock_guard<std::mutex> lock(mu_);
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    if (err) *err = "spool " + path_ + ": cannot stat: " + std::strerror(errno);
    return false;
  }
  const off_t start = st.st_size;
  // Every entry starts on a fresh line: after a torn write that could not be cut off (below), or
  // anything else left without a newline, close that line first (the consumer skips it).
  char last = '\n';
  const bool fresh = start == 0 || ::pread(fd_, &last, 1, start - 1) != 1 || last == '\n';
  const std::size_t prefix = fresh ? 0 : 1;
  std::string buf;
  buf.reserve(prefix + line.size() + 1);
  if (prefix) buf += '\n';
  buf += line;
  buf += '\n';
  std::size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::write(fd_, buf.data() + done, buf.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (err)
        *err = "spool " + path_ + ": write failed: " + std::strerror(n < 0 ? errno : EIO);
      // A torn write (disk full): cut the partial entry off again, so that the next append
      // starts right after the last complete one. The part has no newline, so the consumer has
      // not taken it; a newline written as the prefix is kept (the consumer may have read it).
      if (done > prefix && ::ftruncate(fd_, start + static_cast<off_t>(prefix)) != 0) {
        // Left as it is: the next append starts with a newline instead.
      }
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  if (durable && ::fdatasync(fd_) != 0) {
    if (err) *err = "spool " + path_ + ": fdatasync failed: " + std::strerror(errno);
    return false;
  }
  return true;
}

std::vector<Spool::Item> Spool::pending(std::uint64_t from, std::size_t max) const {
  // Reads forward from `from` in growing chunks (4 KiB doubling to 64 KiB) only as far as the
  // `max` entries need: each byte of the spool is read about once however far behind the
  // consumer is, and memory stays at a chunk plus the longest entry (at most kMaxEntryBytes).
  constexpr std::size_t kFirstChunk = 4096, kMaxChunk = 64 * 1024;
  std::vector<Item> out;
  std::string buf;            // the file's bytes [base, base + buf.size())
  std::uint64_t base = from;  // file offset of buf[0]
  std::size_t start = 0;      // where the current entry starts in buf
  std::size_t scan = 0;       // buf[start, scan) holds no newline
  bool oversized = false;     // the current entry is longer than kMaxEntryBytes: dropped
  std::size_t chunk = kFirstChunk;
  while (out.size() < max) {
    std::size_t nl = buf.find('\n', scan);
    if (nl != std::string::npos) {
      const bool drop_entry = oversized || nl - start > kMaxEntryBytes;
      out.push_back({drop_entry ? std::string() : buf.substr(start, nl - start), base + nl + 1});
      start = scan = nl + 1;
      oversized = false;
      continue;
    }
    if (buf.size() - start > kMaxEntryBytes) oversized = true;
    // Drop what is consumed (and the bytes of an entry too long to keep) before reading on.
    const std::size_t drop = oversized ? buf.size() : start;
    if (drop > 0) {
      buf.erase(0, drop);
      base += drop;
      start = 0;
    }
    scan = buf.size();
    const std::size_t have = buf.size();
    buf.resize(have + chunk);
    ssize_t n;
    do {
      n = ::pread(fd_, &buf[have], chunk, static_cast<off_t>(base + have));
    } while (n < 0 && errno == EINTR);
    buf.resize(have + (n > 0 ? static_cast<std::size_t>(n) : 0));
    if (n <= 0) break;  // the end: a last entry without its newline is still being written
    chunk = std::min(chunk * 2, kMaxChunk);
  }
  return out;
}

std::uint64_t Spool::done_offset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return done_;
}

void Spool::write_done(std::uint64_t end) {
  std::string text = std::to_string(end) + "\n";
  if (pc_atomic_write(done_path_.c_str(), text.data(), text.size(), 0600, 1, 1) != 0)
    throw io_error(done_path_, "cannot replace");
  done_ = end;
}

void Spool::mark_done(std::uint64_t end) {
  std::lock_guard<std::mutex> lock(mu_);
  write_done(end);
}

bool Spool::compact() {
  std::lock_guard<std::mutex> lock(mu_);
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || static_cast<std::uint64_t>(st.st_size) != done_ || done_ == 0) return false;
  // Truncate first, then reset the offset: a crash in between leaves an offset beyond the empty
  // file, which the constructor reads as 0. Nothing is replayed twice.
  if (::ftruncate(fd_, 0) != 0) throw io_error(path_, "cannot truncate");
  ::fdatasync(fd_);
  write_done(0);
  return true;
}

}  // namespace paracloud

// Spool: durable FIFO of JSON lines (append + fdatasync) with an atomically replaced done offset.
#include "spool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "error.hpp"

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

bool Spool::append(const std::string& line, std::string* err) {
  std::string buf = line + "\n";
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t done = 0;
  while (done < buf.size()) {
    ssize_t n = ::write(fd_, buf.data() + done, buf.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (err) *err = "spool " + path_ + ": write failed: " + std::strerror(errno);
      // Close the torn entry so the next one starts on its own line.
      if (done > 0) (void)!::write(fd_, "\n", 1);
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fdatasync(fd_) != 0) {
    if (err) *err = "spool " + path_ + ": fdatasync failed: " + std::strerror(errno);
    return false;
  }
  return true;
}

std::vector<Spool::Item> Spool::pending(std::uint64_t from, std::size_t max) const {
  std::vector<Item> out;
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || static_cast<std::uint64_t>(st.st_size) <= from) return out;
  std::size_t len = static_cast<std::size_t>(st.st_size) - static_cast<std::size_t>(from);
  std::string buf(len, '\0');
  std::size_t got = 0;
  while (got < len) {
    ssize_t n = ::pread(fd_, &buf[got], len - got, static_cast<off_t>(from + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  std::size_t pos = 0;
  while (out.size() < max) {
    std::size_t nl = buf.find('\n', pos);
    if (nl == std::string::npos || nl >= got) break;  // an entry still being written
    out.push_back({buf.substr(pos, nl - pos), from + nl + 1});
    pos = nl + 1;
  }
  return out;
}

std::uint64_t Spool::done_offset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return done_;
}

void Spool::write_done(std::uint64_t end) {
  std::string tmp = done_path_ + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw io_error(tmp, "cannot open");
  std::string text = std::to_string(end) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fdatasync(fd) == 0;
  ::close(fd);
  if (!ok) throw io_error(tmp, "cannot write");
  if (::rename(tmp.c_str(), done_path_.c_str()) != 0) throw io_error(done_path_, "cannot replace");
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

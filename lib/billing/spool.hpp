// Spool: a durable FIFO of JSON lines in a directory (append + fdatasync; a done-offset file), so queued work survives kill -9.
#pragma once
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace paracloud {

// Files: DIR/NAME.spool holds one entry per line, appended in order; DIR/NAME.done holds the byte
// offset up to which entries are processed (replaced atomically with rename). Producers call
// append() from any thread; one consumer reads with pending() and acknowledges with mark_done().
// When everything is acknowledged, compact() empties both files.
class Spool {
 public:
  // Opens (creating DIR/NAME.spool, mode 0600; DIR must exist). A torn last line left by a crash
  // is closed with a newline so it cannot swallow the next entry (the consumer skips it as
  // unparsable). Throws Error(storage) naming the file and the fix.
  Spool(const std::string& dir, const std::string& name);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Entries are at most this long: append() refuses longer ones, pending() returns a longer line
  // found in the file (corruption) as an empty entry, which the consumer skips as unreadable.
  static constexpr std::size_t kMaxEntryBytes = 16u << 20;

  // Appends `line` (no newline inside, at most kMaxEntryBytes) and makes it durable
  // (fdatasync). Returns false with a message in *err when it could not be written (disk full,
  // I/O error); a partly written entry is then cut off again, and every entry starts on a fresh
  // line, so a torn write never swallows the next entry.
  // durable = false skips the fdatasync: the entry is in the page cache (it survives kill -9 of
  // the process, not a power cut) until flush(). jobcomp appends so under slurmctld's job lock and
  // flushes from its worker (issue 16 item 4).
  bool append(const std::string& line, std::string* err, bool durable = true);
  // Makes every entry appended so far durable (fdatasync). false with *err on an I/O error.
  bool flush(std::string* err);

  struct Item {
    std::string line;
    std::uint64_t end = 0;  // offset just past this entry: pass it to mark_done()
  };
  // Complete entries after `from` (at most `max`). Use done_offset() as the first `from`. Reads
  // only as far as those entries need (bounded chunks), so catching up on a long spool 64
  // entries at a time is linear. May throw std::bad_alloc.
  std::vector<Item> pending(std::uint64_t from, std::size_t max) const;
  std::uint64_t done_offset() const;
  // Records that every entry before `end` is processed (durable). Throws Error(storage).
  void mark_done(std::uint64_t end);
  // Empties the spool when every entry is processed; returns true if it did (the consumer then
  // starts again from offset 0).
  bool compact();

  const std::string& path() const { return path_; }

 private:
  void write_done(std::uint64_t end);
  std::string path_, done_path_;
  int fd_ = -1;
  mutable std::mutex mu_;
  std::uint64_t done_ = 0;
};

}  // namespace paracloud

// The collective tuning store: JSON files per application and geometry, merge, atomic save under a
// lock, and the Open MPI coll/tuned classic dynamic rules file.
#include "tuning/tune_store.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <type_traits>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/atomic_file.h"

namespace paracloud::tune {

using nlohmann::json;

bool Decision::same_key(const Decision& o) const {
  return collective == o.collective && comm_size == o.comm_size &&
         ranks_per_node == o.ranks_per_node && bucket == o.bucket && dtype == o.dtype;
}

std::string AppId::key() const {
  if (name.empty() && build_id.empty() && hash.empty()) return "any";
  std::string id = !build_id.empty() ? build_id.substr(0, 16) : hash;
  for (char& c : id)
    if (c == ':' || c == '/') c = '_';
  std::string n = name.empty() ? "app" : name;
  for (char& c : n)
    if (c == '/' || c == ' ') c = '_';
  return id.empty() ? n : n + "-" + id;
}

std::string AppId::file_name() const {
  return key() + ".n" + std::to_string(ranks) + ".r" + std::to_string(ranks_per_node) + ".json";
}

namespace {

const char* const kCollectives[] = {"allreduce", "bcast", "allgather", "alltoall", "reduce",
                                    "barrier"};

template <typename T>
T field(const json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) throw TuneStoreError(where + ": missing \"" + key + "\"");
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    // get<int>() converts a JSON float with a cast (out of range: undefined behaviour; fuzz found
    // "comm_size": 1111...2, 70 digits, parsed as 1.1e69) and wraps a too large integer: both are
    // refused here, as wrong types and out of range.
    const bool fits = it->is_number_unsigned()
                          ? it->template get<std::uint64_t>() <=
                                static_cast<std::uint64_t>(std::numeric_limits<T>::max())
                      : it->is_number_integer()
                          ? it->template get<std::int64_t>() >=
                                    static_cast<std::int64_t>(std::numeric_limits<T>::min()) &&
                                (std::is_unsigned_v<T> ||
                                 it->template get<std::int64_t>() <=
                                     static_cast<std::int64_t>(std::numeric_limits<T>::max()))
                          : false;
    if (!fits) throw TuneStoreError(where + ": \"" + key + "\" is not an integer in range");
  }
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw TuneStoreError(where + ": \"" + key + "\" has the wrong type");
  }
}

// An optional member: `fallback` when absent or null, TuneStoreError when of the wrong type.
template <typename T>
T optional_field(const json& j, const char* key, T fallback, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return fallback;
  return field<T>(j, key, where);
}

// A member that must be an object or an array (`what`: "an object", "an array").
const json& container(const json& j, const char* key, bool object, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end()) throw TuneStoreError(where + ": missing \"" + key + "\"");
  if (object ? !it->is_object() : !it->is_array())
    throw TuneStoreError(std::string("\"") + key + "\" is not " +
                         (object ? "an object" : "an array"));
  return *it;
}

std::string now_utc() {
  char buf[32];
  const time_t t = time(nullptr);
  tm tmv{};
  gmtime_r(&t, &tmv);
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tmv);
  return buf;
}

std::string errno_text() { return std::strerror(errno); }

// Permissions: a user's store names the user's applications (0700 / 0600); the site store is
// read by every user (0755 / 0644).
mode_t dir_mode(Visibility v) { return v == Visibility::site ? 0755 : 0700; }
mode_t file_mode(Visibility v) { return v == Visibility::site ? 0644 : 0600; }

void mkdirs(const std::string& dir, mode_t mode) {
  if (dir.empty())
    throw TuneStoreError(
        "no tuning store directory (HOME is not set and the user has no passwd entry): set "
        "PARACLOUD_TUNE_DIR");
  std::string cur;
  std::stringstream ss(dir);
  std::string part;
  if (dir[0] == '/') cur = "/";
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    cur += part + "/";
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST)
      throw TuneStoreError("cannot create directory " + cur + ": " + errno_text());
  }
}

// Writes text to path through a new temporary file in the same directory and rename()
// (atomic_file.h: unpredictable name, O_EXCL|O_NOFOLLOW), with exactly `mode`.
void write_atomic(const std::string& path, const std::string& text, mode_t mode) {
  if (pc_atomic_write(path.c_str(), text.data(), text.size(), mode, 1, 1) != 0)
    throw TuneStoreError("cannot write " + path + ": " + errno_text());
}

// A directory whose files Open MPI is given by name must be ours alone: the directory and each
// one above it owned by us or root and not writable by others (unless sticky, like /tmp), so
// that nobody can replace a file between our check and Open MPI's read.
void check_trusted_dir(const std::string& dir) {
  const uid_t me = ::geteuid();
  std::string cur = dir;
  while (!cur.empty()) {
    struct stat st {};
    if (::stat(cur.c_str(), &st) != 0)
      throw TuneStoreError("cannot stat " + cur + ": " + errno_text());
    if (!S_ISDIR(st.st_mode)) throw TuneStoreError(cur + " is not a directory");
    if (st.st_uid != me && st.st_uid != 0)
      throw TuneStoreError(cur + " is owned by uid " + std::to_string(st.st_uid) +
                           ", not by you or root: no rules file is used from " + dir);
    const bool others_write = (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
    if (others_write && (cur == dir || !(st.st_mode & S_ISVTX)))
      throw TuneStoreError(cur + " is writable by others: no rules file is used from " + dir +
                           " (chmod go-w " + cur + ")");
    if (cur == "/") break;
    const std::size_t slash = cur.find_last_of('/', cur.size() > 1 ? cur.size() - 2 : 0);
    if (slash == std::string::npos) break;  // a relative path: its top is the current directory
    cur = slash == 0 ? "/" : cur.substr(0, slash);
  }
}

// The file exists as a regular file of ours with exactly `text` (a rules file found by name).
bool holds_exactly(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return false;
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == ::geteuid() &&
            (st.st_mode & (S_IWGRP | S_IWOTH)) == 0 &&
            static_cast<std::uint64_t>(st.st_size) == text.size();
  std::string have;
  if (ok) {
    have.resize(text.size() + 1);
    std::size_t got = 0;
    for (ssize_t n; got < have.size() && (n = ::read(fd, &have[got], have.size() - got)) > 0;)
      got += static_cast<std::size_t>(n);
    have.resize(got);
  }
  ::close(fd);
  return ok && have == text;
}

StoreFile parse_document(const json& j);

}  // namespace

StoreFile parse(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {  // parse_error, and out_of_range for a number overflow
    throw TuneStoreError(std::string("not JSON: ") + e.what());
  }
  try {
    return parse_document(j);
  } catch (const json::exception& e) {  // every access is checked; this is a last line of defence
    throw TuneStoreError(std::string("unexpected content: ") + e.what());
  }
}

namespace {

StoreFile parse_document(const json& j) {
  if (!j.is_object()) throw TuneStoreError("not a JSON object");
  if (field<std::string>(j, "schema", "top level") != kSchema)
    throw TuneStoreError(std::string("schema is not \"") + kSchema + "\"");
  const int version = field<int>(j, "version", "top level");
  if (version != kVersion)
    throw TuneStoreError("version " + std::to_string(version) + " is not supported (this is " +
                         std::to_string(kVersion) + ")");
  StoreFile f;
  const json& app = container(j, "app", true, "top level");
  f.app.name = field<std::string>(app, "name", "app");
  f.app.build_id = field<std::string>(app, "build_id", "app");
  f.app.hash = field<std::string>(app, "hash", "app");
  f.app.ranks = field<int>(app, "ranks", "app");
  f.app.ranks_per_node = field<int>(app, "ranks_per_node", "app");
  f.updated = optional_field<std::string>(j, "updated", "", "top level");
  const json& ds = container(j, "decisions", false, "top level");
  for (size_t i = 0; i < ds.size(); i++) {
    const std::string where = "decisions[" + std::to_string(i) + "]";
    const json& d = ds[i];
    if (!d.is_object()) throw TuneStoreError(where + " is not an object");
    Decision x;
    x.collective = field<std::string>(d, "collective", where);
    x.comm_size = field<int>(d, "comm_size", where);
    x.ranks_per_node = field<int>(d, "ranks_per_node", where);
    x.bucket = field<int>(d, "bucket", where);
    x.dtype = field<std::string>(d, "dtype", where);
    x.algorithm = field<std::string>(d, "algorithm", where);
    x.source = optional_field<std::string>(d, "source", "explore", where);
    x.time_us = optional_field<double>(d, "time_us", 0.0, where);
    x.calls = optional_field<uint64_t>(d, "calls", 0, where);
    if (std::find(std::begin(kCollectives), std::end(kCollectives), x.collective) ==
        std::end(kCollectives))
      continue;  // a collective this version does not know: ignored (later versions may add)
    if (x.comm_size < 1 || x.ranks_per_node < 0 || x.bucket < -1 || x.bucket > 62 ||
        x.algorithm.empty() || x.algorithm.size() > 31 || x.dtype.size() > 7)
      throw TuneStoreError(where + ": out-of-range field");
    f.decisions.push_back(x);
  }
  return f;
}

}  // namespace

std::string serialize(const StoreFile& f) {
  json ds = json::array();
  for (const Decision& d : f.decisions)
    ds.push_back({{"collective", d.collective},
                  {"comm_size", d.comm_size},
                  {"ranks_per_node", d.ranks_per_node},
                  {"bucket", d.bucket},
                  {"dtype", d.dtype},
                  {"algorithm", d.algorithm},
                  {"source", d.source},
                  {"time_us", d.time_us},
                  {"calls", d.calls}});
  json j = {{"schema", kSchema},
            {"version", kVersion},
            {"app",
             {{"name", f.app.name},
              {"build_id", f.app.build_id},
              {"hash", f.app.hash},
              {"ranks", f.app.ranks},
              {"ranks_per_node", f.app.ranks_per_node}}},
            {"updated", f.updated},
            {"decisions", ds}};
  return j.dump(1) + "\n";
}

std::vector<Decision> merge(std::vector<Decision> base, const std::vector<Decision>& newer) {
  for (const Decision& n : newer) {
    auto it = std::find_if(base.begin(), base.end(), [&](const Decision& b) { return b.same_key(n); });
    if (it != base.end())
      *it = n;
    else
      base.push_back(n);
  }
  return base;
}

StoreFile read_file(const std::string& path, bool site) {
  // No symlink, no FIFO that blocks, no device: a regular file of at most kMaxFileBytes.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) throw TuneStoreError("cannot open " + path + ": " + errno_text());
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    throw TuneStoreError("cannot stat " + path + ": " + errno_text());
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw TuneStoreError(path + " is not a regular file: ignored");
  }
  const std::string too_big = path + " is larger than " + std::to_string(kMaxFileBytes) +
                              " bytes: ignored (remove the file; the next run re-tunes)";
  if (static_cast<std::uint64_t>(st.st_size) > kMaxFileBytes) {
    ::close(fd);
    throw TuneStoreError(too_big);
  }
  const uid_t me = ::geteuid();
  if (st.st_uid != me && !(site && st.st_uid == 0)) {
    ::close(fd);
    throw TuneStoreError(path + " is owned by uid " + std::to_string(st.st_uid) +
                         ", not by you (uid " + std::to_string(me) + (site ? ") or root" : ")") +
                         ": ignored (remove it or fix its owner)");
  }
  std::string text;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) {
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxFileBytes) {  // it grew after fstat
      ::close(fd);
      throw TuneStoreError(too_big);
    }
  }
  ::close(fd);
  try {
    return parse(text);
  } catch (const TuneStoreError& e) {
    throw TuneStoreError(path + ": " + e.what() + " (remove the file; the next run re-tunes)");
  }
}

LoadResult load(const AppId& app, const std::string& user_dir, const std::string& site_dir) {
  LoadResult r;
  AppId any = app;
  any.name = any.build_id = any.hash = "";
  const std::pair<std::string, bool> files[] = {
      {user_dir.empty() ? std::string() : user_dir + "/" + app.file_name(), false},
      {site_dir + "/" + app.file_name(), true},
      {site_dir + "/" + any.file_name(), true}};
  std::vector<Decision> acc;
  for (const auto& [path, site] : files) {
    if (path.empty() || ::access(path.c_str(), F_OK) != 0) continue;  // "": no user store
    try {
      StoreFile f = read_file(path, site);
      // Lower priority first, so later files are merged under the earlier ones.
      std::vector<Decision> kept = f.decisions;
      for (const Decision& d : acc) {
        auto it = std::find_if(kept.begin(), kept.end(), [&](const Decision& k) { return k.same_key(d); });
        if (it != kept.end()) kept.erase(it);
      }
      acc.insert(acc.end(), kept.begin(), kept.end());
      r.files.push_back(path);
    } catch (const std::exception& e) {
      r.warnings.push_back(e.what());
    }
  }
  r.decisions = acc;
  return r;
}

std::string save(const AppId& app, const std::string& dir, const std::vector<Decision>& d,
                 Visibility visibility) {
  mkdirs(dir, dir_mode(visibility));
  const std::string path = dir + "/" + app.file_name();
  const std::string lock_path = path + ".lock";
  const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
                          file_mode(visibility));
  if (lock < 0) throw TuneStoreError("cannot open " + lock_path + ": " + errno_text());
  if (::flock(lock, LOCK_EX) != 0) {
    ::close(lock);
    throw TuneStoreError("cannot lock " + lock_path + ": " + errno_text());
  }
  try {
    StoreFile f;
    f.app = app;
    if (::access(path.c_str(), F_OK) == 0) {
      try {
        f.decisions = read_file(path, false).decisions;
      } catch (const TuneStoreError&) {
        // A corrupt or foreign file is replaced by ours (it was warned about when loading).
      }
    }
    f.decisions = merge(f.decisions, d);
    f.updated = now_utc();
    write_atomic(path, serialize(f), file_mode(visibility));
  } catch (...) {
    ::close(lock);
    throw;
  }
  ::close(lock);
  return path;
}

int ompi_collective_id(const std::string& c) {
  // coll_base_functions.h COLLTYPE_T order.
  static const std::map<std::string, int> ids = {{"allgather", 0}, {"allreduce", 2},
                                                 {"alltoall", 3},  {"barrier", 6},
                                                 {"bcast", 7},     {"reduce", 11}};
  auto it = ids.find(c);
  return it == ids.end() ? -1 : it->second;
}

int ompi_algorithm(const std::string& c, const std::string& a) {
  static const std::map<std::pair<std::string, std::string>, int> ids = {
      {{"allreduce", "recursive_doubling"}, 3}, {{"allreduce", "ring"}, 4},
      {{"allreduce", "rabenseifner"}, 6},       {{"bcast", "chain"}, 2},
      {{"bcast", "binomial"}, 6},               {{"bcast", "scatter_allgather"}, 9},
      {{"allgather", "bruck"}, 2},              {{"allgather", "recursive_doubling"}, 3},
      {{"allgather", "ring"}, 4},               {{"alltoall", "pairwise"}, 2},
      {{"alltoall", "bruck"}, 3},               {{"reduce", "binomial"}, 5},
      {{"barrier", "dissemination"}, 4}};
  auto it = ids.find({c, a});
  return it == ids.end() ? 0 : it->second;
}

std::string rules_file(const std::vector<Decision>& decisions) {
  // collective id -> comm size -> message size (bytes, as coll/tuned measures it) -> algorithm.
  std::map<int, std::map<int, std::map<uint64_t, int>>> rules;
  for (const Decision& d : decisions) {
    const int cid = ompi_collective_id(d.collective), alg = ompi_algorithm(d.collective, d.algorithm);
    if (cid < 0 || alg == 0) continue;
    // coll/tuned measures allgather/alltoall as type size x count x communicator size.
    const uint64_t scale = d.collective == "allgather" || d.collective == "alltoall"
                               ? static_cast<uint64_t>(d.comm_size)
                               : 1;
    auto& sizes = rules[cid][d.comm_size];
    const uint64_t lo = d.bucket < 0 ? 0 : (uint64_t{1} << d.bucket) * scale;
    const uint64_t hi = d.bucket < 0 ? 0 : (uint64_t{1} << (d.bucket + 1)) * scale;
    sizes[lo] = alg;
    if (d.bucket >= 0 && !sizes.count(hi)) sizes[hi] = 0;  // back to Open MPI's default above
  }
  if (rules.empty()) return "";
  std::ostringstream out;
  out << rules.size() << "  # collectives (paracloud tune: generated, do not edit)\n";
  for (auto& [cid, comms] : rules) {
    // Each communicator size gets a rule, and the next size a default one (unless it has rules).
    std::map<int, std::map<uint64_t, int>> full = comms;
    for (auto& [size, msgs] : comms)
      if (!full.count(size + 1)) full[size + 1] = {};
    out << cid << "  # collective id\n" << full.size() << "  # communicator sizes\n";
    for (auto& [size, msgs] : full) {
      std::map<uint64_t, int> m = msgs;
      if (!m.count(0)) m[0] = 0;  // coll/tuned requires a rule for message size 0
      // Drop rules that repeat the previous algorithm.
      std::vector<std::pair<uint64_t, int>> rows;
      for (auto& [bytes, alg] : m)
        if (rows.empty() || rows.back().second != alg) rows.emplace_back(bytes, alg);
      out << size << "  # communicator size\n" << rows.size() << "  # message sizes\n";
      for (auto& [bytes, alg] : rows)
        out << bytes << " " << alg << " " << (alg && cid == 7 && alg == 2 ? 1 : 0) << " "
            << (cid == 7 && alg == 2 ? 65536 : 0) << "  # bytes algorithm fanout segsize\n";
    }
  }
  return out.str();
}

std::string write_rules_file(const std::vector<Decision>& decisions, const std::string& dir) {
  const std::string text = rules_file(decisions);
  if (text.empty()) return "";
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  char name[64];
  snprintf(name, sizeof(name), "rules-%016llx.conf", static_cast<unsigned long long>(h));
  mkdirs(dir, 0700);
  check_trusted_dir(dir);
  const std::string path = dir + "/" + name;
  // Content-addressed: an existing file of ours with exactly this text is used as it is; anything
  // else under that name (other rules, another owner, a symlink) is replaced.
  if (!holds_exactly(path, text)) write_atomic(path, text, 0600);
  return path;
}

std::string default_user_dir() {
  const char* d = std::getenv("PARACLOUD_TUNE_DIR");
  if (d && *d) return d;
  std::string home;
  if (const char* h = std::getenv("HOME"); h && *h) {
    home = h;
  } else {
    passwd pw{}, *found = nullptr;
    std::vector<char> buf(16384);
    if (::getpwuid_r(::getuid(), &pw, buf.data(), buf.size(), &found) == 0 && found &&
        found->pw_dir && *found->pw_dir)
      home = found->pw_dir;
  }
  // No home: no user store (a shared fallback such as /tmp would mix users' decisions).
  return home.empty() ? std::string() : home + "/.cache/paracloud/tune";
}

std::string default_site_dir() {
  const char* d = std::getenv("PARACLOUD_TUNE_SITE_DIR");
  return d && *d ? d : "/var/lib/paracloud/tune";
}

}  // namespace paracloud::tune

// The collective tuning store: JSON files per application and geometry, merge, atomic save under a
// lock, and the Open MPI coll/tuned classic dynamic rules file.
#include "tune_store.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

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
  if (!j.contains(key)) throw TuneStoreError(where + ": missing \"" + key + "\"");
  try {
    return j.at(key).get<T>();
  } catch (const json::exception&) {
    throw TuneStoreError(where + ": \"" + key + "\" has the wrong type");
  }
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

void mkdirs(const std::string& dir) {
  std::string cur;
  std::stringstream ss(dir);
  std::string part;
  if (!dir.empty() && dir[0] == '/') cur = "/";
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    cur += part + "/";
    if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
      throw TuneStoreError("cannot create directory " + cur + ": " + errno_text());
  }
}

// Writes text to path through a temporary file in the same directory and rename().
void write_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw TuneStoreError("cannot write " + tmp + ": " + errno_text());
  size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n <= 0) {
      const std::string why = errno_text();
      ::close(fd);
      ::unlink(tmp.c_str());
      throw TuneStoreError("cannot write " + tmp + ": " + why);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(tmp.c_str());
    throw TuneStoreError("cannot replace " + path + ": " + why);
  }
}

}  // namespace

StoreFile parse(const std::string& text) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    throw TuneStoreError(std::string("not JSON: ") + e.what());
  }
  if (!j.is_object()) throw TuneStoreError("not a JSON object");
  if (field<std::string>(j, "schema", "top level") != kSchema)
    throw TuneStoreError(std::string("schema is not \"") + kSchema + "\"");
  const int version = field<int>(j, "version", "top level");
  if (version != kVersion)
    throw TuneStoreError("version " + std::to_string(version) + " is not supported (this is " +
                         std::to_string(kVersion) + ")");
  StoreFile f;
  const json& app = j.at("app");
  if (!app.is_object()) throw TuneStoreError("\"app\" is not an object");
  f.app.name = field<std::string>(app, "name", "app");
  f.app.build_id = field<std::string>(app, "build_id", "app");
  f.app.hash = field<std::string>(app, "hash", "app");
  f.app.ranks = field<int>(app, "ranks", "app");
  f.app.ranks_per_node = field<int>(app, "ranks_per_node", "app");
  f.updated = j.value("updated", "");
  const json& ds = j.at("decisions");
  if (!ds.is_array()) throw TuneStoreError("\"decisions\" is not an array");
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
    x.source = d.value("source", "explore");
    x.time_us = d.value("time_us", 0.0);
    x.calls = d.value("calls", uint64_t{0});
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
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw TuneStoreError("cannot open " + path + ": " + errno_text());
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    throw TuneStoreError("cannot stat " + path + ": " + errno_text());
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
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
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
      {user_dir + "/" + app.file_name(), false},
      {site_dir + "/" + app.file_name(), true},
      {site_dir + "/" + any.file_name(), true}};
  std::vector<Decision> acc;
  for (const auto& [path, site] : files) {
    if (::access(path.c_str(), F_OK) != 0) continue;
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

std::string save(const AppId& app, const std::string& dir, const std::vector<Decision>& d) {
  mkdirs(dir);
  const std::string path = dir + "/" + app.file_name();
  const std::string lock_path = path + ".lock";
  const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
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
    write_atomic(path, serialize(f));
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
  mkdirs(dir);
  const std::string path = dir + "/" + name;
  // Content-addressed: an existing file already holds exactly this text (written atomically).
  if (::access(path.c_str(), F_OK) != 0) write_atomic(path, text);
  return path;
}

std::string default_user_dir() {
  const char* d = std::getenv("PARACLOUD_TUNE_DIR");
  if (d && *d) return d;
  const char* home = std::getenv("HOME");
  if (!home || !*home) {
    const passwd* pw = ::getpwuid(::getuid());
    home = pw ? pw->pw_dir : "/tmp";
  }
  return std::string(home) + "/.cache/paracloud/tune";
}

std::string default_site_dir() {
  const char* d = std::getenv("PARACLOUD_TUNE_SITE_DIR");
  return d && *d ? d : "/var/lib/paracloud/tune";
}

}  // namespace paracloud::tune

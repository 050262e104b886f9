// Site state files: JSON (de)serialisation, atomic write (temp + fsync + rename), loading,
// staleness.
#include "routing/site_state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/error.hpp"

namespace paracloud {

namespace {

[[noreturn]] void storage_error(const std::string& what, const std::string& path, int e) {
  throw Error(Errc::storage, what + " '" + path + "': " + std::strerror(e),
              "check that the directory exists and is writable by the collector (SiteStateDir)");
}

void make_dirs(const std::string& dir) {
  std::string partial;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    partial = dir.substr(0, pos);
    if (partial.empty()) continue;
    if (mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST)
      storage_error("cannot create directory", partial, errno);
  }
}

std::int64_t get_int(const nlohmann::json& j, const char* key, const std::string& what) {
  auto it = j.find(key);
  if (it == j.end()) return 0;
  if (!it->is_number_integer())
    throw Error(Errc::bad_input,
                what + ": field '" + key + "' is not an integer; expected a whole number");
  return it->get<std::int64_t>();
}

std::string get_string(const nlohmann::json& j, const char* key, const std::string& what) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (!it->is_string())
    throw Error(Errc::bad_input, what + ": field '" + key + "' is not a string; expected text");
  return it->get<std::string>();
}

}  // namespace

const PartitionState* SiteState::find(const std::string& partition) const {
  for (const auto& p : partitions)
    if (p.name == partition) return &p;
  return nullptr;
}

nlohmann::json to_json(const SiteState& s) {
  nlohmann::json parts = nlohmann::json::array();
  for (const auto& p : s.partitions)
    parts.push_back({{"name", p.name},
                     {"cpus_total", p.cpus_total},
                     {"cpus_idle", p.cpus_idle},
                     {"cpus_alloc", p.cpus_alloc},
                     {"cpus_other", p.cpus_other},
                     {"nodes_total", p.nodes_total},
                     {"cpus_per_node", p.cpus_per_node},
                     {"running_jobs", p.running_jobs},
                     {"pending_jobs", p.pending_jobs},
                     {"pending_cpus", p.pending_cpus},
                     {"running_cpu_seconds", p.running_cpu_seconds},
                     {"pending_cpu_seconds", p.pending_cpu_seconds}});
  return {{"schema", kSiteStateSchema}, {"site", s.site},     {"cluster", s.cluster},
          {"reachable", s.reachable},   {"error", s.error},   {"observed_at", s.observed_at},
          {"query_ms", s.query_ms},     {"partitions", parts}};
}

SiteState site_state_from_json(const nlohmann::json& j, const std::string& what) {
  if (!j.is_object())
    throw Error(Errc::bad_input, what + ": not a JSON object; expected a site state document");
  std::int64_t schema = get_int(j, "schema", what);
  if (schema < 1)
    throw Error(Errc::bad_input,
                what + ": no 'schema'; expected a site state written by `paracloud sites collect`");
  if (schema > kSiteStateSchema)
    throw Error(Errc::refused,
                what + ": schema " + std::to_string(schema) + " is newer than this paracloud (" +
                    std::to_string(kSiteStateSchema) + ")",
                "upgrade paracloud here, or run the collector of the same version");
  SiteState s;
  s.site = get_string(j, "site", what);
  s.cluster = get_string(j, "cluster", what);
  s.error = get_string(j, "error", what);
  auto r = j.find("reachable");
  if (r == j.end() || !r->is_boolean())
    throw Error(Errc::bad_input,
                what + ": field 'reachable' is missing or not true/false; expected a boolean");
  s.reachable = r->get<bool>();
  s.observed_at = get_int(j, "observed_at", what);
  s.query_ms = get_int(j, "query_ms", what);
  auto parts = j.find("partitions");
  if (parts != j.end() && !parts->is_array())
    throw Error(Errc::bad_input,
                what + ": field 'partitions' is not an array; expected a list of partitions");
  if (parts != j.end()) {
    for (const auto& pj : *parts) {
      if (!pj.is_object()) throw Error(Errc::bad_input, what + ": a partition is not an object");
      PartitionState p;
      p.name = get_string(pj, "name", what);
      if (p.name.empty()) throw Error(Errc::bad_input, what + ": a partition has no 'name'");
      std::string w = what + " partition '" + p.name + "'";
      p.cpus_total = get_int(pj, "cpus_total", w);
      p.cpus_idle = get_int(pj, "cpus_idle", w);
      p.cpus_alloc = get_int(pj, "cpus_alloc", w);
      p.cpus_other = get_int(pj, "cpus_other", w);
      p.nodes_total = get_int(pj, "nodes_total", w);
      p.cpus_per_node = get_int(pj, "cpus_per_node", w);
      p.running_jobs = get_int(pj, "running_jobs", w);
      p.pending_jobs = get_int(pj, "pending_jobs", w);
      p.pending_cpus = get_int(pj, "pending_cpus", w);
      p.running_cpu_seconds = get_int(pj, "running_cpu_seconds", w);
      p.pending_cpu_seconds = get_int(pj, "pending_cpu_seconds", w);
      for (std::int64_t v : {p.cpus_total, p.cpus_idle, p.cpus_alloc, p.cpus_other, p.nodes_total,
                             p.cpus_per_node, p.running_jobs, p.pending_jobs, p.pending_cpus,
                             p.running_cpu_seconds, p.pending_cpu_seconds})
        if (v < 0) throw Error(Errc::bad_input, w + ": negative count; expected 0 or more");
      s.partitions.push_back(std::move(p));
    }
  }
  std::sort(s.partitions.begin(), s.partitions.end(),
            [](const PartitionState& a, const PartitionState& b) { return a.name < b.name; });
  return s;
}

std::string site_state_path(const std::string& dir, const std::string& site) {
  return dir + "/" + site + ".json";
}

void write_site_state(const std::string& dir, const SiteState& s) {
  if (s.site.empty() || s.site.find('/') != std::string::npos || s.site[0] == '.')
    throw Error(Errc::bad_input, "site state without a valid site name ('" + s.site + "')");
  make_dirs(dir);
  std::string path = site_state_path(dir, s.site);
  std::string tmp = dir + "/." + s.site + ".json.XXXXXX";
  int fd = mkstemp(&tmp[0]);
  if (fd < 0) storage_error("cannot create a temporary file in", dir, errno);
  std::string body = to_json(s).dump(1) + "\n";
  const char* p = body.data();
  std::size_t left = body.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      storage_error("cannot write", tmp, e);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  // Readable by slurmctld's SlurmUser whoever runs the collector.
  if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    storage_error("cannot sync", tmp, e);
  }
  if (::close(fd) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    storage_error("cannot close", tmp, e);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    storage_error("cannot rename into", path, e);
  }
}

// job_submit reads these files inside slurmctld: whatever sits at the path must not hang it (a FIFO
// opened without O_NONBLOCK waits for a writer; /dev/zero never ends) nor bloat it (issue 16 item 4).
// So: no symlinks (O_NOFOLLOW), never block on open (O_NONBLOCK), regular files only, owned by root
// or by this process's user, and at most kSiteStateMaxBytes.
static constexpr off_t kSiteStateMaxBytes = 1 << 20;

SiteState read_site_state(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT)
      throw Error(Errc::not_found, "no state file '" + path + "'",
                  "run `paracloud sites collect` (or its daemon) so that it writes one");
    if (e == ELOOP)
      throw Error(Errc::storage, "'" + path + "' is a symbolic link; state files are read only as regular files",
                  "let `paracloud sites collect` write the file itself");
    throw Error(Errc::storage, "cannot read '" + path + "': " + std::strerror(e), "check its permissions");
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    throw Error(Errc::storage, "cannot stat '" + path + "': " + std::strerror(errno), "check its permissions");
  if (!S_ISREG(st.st_mode))
    throw Error(Errc::storage, "'" + path + "' is not a regular file",
                "remove it; `paracloud sites collect` writes regular files");
  if (st.st_uid != 0 && st.st_uid != ::geteuid())
    throw Error(Errc::storage, "'" + path + "' is owned by uid " + std::to_string(st.st_uid) + ", not by root or uid " +
                                   std::to_string(::geteuid()),
                "run `paracloud sites collect` as root or as SlurmUser");
  if (st.st_size > kSiteStateMaxBytes)
    throw Error(Errc::bad_input, path + ": larger than " + std::to_string(kSiteStateMaxBytes) + " bytes (" +
                                     std::to_string(st.st_size) + "); not a site state document");
  std::string text;
  text.resize(static_cast<std::size_t>(kSiteStateMaxBytes) + 1);
  std::size_t got = 0;
  while (got < text.size()) {  // the file may grow after fstat: read at most the cap + 1
    ssize_t n = ::read(fd, &text[got], text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      throw Error(Errc::storage, "cannot read '" + path + "': " + std::strerror(errno), "check its permissions");
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > static_cast<std::size_t>(kSiteStateMaxBytes))
    throw Error(Errc::bad_input, path + ": larger than " + std::to_string(kSiteStateMaxBytes) +
                                     " bytes; not a site state document");
  text.resize(got);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded())
    throw Error(Errc::bad_input, path + ": not valid JSON; expected a site state document");
  return site_state_from_json(j, path);
}

std::vector<SiteState> load_site_states(const std::string& dir,
                                        const std::vector<SiteConf>& sites) {
  std::vector<SiteState> out;
  out.reserve(sites.size());
  for (const auto& site : sites) {
    SiteState s;
    try {
      s = read_site_state(site_state_path(dir, site.name));
      if (s.site != site.name) {
        std::string found = s.site;
        s = SiteState{};
        s.error = site_state_path(dir, site.name) + " holds site '" + found + "'";
      }
    } catch (const Error& e) {
      s = SiteState{};
      s.error = e.what();
    }
    s.site = site.name;
    if (s.cluster.empty()) s.cluster = site.cluster;
    out.push_back(std::move(s));
  }
  return out;
}

const char* to_string(StateHealth h) {
  switch (h) {
    case StateHealth::fresh:
      return "fresh";
    case StateHealth::stale:
      return "stale";
    case StateHealth::unreachable:
      return "unreachable";
    case StateHealth::missing:
      return "missing";
  }
  return "?";
}

HealthVerdict judge_state(const SiteState* s, std::int64_t now, std::int64_t max_age) {
  HealthVerdict v;
  if (!s || s->observed_at <= 0) return v;
  v.age = std::max<std::int64_t>(0, now - s->observed_at);
  if (!s->reachable)
    v.health = StateHealth::unreachable;
  else if (v.age > max_age)
    v.health = StateHealth::stale;
  else
    v.health = StateHealth::fresh;
  return v;
}

}  // namespace paracloud

// IO tuning decisions per application: the "<key>.io.json" store file, folding a run into it
// (decide, measure, withdraw), locked atomic saving.
#include "io/io_store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/atomic_file.h"

namespace paracloud::io {

namespace {

using nlohmann::json;

json measure_json(const Measure& m) {
  return {{"reads", m.reads},        {"chunk_touches", m.chunk_touches}, {"read_ns", m.read_ns},
          {"cache_bytes", m.cache_bytes}, {"preads", m.preads}};
}

Measure measure_of(const json& j) {
  Measure m;
  if (!j.is_object()) throw IoRulesError("a measure must be an object");
  m.reads = j.at("reads").get<uint64_t>();
  m.chunk_touches = j.at("chunk_touches").get<uint64_t>();
  m.read_ns = j.at("read_ns").get<uint64_t>();
  m.cache_bytes = j.at("cache_bytes").get<uint64_t>();
  m.preads = j.at("preads").get<uint64_t>();
  return m;
}

Measure measure_of(const DatasetEvidence& e, uint64_t preads) {
  Measure m;
  m.reads = e.reads;
  m.chunk_touches = e.chunk_touches;
  m.read_ns = e.read_ns;
  m.cache_bytes = e.cache_bytes;
  m.preads = preads;
  return m;
}

std::string now_utc() {
  char buf[32];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

double StoredDecision::speedup() const {
  const double b = before.read_us_per_call(), a = after.read_us_per_call();
  return a > 0 && b > 0 ? b / a : 0;
}

IoStoreFile parse_store(const std::string& text) {
  try {
    const json j = json::parse(text);
    if (!j.is_object() || j.value("schema", "") != kStoreSchema ||
        j.value("version", 0) != kStoreVersion)
      throw IoRulesError(std::string("not a ") + kStoreSchema + " version " +
                         std::to_string(kStoreVersion) + " file");
    IoStoreFile f;
    f.app_key = j.at("app").get<std::string>();
    f.updated = j.value("updated", "");
    for (const json& d : j.at("decisions")) {
      StoredDecision s;
      s.decision.dataset = d.at("dataset").get<std::string>();
      s.decision.rule = d.at("rule").get<std::string>();
      const json& set = d.at("setting");
      s.decision.setting = set.at("call").get<std::string>();
      s.decision.nslots = set.at("nslots").get<uint64_t>();
      s.decision.nbytes = set.at("nbytes").get<uint64_t>();
      s.decision.w0 = set.at("w0").get<double>();
      s.decision.reason = d.at("reason").get<std::string>();
      s.status = d.at("status").get<std::string>();
      if (s.status != "active" && s.status != "withdrawn")
        throw IoRulesError("status '" + s.status + "' is not active or withdrawn");
      s.decided = d.value("decided", "");
      s.withdrawn = d.value("withdrawn", "");
      s.withdrawn_reason = d.value("withdrawn_reason", "");
      const json& ev = d.at("evidence");
      s.file = ev.value("file", "");
      s.chunk_bytes = ev.at("chunk_bytes").get<uint64_t>();
      s.working_set_chunks = ev.at("working_set_chunks").get<uint64_t>();
      s.filters = ev.at("filters").get<int>();
      s.before = measure_of(ev.at("before"));
      if (d.contains("effect")) {
        s.after = measure_of(d["effect"].at("after"));
        s.runs_applied = d["effect"].at("runs_applied").get<uint64_t>();
      }
      f.decisions.push_back(s);
    }
    return f;
  } catch (const json::exception& e) {
    throw IoRulesError(std::string("wrong shape: ") + e.what());
  }
}

std::string serialize_store(const IoStoreFile& f) {
  json arr = json::array();
  for (const StoredDecision& s : f.decisions) {
    json d = {{"dataset", s.decision.dataset},
              {"rule", s.decision.rule},
              {"setting",
               {{"call", s.decision.setting},
                {"nslots", s.decision.nslots},
                {"nbytes", s.decision.nbytes},
                {"w0", s.decision.w0}}},
              {"reason", s.decision.reason},
              {"status", s.status},
              {"decided", s.decided},
              {"evidence",
               {{"file", s.file},
                {"chunk_bytes", s.chunk_bytes},
                {"working_set_chunks", s.working_set_chunks},
                {"filters", s.filters},
                {"before", measure_json(s.before)}}}};
    if (s.runs_applied)
      d["effect"] = {{"runs_applied", s.runs_applied},
                     {"after", measure_json(s.after)},
                     {"read_speedup", s.speedup()},
                     {"pread_ratio", s.after.preads ? double(s.before.preads) / double(s.after.preads) : 0.0}};
    if (s.status == "withdrawn") {
      d["withdrawn"] = s.withdrawn;
      d["withdrawn_reason"] = s.withdrawn_reason;
    }
    arr.push_back(d);
  }
  json j = {{"schema", kStoreSchema}, {"version", kStoreVersion}, {"app", f.app_key},
            {"updated", f.updated},  {"decisions", arr}};
  return j.dump(1) + "\n";
}

void fold_run(IoStoreFile& f, const std::vector<DatasetEvidence>& run, uint64_t preads,
              const Rules& rules, const std::string& now) {
  for (const DatasetEvidence& e : run) {
    StoredDecision* s = nullptr;
    for (StoredDecision& x : f.decisions)
      if (x.decision.dataset == e.dataset) s = &x;
    if (s && e.tuned && s->status == "active") {
      if (e.reads == 0) continue;  // opened but not read: nothing measured
      s->after = measure_of(e, preads);
      s->runs_applied++;
      const double b = s->before.read_us_per_call(), a = s->after.read_us_per_call();
      if (b > 0 && a > b * rules.withdraw_slower_than) {
        char why[256];
        std::snprintf(why, sizeof why,
                      "H5Dread took %.1f us per call with the setting, %.1f us before (more than "
                      "x%.3g): withdrawn",
                      a, b, rules.withdraw_slower_than);
        s->status = "withdrawn";
        s->withdrawn = now;
        s->withdrawn_reason = why;
      }
      continue;
    }
    if (s) continue;  // decided already (a withdrawn decision is never made again)
    const std::optional<Decision> d = decide(e, rules);
    if (!d) continue;
    StoredDecision n;
    n.decision = *d;
    n.decided = now;
    n.file = e.file;
    n.chunk_bytes = e.chunk_bytes;
    n.working_set_chunks = e.max_chunks_per_read;
    n.filters = e.filters;
    n.before = measure_of(e, preads);
    f.decisions.push_back(n);
  }
}

std::string store_path(const tune::AppId& app, const std::string& dir) {
  return dir + "/" + app.key() + ".io.json";
}

IoStoreFile read_store(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) throw IoRulesError("cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<uint64_t>(st.st_size) > tune::kMaxFileBytes || st.st_uid != ::geteuid()) {
    ::close(fd);
    throw IoRulesError(path + " is not a regular file of yours of at most 8 MiB: ignored");
  }
  std::string t;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && t.size() <= tune::kMaxFileBytes)
    t.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  try {
    return parse_store(t);
  } catch (const IoRulesError& e) {
    throw IoRulesError(path + ": " + e.what() + " (remove the file; the next run decides again)");
  }
}

std::string record_run(const tune::AppId& app, const std::string& dir,
                       const std::vector<DatasetEvidence>& run, uint64_t preads,
                       const Rules& rules) {
  if (dir.empty()) throw IoRulesError("no tuning store directory: set PARACLOUD_TUNE_DIR");
  std::string cur = dir[0] == '/' ? "/" : "";
  for (std::size_t i = 0, j; i <= dir.size(); i = j + 1) {  // mkdir -p, 0700
    j = dir.find('/', i);
    if (j == std::string::npos) j = dir.size();
    if (j == i) continue;
    cur += dir.substr(i, j - i) + "/";
    if (::mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST)
      throw IoRulesError("cannot create directory " + cur + ": " + std::strerror(errno));
  }
  const std::string path = store_path(app, dir), lock_path = path + ".lock";
  const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
  if (lock < 0 || ::flock(lock, LOCK_EX) != 0) {
    if (lock >= 0) ::close(lock);
    throw IoRulesError("cannot lock " + lock_path + ": " + std::strerror(errno));
  }
  try {
    IoStoreFile f;
    if (::access(path.c_str(), F_OK) == 0) {
      try {
        f = read_store(path);
      } catch (const IoRulesError&) {
        // corrupt or foreign: replaced (the runtime warned when it loaded it)
      }
    }
    f.app_key = app.key();
    fold_run(f, run, preads, rules, now_utc());
    f.updated = now_utc();
    const std::string text = serialize_store(f);
    if (pc_atomic_write(path.c_str(), text.data(), text.size(), 0600, 1, 1) != 0)
      throw IoRulesError("cannot write " + path + ": " + std::strerror(errno));
  } catch (...) {
    ::close(lock);
    throw;
  }
  ::close(lock);
  return path;
}

}  // namespace paracloud::io

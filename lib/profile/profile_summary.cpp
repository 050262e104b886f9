// Runtime profiles: parsing a profile (schema version 1) into a ProfileSummary, its JSON forms, and
// the safe lookup of a job's profile files.
#include "profile/profile_summary.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>

#include "common/error.hpp"

namespace paracloud {

using nlohmann::json;

namespace {

constexpr int kMaxDepth =
    32;  // profiles nest 5 deep; deeper documents are refused before they are built

// A first pass over the text with nlohmann's SAX interface (linear, nothing built): the document
// must be JSON, nest at most kMaxDepth deep and hold at most kProfileMaxValues values (keys,
// scalars and containers). Only then is the DOM built, with the plain (callback-free) parser:
// nlohmann 3.11's callback parser rescans the parent on every closed value, which made an array
// of objects quadratic (1 MiB of [{},{},...] took 51 s).
class ProfileScan {
 public:
  int depth = 0;
  std::size_t values = 0;
  std::string error;  // why the scan stopped ("" when it did not)

  bool null() { return value(); }
  bool boolean(bool) { return value(); }
  bool number_integer(json::number_integer_t) { return value(); }
  bool number_unsigned(json::number_unsigned_t) { return value(); }
  bool number_float(json::number_float_t, const json::string_t&) { return value(); }
  bool string(json::string_t&) { return value(); }
  bool binary(json::binary_t&) { return value(); }
  bool key(json::string_t&) { return value(); }
  bool start_object(std::size_t) { return open(); }
  bool start_array(std::size_t) { return open(); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
    std::string why = e.what();
    if (auto p = why.find("parse error"); p != std::string::npos) why = why.substr(p);
    error = "not valid JSON (truncated or corrupt?): " + why;
    return false;
  }

 private:
  bool value() {
    if (++values <= kProfileMaxValues) return true;
    error = "more than " + std::to_string(kProfileMaxValues) +
            " values (a profile has a few thousand): not a profile";
    return false;
  }
  bool open() {
    if (++depth > kMaxDepth) {
      error = "nested deeper than " + std::to_string(kMaxDepth) + " levels: not a profile";
      return false;
    }
    return value();
  }
  bool close() {
    --depth;
    return true;
  }
};

// Counts and byte totals arrive as JSON numbers; a hostile file must not make the cast undefined.
std::int64_t to_i64(double v) {
  constexpr double kMax = 4.0e18;
  if (!(v > 0)) return 0;
  return static_cast<std::int64_t>(v >= kMax ? kMax : v);
}

[[noreturn]] void bad(const std::string& source, const std::string& what) {
  throw Error(Errc::bad_input, source + ": " + what,
              "give a profile written by libparacloud_rt (paracloud-profile-<job>.<step>.json)");
}

// Field readers: `where` is the JSON path shown in messages ("calls[3].time_s").
const json* member(const json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

std::string path(const std::string& where, const char* key) {
  return where.empty() ? key : where + "." + key;
}

double number(const std::string& src, const json& j, const char* key, const std::string& where,
              bool required) {
  const json* v = member(j, key);
  if (!v) {
    if (required) bad(src, path(where, key) + " is missing");
    return 0;
  }
  if (!v->is_number()) bad(src, path(where, key) + " is not a number");
  double d = v->get<double>();
  if (!std::isfinite(d)) bad(src, path(where, key) + " is not a finite number");
  return d;
}

std::string text(const std::string& src, const json& j, const char* key, const std::string& where) {
  const json* v = member(j, key);
  if (!v) return {};
  if (v->is_number_integer()) return std::to_string(v->get<std::int64_t>());
  if (!v->is_string()) bad(src, path(where, key) + " is not a string");
  return v->get<std::string>();
}

ProfileStat stat(const std::string& src, const json& j, const char* key, const std::string& where,
                 bool required) {
  ProfileStat s;
  const json* v = member(j, key);
  if (!v) {
    if (required) bad(src, path(where, key) + " is missing");
    return s;
  }
  std::string here = path(where, key);
  if (!v->is_object()) bad(src, here + " is not a {sum, min, avg, max} object");
  s.sum = number(src, *v, "sum", here, true);
  s.min = number(src, *v, "min", here, false);
  s.avg = number(src, *v, "avg", here, false);
  s.max = number(src, *v, "max", here, false);
  if (const json* im = member(*v, "imbalance")) {
    if (!im->is_number()) bad(src, here + ".imbalance is not a number");
    s.imbalance = im->get<double>();
  }
  return s;
}

std::vector<SizeBin> histogram(const std::string& src, const json& c, const std::string& where) {
  std::vector<SizeBin> out;
  const json* h = member(c, "size_hist");
  if (!h) return out;
  if (!h->is_array()) bad(src, where + ".size_hist is not an array");
  for (std::size_t i = 0; i < h->size(); ++i) {
    const json& b = (*h)[i];
    std::string here = where + ".size_hist[" + std::to_string(i) + "]";
    if (!b.is_object()) bad(src, here + " is not an object");
    SizeBin sb;
    double bin = number(src, b, "bin", here, true);
    if (bin < 0 || bin > 63 || bin != std::floor(bin))
      bad(src, here + ".bin is not a bin number (0..63)");
    sb.bin = static_cast<int>(bin);
    sb.min_bytes = to_i64(number(src, b, "min_bytes", here, false));
    if (member(b, "max_bytes")) sb.max_bytes = to_i64(number(src, b, "max_bytes", here, true));
    sb.count = to_i64(number(src, b, "count", here, true));
    out.push_back(sb);
  }
  return out;
}

void add_bins(std::vector<SizeBin>& into, const std::vector<SizeBin>& from) {
  for (const SizeBin& b : from) {
    auto it =
        std::find_if(into.begin(), into.end(), [&](const SizeBin& x) { return x.bin == b.bin; });
    if (it == into.end())
      into.push_back(b);
    else
      it->count += b.count;
  }
}

double pct(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }

bool is_session(const CallSummary& c) { return c.layer == "mpi" && c.kind == "session"; }

json stat_json(const ProfileStat& s) {
  return {{"sum", s.sum},
          {"min", s.min},
          {"avg", s.avg},
          {"max", s.max},
          {"imbalance", s.imbalance ? json(*s.imbalance) : json(nullptr)}};
}
json bins_json(const std::vector<SizeBin>& bins) {
  json a = json::array();
  for (const SizeBin& b : bins)
    a.push_back({{"bin", b.bin},
                 {"min_bytes", b.min_bytes},
                 {"max_bytes", b.max_bytes ? json(*b.max_bytes) : json(nullptr)},
                 {"count", b.count}});
  return a;
}
json or_null(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }
// Rounds for the compact form: a record does not need 9 significant digits.
// Dividing by the scale (not multiplying by its inverse) gives the double nearest the decimal.
double round_to(double v, double scale) { return std::round(v * scale) / scale; }

}  // namespace

// ---------------------------------------------------------------- parsing

ProfileSummary parse_profile(std::string_view body, const std::string& source) {
  if (body.empty()) bad(source, "empty file (truncated or corrupt?)");
  ProfileScan scan;
  if (!json::sax_parse(body.begin(), body.end(), &scan) || !scan.error.empty())
    bad(source, scan.error.empty() ? std::string("not valid JSON (truncated or corrupt?)")
                                   : scan.error);
  json doc;
  try {
    doc = json::parse(body.begin(), body.end());  // linear: no callback
  } catch (const json::exception& e) {  // (the SAX pass already refused number overflows)
    std::string why = e.what();
    if (auto p = why.find("parse error"); p != std::string::npos) why = why.substr(p);
    bad(source, std::string(body.empty() ? "empty file" : "not valid JSON") +
                    " (truncated or corrupt?): " + why);
  }
  return summarize_profile(doc, source);
}

ProfileSummary summarize_profile(const json& doc, const std::string& src) {
  ProfileSummary s;
  s.source = src;
  if (!doc.is_object()) bad(src, "not a paracloud profile (the document is not a JSON object)");
  const json* schema = member(doc, "schema");
  if (!schema || !schema->is_string() || *schema != "paracloud-profile")
    bad(src, "not a paracloud profile (\"schema\" is " +
                 (schema ? schema->dump() : std::string("missing")) +
                 ", expected \"paracloud-profile\")");
  const json* version = member(doc, "version");
  if (!version || !version->is_number_integer())
    bad(src, "\"version\" is missing or not an integer");
  s.version = version->get<int>();
  if (s.version < 1 || s.version > kProfileSchemaVersion)
    throw Error(Errc::bad_input,
                src + ": profile version " + std::to_string(s.version) +
                    " is not supported (this build reads 1.." +
                    std::to_string(kProfileSchemaVersion) + ")",
                "upgrade paracloud to read profiles of a newer runtime");
  try {
    s.generator = text(src, doc, "generator", "");
    s.created = text(src, doc, "created", "");
    s.mode = text(src, doc, "mode", "");
    if (const json* app = member(doc, "app")) {
      if (!app->is_object()) bad(src, "app is not an object");
      s.app_name = text(src, *app, "name", "app");
      s.app_exe = text(src, *app, "exe", "app");
    }
    if (const json* job = member(doc, "job")) {
      if (!job->is_object()) bad(src, "job is not an object");
      s.job_id = text(src, *job, "id", "job");
      s.job_step = text(src, *job, "step", "job");
      s.launcher = text(src, *job, "launcher", "job");
    }
    if (const json* m = member(doc, "mpi")) {
      if (!m->is_boolean()) bad(src, "mpi is not true/false");
      s.mpi = m->get<bool>();
    }
    s.ranks = to_i64(number(src, doc, "ranks", "", true));
    if (s.ranks < 1) bad(src, "ranks is " + std::to_string(s.ranks) + ", expected at least 1");
    s.nodes = to_i64(number(src, doc, "nodes", "", false));
    s.wall_time_s = stat(src, doc, "wall_time_s", "", true);
    s.mpi_time_s = stat(src, doc, "mpi_time_s", "", false);
    s.io_time_s = stat(src, doc, "io_time_s", "", false);
    s.mpi_pct = number(src, doc, "mpi_time_pct", "", false);
    s.io_pct = number(src, doc, "io_time_pct", "", false);

    if (const json* mods = member(doc, "modules")) {
      if (!mods->is_array()) bad(src, "modules is not an array");
      for (const json& m : *mods) {
        if (!m.is_object()) bad(src, "modules[] entry is not an object");
        const json* en = member(m, "enabled");
        if (en && en->is_boolean() && !en->get<bool>()) {
          std::string reason = text(src, m, "reason", "modules[]");
          s.disabled_modules.push_back(text(src, m, "name", "modules[]") +
                                       (reason.empty() ? "" : ": " + reason));
        }
      }
    }
    if (const json* b = member(doc, "binding")) {
      if (!b->is_object()) bad(src, "binding is not an object");
      BindingSummary& bs = s.binding;
      bs.present = true;
      bs.request = text(src, *b, "request", "binding");
      bs.applied = to_i64(number(src, *b, "ranks_applied", "binding", false));
      bs.kept = to_i64(number(src, *b, "ranks_kept", "binding", false));
      bs.skipped = to_i64(number(src, *b, "ranks_skipped", "binding", false));
      bs.failed = to_i64(number(src, *b, "ranks_failed", "binding", false));
      bs.time_ms_max = number(src, *b, "time_ms_max", "binding", false);
      if (const json* r0 = member(*b, "rank0")) {
        if (!r0->is_object()) bad(src, "binding.rank0 is not an object");
        const std::string w = "binding.rank0";
        bs.action = text(src, *r0, "action", w);
        bs.launcher = text(src, *r0, "launcher", w);
        bs.policy = text(src, *r0, "policy", w);
        bs.cpus = text(src, *r0, "cpus", w);
        bs.mem = text(src, *r0, "mem", w);
        bs.omp = text(src, *r0, "omp", w);
        bs.why = text(src, *r0, "why", w);
        bs.threads = to_i64(number(src, *r0, "threads", w, false));
      }
    }
    if (const json* layers = member(doc, "layers")) {
      if (!layers->is_object()) bad(src, "layers is not an object");
      for (const char* name : {"mpi", "mpiio", "posix", "hdf5"}) {
        const json* l = member(*layers, name);
        if (!l) continue;
        if (!l->is_object()) bad(src, std::string("layers.") + name + " is not an object");
        std::string here = std::string("layers.") + name;
        LayerSummary ls;
        ls.name = name;
        ls.calls = stat(src, *l, "calls", here, false);
        ls.bytes_read = stat(src, *l, "bytes_read", here, false);
        ls.bytes_written = stat(src, *l, "bytes_written", here, false);
        ls.time_s = stat(src, *l, "time_s", here, false);
        s.layers.push_back(ls);
      }
    }

    const json* calls = member(doc, "calls");
    if (!calls || !calls->is_array()) bad(src, "calls is missing or not an array");
    for (std::size_t i = 0; i < calls->size(); ++i) {
      const json& c = (*calls)[i];
      std::string here = "calls[" + std::to_string(i) + "]";
      if (!c.is_object()) bad(src, here + " is not an object");
      CallSummary cs;
      cs.name = text(src, c, "name", here);
      if (cs.name.empty()) bad(src, here + ".name is missing");
      cs.layer = text(src, c, "layer", here);
      cs.kind = text(src, c, "kind", here);
      cs.count = stat(src, c, "count", here, true);
      cs.bytes = stat(src, c, "bytes", here, false);
      cs.time_s = stat(src, c, "time_s", here, false);
      if (const json* e = member(c, "time_estimated"); e && e->is_boolean())
        cs.time_estimated = e->get<bool>();
      cs.fortran_calls = to_i64(number(src, c, "fortran_calls", here, false));
      cs.errors = to_i64(number(src, c, "errors", here, false));
      cs.size_hist = histogram(src, c, here);
      s.calls.push_back(std::move(cs));
    }
  } catch (const json::exception& e) {  // get<> on a value out of range
    bad(src, std::string("a field has a value of the wrong type: ") + e.what());
  }

  // Derived figures.
  double mpi_calls_time = 0;  // time of the MPI calls, MPI_Init/MPI_Finalize left out
  for (const CallSummary& c : s.calls) {
    if (c.name == "MPI_Init" || c.name == "MPI_Init_thread") s.mpi_init_s += c.time_s.sum;
    if (is_session(c)) continue;
    if (c.layer == "mpi") mpi_calls_time += c.time_s.sum;
    bool payload = c.layer == "mpi" && (c.kind == "p2p" || c.kind == "coll" || c.kind == "icoll") &&
                   c.name != "MPI_Barrier" && c.name != "MPI_Ibarrier";
    if (payload) {
      add_bins(s.message_sizes, c.size_hist);
      s.mpi_bytes += to_i64(c.bytes.sum);
    }
  }
  std::sort(s.message_sizes.begin(), s.message_sizes.end(),
            [](const SizeBin& a, const SizeBin& b) { return a.bin < b.bin; });
  for (CallSummary& c : s.calls) {
    c.pct_of_wall = pct(c.time_s.sum, s.wall_time_s.sum);
    c.pct_of_layer =
        is_session(c) ? 0 : pct(c.time_s.sum, c.layer == "mpi" ? mpi_calls_time : s.io_time_s.sum);
  }
  s.mpi_pct_excl_init =
      pct(std::max(0.0, s.mpi_time_s.sum - s.mpi_init_s), s.wall_time_s.sum - s.mpi_init_s);
  std::stable_sort(s.calls.begin(), s.calls.end(), [](const CallSummary& a, const CallSummary& b) {
    if (a.time_s.sum != b.time_s.sum) return a.time_s.sum > b.time_s.sum;
    return a.name < b.name;
  });
  return s;
}

const LayerSummary* ProfileSummary::layer(std::string_view name) const {
  for (const LayerSummary& l : layers)
    if (l.name == name) return &l;
  return nullptr;
}

std::vector<const CallSummary*> ProfileSummary::top_calls(std::string_view which,
                                                          std::size_t n) const {
  std::vector<const CallSummary*> out;
  for (const CallSummary& c : calls) {
    if (out.size() >= n) break;
    if (is_session(c) || (!which.empty() && c.layer != which)) continue;
    out.push_back(&c);
  }
  return out;
}

// ---------------------------------------------------------------- JSON forms

namespace {
json binding_json(const BindingSummary& b) {
  if (!b.present) return nullptr;
  return {{"request", or_null(b.request)}, {"ranks_applied", b.applied}, {"ranks_kept", b.kept},
          {"ranks_skipped", b.skipped}, {"ranks_failed", b.failed}, {"time_ms_max", b.time_ms_max},
          {"rank0", {{"action", or_null(b.action)}, {"launcher", or_null(b.launcher)},
                     {"policy", or_null(b.policy)}, {"threads", b.threads}, {"cpus", or_null(b.cpus)},
                     {"mem", or_null(b.mem)}, {"omp", or_null(b.omp)}, {"why", or_null(b.why)}}}};
}

}  // namespace

json to_json(const ProfileSummary& s) {
  json calls = json::array();
  for (const CallSummary& c : s.calls)
    calls.push_back({{"name", c.name},
                     {"layer", c.layer},
                     {"kind", c.kind},
                     {"count", stat_json(c.count)},
                     {"bytes", stat_json(c.bytes)},
                     {"time_s", stat_json(c.time_s)},
                     {"time_estimated", c.time_estimated},
                     {"pct_of_layer", c.pct_of_layer},
                     {"pct_of_wall", c.pct_of_wall},
                     {"fortran_calls", c.fortran_calls},
                     {"errors", c.errors},
                     {"size_hist", bins_json(c.size_hist)}});
  json io = json::array();
  for (const LayerSummary& l : s.layers) {
    if (l.name == "mpi") continue;
    io.push_back({{"layer", l.name},
                  {"calls", l.calls.sum},
                  {"bytes_read", l.bytes_read.sum},
                  {"bytes_written", l.bytes_written.sum},
                  {"time_s", l.time_s.sum}});
  }
  return {{"summary_version", kProfileSummaryVersion},
          {"source", s.source},
          {"profile_version", s.version},
          {"generator", or_null(s.generator)},
          {"created", or_null(s.created)},
          {"app", {{"name", or_null(s.app_name)}, {"exe", or_null(s.app_exe)}}},
          {"job",
           {{"id", or_null(s.job_id)},
            {"step", or_null(s.job_step)},
            {"launcher", or_null(s.launcher)}}},
          {"mode", or_null(s.mode)},
          {"mpi", s.mpi},
          {"ranks", s.ranks},
          {"nodes", s.nodes},
          {"wall_time_s", stat_json(s.wall_time_s)},
          {"mpi_time_s", stat_json(s.mpi_time_s)},
          {"io_time_s", stat_json(s.io_time_s)},
          {"mpi_pct", s.mpi_pct},
          {"io_pct", s.io_pct},
          {"mpi_init_s", s.mpi_init_s},
          {"mpi_pct_excl_init", s.mpi_pct_excl_init},
          {"mpi_bytes", s.mpi_bytes},
          {"disabled_modules", s.disabled_modules},
          {"calls", calls},
          {"message_sizes", bins_json(s.message_sizes)},
          {"io_layers", io},
          {"binding", binding_json(s.binding)}};
}

json compact_profile(const ProfileSummary& s) {
  json top = json::array();
  for (const CallSummary* c : s.top_calls("", 3))
    top.push_back({{"name", c->name},
                   {"time_s", round_to(c->time_s.sum, 1e6)},
                   {"pct", round_to(c->pct_of_wall, 100)},
                   {"count", to_i64(c->count.sum)}});
  json bytes = {{"mpi", s.mpi_bytes}};
  for (const LayerSummary& l : s.layers)
    if (l.name != "mpi" && (l.bytes_read.sum > 0 || l.bytes_written.sum > 0))
      bytes[l.name] = {{"read", to_i64(l.bytes_read.sum)},
                       {"written", to_i64(l.bytes_written.sum)}};
  json out = {{"app", or_null(s.app_name)},
          {"step", or_null(s.job_step)},
          {"ranks", s.ranks},
          {"nodes", s.nodes},
          {"wall_s", round_to(s.wall_time_s.max, 1e3)},
          {"mpi_pct", round_to(s.mpi_pct, 100)},
          {"io_pct", round_to(s.io_pct, 100)},
          {"top_calls", top},
          {"bytes", bytes}};
  if (s.binding.present)
    out["binding"] = {{"policy", or_null(s.binding.policy.empty() ? s.binding.request : s.binding.policy)},
                      {"applied", s.binding.applied},
                      {"kept", s.binding.kept}};
  return out;
}

// ---------------------------------------------------------------- files of a job

std::string profile_file_name(const std::string& job_id, const std::string& step) {
  return "paracloud-profile-" + job_id + "." + step + ".json";
}

std::optional<std::string> profile_step_of(const std::string& name, const std::string& job_id) {
  std::string prefix = "paracloud-profile-" + job_id + ".", suffix = ".json";
  if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  std::string step = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  // The runtime writes <path>.tmp.<pid>.<random> first; a step is a number or a word ("batch").
  for (char c : step)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+')) return std::nullopt;
  return step;
}

bool step_less(const std::string& a, const std::string& b) {
  auto numeric = [](const std::string& s) {
    return !s.empty() && s.size() < 10 && s.find_first_not_of("0123456789") == std::string::npos;
  };
  auto rank = [&](const std::string& s) { return numeric(s) ? 0 : s == "batch" ? 1 : 2; };
  if (rank(a) != rank(b)) return rank(a) < rank(b);
  if (rank(a) == 0) return std::stol(a) < std::stol(b);
  return a < b;
}

namespace {
// Lists the profile names of a job in an open directory (in step order, at most max_files).
std::vector<std::pair<std::string, std::string>> list_profiles(int dirfd, const std::string& job_id,
                                                               std::size_t max_files,
                                                               std::size_t* more) {
  std::vector<std::pair<std::string, std::string>> found;  // step, name
  int fd = dup(dirfd);
  DIR* d = fd >= 0 ? fdopendir(fd) : nullptr;
  if (!d) {
    if (fd >= 0) close(fd);
    return found;
  }
  while (struct dirent* e = readdir(d))
    if (auto step = profile_step_of(e->d_name, job_id)) found.emplace_back(*step, e->d_name);
  closedir(d);
  std::sort(found.begin(), found.end(),
            [](const auto& a, const auto& b) { return step_less(a.first, b.first); });
  if (more) *more = found.size() > max_files ? found.size() - max_files : 0;
  if (found.size() > max_files) found.resize(max_files);
  return found;
}
}  // namespace

std::vector<std::string> find_profile_files(const std::string& dir, const std::string& job_id) {
  int dirfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    throw Error(Errc::not_found, "cannot read directory " + dir + ": " + std::strerror(errno),
                "give the directory that holds the profiles with --dir");
  std::vector<std::string> out;
  for (const auto& [step, name] : list_profiles(dirfd, job_id, SIZE_MAX, nullptr))
    out.push_back(dir + (dir.empty() || dir.back() == '/' ? "" : "/") + name);
  close(dirfd);
  return out;
}

std::optional<std::string> read_owned_file(int dirfd, const std::string& name, uid_t owner,
                                           std::size_t max_bytes, std::string* why) {
  auto fail = [&](const std::string& w) -> std::optional<std::string> {
    if (why) *why = w;
    return std::nullopt;
  };
  struct stat st;
  // Look before opening: a device node or FIFO is never opened at all.
  if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return fail(std::string("cannot stat: ") + std::strerror(errno));
  if (S_ISLNK(st.st_mode)) return fail("is a symbolic link");
  if (!S_ISREG(st.st_mode)) return fail("is not a regular file");
  int fd = openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return fail(std::string("cannot open: ") + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  // Judge what was opened, not what was looked at (the name may have been replaced in between).
  if (fstat(fd, &st) != 0) return fail(std::string("cannot stat: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return fail("is not a regular file");
  if (st.st_uid != owner)
    return fail("not owned by the job's user (uid " + std::to_string(owner) + "; owner uid " +
                std::to_string(st.st_uid) + ")");
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes)
    return fail("larger than " + std::to_string(max_bytes) + " bytes (" +
                std::to_string(st.st_size) + ")");
  std::string body;
  body.resize(static_cast<std::size_t>(st.st_size) + 1);
  std::size_t got = 0;
  while (got < body.size()) {  // read one byte more than stat said: the file may grow meanwhile
    ssize_t n = read(fd, &body[got], body.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(std::string("cannot read: ") + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
    if (got > max_bytes) return fail("larger than " + std::to_string(max_bytes) + " bytes");
  }
  body.resize(got);
  return body;
}

json record_profile(const std::string& dir, std::uint32_t job_id, uid_t uid, std::string* why,
                    std::size_t max_files, std::size_t max_bytes, std::size_t max_total_bytes) {
  auto none = [&](const std::string& w) {
    if (why) *why = w;
    return json(nullptr);
  };
  try {
    if (dir.empty() || dir[0] != '/') return none("the job has no absolute working directory");
    int dirfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
    if (dirfd < 0) return none("cannot open " + dir + ": " + std::strerror(errno));
    struct Closer {
      int fd;
      ~Closer() { close(fd); }
    } closer{dirfd};
    std::string id = std::to_string(job_id);
    std::size_t more = 0;
    auto names = list_profiles(dirfd, id, max_files, &more);
    if (names.empty()) return none("no " + profile_file_name(id, "*") + " in " + dir);
    json steps = json::array(), skipped = json::array();
    std::size_t budget = max_total_bytes;  // bytes this job's profiles may still cost
    const std::string over_budget = "not read: the job's profiles exceed " +
                                    std::to_string(max_total_bytes) + " bytes in all";
    for (const auto& [step, name] : names) {
      std::string reason;
      std::optional<std::string> body;
      if (budget == 0) {
        reason = over_budget;
      } else {
        const std::size_t cap = std::min(max_bytes, budget);
        body = read_owned_file(dirfd, name, uid, cap, &reason);
        if (!body && cap < max_bytes && reason.compare(0, 12, "larger than ") == 0)
          reason = over_budget;
        if (body) budget -= std::min(budget, body->size());
      }
      if (body) {
        try {
          ProfileSummary s = parse_profile(*body, name);
          if (!s.job_id.empty() && s.job_id != id)
            throw Error(Errc::bad_input, "written for job " + s.job_id);
          json c = compact_profile(s);
          if (c["step"].is_null()) c["step"] = step;
          steps.push_back(std::move(c));
          continue;
        } catch (const Error& e) {
          reason = e.what();
          if (reason.compare(0, name.size() + 2, name + ": ") == 0)
            reason = reason.substr(name.size() + 2);
        }
      }
      skipped.push_back({{"file", name}, {"reason", reason}});
    }
    if (more)
      skipped.push_back({{"file", profile_file_name(id, "*")},
                         {"reason", std::to_string(more) + " more files not read"}});
    if (steps.empty())
      return none("no usable profile in " + dir + ": " + skipped[0]["file"].get<std::string>() +
                  ": " + skipped[0]["reason"].get<std::string>());
    if (why) why->clear();
    return {{"summary_version", kProfileSummaryVersion},
            {"dir", dir},
            {"steps", steps},
            {"skipped", skipped}};
  } catch (const std::exception&
               e) {  // allocation failure or a bug: the record goes out without a profile
    return none(std::string("internal error: ") + e.what());
  }
}

}  // namespace paracloud

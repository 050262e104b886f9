// Backend-independent pieces of the ledger: entry kind names, the (test-overridable) clock, and
// the open_ledger() factory with its mysql:// URL parser.
#include <atomic>
#include <cctype>
#include <ctime>

#include "config.h"  // HAVE_MARIADB
#include "common/error.hpp"
#include "ledger/ledger.hpp"

namespace paracloud {

const char* to_string(EntryKind k) {
  switch (k) {
    case EntryKind::deposit: return "deposit";
    case EntryKind::lien: return "lien";
    case EntryKind::release: return "release";
    case EntryKind::charge: return "charge";
    case EntryKind::refund: return "refund";
  }
  return "unknown";
}

namespace {
std::atomic<std::int64_t> fixed_clock{0};  // 0: the real clock
}  // namespace

std::int64_t ledger_now() {
  std::int64_t fixed = fixed_clock.load(std::memory_order_relaxed);
  return fixed != 0 ? fixed : static_cast<std::int64_t>(std::time(nullptr));
}

void set_ledger_clock_for_tests(std::int64_t fixed_unix_seconds) {
  fixed_clock.store(fixed_unix_seconds, std::memory_order_relaxed);
}

namespace {

const char* const kUrlForm = "mysql://[USER@]HOST[:PORT]/DB[?socket=PATH&passfile=PATH] (or mariadb://...)";

[[noreturn]] void bad_url(const std::string& url, const std::string& what, const std::string& hint = kUrlForm) {
  throw Error(Errc::config, "ledger URL '" + url + "': " + what, hint);
}

}  // namespace

std::string MariadbParams::display() const {
  std::string s = "mysql://" + (user.empty() ? std::string() : user + "@") + host;
  if (socket.empty()) s += ":" + std::to_string(port);
  s += "/" + database;
  return socket.empty() ? s : s + " (socket " + socket + ")";
}

bool is_ledger_url(const std::string& spec) {
  return spec.rfind("mysql://", 0) == 0 || spec.rfind("mariadb://", 0) == 0;
}

MariadbParams parse_ledger_url(const std::string& url) {
  if (!is_ledger_url(url)) bad_url(url, "not a mysql:// or mariadb:// URL");
  std::string rest = url.substr(url.find("://") + 3);
  std::string query;
  if (auto q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest.erase(q);
  }
  MariadbParams p;
  auto slash = rest.find('/');
  if (slash == std::string::npos || slash + 1 == rest.size()) bad_url(url, "no database name");
  p.database = rest.substr(slash + 1);
  for (char c : p.database)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'))
      bad_url(url, "database name '" + p.database + "' has a character other than letters, digits, '_' and '$'");
  if (p.database.size() > 64) bad_url(url, "database name longer than 64 characters");
  std::string authority = rest.substr(0, slash);
  if (auto at = authority.rfind('@'); at != std::string::npos) {
    p.user = authority.substr(0, at);
    authority.erase(0, at + 1);
    if (p.user.find(':') != std::string::npos)
      bad_url(url.substr(0, url.find("://") + 3) + "USER:***@...", "a password in LedgerPath",
              "LedgerPath is shown by `paracloud config dump` and in logs: put the password in a file "
              "(mode 0600, owned by SlurmUser) named by LedgerPassFile= or ?passfile=");
    if (p.user.empty()) bad_url(url, "empty user name before '@'");
  }
  if (auto colon = authority.rfind(':'); colon != std::string::npos) {
    std::string port = authority.substr(colon + 1);
    authority.erase(colon);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoul(port) == 0 || std::stoul(port) > 65535)
      bad_url(url, "port '" + port + "' is not a number in 1..65535");
    p.port = static_cast<unsigned>(std::stoul(port));
  }
  if (!authority.empty()) p.host = authority;
  std::string::size_type pos = 0;
  while (pos < query.size()) {
    auto amp = query.find('&', pos);
    std::string item = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    pos = amp == std::string::npos ? query.size() : amp + 1;
    auto eq = item.find('=');
    std::string key = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
    std::string* target = key == "socket" ? &p.socket : key == "passfile" ? &p.password_file : nullptr;
    if (!target) bad_url(url, "unknown parameter '" + key + "'", "parameters: socket=PATH, passfile=PATH");
    if (value.empty() || value[0] != '/') bad_url(url, key + "= needs an absolute path");
    *target = value;
  }
  if (!p.socket.empty() && p.host != "localhost")
    bad_url(url, "socket= is only used with host 'localhost' (got '" + p.host + "')");
  return p;
}

#ifndef HAVE_MARIADB
bool mariadb_ledger_built() { return false; }
std::unique_ptr<Ledger> open_mariadb_ledger(const MariadbParams& p, const LedgerOptions&) {
  throw Error(Errc::storage, "ledger " + p.display() + ": this paracloud was built without MariaDB/MySQL support",
              "install libmariadb-dev and rebuild (configure then reports 'ledger on MariaDB/MySQL: yes'), or "
              "set LedgerPath to a SQLite file");
}
#endif

std::unique_ptr<Ledger> open_ledger(const std::string& spec, const LedgerOptions& opts) {
  if (is_ledger_url(spec)) {
    MariadbParams p = parse_ledger_url(spec);
    if (p.password_file.empty()) p.password_file = opts.password_file;
    return open_mariadb_ledger(p, opts);
  }
  if (auto sep = spec.find("://"); sep != std::string::npos && spec[0] != '/')
    throw Error(Errc::config, "ledger '" + spec + "': unknown URL scheme '" + spec.substr(0, sep) + "'",
                std::string("use a SQLite file path or ") + kUrlForm);
  return open_sqlite_ledger(spec, opts);
}

}  // namespace paracloud

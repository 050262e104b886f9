// paracloud::Error: the one exception type of the core; its code doubles as the CLI's exit status.
#pragma once
#include <stdexcept>
#include <string>

namespace paracloud {

// Exit statuses of the `paracloud` CLI, one per kind of failure (documented in paracloud(1)).
enum class Errc : int {
  usage = 2,      // bad command line (unknown flag, missing argument)
  not_found = 3,  // unknown account, user, job, site, price rule, file
  refused = 4,    // a rule says no: insufficient funds, refund above the charge, duplicate key with other data
  bad_input = 5,  // malformed amount, time, option value, profile, tuning file
  config = 6,     // paracloud.conf cannot be read or is invalid
  storage = 7,    // the ledger database cannot be opened, is read-only, corrupt, or too new
  internal = 70,  // a bug: please report
};

class Error : public std::runtime_error {
 public:
  Error(Errc code, const std::string& what, std::string hint = {})
      : std::runtime_error(what), code_(code), hint_(std::move(hint)) {}
  Errc code() const noexcept { return code_; }
  // What the user can do about it ("deposit funds or shorten --time"); may be empty.
  const std::string& hint() const noexcept { return hint_; }

 private:
  Errc code_;
  std::string hint_;
};

}  // namespace paracloud

// Backend-independent pieces of the ledger: entry kind names and the (test-overridable) clock.
#include <atomic>
#include <ctime>

#include "ledger.hpp"

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

}  // namespace paracloud

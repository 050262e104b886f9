// bench_submit_stalled: latency of job_submit's decision (account, membership, price, funds) with the MariaDB server running and SIGSTOPped, read from the ledger directly (before issue 16 item 4) and from the in-memory snapshot (after).
//
// Run by `make -C bench bench-submit-stalled` (bench_submit_stalled.sh starts a private mariadbd):
//   bench_submit_stalled --ledger URL --server-pid PID [--calls N] [--users N]
// It fills the database (one account per user pair, funds), then times check_submission() calls
// in these phases and prints p50/p99/max side by side:
//   direct   running : the pre-fix path, the ledger itself (a remembered membership, then the balance query)
//   snapshot running : LedgerMirror::current() + check_submission() on the copy (the plugin's path now)
//   snapshot stopped : the same while mariadbd is SIGSTOPped (the mirror's own refresh hangs meanwhile)
//   fail-closed      : the same once the copy is older than LedgerSnapshotMaxAge (rejected, "retry")
//   direct   stopped : one pre-fix call while stopped, given 3 s (it waits for the client's timeouts)
// The server is always resumed (SIGCONT) before the program ends, also on SIGINT/SIGTERM.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "common/error.hpp"
#include "billing/job_request.hpp"
#include "ledger/ledger.hpp"
#include "ledger/ledger_snapshot.hpp"

using namespace paracloud;

namespace {

pid_t g_server = 0;
void resume_server() {
  if (g_server > 0) kill(g_server, SIGCONT);
}
void on_signal(int sig) {
  resume_server();
  signal(sig, SIG_DFL);
  raise(sig);
}

struct Stats {
  std::string name, server;
  std::vector<std::int64_t> ns;
  std::size_t rejected = 0;
};

double pct_us(std::vector<std::int64_t> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return static_cast<double>(v[i]) / 1000.0;
}

SubmitCheck check_of(int user) {
  SubmitCheck c;
  c.user = "user" + std::to_string(user);
  c.account = "acct" + std::to_string(user / 2);
  c.resources.site = "b";
  c.resources.partition = "batch";
  c.resources.cpus = 4;
  c.resources.nodes = 1;
  c.resources.seconds = 3600;
  c.time_source = "--time";
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  int calls = 20000, users = 200;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--ledger") url = argv[i + 1];
    else if (a == "--server-pid") g_server = static_cast<pid_t>(std::atoi(argv[i + 1]));
    else if (a == "--calls") calls = std::atoi(argv[i + 1]);
    else if (a == "--users") users = std::atoi(argv[i + 1]);
  }
  if (url.empty() || g_server <= 0) {
    std::fprintf(stderr, "usage: %s --ledger mysql://... --server-pid PID [--calls N] [--users N]\n", argv[0]);
    return 2;
  }
  std::atexit(resume_server);
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);

  Config cfg = parse_config("ClusterName=b\nSiteName=b\nPriceName=b:* cpu=1\n", "bench.conf");
  try {
    std::unique_ptr<Ledger> admin = open_ledger(url);
    for (int u = 0; u < users; u += 2) {
      std::string acct = "acct" + std::to_string(u / 2);
      admin->add_account({acct, "", 0, "", 0});
      admin->deposit(acct, 100000000, "dep-" + acct, "bench", "");
      admin->add_user("user" + std::to_string(u), acct, true);
      if (u + 1 < users) admin->add_user("user" + std::to_string(u + 1), acct, true);
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "bench: filling the ledger: %s\n", e.what());
    return 1;
  }
  LedgerOptions ro;
  ro.read_only = true;
  ro.create = false;
  std::unique_ptr<Ledger> live = open_ledger(url, ro);
  MirrorOptions mo;  // the plugin's defaults: refresh 1 s, max age 10 s
  LedgerMirror mirror([&](const std::string& src) { return open_ledger(src, ro); }, url, mo);
  mirror.wait_first(30LL * 1000000000);

  std::vector<Stats> rows;
  auto snapshot_phase = [&](const char* server, std::int64_t age_shift_ns) {
    Stats s{"snapshot", server, {}, 0};
    if (age_shift_ns) s.name = "fail-closed (copy too old)";
    s.ns.reserve(static_cast<std::size_t>(calls));
    for (int i = 0; i < calls; ++i) {
      SubmitCheck c = check_of(i % users);
      std::int64_t t0 = monotonic_ns();
      std::string why;
      std::shared_ptr<SnapshotLedger> snap = mirror.current(t0 + age_shift_ns, &why);
      bool ok = false;
      if (snap) {
        ok = check_submission(cfg, *snap, c).verdict == Verdict::ok;
      } else {
        std::string msg = "paracloud: the ledger is unavailable, retry in a minute (" + why + ")";
        ok = msg.empty();
      }
      s.ns.push_back(monotonic_ns() - t0);
      if (!ok) ++s.rejected;
    }
    rows.push_back(std::move(s));
  };

  // direct, running (the pre-fix path: MembershipCache, then a balance query per call)
  {
    Stats s{"direct ledger (before)", "running", {}, 0};
    MembershipCache cache;
    int n = std::min(calls, 2000);
    for (int i = 0; i < n; ++i) {
      SubmitCheck c = check_of(i % users);
      std::int64_t t0 = monotonic_ns();
      if (check_submission(cfg, *live, c, &cache, t0).verdict != Verdict::ok) ++s.rejected;
      s.ns.push_back(monotonic_ns() - t0);
    }
    rows.push_back(std::move(s));
  }
  snapshot_phase("running", 0);

  if (kill(g_server, SIGSTOP) != 0) {
    std::perror("bench: kill(SIGSTOP)");
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the mirror's next refresh now hangs
  snapshot_phase("stopped", 0);
  snapshot_phase("stopped", mo.max_age_ns + 1);

  // direct, stopped: one call, given 3 s
  std::atomic<bool> done{false};
  std::int64_t direct_ns = 0;
  std::thread direct([&] {
    MembershipCache cache;
    std::int64_t t0 = monotonic_ns();
    try {
      check_submission(cfg, *live, check_of(1), &cache, t0);
    } catch (const std::exception&) {
    }
    direct_ns = monotonic_ns() - t0;
    done = true;
  });
  std::int64_t waited0 = monotonic_ns();
  while (!done && monotonic_ns() - waited0 < 3LL * 1000000000) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  bool direct_blocked = !done;
  std::int64_t waited = monotonic_ns() - waited0;
  resume_server();
  direct.join();

  std::printf("\njob_submit decision latency (check_submission on one account, 4 cpu x 1 h), %d users\n", users);
  std::printf("%-28s %-8s %7s %9s %9s %10s %8s\n", "path", "server", "calls", "p50_us", "p99_us", "max_us", "rejected");
  for (const Stats& s : rows)
    std::printf("%-28s %-8s %7zu %9.1f %9.1f %10.1f %8zu\n", s.name.c_str(), s.server.c_str(), s.ns.size(),
                pct_us(s.ns, 0.50), pct_us(s.ns, 0.99), pct_us(s.ns, 1.0), s.rejected);
  if (direct_blocked)
    std::printf("%-28s %-8s %7d   blocked > %.1f s (still waiting for the server when it was resumed; ended %.1f s "
                "after it started)\n",
                "direct ledger (before)", "stopped", 1, static_cast<double>(waited) / 1e9,
                static_cast<double>(direct_ns) / 1e9);
  else
    std::printf("%-28s %-8s %7d %9.1f (one call)\n", "direct ledger (before)", "stopped", 1,
                static_cast<double>(direct_ns) / 1000.0);
  double p99_stopped = pct_us(rows[2].ns, 0.99), p99_closed = pct_us(rows[3].ns, 0.99);
  std::printf("ratio direct/snapshot, server running: p50 %.0fx, p99 %.0fx\n", pct_us(rows[0].ns, 0.50) / pct_us(rows[1].ns, 0.50),
              pct_us(rows[0].ns, 0.99) / pct_us(rows[1].ns, 0.99));
  std::printf("budget p99 <= 200 us with the server stopped: snapshot %.1f us, fail-closed %.1f us: %s\n", p99_stopped,
              p99_closed, (p99_stopped <= 200 && p99_closed <= 200) ? "met" : "MISSED");
  std::printf("mirror: %llu copies, %llu failed\n", static_cast<unsigned long long>(mirror.copies()),
              static_cast<unsigned long long>(mirror.failures()));
  return 0;
}

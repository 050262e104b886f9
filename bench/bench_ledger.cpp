// Ledger benchmark: durable charges/s (1 writer, 8 writer processes) and balance() read latency.
//
// SQLite (default, a scratch file under --dir): every charge is its own BEGIN IMMEDIATE transaction
// in WAL mode with synchronous=FULL, i.e. one fsync of the WAL per charge. --ledger SPEC measures
// the same on any LedgerPath, e.g. a MariaDB database (mysql://USER@HOST:PORT/DB?passfile=F; the
// accounts get a per-run suffix, so the database may be reused). balance() is measured on a warm
// handle (as job_submit holds one), alone and while another process writes.
#include <fcntl.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "ledger/ledger.hpp"

using namespace paracloud;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size())))];
}

void charges(Ledger& l, const std::string& account, const std::string& prefix, int n, std::vector<double>* lat_us) {
  for (int i = 0; i < n; ++i) {
    auto t = Clock::now();
    l.charge(account, 1, prefix + std::to_string(i), "", "bench:" + std::to_string(i), "bench", "");
    if (lat_us) lat_us->push_back(seconds_since(t) * 1e6);
  }
}

// The cost the ledger cannot beat: one small write + fdatasync on the same file system.
double fsync_us(const std::string& dir, int n) {
  std::string p = dir + "/fsync.probe";
  int fd = open(p.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  if (fd < 0) return -1;
  char buf[4096];
  std::memset(buf, 'x', sizeof buf);
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    if (pwrite(fd, buf, sizeof buf, static_cast<off_t>(i % 16) * 4096) != static_cast<ssize_t>(sizeof buf) ||
        fdatasync(fd) != 0)
      break;
  }
  double us = seconds_since(t0) * 1e6 / n;
  close(fd);
  unlink(p.c_str());
  return us;
}

}  // namespace

int main(int argc, char** argv) {
  std::string base = ".", spec;
  int n_single = 3000, n_per_writer = 500, writers = 8, n_reads = 200000;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) base = argv[++i];
    else if (a == "--ledger" && i + 1 < argc) spec = argv[++i];
    else if (a == "--charges" && i + 1 < argc) n_single = std::atoi(argv[++i]);
    else if (a == "--reads" && i + 1 < argc) n_reads = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: bench_ledger [--dir DIR | --ledger SPEC] [--charges N] [--reads N]\n");
      return 2;
    }
  }
  std::string tmpl = base + "/bench_ledger.XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) {
    std::perror(("mkdtemp in " + base).c_str());
    return 1;
  }
  const std::string dir = buf.data();
  const bool sqlite = spec.empty();
  const std::string path = sqlite ? dir + "/ledger.db" : spec;
  // Per-run account names: a shared database may hold earlier runs.
  const std::string tag = sqlite ? "" : "-" + std::to_string(getpid()) + "-" + std::to_string(time(nullptr));
  const std::string single = "single" + tag, multi = "multi" + tag, reads = "reads" + tag;
  struct statfs sf;
  unsigned long fstype = statfs(dir.c_str(), &sf) == 0 ? static_cast<unsigned long>(sf.f_type) : 0;

  try {
    auto l = open_ledger(path);
    for (const std::string& name : {single, multi, reads}) {
      Account a;
      a.name = name;
      l->add_account(a);
      l->deposit(name, 1000000000, "seed-" + name, "bench", "");
    }
    // A realistic read target: 200 active holds on the account job_submit reads.
    for (int i = 0; i < 200; ++i) l->place_lien(reads, 100, "hold-" + std::to_string(i) + tag, 0, "", "bench");

    double fsync_cost = fsync_us(dir, 500);

    // 1 writer.
    std::vector<double> lat;
    lat.reserve(static_cast<std::size_t>(n_single));
    auto t0 = Clock::now();
    charges(*l, single, "s" + tag + "-", n_single, &lat);
    double single_rate = n_single / seconds_since(t0);

    // 8 writer processes, each with its own handle, started together.
    int go[2];
    if (pipe(go) != 0) throw std::runtime_error("pipe");
    std::vector<pid_t> pids;
    for (int w = 0; w < writers; ++w) {
      pid_t pid = fork();
      if (pid == 0) {
        close(go[1]);
        int rc = 0;
        try {
          auto lw = open_ledger(path);
          char c;
          if (read(go[0], &c, 1) < 0) _exit(3);
          charges(*lw, multi, "m" + tag + "-" + std::to_string(w) + "-", n_per_writer, nullptr);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "writer %d: %s\n", w, e.what());
          rc = 1;
        }
        _exit(rc);
      }
      pids.push_back(pid);
    }
    close(go[0]);
    usleep(200000);  // let every writer open its handle
    t0 = Clock::now();
    close(go[1]);  // EOF releases all readers at once
    int failed = 0;
    for (pid_t p : pids) {
      int st = 0;
      waitpid(p, &st, 0);
      if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) ++failed;
    }
    double multi_rate = writers * n_per_writer / seconds_since(t0);
    if (l->balance(multi).charges != writers * n_per_writer) ++failed;

    // balance() on a warm handle.
    LedgerOptions ro;
    ro.read_only = true;
    auto reader = open_ledger(path, ro);
    auto read_latencies = [&](int n) {
      std::vector<double> v;
      v.reserve(static_cast<std::size_t>(n));
      for (int i = 0; i < 1000; ++i) reader->balance(reads);  // warm up
      for (int i = 0; i < n; ++i) {
        auto t = Clock::now();
        Balance b = reader->balance(reads);
        v.push_back(seconds_since(t) * 1e6);
        if (b.held != 20000) throw std::runtime_error("wrong held amount");
      }
      return v;
    };
    std::vector<double> idle = read_latencies(n_reads);
    // ... and while another process charges continuously.
    pid_t bg = fork();
    if (bg == 0) {
      try {
        auto lw = open_ledger(path);
        for (int i = 0;; ++i) lw->charge(single, 1, "bg" + tag + "-" + std::to_string(i), "", "", "bench", "");
      } catch (...) {
      }
      _exit(0);
    }
    usleep(100000);
    std::vector<double> busy = read_latencies(n_reads / 4);
    kill(bg, SIGKILL);
    waitpid(bg, nullptr, 0);

    if (sqlite)
      std::printf("paracloud ledger benchmark: %s (filesystem magic 0x%lx), WAL, synchronous=FULL\n", dir.c_str(),
                  fstype);
    else
      std::printf("paracloud ledger benchmark: %s\n", parse_ledger_url(spec).display().c_str());
    std::printf("%-52s %12s %12s\n", "metric", "measured", "target");
    std::printf("%-52s %12.0f %12s\n", "raw 4 KiB write+fdatasync on this disk, us", fsync_cost, "");
    std::printf("%-52s %12.0f %12s\n", "durable charges/s, 1 writer", single_rate, ">= 2000");
    std::printf("%-52s %12.0f %12s\n", "  charge latency p50, us", pct(lat, 50), "");
    std::printf("%-52s %12.0f %12s\n", "  charge latency p99, us", pct(lat, 99), "");
    std::printf("%-52s %12.0f %12s\n", "durable charges/s, 8 writer processes (total)", multi_rate, "");
    std::printf("%-52s %12.2f %12s\n", "balance() p50, us (warm read-only handle)", pct(idle, 50), "");
    std::printf("%-52s %12.2f %12s\n", "balance() p99, us", pct(idle, 99), "<= 50");
    std::printf("%-52s %12.2f %12s\n", "balance() p99, us, while another process charges", pct(busy, 99), "");
    std::printf("%-52s %12.2f %12s\n", "balance() max, us, while another process charges",
                pct(busy, 100), "");
    std::printf("(%d single-writer charges, %d x %d multi-writer charges, %d + %d balance reads, 200 active holds)\n",
                n_single, writers, n_per_writer, n_reads, n_reads / 4);
    bool ok = failed == 0;
    if (!ok) std::printf("ERROR: %d writer(s) failed or charges were lost\n", failed);
    if (single_rate < 2000 && sqlite)
      std::printf("NOTE: below 2000 charges/s: each charge waits for one fsync (%.0f us here); that is the "
                  "price of durability with synchronous=FULL\n", fsync_cost);
    if (pct(idle, 99) > 50) std::printf("NOTE: balance() p99 above 50 us\n");
    reader.reset();
    l.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return ok ? 0 : 1;
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_ledger: %s\n", e.what());
    return 1;
  }
}

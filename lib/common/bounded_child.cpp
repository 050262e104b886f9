// run_bounded(): fork, pipe, poll with a deadline, SIGKILL, reap without waiting.
#include "common/bounded_child.hpp"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <vector>

namespace paracloud {

namespace {

using Clock = std::chrono::steady_clock;

std::mutex g_mu;
std::vector<pid_t> g_unreaped;  // killed children not reaped yet

bool reap(pid_t pid, int* status) {
  int st = 0;
  pid_t r;
  do r = waitpid(pid, &st, WNOHANG);
  while (r < 0 && errno == EINTR);
  if (r == pid && status) *status = st;
  return r == pid || (r < 0 && errno == ECHILD);  // ECHILD: someone else reaped it
}

void reap_leftovers() {
  std::lock_guard<std::mutex> lock(g_mu);
  g_unreaped.erase(std::remove_if(g_unreaped.begin(), g_unreaped.end(),
                                  [](pid_t p) { return reap(p, nullptr); }),
                   g_unreaped.end());
}

void close_from(int low) {
  if (syscall(SYS_close_range, low, ~0U, 0) == 0) return;
  const long max = sysconf(_SC_OPEN_MAX);
  for (long fd = low; fd < (max > 0 ? max : 65536); ++fd) close(static_cast<int>(fd));
}

// The child's own exit statuses (fn's exceptions, a failed set-up), as BoundedChild's *why says them.
enum ChildExit { kParentGone = 120, kNoPipe = 121, kNoUser = 122, kThrew = 123, kNoWrite = 124 };

// In the child: only system calls until `fn` runs; never returns.
[[noreturn]] void child_main(const std::function<std::string()>& fn, const BoundedChild& opt,
                             int out, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(kParentGone);  // the parent thread already ended
  if (opt.name) prctl(PR_SET_NAME, opt.name);
  if (dup2(out, 3) < 0) _exit(kNoPipe);
  close_from(4);
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) {
    dup2(null, 0), dup2(null, 1), dup2(null, 2);
    if (null > 3) close(null);
  }
  sigset_t all;
  sigemptyset(&all);
  sigprocmask(SIG_SETMASK, &all, nullptr);
  signal(SIGPIPE, SIG_DFL);
  const rlim_t cpu = static_cast<rlim_t>(opt.timeout.count() / 1000 + 1);
  struct rlimit rl = {cpu, cpu};
  setrlimit(RLIMIT_CPU, &rl);
  if (opt.as_user &&
      (setgroups(0, nullptr) != 0 || setgid(opt.gid) != 0 || setuid(opt.uid) != 0))
    _exit(kNoUser);
  std::string text;
  try {
    text = fn();
  } catch (...) {
    _exit(kThrew);
  }
  for (std::size_t done = 0; done < text.size();) {
    ssize_t n = write(3, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) _exit(kNoWrite);
    done += static_cast<std::size_t>(n);
  }
  _exit(0);
}

std::string seconds_text(std::chrono::milliseconds ms) {
  if (ms.count() % 1000 == 0) return std::to_string(ms.count() / 1000) + " s";
  return std::to_string(ms.count()) + " ms";
}

}  // namespace

std::size_t bounded_children_unreaped() {
  reap_leftovers();
  std::lock_guard<std::mutex> lock(g_mu);
  return g_unreaped.size();
}

std::optional<std::string> run_bounded(const std::function<std::string()>& fn,
                                       const BoundedChild& opt, std::string* why) {
  auto fail = [&](const std::string& w) -> std::optional<std::string> {
    if (why) *why = w;
    return std::nullopt;
  };
  reap_leftovers();
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return fail(std::string("pipe failed: ") + std::strerror(errno));
  const pid_t parent = getpid();
  const Clock::time_point deadline = Clock::now() + opt.timeout;
  const pid_t pid = fork();
  if (pid < 0) {
    const int e = errno;
    close(p[0]), close(p[1]);
    return fail(std::string("fork failed: ") + std::strerror(e));
  }
  if (pid == 0) {
    close(p[0]);
    child_main(fn, opt, p[1], parent);
  }
  close(p[1]);
  std::string out;
  bool timed_out = false, too_long = false;
  char buf[65536];
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    struct pollfd pfd = {p[0], POLLIN, 0};
    int r = poll(&pfd, 1, static_cast<int>(std::min<long long>(left, 1000)));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    ssize_t n = read(p[0], buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;  // EOF: the child is exiting
    if (out.size() + static_cast<std::size_t>(n) > opt.max_output) {
      too_long = true;
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(p[0]);
  int status = 0;
  bool reaped = false;
  if (!timed_out && !too_long) {
    // After EOF the child is in _exit; wait for it only until the deadline.
    while (!(reaped = reap(pid, &status)) && Clock::now() < deadline) {
      struct timespec ts = {0, 2 * 1000 * 1000};
      nanosleep(&ts, nullptr);
    }
    if (!reaped) timed_out = true;
  }
  if (!reaped) {
    kill(pid, SIGKILL);
    if (!reap(pid, &status)) {
      std::lock_guard<std::mutex> lock(g_mu);
      g_unreaped.push_back(pid);
    }
  }
  if (timed_out) return fail("timed out after " + seconds_text(opt.timeout));
  if (too_long) return fail("returned more than " + std::to_string(opt.max_output) + " bytes");
  if (WIFSIGNALED(status)) return fail("killed by signal " + std::to_string(WTERMSIG(status)));
  switch (WIFEXITED(status) ? WEXITSTATUS(status) : -1) {
    case 0: break;
    case kParentGone: return fail("its parent thread had ended");
    case kNoPipe: return fail("cannot set up its pipe");
    case kNoUser:
      return fail("cannot become uid " + std::to_string(opt.uid) + " gid " + std::to_string(opt.gid));
    case kThrew: return fail("the function threw an exception");
    case kNoWrite: return fail("cannot write its answer");
    default: return fail("exited with status " + std::to_string(WEXITSTATUS(status)));
  }
  if (why) why->clear();
  return out;
}

}  // namespace paracloud

// Unit tests of run_bounded() (lib/common/bounded_child.hpp): output, a child blocked on a FIFO open is
// killed at the deadline and reaped, inherited descriptors closed, exceptions, output cap, as_user.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "common/bounded_child.hpp"

using namespace paracloud;
using namespace std::chrono_literals;

namespace {
BoundedChild opts(std::chrono::milliseconds t = 10s) {
  BoundedChild o;
  o.timeout = t;
  o.name = "pc-test-child";
  return o;
}
// Waits (bounded) until every killed child has been reaped.
std::size_t unreaped_after_wait() {
  for (int i = 0; i < 200 && bounded_children_unreaped() > 0; ++i) usleep(10000);
  return bounded_children_unreaped();
}
}  // namespace

Test(bounded_child, returns_what_the_child_computed) {
  const pid_t me = getpid();
  std::string why = "x";
  auto out = run_bounded([me] { return std::to_string(getpid() != me) + ":" + std::string(100000, 'a'); },
                         opts(), &why);
  cr_assert(out.has_value(), "%s", why.c_str());
  cr_assert_eq(*out, "1:" + std::string(100000, 'a'));
  cr_assert(why.empty());
}

Test(bounded_child, a_child_blocked_on_a_fifo_is_killed_and_reaped) {
  char dir[] = "/tmp/pc-bounded.XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  const std::string fifo = std::string(dir) + "/fifo";
  cr_assert_eq(mkfifo(fifo.c_str(), 0600), 0);
  std::string why;
  // open() of a FIFO without a writer blocks, as a lookup on a hung NFS or FUSE mount does.
  auto out = run_bounded([&] {
                           int fd = open(fifo.c_str(), O_RDONLY);
                           return std::string(fd >= 0 ? "opened" : "failed");
                         },
                         opts(300ms), &why);
  cr_assert_not(out.has_value());
  cr_assert_eq(why, "timed out after 300 ms");
  cr_assert_eq(unreaped_after_wait(), 0u, "a killed child was never reaped");
  unlink(fifo.c_str());
  rmdir(dir);
}

Test(bounded_child, the_child_has_none_of_the_parents_descriptors) {
  int fd = open("/dev/null", O_RDONLY);  // not close-on-exec, and the child does not exec
  cr_assert_geq(fd, 0);
  int high = fcntl(fd, F_DUPFD, 100);
  cr_assert_geq(high, 100);
  std::string why;
  auto out = run_bounded([&] { return std::to_string(fcntl(fd, F_GETFD) < 0) + std::to_string(fcntl(high, F_GETFD) < 0); },
                         opts(), &why);
  cr_assert(out.has_value(), "%s", why.c_str());
  cr_assert_eq(*out, "11", "inherited descriptors are still open in the child: %s", out->c_str());
  close(fd);
  close(high);
}

Test(bounded_child, an_exception_or_too_much_output_is_a_failure) {
  std::string why;
  cr_assert_not(run_bounded([]() -> std::string { throw std::runtime_error("bad"); }, opts(), &why).has_value());
  cr_assert_eq(why, "the function threw an exception");
  BoundedChild small = opts();
  small.max_output = 1000;
  cr_assert_not(run_bounded([] { return std::string(5000, 'x'); }, small, &why).has_value());
  cr_assert_eq(why, "returned more than 1000 bytes");
  cr_assert_eq(unreaped_after_wait(), 0u);
}

Test(bounded_child, as_user_runs_the_function_as_that_user) {
  if (geteuid() != 0) {
    cr_skip_test("needs root to change user");
    return;
  }
  BoundedChild o = opts();
  o.as_user = true;
  o.uid = 65534;
  o.gid = 65534;
  std::string why;
  auto out = run_bounded([] { return std::to_string(getuid()) + ":" + std::to_string(geteuid()) + ":" + std::to_string(getgid()); },
                         o, &why);
  cr_assert(out.has_value(), "%s", why.c_str());
  cr_assert_eq(*out, "65534:65534:65534");
}

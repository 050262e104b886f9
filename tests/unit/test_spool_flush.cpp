// Unit test of Spool::append(..., durable = false) and Spool::flush() (issue 16 item 4): jobcomp's
// callback appends under slurmctld's job write lock without an fdatasync, its worker flushes. The
// test binary defines fdatasync() itself (the core library is linked statically into it), counts
// the calls and forwards them to libc's.
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "billing/spool.hpp"

static int g_fdatasyncs = 0;
extern "C" int fdatasync(int fd) {
  ++g_fdatasyncs;
  static auto real = reinterpret_cast<int (*)(int)>(dlsym(RTLD_NEXT, "fdatasync"));
  return real ? real(fd) : 0;
}

Test(spool_flush, a_non_durable_append_syncs_nothing_until_flush) {
  char tmpl[] = "/tmp/test_spool_flush.XXXXXX";
  std::string dir = mkdtemp(tmpl);
  {
    paracloud::Spool sp(dir, "jobcomp");
    std::string err;
    int before = g_fdatasyncs;
    cr_assert(sp.append("{\"job_id\":1}", &err, /*durable=*/false), "%s", err.c_str());
    cr_assert(sp.append("{\"job_id\":2}", &err, false), "%s", err.c_str());
    cr_assert_eq(g_fdatasyncs - before, 0, "the callback's appends called fdatasync %d times", g_fdatasyncs - before);
    cr_assert_eq(sp.pending(sp.done_offset(), 10).size(), 2u, "both entries are readable before the flush");
    cr_assert(sp.flush(&err), "%s", err.c_str());
    cr_assert_eq(g_fdatasyncs - before, 1, "flush() is one fdatasync");
    before = g_fdatasyncs;
    cr_assert(sp.append("{\"job_id\":3}", &err), "%s", err.c_str());
    cr_assert_eq(g_fdatasyncs - before, 1, "a default append is still durable");
  }
  (void)!std::system(("rm -rf '" + dir + "'").c_str());
}

// Unit tests of slurm_time.hpp: every form of sbatch --begin/--deadline at a fixed instant (UTC), the
// errors, and the same texts against libslurm's own slurm_parse_time (dlopen'ed; SKIP without it).
#include <criterion/criterion.h>
#include <dlfcn.h>

#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/slurm_time.hpp"

using namespace paracloud;

static void utc() {
  setenv("TZ", "UTC", 1);
  tzset();
}

// 2026-12-07 10:20:30 UTC, a Monday.
static const std::int64_t kNow = 1796638830;
static std::int64_t at(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  struct tm t = {};
  t.tm_year = y - 1900, t.tm_mon = mo - 1, t.tm_mday = d, t.tm_hour = h, t.tm_min = mi, t.tm_sec = s;
  return static_cast<std::int64_t>(timegm(&t));
}

TestSuite(slurm_time, .init = utc);

Test(slurm_time, the_fixed_instant_is_what_the_tests_assume) {
  cr_assert_eq(kNow, at(2026, 12, 7, 10, 20, 30));
}

Test(slurm_time, now_and_offsets_count_seconds_unless_a_unit_is_given) {
  cr_assert_eq(parse_slurm_time("now", kNow), kNow);
  cr_assert_eq(parse_slurm_time("now+15", kNow), kNow + 15);  // seconds, as sbatch --deadline
  cr_assert_eq(parse_slurm_time("now+15minutes", kNow), kNow + 900);
  cr_assert_eq(parse_slurm_time("now+1minute", kNow), kNow + 60);
  cr_assert_eq(parse_slurm_time("NOW+2Hours", kNow), kNow + 7200);
  cr_assert_eq(parse_slurm_time("now + 1 hour", kNow), kNow + 3600);
  cr_assert_eq(parse_slurm_time("now-2days", kNow, true), kNow - 2 * 86400);
  cr_assert_eq(parse_slurm_time("now+1week", kNow), kNow + 7 * 86400);
  cr_assert_eq(parse_slurm_time("now+30seconds", kNow), kNow + 30);
}

Test(slurm_time, a_time_of_day_is_the_next_one) {
  cr_assert_eq(parse_slurm_time("16:30", kNow), at(2026, 12, 7, 16, 30));
  cr_assert_eq(parse_slurm_time("16:30:15", kNow), at(2026, 12, 7, 16, 30, 15));
  cr_assert_eq(parse_slurm_time("9:05", kNow), at(2026, 12, 8, 9, 5));  // passed today: tomorrow
  cr_assert_eq(parse_slurm_time("10:20", kNow), at(2026, 12, 8, 10, 20));  // this minute: tomorrow
  cr_assert_eq(parse_slurm_time("10:21", kNow), at(2026, 12, 7, 10, 21));
  cr_assert_eq(parse_slurm_time("9:05", kNow, true), at(2026, 12, 7, 9, 5));  // looking back: today
  cr_assert_eq(parse_slurm_time("4:00 PM", kNow), at(2026, 12, 7, 16));
  cr_assert_eq(parse_slurm_time("4:00pm", kNow), at(2026, 12, 7, 16));
  cr_assert_eq(parse_slurm_time("12:00am", kNow), at(2026, 12, 8, 0));
  cr_assert_eq(parse_slurm_time("12:30pm", kNow), at(2026, 12, 7, 12, 30));
}

Test(slurm_time, words) {
  cr_assert_eq(parse_slurm_time("today", kNow), at(2026, 12, 7));
  cr_assert_eq(parse_slurm_time("tomorrow", kNow), at(2026, 12, 8));
  cr_assert_eq(parse_slurm_time("midnight", kNow), at(2026, 12, 8));
  cr_assert_eq(parse_slurm_time("noon", kNow), at(2026, 12, 7, 12));
  cr_assert_eq(parse_slurm_time("fika", kNow), at(2026, 12, 7, 15));
  cr_assert_eq(parse_slurm_time("teatime", kNow), at(2026, 12, 7, 16));
  cr_assert_eq(parse_slurm_time("noon tomorrow", kNow), at(2026, 12, 8, 12));
  cr_assert_eq(parse_slurm_time("tomorrow 08:00", kNow), at(2026, 12, 8, 8));
}

Test(slurm_time, dates) {
  cr_assert_eq(parse_slurm_time("2026-12-24", kNow), at(2026, 12, 24));
  cr_assert_eq(parse_slurm_time("2026-12-24T08:00", kNow), at(2026, 12, 24, 8));
  cr_assert_eq(parse_slurm_time("2026-12-24T08:00:30", kNow), at(2026, 12, 24, 8, 0, 30));
  cr_assert_eq(parse_slurm_time("12/24", kNow), at(2026, 12, 24));
  cr_assert_eq(parse_slurm_time("1224", kNow), at(2026, 12, 24));
  cr_assert_eq(parse_slurm_time("12.24", kNow), at(2026, 12, 24));
  cr_assert_eq(parse_slurm_time("12/24/27", kNow), at(2027, 12, 24));
  cr_assert_eq(parse_slurm_time("122427", kNow), at(2027, 12, 24));
  cr_assert_eq(parse_slurm_time("12/24-08:15", kNow), at(2026, 12, 24, 8, 15));
  cr_assert_eq(parse_slurm_time("11/30", kNow), at(2027, 11, 30));        // passed: next year
  cr_assert_eq(parse_slurm_time("11/30", kNow, true), at(2026, 11, 30));  // sacct -S: this year
  cr_assert_eq(parse_slurm_time("12/30", kNow, true), at(2026, 12, 30));  // Slurm looks back by month only
  cr_assert_eq(parse_slurm_time("01/15", kNow, true), at(2026, 1, 15));
  cr_assert_eq(parse_slurm_time("uts1800000000", kNow), 1800000000);
}

static void refused(const char* text) {
  try {
    std::int64_t v = parse_slurm_time(text, kNow);
    cr_assert_fail("'%s' accepted as %lld", text, static_cast<long long>(v));
  } catch (const Error& e) {
    cr_assert_eq(e.code(), Errc::bad_input, "'%s'", text);
    cr_assert(std::string(e.what()).find(std::string("'") + text + "'") != std::string::npos,
              "the error names the text: %s", e.what());
    cr_assert(e.hint().find("now+15minutes") != std::string::npos, "the hint shows the forms: %s",
              e.hint().c_str());
  }
}

Test(slurm_time, what_slurm_refuses_is_refused_with_the_forms) {
  for (const char* t : {"", "   ", "now+", "now+15min", "now+15 parsecs", "now tomorrow", "now+1hour3", "25:00",
                        "10:61", "10:5", "13/01", "00/10", "12/32", "yesterday", "soon", "16:30 XM", "uts12",
                        "utsabc", "13:00pm", "2026-13-01", "2027-1-5"})
    refused(t);
}

// libslurm's parser, when it can be loaded: the same answer (or a refusal: it returns 0) for each text.
Test(slurm_time, agrees_with_libslurm) {
  void* h = dlopen("libslurm.so.38", RTLD_NOW | RTLD_LOCAL);
  if (!h) h = dlopen("libslurm.so", RTLD_NOW | RTLD_LOCAL);
  if (!h) cr_skip_test("libslurm is not installed (%s): the comparison needs it", dlerror());
  using Fn = time_t (*)(char*, int);
  auto slurm_parse_time = reinterpret_cast<Fn>(dlsym(h, "slurm_parse_time"));
  if (!slurm_parse_time) cr_skip_test("libslurm has no slurm_parse_time");
  const std::vector<std::string> texts = {
      "now", "now+15", "now+15minutes", "now-2days", "now + 1 hour", "now+1week", "16:30", "9:05", "4:00 PM",
      "12:00am", "today", "tomorrow", "midnight", "noon", "fika", "teatime", "noon tomorrow", "2026-12-24",
      "2030-02-03T08:00", "2030-02-03T08:00:30", "12/24", "1224", "12.24", "12/24/27", "12/24-08:15", "01/15",
      "uts1800000000", "2027-1-5", "now+15min", "25:00", "13/01", "yesterday", "now tomorrow"};
  int compared = 0;
  for (bool past : {false, true})
    for (const auto& t : texts) {
      for (int attempt = 0; attempt < 5; ++attempt) {  // both calls must see the same second
        std::int64_t t0 = std::time(nullptr);
        std::int64_t ours = 0;
        bool ok = true;
        try {
          ours = parse_slurm_time(t, t0, past);
        } catch (const Error&) {
          ok = false;
        }
        std::string copy = t;
        std::int64_t theirs = slurm_parse_time(copy.data(), past ? 1 : 0);
        if (std::time(nullptr) != t0) continue;
        if (ok)
          cr_expect_eq(ours, theirs, "'%s' (past=%d): ours %lld, libslurm %lld", t.c_str(), past,
                       static_cast<long long>(ours), static_cast<long long>(theirs));
        else
          cr_expect_eq(theirs, 0, "'%s' (past=%d): we refuse it, libslurm gives %lld", t.c_str(), past,
                       static_cast<long long>(theirs));
        ++compared;
        break;
      }
    }
  cr_assert_eq(compared, static_cast<int>(2 * texts.size()), "every text compared");
  dlclose(h);
}

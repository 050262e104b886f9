// Unit tests of the spank plugin's pure helpers: --tune parsing and LD_PRELOAD composition.
#include <criterion/criterion.h>

#include <string>

#include "../../plugins/spank/tune_env.hpp"

using namespace paracloud::spank;

Test(tune_env, parses_modes) {
  cr_assert(parse_tune_mode("auto") == TuneMode::auto_);
  cr_assert(parse_tune_mode("PROFILE") == TuneMode::profile);
  cr_assert(parse_tune_mode("off") == TuneMode::off);
  cr_assert(!parse_tune_mode("").has_value());
  cr_assert(!parse_tune_mode("fast").has_value());
  cr_assert(!parse_tune_mode("auto ").has_value());
}

Test(tune_env, prepends_and_keeps_user_preloads) {
  cr_assert(prepend_preload("", "/rt.so") == std::string("/rt.so"), "%s", prepend_preload("", "/rt.so").c_str());
  cr_assert(prepend_preload("/a.so", "/rt.so") == std::string("/rt.so:/a.so"), "%s", prepend_preload("/a.so", "/rt.so").c_str());
  cr_assert(prepend_preload("/a.so /b.so", "/rt.so") == std::string("/rt.so:/a.so:/b.so"), "%s", prepend_preload("/a.so /b.so", "/rt.so").c_str());
  cr_assert(prepend_preload("/a.so::/b.so", "/rt.so") == std::string("/rt.so:/a.so:/b.so"), "%s", prepend_preload("/a.so::/b.so", "/rt.so").c_str());
}

Test(tune_env, never_loads_the_runtime_twice) {
  cr_assert(prepend_preload("/a.so:/rt.so", "/rt.so") == std::string("/rt.so:/a.so"), "%s", prepend_preload("/a.so:/rt.so", "/rt.so").c_str());
  cr_assert(prepend_preload("/rt.so", "/rt.so") == std::string("/rt.so"), "%s", prepend_preload("/rt.so", "/rt.so").c_str());
}

// --bind and plugstack bind= (issue 11): POLICY[,verbose], case-insensitive; anything else refused.
Test(bind_value, policies_and_verbose) {
  using paracloud::spank::parse_bind_value;
  cr_assert_eq(*parse_bind_value("auto"), "auto");
  cr_assert_eq(*parse_bind_value("Compact"), "compact");
  cr_assert_eq(*parse_bind_value("numa,verbose"), "numa,verbose");
  cr_assert_eq(*parse_bind_value("verbose"), "auto,verbose");
  cr_assert_eq(*parse_bind_value("keep"), "keep");
  cr_assert_not(parse_bind_value("").has_value());
  cr_assert_not(parse_bind_value("fast").has_value());
  cr_assert_not(parse_bind_value("spread,compact").has_value());
  cr_assert_not(parse_bind_value("spread,loud").has_value());
}

Test(tune_env, budget_amounts) {
  using paracloud::spank::looks_like_amount;
  for (const char* ok : {"0", "50", "12.50", "0.01", "123456789012345678", "1.123456789"})
    cr_assert(looks_like_amount(ok), "%s", ok);
  for (const char* bad : {"", ".", "5.", ".5", "-1", "+1", "1e3", "12,50", "50CNY", " 5", "1234567890123456789",
                          "1.1234567890", "1.2.3"})
    cr_assert(!looks_like_amount(bad), "%s", bad);
}

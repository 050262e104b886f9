#include <criterion/criterion.h>
Test(placeholder, test_config) { cr_assert_fail("not written yet"); }

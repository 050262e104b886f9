#include <criterion/criterion.h>
Test(placeholder, test_ledger_concurrency) { cr_assert_fail("not written yet"); }

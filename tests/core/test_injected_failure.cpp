// SEEK_TEST_FAIL_AT makes the n-th call of a named failure point throw, so tests reach error paths no input
// can; the count restarts for a new value and after the variable is unset.
#include "core/injected_failure.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"
#include "support/error_of.hpp"
#include "support/scoped_env.hpp"

namespace seek {
namespace {

TEST(InjectedFailure, TheNthCallOfThePointThrows) {
  injected_failure_point("here");  // unset: nothing
  {
    const test::ScopedEnv at("SEEK_TEST_FAIL_AT", "here:2");
    EXPECT_EQ(test::error_of([] { injected_failure_point("elsewhere"); }), "");
    EXPECT_EQ(test::error_of([] { injected_failure_point("here"); }), "");
    EXPECT_EQ(test::error_of([] { injected_failure_point("here"); }),
              "injected failure at here (SEEK_TEST_FAIL_AT)");
    EXPECT_EQ(test::error_of([] { injected_failure_point("here"); }), "");
  }
  injected_failure_point("here");
  const test::ScopedEnv again("SEEK_TEST_FAIL_AT", "here:2");  // the same value counts afresh
  EXPECT_EQ(test::error_of([] { injected_failure_point("here"); }), "");
  EXPECT_EQ(test::error_of([] { injected_failure_point("here"); }),
            "injected failure at here (SEEK_TEST_FAIL_AT)");
}

}  // namespace
}  // namespace seek

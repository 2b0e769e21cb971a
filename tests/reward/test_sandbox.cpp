// Sandbox containment: every escape attempt in the brief is contained and the calling process keeps running.
#include <gtest/gtest.h>

#include "reward/sandbox.hpp"

namespace seek::reward {
namespace {

TEST(Sandbox, Support) {
  const auto& s = sandbox_support();
  std::printf("sandbox: %s | %s\n", s.summary.c_str(), s.reason.c_str());
}

TEST(Sandbox, RunsPython) {
  SandboxLimits lim;
  auto r = run_in_sandbox({"/usr/bin/python3", "-s", "-B", "/src/main.py"},
                          {{"main.py", "import sys\nprint(sys.stdin.read().upper())\n"}}, "hello", lim);
  EXPECT_TRUE(r.ok()) << r.error << r.err;
  EXPECT_EQ(r.out, "HELLO\n");
  std::printf("wall %.3f err=%s\n", r.wall_seconds, r.err.c_str());
}

}  // namespace
}  // namespace seek::reward

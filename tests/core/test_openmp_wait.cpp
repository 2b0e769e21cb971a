// use_short_openmp_spin_by_default: with neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT set the program starts
// again with GOMP_SPINCOUNT set (checked in a forked child that re-executes this test binary), and a setting
// of the user's is left alone.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "core/openmp_wait.hpp"
#include "support/temp_dir.hpp"

namespace seek {
namespace {

constexpr const char* kReportTo = "SEEK_TEST_OPENMP_WAIT_REPORT";
constexpr const char* kTestName = "OpenmpWait.RestartsWithAShortSpinWhenNothingIsSet";

std::string env_or(const char* name, const char* otherwise) {
  const char* v = std::getenv(name);
  return v ? v : otherwise;
}

TEST(OpenmpWait, RestartsWithAShortSpinWhenNothingIsSet) {
  if (const char* report = std::getenv(kReportTo)) {
    // The re-executed child: say what it started with.
    std::ofstream(report) << env_or("GOMP_SPINCOUNT", "unset") << " " << env_or("OMP_WAIT_POLICY", "unset");
    return;
  }
  test::TempDir tmp("openmp-wait");
  const std::string report = (tmp.path / "report").string();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::unsetenv("OMP_WAIT_POLICY");
    ::unsetenv("GOMP_SPINCOUNT");
    ::setenv(kReportTo, report.c_str(), 1);
    std::string filter = std::string("--gtest_filter=") + kTestName;
    char* argv[] = {const_cast<char*>("test_openmp_wait"), filter.data(), nullptr};
    use_short_openmp_spin_by_default(argv);
    ::_exit(97);  // not re-executed
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0) << "97: the function returned instead of re-executing";
  std::ifstream in(report);
  std::string got((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(got, std::string(kDefaultOpenmpSpinCount) + " unset");
}

TEST(OpenmpWait, LeavesTheUsersSettingAlone) {
  if (std::getenv(kReportTo)) GTEST_SKIP() << "the re-executed child runs one test only";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    char* argv[] = {const_cast<char*>("test_openmp_wait"), nullptr};
    ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    ::unsetenv("GOMP_SPINCOUNT");
    use_short_openmp_spin_by_default(argv);  // returns
    if (std::getenv("GOMP_SPINCOUNT")) ::_exit(1);
    ::unsetenv("OMP_WAIT_POLICY");
    ::setenv("GOMP_SPINCOUNT", "7", 1);
    use_short_openmp_spin_by_default(argv);  // returns
    ::_exit(env_or("GOMP_SPINCOUNT", "") == "7" ? 0 : 2);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "1: GOMP_SPINCOUNT set beside OMP_WAIT_POLICY; 2: the user's count changed";
}

}  // namespace
}  // namespace seek

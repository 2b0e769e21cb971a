// The memory check that stands before every large allocation of a model: more than the machine has is a
// clear error that says how much is needed and available, not std::bad_alloc or the OOM killer.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>

#include "core/error.hpp"
#include "core/resources.hpp"
#include "support/scoped_env.hpp"

namespace seek {
namespace {

using test::ScopedEnv;

TEST(Resources, AvailableMemoryIsKnownHere) {
  const long long avail = available_memory_bytes();
  ASSERT_GT(avail, 0) << "MemAvailable should be readable on Linux";
  EXPECT_LT(avail, 1LL << 50);
}

TEST(Resources, CheckMemoryForRefusesMoreThanIsAvailable) {
  EXPECT_NO_THROW(check_memory_for(1 << 20, "a megabyte"));
  const long long too_much = available_memory_bytes() * 4;
  try {
    check_memory_for(too_much, "the weights of 9.9B parameters", "; bf16 weights need about half");
    FAIL() << "4x the available memory was accepted";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find("the weights of 9.9B parameters need "), 0u) << msg;
    EXPECT_NE(msg.find(" GB of memory, and "), std::string::npos) << msg;
    EXPECT_NE(msg.find(" GB is available; bf16 weights need about half"), std::string::npos) << msg;
  }
}

TEST(Resources, TheCheckCanBeTurnedOff) {
  {
    ScopedEnv env("SEEK_NO_MEMORY_CHECK", "1");
    EXPECT_NO_THROW(check_memory_for(available_memory_bytes() * 4, "swap-backed weights"));
  }
  EXPECT_THROW(check_memory_for(available_memory_bytes() * 4, "swap-backed weights"), Error);
}

// SEEK_MEMORY_AVAILABLE is a budget for the process (a machine shared with other work): what the process
// holds counts against it.
TEST(Resources, AvailableMemoryCanBeBudgeted) {
  const long long machine = available_memory_bytes();
  {
    const long long budget = machine > 0 ? machine / 2 : 64LL << 30;
    ScopedEnv env("SEEK_MEMORY_AVAILABLE", std::to_string(budget));
    const long long left = available_memory_bytes();
    EXPECT_LT(left, budget);                // this process's own pages are taken off
    EXPECT_GT(left, budget - (1LL << 30));  // a test binary holds less than 1 GiB
  }
  {
    ScopedEnv env("SEEK_MEMORY_AVAILABLE", "1k");  // less than the process holds already
    EXPECT_EQ(available_memory_bytes(), 0);
    EXPECT_NE(available_memory_note().find("SEEK_MEMORY_AVAILABLE"), std::string::npos);
    try {
      check_memory_for(1, "one byte", "; ask for less");
      ADD_FAILURE() << "one byte fit in a budget already spent";
    } catch (const Error& e) {  // with nothing left, the advice to ask for less is not given
      EXPECT_NE(std::string(e.what()).find("nothing is left"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find("ask for less"), std::string::npos) << e.what();
    }
  }
  for (const char* unset : {"", "  "}) {
    ScopedEnv env("SEEK_MEMORY_AVAILABLE", unset);
    // The machine's figure, read again: other processes (parallel tests) move it by megabytes between reads,
    // and a budget in force would be half of it.
    EXPECT_NEAR(double(available_memory_bytes()), double(machine), double(1LL << 30));
  }
  for (const char* bad : {"0", "-1G", "8GB", "eight", "+8G", "99999999999999999999", "9000000000T"}) {
    ScopedEnv env("SEEK_MEMORY_AVAILABLE", bad);
    try {
      available_memory_bytes();
      ADD_FAILURE() << "SEEK_MEMORY_AVAILABLE='" << bad << "' was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("SEEK_MEMORY_AVAILABLE must be a number of bytes above 0"),
                std::string::npos)
          << e.what();
    }
  }
}

// Under `ulimit -v` an allocation fails past the address-space limit however much memory the machine has
// free, so the check allows only the room under it (in a child process, whose limit dies with it).
TEST(Resources, AddressSpaceLimitIsRespected) {
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::ifstream statm("/proc/self/statm");
    long long pages = 0;
    if (!(statm >> pages)) _exit(10);
    const long long mapped = pages * sysconf(_SC_PAGESIZE);
    const rlimit as{rlim_t(mapped + (768LL << 20)), rlim_t(mapped + (768LL << 20))};
    if (setrlimit(RLIMIT_AS, &as) != 0) _exit(11);
    // The generated code's budget is a sixteenth of the limit, and is set aside with 256 MB for threads.
    const long long limit = mapped + (768LL << 20);
    if (generated_code_budget_bytes() != limit / 16) _exit(15);
    const long long avail = available_memory_bytes();  // 768 MB less the 256 MB and the budget set aside
    if (std::llabs(avail - ((768LL << 20) - (256LL << 20) - limit / 16)) > (16LL << 20)) _exit(12);
    // Messages say which limit set the figure.
    if (available_memory_note().find("ulimit -v") == std::string::npos) _exit(14);
    try {
      check_memory_for(1LL << 30, "a gigabyte");
      _exit(13);
    } catch (const Error&) {
    }
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "10: no statm, 11: setrlimit failed, 12: room not limited, 13: accepted, 14: no note, 15: budget";
  EXPECT_GT(available_memory_bytes(), 768LL << 20);  // the parent keeps its limit
}

TEST(Resources, FormatBytes) {
  EXPECT_EQ(format_bytes(1), "1 byte");
  EXPECT_EQ(format_bytes(999), "999 bytes");
  EXPECT_EQ(format_bytes(52'100), "52.1 kB");
  EXPECT_EQ(format_bytes(999'949), "999.9 kB");
  EXPECT_EQ(format_bytes(999'999), "1.0 MB");
  EXPECT_EQ(format_bytes(4'352'000), "4.4 MB");
  EXPECT_EQ(format_bytes(16'400'000'000), "16.4 GB");
  EXPECT_EQ(format_bytes(1'200'000'000'000), "1.2 TB");
  EXPECT_EQ(format_bytes(8'400'000'000'000'000), "8.4 PB");
}

TEST(Resources, FormatCount) {
  EXPECT_EQ(format_count(12), "12");
  EXPECT_EQ(format_count(52'100), "52.1K");
  EXPECT_EQ(format_count(350'000'000), "350.0M");
  EXPECT_EQ(format_count(16'400'000'000), "16.4B");
  EXPECT_EQ(format_count(524'000'000'000'000), "524.0T");
}

}  // namespace
}  // namespace seek

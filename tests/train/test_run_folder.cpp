// The run folder's lock: one `seek train` or `seek grpo` at a time in a folder.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <string>

#include "support/error_of.hpp"
#include "support/temp_dir.hpp"
#include "train/run_folder.hpp"

namespace seek {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

TEST(RunFolderLock, OneHolderAtATimeNamedByItsProcess) {
  TempDir tmp("run-folder-lock");
  const fs::path out = tmp.path / "new" / "run";  // created by the lock
  {
    RunFolderLock first(out);
    EXPECT_TRUE(fs::is_directory(out));
    const std::string msg = test::error_of([&] { RunFolderLock second(out); });
    EXPECT_EQ(msg,
              fmt::format("{} is in use by another seek run (process {}): wait for it to end (or stop it), "
                          "or give another --out",
                          out.string(), ::getpid()));
  }
  RunFolderLock again(out);  // released with its holder
}

// Between processes, and released however the holder ends: a child killed while holding it leaves no stale
// lock.
TEST(RunFolderLock, IsReleasedWhenItsProcessDies) {
  TempDir tmp("run-folder-lock-kill");
  const fs::path out = tmp.path / "run";
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    try {
      RunFolderLock held(out);
      const char c = 1;
      if (::write(ready[1], &c, 1) != 1) ::_exit(2);
      ::pause();
    } catch (...) {
    }
    ::_exit(3);  // never back into the test runner
  }
  ::close(ready[1]);  // a child that fails to lock closes the pipe: the read below sees its end, not a hang
  struct Reap {
    pid_t pid;
    ~Reap() {
      if (pid <= 0) return;  // reaped below
      ::kill(pid, SIGKILL);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  } reap{child};
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1) << "the child could not take the lock";
  ::close(ready[0]);
  const std::string msg = test::error_of([&] { RunFolderLock second(out); });
  EXPECT_NE(msg.find(fmt::format("in use by another seek run (process {})", child)), std::string::npos)
      << msg;
  ::kill(child, SIGKILL);  // killed while holding it: the kernel releases the lock
  int status = 0;
  ::waitpid(child, &status, 0);
  reap.pid = -1;
  RunFolderLock after(out);
}

}  // namespace
}  // namespace seek

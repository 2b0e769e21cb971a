// The run folder's lock: one `seek train` or `seek grpo` at a time in a folder.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/read_file.hpp"
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

// A resumed run cuts its logs back to its checkpoint's step. A torn last line (a killed run's) goes quietly;
// damage elsewhere, or a log deleted since, is said: both were silent.
TEST(TruncateLogToStep, KeepsStepsUpToTheCheckpointAndNamesDamage) {
  TempDir tmp("truncate-log");
  const fs::path log = tmp.path / "metrics.jsonl";
  std::ofstream(log) << "{\"step\":1}\n{\"step\":2}\n{\"step\":3}\n{\"step\":4,\"lo";
  testing::internal::CaptureStderr();
  auto kept = truncate_log_to_step(log, 2);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(read_file(log), "{\"step\":1}\n{\"step\":2}\n");

  std::ofstream(log) << "{\"step\":1}\ngarbage\n[1]\n{\"step\":2}\n";
  testing::internal::CaptureStderr();
  kept = truncate_log_to_step(log, 2);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            fmt::format("note: {}: 2 lines are not a JSON object and are dropped\n", log.string()));
  EXPECT_EQ(kept.size(), 2u);

  fs::remove(log);
  testing::internal::CaptureStderr();
  kept = truncate_log_to_step(log, 2);
  EXPECT_EQ(
      testing::internal::GetCapturedStderr(),
      fmt::format("note: {} is gone: it starts again with step 3, and the lines of steps 1 to 2 are lost\n",
                  log.string()));
  EXPECT_TRUE(kept.empty());
  testing::internal::CaptureStderr();
  truncate_log_to_step(log, 0);  // nothing to lose before the first step
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");

  // A log with a line per step that lacks some (cut short, restored from a backup) is noted: the gap stays.
  std::ofstream(log) << "{\"step\":1}\n{\"step\":2}\n{\"step\":5}\n";
  testing::internal::CaptureStderr();
  kept = truncate_log_to_step(log, 5, true);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            fmt::format("note: {} has no line for 2 of steps 1 to 5 (the first: step 3); they stay missing\n",
                        log.string()));
  EXPECT_EQ(kept.size(), 3u);
  testing::internal::CaptureStderr();
  truncate_log_to_step(log, 2, true);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

// settings.json is JSON, which holds only UTF-8: a setting that is not (Linux paths may hold any bytes) is
// refused by its flag, where the JSON writer's exception was an internal error.
TEST(CheckSettingsAreUtf8, NamesTheSettingByItsFlag) {
  check_settings_are_utf8({{"data", "caf\xc3\xa9.txt"}, {"paths", {"a", "b"}}, {"steps", 3}});
  EXPECT_EQ(
      test::error_of([] {
        check_settings_are_utf8({{"data", "we\xffird.txt"}});
      }),
      "--data we\xef\xbf\xbdird.txt: not valid UTF-8 (shown with U+FFFD for its bad bytes), and "
      "settings.json, "
      "which a run saves its settings to, is JSON, which holds only UTF-8 text: give a value (or a path, "
      "and a working folder) whose name is UTF-8");
  EXPECT_NE(test::error_of([] {
              check_settings_are_utf8({{"out", "/tmp/o\xff"}});
            }).find("--out /tmp/o\xef\xbf\xbd: not valid UTF-8"),
            std::string::npos);
  EXPECT_NE(test::error_of([] {
              check_settings_are_utf8({{"reward_weights", {"ok", "x\xc3"}}});
            }).find("--reward-weights x\xef\xbf\xbd:"),
            std::string::npos);
}

}  // namespace
}  // namespace seek

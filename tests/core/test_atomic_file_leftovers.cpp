// A writer killed outright (SIGKILL) leaves its "<target>.tmp.<pid>" behind, as large as the file; the next
// write of the same target removes it, and nothing that may still be in use (a live process's, one written to
// within the last minute, a locked one) or belongs to another file.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/atomic_file.hpp"
#include "support/temp_dir.hpp"

namespace seek {
namespace {

namespace fs = std::filesystem;

// The id of a process that has ended (and been reaped): a writer killed by SIGKILL.
pid_t ended_process() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

TEST(AtomicFileLeftovers, AKilledWritersTemporaryIsRemovedByTheNextWrite) {
  test::TempDir tmp("atomic-leftovers");
  const fs::path target = tmp.path / "tokenizer.json";
  const std::string dead = std::to_string(ended_process());
  const std::string alive = std::to_string(::getppid());
  const fs::path stale = tmp.path / ("tokenizer.json.tmp." + dead);
  const std::vector<fs::path> kept = {
      tmp.path / ("tokenizer.json.tmp." + alive),  // a writer still at work
      tmp.path / ("other.json.tmp." + dead),       // another file's
      tmp.path / "tokenizer.json.tmp.notapid",     // not a name this writer makes
      tmp.path / ("tokenizer.json.tmp.0" + dead), tmp.path / ("tokenizer.json.tmp." + dead + ".bak"),
  };
  // Written an hour ago, as a killed writer's temporary is by the next run.
  const auto an_hour_ago = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const auto& p : kept) {
    std::ofstream(p) << "x";
    fs::last_write_time(p, an_hour_ago);
  }
  std::ofstream(stale) << "half a tokenizer";
  fs::last_write_time(stale, an_hour_ago);
  // A process id is only this machine's: on a shared folder, a temporary written to within the last minute,
  // or locked by its writer, may be another machine's live writer's.
  const fs::path fresh = tmp.path / ("config.json.tmp." + dead);
  std::ofstream(fresh) << "being written elsewhere";
  const fs::path locked = tmp.path / ("model.json.tmp." + dead);
  std::ofstream(locked) << "being written elsewhere";
  fs::last_write_time(locked, an_hour_ago);
  const int lock_fd = ::open(locked.c_str(), O_RDONLY);
  ASSERT_GE(lock_fd, 0);
  // An flock of another open file description, as another process's would be.
  ASSERT_EQ(::flock(lock_fd, LOCK_EX), 0);
  write_file_atomically(tmp.path / "config.json", "{}");
  write_file_atomically(tmp.path / "model.json", "{}");
  EXPECT_TRUE(fs::exists(fresh));
  EXPECT_TRUE(fs::exists(locked));
  ::close(lock_fd);
  write_file_atomically(tmp.path / "model.json", "{}");
  EXPECT_FALSE(fs::exists(locked));
  write_file_atomically(target, "{}");
  EXPECT_FALSE(fs::exists(stale));
  for (const auto& p : kept) EXPECT_TRUE(fs::exists(p)) << p;
  std::ifstream f(target);
  std::string got((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, "{}");
  // A folder with a temporary's name is not the writer's: left alone.
  fs::create_directory(stale);
  write_file_atomically(target, "{}");
  EXPECT_TRUE(fs::is_directory(stale));
}

}  // namespace
}  // namespace seek

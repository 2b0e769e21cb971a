// MappedFile: a file cut short while mapped ends the process with an error naming it (it was a bare bus
// error: a checkpoint rewritten in place while seek loaded it, a data file truncated during training).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "io/mapped_file.hpp"
#include "support/temp_dir.hpp"

namespace seek {
namespace {

namespace fs = std::filesystem;

// AddressSanitizer installs its own SIGBUS handler first, which MappedFile leaves in place (as any host
// program's): it reports the fault itself.
#if defined(__SANITIZE_ADDRESS__)
#define SKIP_UNDER_ASAN() GTEST_SKIP() << "AddressSanitizer handles SIGBUS itself"
#else
#define SKIP_UNDER_ASAN() (void)0
#endif

fs::path write_file(const fs::path& p, size_t bytes) {
  std::ofstream(p, std::ios::binary) << std::string(bytes, 'x');
  return p;
}

TEST(MappedFile, AFileCutShortWhileMappedIsNamedNotABusError) {
  SKIP_UNDER_ASAN();
  test::TempDir tmp("mapped-cut");
  const fs::path p = write_file(tmp.path / "shard.safetensors", 3 * 65536);
  EXPECT_EXIT(
      {
        MappedFile m(p);
        fs::resize_file(p, 0);
        volatile std::byte b = m.data()[m.size() - 1];
        (void)b;
        std::_Exit(0);
      },
      testing::ExitedWithCode(1),
      "seek: error: " + p.string() + " became shorter while seek was reading it \\(was it rewritten");
}

// A SIGBUS that is not a read past a mapped file's end (here one sent, after a file was mapped and unmapped)
// still ends the process by SIGBUS, as without the handler.
TEST(MappedFile, OtherBusErrorsStayBusErrors) {
  SKIP_UNDER_ASAN();
  test::TempDir tmp("mapped-other");
  const fs::path p = write_file(tmp.path / "a.bin", 65536);
  EXPECT_EXIT(
      {
        { MappedFile m(p); }
        std::raise(SIGBUS);
        std::_Exit(0);
      },
      testing::KilledBySignal(SIGBUS), "");
  EXPECT_EXIT(
      {
        MappedFile kept(p);
        std::raise(SIGBUS);
        std::_Exit(0);
      },
      testing::KilledBySignal(SIGBUS), "");
}

TEST(MappedFile, MovedMappingIsStillNamed) {
  SKIP_UNDER_ASAN();
  test::TempDir tmp("mapped-moved");
  const fs::path p = write_file(tmp.path / "tokens.bin", 3 * 65536);
  EXPECT_EXIT(
      {
        MappedFile a(p);
        MappedFile b(std::move(a));
        MappedFile c;
        c = std::move(b);
        fs::resize_file(p, 0);
        volatile std::byte x = c.data()[c.size() - 1];
        (void)x;
        std::_Exit(0);
      },
      testing::ExitedWithCode(1), "seek: error: " + p.string() + " became shorter");
}

// An I/O error on a mapped page (a failing disk, NFS gone) raises the same SIGBUS as a read past a cut end;
// the file as it is now tells them apart. A real I/O error cannot be made here, so the wording is checked.
TEST(MappedFile, AnUnreadablePageIsNotCalledACut) {
  test::TempDir tmp("mapped-cause");
  const fs::path p = write_file(tmp.path / "shard.safetensors", 3 * 65536);
  const auto mapped_at = fs::file_time_type::clock::now() - std::chrono::hours(1);
  fs::last_write_time(p, mapped_at);
  struct stat mapped {};
  ASSERT_EQ(::stat(p.c_str(), &mapped), 0);
  const auto said = [&] { return std::string(mapped_read_failure(p.c_str(), mapped)); };
  EXPECT_NE(said().find(" could not be read while seek was reading it (an I/O error"), std::string::npos);
  // Rewritten in place (cp, rsync --inplace): by the time the handler looks, it may have its old length back.
  write_file(p, 3 * 65536);
  EXPECT_NE(said().find(" became shorter"), std::string::npos);
  fs::last_write_time(p, mapped_at);
  EXPECT_NE(said().find(" could not be read"), std::string::npos);  // as mapped again, in every respect
  fs::resize_file(p, 4096);
  fs::last_write_time(p, mapped_at);
  EXPECT_NE(said().find(" became shorter"), std::string::npos);
  // Another file renamed over the path: the mapped one was cut short, whatever the new one holds.
  write_file(tmp.path / "new", 3 * 65536);
  fs::last_write_time(tmp.path / "new", mapped_at);
  fs::rename(tmp.path / "new", p);
  EXPECT_NE(said().find(" became shorter"), std::string::npos);
  fs::remove(p);
  EXPECT_NE(said().find(" became shorter"), std::string::npos);
}

}  // namespace
}  // namespace seek

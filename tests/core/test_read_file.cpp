// read_file: whole-file reads of what a user names, with errors that say why, and never more than memory
// holds
// (`seek perplexity --file /dev/zero` read until the OOM killer came).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "core/read_file.hpp"
#include "support/error_of.hpp"
#include "support/scoped_env.hpp"
#include "support/temp_dir.hpp"

namespace seek {
namespace {

using test::error_of;

// An endless stream that is no device: the read end of `cat /dev/zero`.
struct ZerosThroughAPipe {
  FILE* pipe = ::popen("cat /dev/zero", "r");
  ~ZerosThroughAPipe() { ::pclose(pipe); }
};

TEST(ReadFile, ReadsFilesAndStreams) {
  test::TempDir tmp("read-file");
  std::ofstream(tmp.path / "a.txt") << "hello\n";
  EXPECT_EQ(read_file(tmp.path / "a.txt"), "hello\n");
  EXPECT_EQ(read_file("/dev/null"), "");
  EXPECT_NE(error_of([&] { read_file(tmp.path); }).find("is a folder, not a file"), std::string::npos);
  EXPECT_NE(error_of([&] { read_file(tmp.path / "none"); }).find("No such file or directory"),
            std::string::npos);
}

TEST(ReadFile, RefusesWhatCannotFitInMemory) {
  test::TempDir tmp("read-file-limit");
  std::ofstream(tmp.path / "big.txt") << std::string(1000, 'x');
  EXPECT_EQ(read_file(tmp.path / "big.txt", 1000).size(), 1000u);
  std::string e = error_of([&] { read_file(tmp.path / "big.txt", 999); });
  EXPECT_NE(e.find("big.txt holds 1.0 kB, more than the 999 bytes of memory available to read it into"),
            std::string::npos)
      << e;
  // A stream that never ends stops at the limit; a device is no text at all.
  const ZerosThroughAPipe zeros;
  const std::string endless = "/dev/fd/" + std::to_string(::fileno(zeros.pipe));
  e = error_of([&] { read_file(endless, 1 << 20); });
  EXPECT_NE(e.find(endless + " gives more than the 1.0 MB of memory available to read it into"),
            std::string::npos)
      << e;
  EXPECT_EQ(error_of([&] { read_file("/dev/zero", 1 << 20); }), "/dev/zero is a device, not a text file");
  EXPECT_EQ(read_file("/dev/null"), "");
}

// refuse_device (the check before a command reads a named file) refused /dev/null, which read_file takes as
// the empty text it is: the two now agree, and the command's own "is empty" error names the file.
TEST(ReadFile, RefuseDeviceAgreesWithReadFileOnDevNull) {
  EXPECT_EQ(error_of([&] { refuse_device("/dev/zero"); }), "/dev/zero is a device, not a text file");
  EXPECT_NO_THROW(refuse_device("/dev/null"));
  EXPECT_NO_THROW(refuse_device("/no/such/file"));  // left to the read, which names it
}

// A limit with its own reason (a prompt's cap) names the sizes; just past it both rounded to one figure
// ("holds 67.1 MB, more than 67.1 MB"), so they are then given in bytes.
TEST(ReadFile, ACapJustPassedIsGivenInBytes) {
  test::TempDir tmp("read-file-cap");
  std::ofstream(tmp.path / "a.txt") << std::string(1001, 'x');
  std::string e = error_of([&] { read_input((tmp.path / "a.txt").string(), 1000, "too long"); });
  EXPECT_NE(e.find("a.txt holds 1001 bytes, more than 1000 bytes: too long"), std::string::npos) << e;
  e = error_of([&] { read_input((tmp.path / "a.txt").string(), 500, "too long"); });
  EXPECT_NE(e.find("a.txt holds 1.0 kB, more than 500 bytes: too long"), std::string::npos) << e;
}

// Without an explicit limit, the memory checks' figure is the limit, and their switches apply: a budget that
// the process already spends refuses any file, and SEEK_NO_MEMORY_CHECK=1 lifts the limit (a tokenizer
// corpus larger than the memory the check sees used to be readable, and must stay so on request).
TEST(ReadFile, TheDefaultLimitIsTheMemoryChecks) {
  test::TempDir tmp("read-file-default");
  std::ofstream(tmp.path / "a.txt") << "hello\n";
  test::ScopedEnv budget("SEEK_MEMORY_AVAILABLE", "1k");
  const std::string e = error_of([&] { read_file(tmp.path / "a.txt"); });
  EXPECT_NE(e.find("a.txt holds 6 bytes, and no memory is available to read it into"), std::string::npos)
      << e;
  EXPECT_NE(e.find("SEEK_NO_MEMORY_CHECK=1 lifts the limit"), std::string::npos) << e;
  test::ScopedEnv off("SEEK_NO_MEMORY_CHECK", "1");
  EXPECT_EQ(read_file(tmp.path / "a.txt"), "hello\n");
}

}  // namespace
}  // namespace seek

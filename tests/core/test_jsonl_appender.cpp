// JSONL logs: lines land whole and flushed, appended after what the file held; a failed write is an error
// naming the file, not a log that silently stops.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "core/error.hpp"
#include "core/jsonl_appender.hpp"
#include "core/read_file.hpp"
#include "support/temp_dir.hpp"

namespace seek {
namespace {

TEST(JsonlAppender, AppendsFlushedLines) {
  test::TempDir tmp("jsonl");
  const auto path = tmp.path / "metrics.jsonl";
  {
    JsonlAppender log(path);
    log.append({{"step", 1}, {"loss", 2.5}});
    EXPECT_EQ(read_file(path), "{\"loss\":2.5,\"step\":1}\n");  // flushed, not at close
  }
  JsonlAppender again(path);
  again.append({{"text", std::string("bad \xff byte")}});
  EXPECT_EQ(read_file(path), "{\"loss\":2.5,\"step\":1}\n{\"text\":\"bad \xef\xbf\xbd byte\"}\n");
}

TEST(JsonlAppender, AFailedWriteNamesTheFile) {
  if (!std::filesystem::exists("/dev/full")) GTEST_SKIP() << "no /dev/full here";
  JsonlAppender full("/dev/full");  // opened for appending: every write fails with ENOSPC
  try {
    full.append({{"step", 1}});
    FAIL() << "no error from a write to /dev/full";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot write to /dev/full: No space left on device"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(JsonlAppender(std::filesystem::path("/nonexistent-dir/m.jsonl")), Error);
}

}  // namespace
}  // namespace seek

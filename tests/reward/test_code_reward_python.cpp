// The code reward's "python" option is checked when the reward is built: an interpreter that cannot run
// used to make every sandboxed run fail to start, so every completion scored 0 without a word.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "reward/reward.hpp"
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"

namespace seek::reward {
namespace {

using nlohmann::json;
using test::error_of;

// Without isolation, so that the check of the interpreter is what is tested on any machine.
std::string error_with_python(const std::string& python) {
  return error_of([&] { make_reward("code", {{"require_isolation", false}, {"python", python}}); });
}

TEST(CodeRewardPython, TheInterpreterMustBeAnExecutableFile) {
  test::TempDir tmp("code-python");
  std::string e = error_with_python("/nonexistent/python3");
  EXPECT_NE(e.find("option 'python': /nonexistent/python3 does not exist"), std::string::npos) << e;
  e = error_with_python("python3");
  EXPECT_NE(e.find("option 'python' must be an absolute path"), std::string::npos) << e;
  e = error_with_python(tmp.path.string());
  EXPECT_NE(e.find("is not a file"), std::string::npos) << e;
  const auto script = tmp.path / "python";
  std::ofstream(script) << "#!/bin/sh\n";
  ::chmod(script.c_str(), 0644);
  e = error_with_python(script.string());
  // root may execute a file without x bits only if some x bit is set, so this holds for root too.
  EXPECT_NE(e.find("is not executable"), std::string::npos) << e;
  ::chmod(script.c_str(), 0755);
  EXPECT_EQ(error_with_python(script.string()), "");
}

}  // namespace
}  // namespace seek::reward

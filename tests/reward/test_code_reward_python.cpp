// The code reward's "python" option is checked when the reward is built: an interpreter that cannot run
// used to make every sandboxed run fail to start, so every completion scored 0 without a word.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "reward/reward.hpp"
#include "reward/sandbox.hpp"
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
  std::ofstream(script) << "#!/bin/sh\nexit 0\n";
  ::chmod(script.c_str(), 0644);
  e = error_with_python(script.string());
  // root may execute a file without x bits only if some x bit is set, so this holds for root too.
  EXPECT_NE(e.find("is not executable"), std::string::npos) << e;
  ::chmod(script.c_str(), 0755);
  // An interpreter is also tried in the sandbox, which shows the host's /usr, /bin and /lib* only: one
  // elsewhere (a venv, pyenv, conda) passed the checks above and then failed to start in every run, scoring
  // every completion 0.
  e = error_with_python(script.string());
  if (sandbox_support().namespaces) {
    EXPECT_NE(e.find("option 'python': " + script.string() + " cannot run in the sandbox"), std::string::npos)
        << e;
    EXPECT_NE(e.find("a venv, pyenv, conda"), std::string::npos) << e;
  } else {
    EXPECT_EQ(e, "");  // without namespaces the host's files are where they are
  }
  EXPECT_EQ(error_with_python("/usr/bin/python3"), "");
}

}  // namespace
}  // namespace seek::reward

// --resume keeps a run's task options (they decide its problems and their order), but options that the task
// reads as the saved ones are no change: a default spelled out, or null for none. They were refused as a
// change to a fixed setting, so a user could not resume with the command line that started the run plus
// options written out in full.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "reward/task.hpp"
#include "rl/grpo_settings.hpp"
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"
#include "support/tiny_policy.hpp"
#include "train/run_folder.hpp"

namespace seek {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::error_of;
using test::TempDir;

// A gcd run in dir/run made with `options`, and a checkpoint of its step 1 to resume from.
GrpoSettings gcd_run(const fs::path& dir, const json& options) {
  test::tiny_policy(dir);
  GrpoSettings s;
  s.init = (dir / "policy").string();
  s.task = "gcd";
  s.task_options = options;
  s.rewards = {{"accuracy", 1.0}};
  s.out = (dir / "run").string();
  s.threads = 1;
  start_run(s, false, {});  // writes settings.json; the lock goes with the returned RunStart
  fs::create_directories(dir / "run" / "checkpoints" / "step-1");
  std::ofstream(dir / "run" / "checkpoints" / "step-1" / "trainer_state.json")
      << json{{"step", 1}, {"extra", {{"settings", s.to_json()}}}}.dump();
  return s;
}

TEST(GrpoResumeOptions, OptionsTheTaskReadsAsTheSavedOnesAreNoChange) {
  TempDir tmp("grpo-resume-options");
  const GrpoSettings s = gcd_run(tmp.path, json::object());
  const json defaults = reward::make_task("gcd")->options();
  ASSERT_TRUE(defaults.contains("min_count")) << defaults.dump();
  for (const json& given : {defaults, json{{"min_count", defaults["min_count"]}}, json(nullptr)}) {
    auto r = start_run(s, true, {{"task_options", given}});
    EXPECT_EQ(r.changes, "") << given.dump();
    EXPECT_EQ(r.settings.task_options, json::object()) << given.dump();
  }
  // Other options draw other problems: refused, naming the flag and the saved value.
  json other = defaults;
  other["min_count"] = defaults["min_count"].get<int64_t>() + 1;
  std::string e = error_of([&] { start_run(s, true, {{"task_options", other}}); });
  EXPECT_NE(e.find("--task-options was {} in"), std::string::npos) << e;
  // Options the task refuses are a change too (and not an error about the task).
  e = error_of([&] { start_run(s, true, {{"task_options", {{"telepathy", 1}}}}); });
  EXPECT_NE(e.find("--task-options was {} in"), std::string::npos) << e;
}

// The other way round: a run made with options spelled out resumes with none given, or with {}.
TEST(GrpoResumeOptions, SavedOptionsSpelledOutResumeWithDefaults) {
  TempDir tmp("grpo-resume-options-saved");
  const json defaults = reward::make_task("gcd")->options();
  const GrpoSettings s = gcd_run(tmp.path, json{{"max_count", defaults["max_count"]}});
  auto r = start_run(s, true, {{"task_options", json::object()}});
  EXPECT_EQ(r.changes, "");
  EXPECT_EQ(r.settings.task_options, (json{{"max_count", defaults["max_count"]}}));
}

}  // namespace
}  // namespace seek

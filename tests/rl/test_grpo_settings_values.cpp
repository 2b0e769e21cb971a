// GRPO settings read from a run file: a "rewards" that is no object or array is an error naming the file
// (the check after reading could not), and a tokenizer folder that does not exist, or the tokenizer.json
// file itself, is refused instead of meaning the byte tokenizer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "rl/grpo_settings.hpp"
#include "support/error_of.hpp"
#include "support/temp_dir.hpp"

namespace seek {
namespace {

using nlohmann::json;
using test::error_of;

std::string error_with(const json& extra) {
  json j = {{"init", "policy"}, {"task", "countdown"}, {"out", "o"}};
  j.update(extra);
  return error_of([&] { GrpoSettings::from_json(j, "run.json").validate(); });
}

TEST(GrpoSettingsValues, RewardsOfTheWrongTypeNameTheFile) {
  EXPECT_EQ(error_with(json::object()), "");
  for (const json& bad : {json("accuracy"), json(1), json(true)}) {
    const std::string e = error_with({{"rewards", bad}});
    EXPECT_NE(e.find("run.json: setting \"rewards\" must be a JSON object or array"), std::string::npos) << e;
  }
  const std::string e = error_with({{"task_options", "plain"}});
  EXPECT_NE(e.find("run.json: setting \"task_options\" must be a JSON object or array"), std::string::npos)
      << e;
  EXPECT_NE(error_with({{"rewards", nullptr}}).find("run.json: setting \"rewards\" is null"),
            std::string::npos);
}

TEST(GrpoSettingsValues, TokenizerMustBeAnExistingFolder) {
  test::TempDir tmp("grpo-tokenizer");
  std::string e = error_with({{"tokenizer", (tmp.path / "typo").string()}});
  EXPECT_NE(e.find("typo: no such folder"), std::string::npos) << e;
  std::ofstream(tmp.path / "tokenizer.json") << "{}";
  e = error_with({{"tokenizer", (tmp.path / "tokenizer.json").string()}});
  EXPECT_NE(e.find("tokenizer.json is a file; give the folder"), std::string::npos) << e;
  EXPECT_EQ(error_with({{"tokenizer", tmp.path.string()}}), "");
}

// Dynamic sampling compares the total, or one reward's scores (DAPO filters on accuracy): a name that is not
// one of the run's rewards is refused before the run starts.
TEST(GrpoSettingsValues, DynamicSamplingMetricIsTheTotalOrAReward) {
  EXPECT_EQ(error_with({{"dynamic_sampling", true}, {"dynamic_sampling_metric", "reward"}}), "");
  EXPECT_EQ(error_with({{"dynamic_sampling", true}, {"dynamic_sampling_metric", "accuracy"}}), "");
  const std::string e = error_with({{"dynamic_sampling_metric", "acc"}});
  EXPECT_NE(e.find("dynamic_sampling_metric \"acc\" is neither \"reward\" (the total) nor one of the rewards "
                   "(accuracy, format)"),
            std::string::npos)
      << e;
  EXPECT_NE(error_with({{"dynamic_sampling_metric", "code"}}).find("nor one of the rewards"),
            std::string::npos);
}

}  // namespace
}  // namespace seek

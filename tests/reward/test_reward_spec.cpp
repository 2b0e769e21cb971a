// RewardSpec::from_json refuses a reward listed twice: both entries would be scored and weighted under one
// name, while logs and CombinedReward::find see only one of them.
#include <gtest/gtest.h>

#include "reward/combined_reward.hpp"
#include "support/error_of.hpp"

namespace seek::reward {
namespace {

using nlohmann::json;

TEST(RewardSpec, ARewardGivenTwiceIsAnError) {
  const json twice =
      json::parse(R"([{"name": "accuracy"}, {"name": "format"}, {"name": "accuracy", "weight": 2}])");
  const std::string e = test::error_of([&] { RewardSpec::from_json(twice, "--rewards"); });
  EXPECT_EQ(e,
            "--rewards: reward 'accuracy' is given twice (entries 1 and 3); give each reward once, with its "
            "weight");
  // Distinct rewards in either form are fine.
  EXPECT_EQ(
      RewardSpec::from_json(json::parse(R"([{"name": "accuracy"}, {"name": "format"}])"), "x").terms.size(),
      2u);
  EXPECT_EQ(RewardSpec::from_json(json::parse(R"({"accuracy": 1, "format": 0.5})"), "x").terms.size(), 2u);
}

// An integer option past int64's range was reported as -1 ("option 'seed' = -1 is outside ...").
TEST(RewardSpec, AnIntegerOptionPastInt64IsReportedAsGiven) {
  for (const char* text : {R"({"repetition": {"ngram_size": 18446744073709551615}})",
                           R"({"repetition": {"ngram_size": 9223372036854775808}})"}) {
    const json spec = json::parse(text);
    const std::string e = test::error_of([&] { CombinedReward{RewardSpec::from_json(spec, "--rewards")}; });
    const std::string given = spec["repetition"]["ngram_size"].dump();
    EXPECT_NE(e.find("option 'ngram_size' = " + given + " is outside ["), std::string::npos) << e;
  }
}

}  // namespace
}  // namespace seek::reward

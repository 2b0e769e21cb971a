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

}  // namespace
}  // namespace seek::reward

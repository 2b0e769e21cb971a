// Reward specs that cannot steer training are refused at start-up: every weight 0 (each total would be 0,
// so every advantage 0) and weights that are not finite numbers. A single weight of 0 stays allowed: it logs
// a reward without training on it.
#include <gtest/gtest.h>

#include <limits>

#include "reward/combined_reward.hpp"
#include "support/error_of.hpp"

namespace seek::reward {
namespace {

using nlohmann::json;
using test::error_of;

TEST(RewardWeights, AllZeroIsAnError) {
  for (const char* spec : {R"({"accuracy": 0, "format": 0.0})", R"([{"name": "accuracy", "weight": 0}])",
                           R"({"cosine": {"weight": -0.0, "max_length": 10}})"}) {
    const std::string e = error_of([&] { RewardSpec::from_json(json::parse(spec), "--rewards"); });
    EXPECT_NE(e.find("--rewards: every reward weight is 0"), std::string::npos) << spec << ": " << e;
  }
  const auto spec = RewardSpec::from_json(json::parse(R"({"accuracy": 1, "format": 0})"), "--rewards");
  ASSERT_EQ(spec.terms.size(), 2u);
  EXPECT_EQ(spec.terms[1].weight, 0.0);
}

TEST(RewardWeights, NonFiniteIsAnError) {
  // Bounded too: two weights of 1e308 summed to inf, which stopped the run after its first rollouts.
  for (double w : {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                   std::numeric_limits<double>::quiet_NaN(), 1e308, -2e6}) {
    const std::string e = error_of([&] { RewardSpec::from_json(json{{"format", 1}, {"accuracy", w}}, "x"); });
    EXPECT_NE(e.find("reward 'accuracy': weight must be finite and at most 1e+06 in size"), std::string::npos)
        << w << ": " << e;
  }
  EXPECT_EQ(RewardSpec::from_json(json{{"format", 1}, {"accuracy", -1e6}}, "x").terms.size(), 2u);
}

TEST(RewardWeights, FindReturnsTheNamedTerm) {
  const CombinedReward r(RewardSpec::from_json(json::parse(R"({"accuracy": 1, "format": 0.5})"), "x"));
  ASSERT_NE(r.find("format"), nullptr);
  EXPECT_EQ(r.find("format")->name(), "format");
  EXPECT_EQ(r.find("code"), nullptr);
}

}  // namespace
}  // namespace seek::reward

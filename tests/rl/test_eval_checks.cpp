// Evaluations of code problems: the accuracy reward does not apply to them (NaN), and reading that NaN as 0
// made a perfect model show pass@1 0; they are checked by the code reward, correct when every test passes.
#include <gtest/gtest.h>

#include "reward/sandbox.hpp"
#include "rl/evaluate.hpp"
#include "support/error_of.hpp"

namespace seek {
namespace {

using nlohmann::json;
using test::error_of;

// From std::strings, as tests/reward does: assigning a literal to a default-constructed Problem's string
// trips GCC 12's -Wrestrict false positive (PR 105329).
reward::Problem problem(const std::string& prompt, const std::string& answer,
                        std::vector<reward::CodeTest> tests = {}) {
  reward::Problem p;
  p.id = prompt;
  p.prompt = prompt;
  p.answer = answer;
  p.tests = std::move(tests);
  return p;
}

reward::Problem code_problem() {
  return problem("Print the line you read.", "", {{"hi\n", "hi\n"}});
}

reward::Problem maths_problem() {
  return problem("What is 2+2?", "4");
}

TEST(EvalScorer, CodeProblemsAreCheckedByTheirTests) {
  // The sandbox without namespaces where this machine has none: rlimits and seccomp still run the code.
  const reward::CombinedReward run(reward::RewardSpec::from_json(
      json::parse(R"({"code": {"require_isolation": false, "cpu_seconds": 2}})"), "--rewards"));
  const std::vector<reward::Problem> problems = {code_problem(), maths_problem()};
  const EvalScorer scorer(problems, &run);
  const std::string right = "<think>echo</think>\n```python\nprint(input())\n```\n";
  const std::string wrong = "<think>echo</think>\n```python\nprint('bye')\n```\n";
  EXPECT_EQ(scorer.correctness({&problems[0], right, 10}), 1.0);
  EXPECT_EQ(scorer.correctness({&problems[0], wrong, 10}), 0.0);
  EXPECT_EQ(scorer.correctness({&problems[1], "<answer>4</answer>", 5}), 1.0);
  EXPECT_EQ(scorer.correctness({&problems[1], "<answer>5</answer>", 5}), 0.0);
  // Without a run reward, the code reward's defaults (which need namespaces).
  if (reward::sandbox_support().namespaces) {
    EXPECT_EQ(EvalScorer(problems, nullptr).correctness({&problems[0], right, 10}), 1.0);
  }
}

TEST(EvalScorer, CodeRewardThatCannotRunFailsBeforeGenerating) {
  if (reward::sandbox_support().namespaces) GTEST_SKIP() << "this machine can isolate code";
  const std::vector<reward::Problem> problems = {code_problem()};
  const std::string e = error_of([&] { EvalScorer(problems, nullptr); });
  EXPECT_NE(e.find("code problems are checked with the code reward"), std::string::npos) << e;
  EXPECT_NE(e.find("require_isolation"), std::string::npos) << e;
  // Without code problems the code reward is not needed.
  EXPECT_EQ(error_of([&] { EvalScorer({maths_problem()}, nullptr); }), "");
}

}  // namespace
}  // namespace seek

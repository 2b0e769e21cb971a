// Reward functions on tables of completions (including adversarial ones), length shaping, the combined
// reward from JSON, thread safety and time limits.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <thread>

#include "core/error.hpp"
#include "reward/combined_reward.hpp"
#include "reward/reward.hpp"
#include "reward/task.hpp"
#include "reward_test_util.hpp"

namespace seek::reward {
namespace {

using test::maths;
using test::score;

TEST(FormatReward, StrictTemplate) {
  auto f = make_reward("format");
  Problem p = maths("1");
  struct Case {
    std::string c;
    double want;
  } cases[] = {
      {"<think>reasoning</think><answer>4</answer>", 1},
      {"<think>\nreasoning\n</think>\n<answer>\n4\n</answer>\n", 1},
      {"\n  <think>r</think> <answer>4</answer>", 1},  // leading whitespace allowed
      {"<think></think><answer>4</answer>", 1},        // empty thinking allowed
      {"<think>r</think><answer> </answer>", 0},       // blank answer
      // Blank as the pattern's \s reads it, and invisible spaces (they filled an answer with nothing).
      {"<think>r</think><answer>\v\f</answer>", 0},
      {"<think>r</think><answer>\u00a0\u3000\u200b</answer>", 0},
      {"<think>r</think><answer>\u200c\u200d\u2060\u00ad</answer>", 0},
      {"<think>r</think><answer>\u200c4</answer>", 1},
      {"<think>r</think><answer>\u00a04</answer>", 1},
      // Blank letters and selectors that render as nothing scored an answer of them 1.
      {"<think>r</think><answer>\u3164\u115f\u1160\u2800\uffa0</answer>", 0},
      {"<think>r</think><answer>\u034f\u061c\u180b\ufe0f\u2066\u2069\u17b4</answer>", 0},
      {std::string("<think>r</think><answer>\0\0</answer>", 35), 0},
      {"<think>r</think><answer>\u3164\u2800x</answer>", 1},
      // Beyond the BMP: tag characters, musical and shorthand format controls.
      {"<think>r</think><answer>\U000E0001\U000E0020\U000E01EF</answer>", 0},
      {"<think>r</think><answer>\U0001D173\U0001D17A\U0001BCA0</answer>", 0},
      {"<think>r</think><answer>\U000E00204</answer>", 1},
      {"<answer>4</answer><think>r</think>", 0},        // wrong order
      {"<think>r</think><answer>4</answer> extra", 0},  // text after </answer>
      {"preamble <think>r</think><answer>4</answer>", 0},
      {"<think>r<think>x</think><answer>4</answer>", 0},  // nested tag
      {"<think>r</think><answer>4</answer><answer>5</answer>", 0},
      {"<think>r</think>text<answer>4</answer>", 0},
      {"no tags at all", 0},
  };
  for (const auto& c : cases) EXPECT_EQ(score(*f, p, c.c), c.want) << c.c;
  auto pre = make_reward("format", {{"think_prefilled", true}});
  EXPECT_EQ(score(*pre, p, "reasoning</think><answer>4</answer>"), 1);
  // A long completion is still linear-time.
  std::string big = fmt::format("<think>{}</think><answer>1</answer>", std::string(2'000'000, 'a'));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(score(*f, p, big), 1);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.0);
}

TEST(TagCountReward, PartialCredit) {
  auto f = make_reward("tag_count");
  Problem p = maths("1");
  EXPECT_DOUBLE_EQ(score(*f, p, "<think>a</think><answer>b</answer>"), 1.0);
  EXPECT_DOUBLE_EQ(score(*f, p, "<think>a</think> b"), 0.5);
  EXPECT_DOUBLE_EQ(score(*f, p, "<think>a</think><think>b</think><answer>c</answer>"), 0.5);
  EXPECT_DOUBLE_EQ(score(*f, p, "</answer><answer></think><think>"), 0.25);  // only the first is in order
  EXPECT_DOUBLE_EQ(score(*f, p, "nothing"), 0.0);
  auto nl = make_reward("tag_count", {{"newlines", true}});
  EXPECT_DOUBLE_EQ(score(*nl, p, "<think>\na\n</think>\n<answer>\nb\n</answer>"), 1.0);
  EXPECT_DOUBLE_EQ(score(*nl, p, "<think>a</think><answer>b</answer>"), 0.0);
}

TEST(AccuracyReward, TableIncludingAdversarial) {
  auto acc = make_reward("accuracy");
  auto strict = make_reward("accuracy", {{"require_answer_tag", true}});
  Problem half = maths("\\frac{1}{2}");
  Problem thousand = maths("1000");
  Problem big = maths("10^{1000}");
  struct Case {
    const Problem* p;
    const char* c;
    double loose, tagged;
  } cases[] = {
      {&half, "<think>..</think><answer>0.5</answer>", 1, 1},
      {&half, "<think>..</think><answer>1/2</answer>", 1, 1},
      {&half, "The answer is \\boxed{\\dfrac{1}{2}}", 1, 0},
      {&half, "<think>it is <answer>0.5</answer></think>", 0, 0},                // hidden in the think block
      {&half, "<think>..</think><answer>0.5</answer><answer>3</answer>", 0, 0},  // the last block counts
      {&half, "<think>..</think><answer>3</answer><answer>0.5</answer>", 1, 1},
      {&half, "<answer>0.5</answer><think>..</think>", 0, 0},  // wrong order
      {&thousand, "#### 1,000", 1, 0},
      {&thousand, "<think></think><answer>1,000 apples</answer>", 1, 1},
      {&thousand, "<think></think><answer>10^{1000}</answer>", 0, 0},
      {&big, "<think></think><answer>10^{1000}</answer>", 1, 1},
      {&big, "<think></think><answer>10^{999}</answer>", 0, 0},
      {&thousand, "\\boxed{1000", 0, 0},  // unbalanced brace
  };
  for (const auto& c : cases) {
    EXPECT_EQ(score(*acc, *c.p, c.c), c.loose) << c.c;
    EXPECT_EQ(score(*strict, *c.p, c.c), c.tagged) << c.c;
  }
  Problem code;
  code.asserts = "assert True";
  EXPECT_TRUE(std::isnan(score(*acc, code, "x")));  // not applicable
}

TEST(LengthRewards, SoftOverlongCosineRepetition) {
  Problem p = maths("4");
  auto ol = make_reward("soft_overlong", {{"max_length", 100}, {"cache_length", 20}});
  EXPECT_DOUBLE_EQ(score(*ol, p, "", 80), 0.0);
  EXPECT_DOUBLE_EQ(score(*ol, p, "", 90), -0.5);
  EXPECT_DOUBLE_EQ(score(*ol, p, "", 100), -1.0);
  EXPECT_DOUBLE_EQ(score(*ol, p, "", 101), -1.0);
  EXPECT_DOUBLE_EQ(score(*ol, p, std::string(90, 'x')), -0.5);  // bytes when tokens are unknown
  EXPECT_THROW(make_reward("soft_overlong", {{"max_length", 10}, {"cache_length", 20}}), Error);

  auto cos = make_reward("cosine", {{"max_length", 100}});
  const char* right = "<think></think><answer>4</answer>";
  const char* wrong = "<think></think><answer>5</answer>";
  EXPECT_NEAR(score(*cos, p, right, 0), 1.0, 1e-12);
  EXPECT_NEAR(score(*cos, p, right, 100), 0.5, 1e-12);
  EXPECT_NEAR(score(*cos, p, right, 50), 0.75, 1e-12);
  EXPECT_NEAR(score(*cos, p, wrong, 0), -1.0, 1e-12);
  EXPECT_NEAR(score(*cos, p, wrong, 100), -0.5, 1e-12);

  auto rep = make_reward("repetition");
  EXPECT_DOUBLE_EQ(score(*rep, p, "a b"), 0.0);
  EXPECT_DOUBLE_EQ(score(*rep, p, "one two three four five"), 0.0);
  // "a b c a b c": 4 trigrams, 3 distinct -> (1 - 3/4) * -1.
  EXPECT_DOUBLE_EQ(score(*rep, p, "a b c A B C"), -0.25);
  std::string loop;
  for (int i = 0; i < 1000; ++i) loop += "wait wait wait ";
  EXPECT_LT(score(*rep, p, loop), -0.99);
}

TEST(Registry, ErrorsNameTheProblem) {
  try {
    make_reward("accuracyy");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("accuracyy"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("tag_count"), std::string::npos);  // lists the known names
  }
  try {
    make_reward("format", {{"think_prefiled", true}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("think_prefiled"), std::string::npos);
  }
  EXPECT_THROW(make_reward("cosine", {{"max_length", "long"}}), Error);
}

TEST(CombinedReward, FromJsonWeightsAndComponents) {
  auto spec = RewardSpec::from_json(nlohmann::json::parse(R"({"accuracy": 1.0, "format": 0.5,
      "soft_overlong": {"weight": 2.0, "max_length": 10, "cache_length": 5}})"),
                                    "run.json: rewards");
  CombinedReward r(spec);
  ASSERT_EQ(r.names(), (std::vector<std::string>{"accuracy", "format", "soft_overlong"}));
  Problem p = maths("4");
  auto s = r.score({&p, "<think>x</think><answer>4</answer>", 8});
  ASSERT_EQ(s.components.size(), 3u);
  EXPECT_DOUBLE_EQ(s.components[0], 1.0);
  EXPECT_DOUBLE_EQ(s.components[1], 1.0);
  EXPECT_DOUBLE_EQ(s.components[2], -0.6);
  EXPECT_DOUBLE_EQ(s.total, 1.0 + 0.5 - 1.2);
  // NaN components (not applicable) are reported but left out of the total.
  Problem code;
  code.tests = {{"1", "1"}};
  auto c = r.score({&code, "<think>x</think><answer>4</answer>", 1});
  EXPECT_TRUE(std::isnan(c.components[0]));
  EXPECT_DOUBLE_EQ(c.total, 0.5);
  // Array form keeps its order; round trip.
  auto arr = RewardSpec::from_json(
      nlohmann::json::parse(R"([{"name": "format"}, {"name": "accuracy", "weight": 2}])"), "x");
  EXPECT_EQ(CombinedReward(arr).names(), (std::vector<std::string>{"format", "accuracy"}));
  EXPECT_EQ(RewardSpec::from_json(arr.to_json(), "x").to_json(), arr.to_json());
  EXPECT_THROW(RewardSpec::from_json(nlohmann::json::parse(R"({"acc": 1})"), "x"), Error);
  EXPECT_THROW(CombinedReward(RewardSpec::from_json(nlohmann::json::parse(R"({"acc": 1})"), "x")), Error);
  EXPECT_THROW(RewardSpec::from_json(nlohmann::json::parse(R"({"format": "high"})"), "x"), Error);
  EXPECT_THROW(RewardSpec::from_json(nlohmann::json::object(), "x"), Error);
}

TEST(CombinedReward, DeeplyNestedOptionsAreErrorsNotCrashes) {
  // Options are copied into the reward terms and option readers, which recursed once per nesting level.
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  const auto spec = nlohmann::json::parse(R"({"accuracy": {"weight": 1, "x": )" + deep + "}}");
  try {
    RewardSpec::from_json(spec, "--rewards");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(R"(--rewards: the value at ["accuracy"]["x"][0])"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(make_task("countdown", nlohmann::json::parse(R"({"seed": )" + deep + "}")), Error);
}

TEST(CombinedReward, ThreadSafeAndDeterministic) {
  auto spec = RewardSpec::from_json(
      nlohmann::json::parse(R"({"accuracy": 1, "format": 1, "tag_count": 1, "repetition": 1, "cosine": 1})"),
      "t");
  CombinedReward r(spec);
  auto task = make_task("countdown");
  std::vector<Problem> problems;
  std::vector<std::string> completions;
  for (int i = 0; i < 400; ++i) {
    problems.push_back(i % 2 ? task->train(uint64_t(i)) : maths(std::to_string(i)));
  }
  for (int i = 0; i < 400; ++i) {
    const Problem& p = problems[size_t(i)];
    std::string body = i % 3 == 0 ? p.answer : std::to_string(i + 1);
    completions.push_back(fmt::format("<think>step {} step step</think><answer>{}</answer>", i, body));
  }
  std::vector<RewardInput> inputs;
  for (int i = 0; i < 400; ++i) inputs.push_back({&problems[size_t(i)], completions[size_t(i)], i});
  auto serial = r.score_batch(inputs, 1);
  auto parallel = r.score_batch(inputs, 8);
  // Plain std::threads calling score() on the same object at once.
  std::vector<RewardScore> threaded(inputs.size());
  std::vector<std::thread> pool;
  for (int t = 0; t < 8; ++t) {
    pool.emplace_back([&, t] {
      for (size_t i = size_t(t); i < inputs.size(); i += 8) threaded[i] = r.score(inputs[i]);
    });
  }
  for (auto& th : pool) th.join();
  int correct = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    for (size_t k = 0; k < serial[i].components.size(); ++k) {
      EXPECT_EQ(serial[i].components[k], parallel[i].components[k]);
      EXPECT_EQ(serial[i].components[k], threaded[i].components[k]);
    }
    correct += serial[i].components[0] == 1.0;
  }
  EXPECT_GT(correct, 100);  // every third completion carries the reference answer
}

// The progress callback runs on the calling thread only (a progress line is not thread-safe), with counts
// that never go back, ending at the total; the scores are those of a run without it.
TEST(CombinedReward, ScoreBatchReportsProgressOnTheCallingThread) {
  CombinedReward r(RewardSpec::from_json(nlohmann::json::parse(R"({"accuracy": 1, "format": 1})"), "t"));
  std::vector<Problem> problems;
  std::vector<std::string> completions;
  for (int i = 0; i < 200; ++i) {
    problems.push_back(maths(std::to_string(i)));
    completions.push_back(fmt::format("<think>x</think><answer>{}</answer>", i % 2 ? i : i + 1));
  }
  std::vector<RewardInput> inputs;
  for (int i = 0; i < 200; ++i) inputs.push_back({&problems[size_t(i)], completions[size_t(i)], i});
  const std::thread::id caller = std::this_thread::get_id();
  std::vector<int64_t> counts;
  bool other_thread = false;
  const auto scores = r.score_batch(inputs, 4, [&](int64_t n) {
    other_thread |= std::this_thread::get_id() != caller;
    counts.push_back(n);
  });
  EXPECT_FALSE(other_thread);
  ASSERT_FALSE(counts.empty());
  EXPECT_TRUE(std::is_sorted(counts.begin(), counts.end()));
  EXPECT_GE(counts.front(), 1);
  EXPECT_EQ(counts.back(), 200);
  const auto plain = r.score_batch(inputs, 4);
  for (size_t i = 0; i < inputs.size(); ++i) EXPECT_EQ(scores[i].components, plain[i].components) << i;
}

TEST(TimeLimits, PathologicalInputReturnsZeroInTime) {
  // A completion built to make normalisation and evaluation work hard; with a 50 ms limit the reward
  // returns 0 (or its honest answer) well within a few times the limit.
  std::string nasty = "<think></think><answer>";
  for (int i = 0; i < 4000; ++i) nasty += "\\frac{\\sqrt{";
  nasty += "1";
  for (int i = 0; i < 4000; ++i) nasty += "}}{2}";
  nasty += "</answer>";
  auto acc = make_reward("accuracy", {{"time_limit", 0.05}});
  Problem p = maths("1");
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(score(*acc, p, nasty), 0.0);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 0.5);
  // 20 MB of digits.
  std::string digits = fmt::format("<think></think><answer>{}</answer>", std::string(20'000'000, '7'));
  t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(score(*acc, p, digits), 0.0);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.0);
}

}  // namespace
}  // namespace seek::reward

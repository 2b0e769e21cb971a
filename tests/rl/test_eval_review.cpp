// Evaluation scoring under a prefilled "<think>" (a task's think_prefilled, or a dataset prompt ending in the
// tag): the completion starts inside the thinking, so the format reward must read it so (it scored 0 for
// every completion), and the accuracy reward must not take a number from unfinished thinking. And pass@k at
// its edges, and the figures of a whole evaluation against the means of its scored lines.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "infer/model.hpp"
#include "model/config.hpp"
#include "reward/combined_reward.hpp"
#include "reward/task.hpp"
#include "rl/evaluate.hpp"
#include "rl/grpo_loss.hpp"
#include "support/captured_progress.hpp"
#include "tokenizer/tokenizer.hpp"

namespace seek {
namespace {

reward::Problem maths(const std::string& prompt, const std::string& answer) {
  reward::Problem p;
  p.id = prompt;
  p.prompt = prompt;
  p.answer = answer;
  return p;
}

// tiny-v3 with random weights and a vocabulary that holds the byte tokenizer.
std::unique_ptr<InferModel> tiny_random_model() {
  auto cfg = ModelConfig::load(std::string(SEEK_SOURCE_DIR) + "/configs/tiny-v3.json");
  cfg.vocab_size = 272;
  cfg.num_nextn_predict_layers = 0;
  return InferModel::random(cfg, 3, WeightFormat::F32);
}

TEST(EvalReview, PrefilledThinkIsScoredAsThinking) {
  const std::vector<reward::Problem> problems = {maths("What is 2+2?\nAssistant: <think>", "4"),
                                                 maths("What is 2+2?\nAssistant:", "4")};
  const EvalScorer scorer(problems, nullptr);
  const std::string prefilled_ok = "2+2 makes 4.</think> <answer>4</answer>";
  const std::string full_ok = "<think>2+2 makes 4.</think> <answer>4</answer>";
  const std::string unfinished = "2+2 makes 4, so";
  EXPECT_EQ(scorer.format({&problems[0], prefilled_ok, 10}), 1.0);
  EXPECT_EQ(scorer.format({&problems[0], full_ok, 10}), 0.0);  // a second <think>
  EXPECT_EQ(scorer.format({&problems[1], full_ok, 10}), 1.0);
  EXPECT_EQ(scorer.format({&problems[1], prefilled_ok, 10}), 0.0);
  EXPECT_EQ(scorer.correctness({&problems[0], prefilled_ok, 10}), 1.0);
  EXPECT_EQ(scorer.correctness({&problems[0], unfinished, 10}), 0.0);  // thinking never counts
  EXPECT_EQ(scorer.correctness({&problems[1], full_ok, 10}), 1.0);
}

TEST(EvalReview, TaskWithThinkPrefilled) {
  auto task = reward::make_task("countdown", {{"think_prefilled", true}});
  const std::vector<reward::Problem> problems = {task->held_out(0)};
  const EvalScorer scorer(problems, nullptr);
  const std::string c = "searching...</think>\n<answer>" + problems[0].answer + "</answer>";
  EXPECT_EQ(scorer.correctness({&problems[0], c, 10}), 1.0);
  EXPECT_EQ(scorer.format({&problems[0], c, 10}), 1.0);
}

TEST(EvalReview, PassAtKEdges) {
  EXPECT_EQ(pass_at_k(10, 0, 1), 0.0);
  EXPECT_EQ(pass_at_k(10, 0, 10), 0.0);
  EXPECT_EQ(pass_at_k(10, 10, 1), 1.0);
  EXPECT_EQ(pass_at_k(10, 1, 10), 1.0);  // k = n: some sample is correct
  EXPECT_DOUBLE_EQ(pass_at_k(10, 3, 1), 0.3);
  EXPECT_DOUBLE_EQ(pass_at_k(5, 2, 2), 1.0 - 3.0 / 10.0);  // 1 - C(3,2)/C(5,2)
  EXPECT_DOUBLE_EQ(pass_at_k(4, 1, 3), 0.75);              // 1 - C(3,3)/C(4,3)
  // Large n: C(n, k) overflows doubles, the product form does not.
  const double v = pass_at_k(100000, 1000, 50);
  EXPECT_TRUE(std::isfinite(v));
  EXPECT_NEAR(v, 1.0 - std::pow(0.99, 50), 1e-3);
  EXPECT_NEAR(pass_at_k(2000, 1, 1), 1.0 / 2000, 1e-15);
}

// With progress options, evaluate() reports completions generated and then completions scored, done of
// total (here on a clock that moves 20 s per reading, so every update is due), and the same figures as
// without.
TEST(EvalReview, ProgressCountsGeneratedAndScoredCompletions) {
  const auto model = tiny_random_model();
  const auto tok = make_byte_tokenizer();
  const std::vector<reward::Problem> problems = {maths("1+1=", "2"), maths("2+2=", "4"), maths("3+3=", "6")};
  EvalOptions opt;
  opt.samples = 2;
  opt.ks = {1, 2};
  opt.sampling.temperature = 1.0f;
  opt.sampling.max_new_tokens = 4;
  const EvalResult quiet = evaluate(*model, *tok, problems, opt, nullptr, nullptr);
  test::CapturedProgress progress;
  opt.progress = progress.options;
  const EvalResult shown = evaluate(*model, *tok, problems, opt, nullptr, nullptr);
  const std::string text = progress.text();
  EXPECT_EQ(shown.to_json(), quiet.to_json());
  EXPECT_NE(text.find("eval: 6/6 completions (100%) | "), std::string::npos) << text;
  EXPECT_NE(text.find(" tokens/s | "), std::string::npos) << text;
  EXPECT_NE(text.find("eval: scoring: 2/6 completions (33%)"), std::string::npos) << text;
  EXPECT_NE(text.find("eval: scoring: 6/6 completions (100%)"), std::string::npos) << text;
}

// A stop asked for while any completion is scored, the last one too, ends the evaluation as stopped: its
// code runs were cut short, so its figures would be wrong. (Only the start of each problem was checked, so a
// stop during the last problem's scoring gave figures, and `seek eval` wrote them and exited 0.)
TEST(EvalReview, AStopDuringTheLastScoringIsAStop) {
  const auto model = tiny_random_model();
  const auto tok = make_byte_tokenizer();
  const std::vector<reward::Problem> problems = {maths("1+1=", "2"), maths("2+2=", "4")};
  EvalOptions opt;
  opt.samples = 2;
  opt.sampling.temperature = 1.0f;
  opt.sampling.max_new_tokens = 4;
  // The stop arrives while the last completion is scored: once its line is written, as a signal stays.
  std::ostringstream out;
  opt.stop_requested = [&] {
    const std::string text = out.str();
    return std::count(text.begin(), text.end(), '\n') >= 4;
  };
  const EvalResult r = evaluate(*model, *tok, problems, opt, nullptr, &out);
  EXPECT_TRUE(r.stopped);
  // Earlier stops too, after any completion: the line count is the completions scored when it was seen.
  for (int64_t after = 1; after < 4; ++after) {
    std::ostringstream early;
    opt.stop_requested = [&] {
      const std::string text = early.str();
      return std::count(text.begin(), text.end(), '\n') >= after;
    };
    EXPECT_TRUE(evaluate(*model, *tok, problems, opt, nullptr, &early).stopped) << after;
    const std::string text = early.str();
    EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), after) << "scored on past the stop";
  }
}

std::vector<nlohmann::json> lines_of(const std::string& text) {
  std::vector<nlohmann::json> v;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) v.push_back(nlohmann::json::parse(l));
  return v;
}

// The figures are the per-problem / per-completion means of what the lines say, with some problems solved by
// some but not all samples (answers picked from a first run's one-byte completions).
TEST(EvalReview, FiguresAggregateTheScoredLines) {
  const auto model = tiny_random_model();
  const auto tok = make_byte_tokenizer();
  const int P = 8, N = 24;
  std::vector<reward::Problem> problems;
  for (int i = 0; i < P; ++i) problems.push_back(maths(fmt::format("Q{}:", i), "100"));
  EvalOptions opt;
  opt.samples = N;
  opt.ks = {1, 4, 4};
  opt.sampling.temperature = 3.0f;
  opt.sampling.max_new_tokens = 1;
  std::ostringstream first;
  evaluate(*model, *tok, problems, opt, nullptr, &first);
  // Each problem's answer: a digit some of its samples wrote.
  std::map<int, std::set<std::string>> digits;
  for (const auto& l : lines_of(first.str())) {
    const std::string c = l["completion"];
    if (c.size() == 1 && c[0] >= '0' && c[0] <= '9')
      digits[std::stoi(l["problem"].get<std::string>().substr(1))].insert(c);
  }
  for (auto& [i, d] : digits) problems[size_t(i)].answer = *d.begin();
  std::ostringstream out;
  const EvalResult r = evaluate(*model, *tok, problems, opt, nullptr, &out);
  std::vector<int64_t> correct(P, 0);
  double acc = 0, fmt = 0, reward = 0, len = 0;
  int64_t n = 0;
  for (const auto& l : lines_of(out.str())) {
    const int i = std::stoi(l["problem"].get<std::string>().substr(1));
    correct[size_t(i)] += l["accuracy"].get<double>() >= 1.0;
    acc += l["accuracy"].get<double>();
    fmt += l["format"].get<double>() >= 1.0;
    reward += l["reward"].get<double>();
    len += l["tokens"].get<double>();
    ++n;
  }
  int mixed = 0;
  for (int64_t c : correct) mixed += c > 0 && c < N;
  ASSERT_GE(mixed, 2) << "the test needs problems solved by some samples";
  EXPECT_EQ(r.problems, P);
  EXPECT_EQ(r.completions, int64_t(P) * N);
  ASSERT_EQ(r.pass_at.size(), 2u);  // k = 4 once
  for (const auto& [k, v] : r.pass_at) {
    double sum = 0;
    for (int64_t c : correct) sum += pass_at_k(N, c, k);
    EXPECT_DOUBLE_EQ(v, sum / P) << "pass@" << k;
  }
  EXPECT_DOUBLE_EQ(r.accuracy, acc / double(n));
  EXPECT_DOUBLE_EQ(r.mean_reward, reward / double(n));
  EXPECT_DOUBLE_EQ(r.format_rate, fmt / double(n));
  EXPECT_DOUBLE_EQ(r.mean_length, len / double(n));
  // With a run reward, mean_reward is the run reward's total (here twice the accuracy).
  const reward::CombinedReward doubled(
      reward::RewardSpec::from_json(nlohmann::json::parse(R"({"accuracy": 2})"), "--rewards"));
  const EvalResult w = evaluate(*model, *tok, problems, opt, &doubled, nullptr);
  EXPECT_GT(w.accuracy, 0.0);
  EXPECT_DOUBLE_EQ(w.mean_reward, 2 * w.accuracy);
}

// Two problems with the same prompt are sampled with their own seeds: they do not draw the same completions.
TEST(EvalReview, EachProblemHasItsOwnSeed) {
  const auto model = tiny_random_model();
  const auto tok = make_byte_tokenizer();
  const std::vector<reward::Problem> problems = {maths("1+1=", "2"), maths("1+1=", "2")};
  EvalOptions opt;
  opt.samples = 4;
  opt.ks = {1};
  opt.sampling.temperature = 1.0f;
  opt.sampling.max_new_tokens = 8;
  std::ostringstream out;
  evaluate(*model, *tok, problems, opt, nullptr, &out);
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 8u);
  std::vector<std::string> a, b;
  for (size_t j = 0; j < 4; ++j) a.push_back(lines[j]["completion"]), b.push_back(lines[4 + j]["completion"]);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace seek

// Evaluations that would report numbers about nothing: code problems scored by the accuracy reward (which
// does not apply to them: its NaN read as 0, so a perfect model showed pass@1 0), and GRPO settings whose
// evaluations have no samples or, for a task, no problems.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <limits>

#include "reward/sandbox.hpp"
#include "rl/evaluate.hpp"
#include "rl/grpo_settings.hpp"
#include "rl/problems.hpp"
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
  // Given what the run's rewards scored, a code problem's correctness is their code term: the programs are
  // not run a second time (they were, and a timing-sensitive one could score differently). The maths
  // problem's accuracy is still its own.
  const reward::RewardScore scored = run.score({&problems[0], right, 10});
  ASSERT_EQ(scored.components.size(), 1u);
  EXPECT_EQ(scored.components[0], 1.0);
  reward::RewardScore other = scored;
  other.components[0] = 0.25;  // what no run of `right` gives
  EXPECT_EQ(scorer.correctness({&problems[0], right, 10}, &other), 0.25);
  EXPECT_EQ(scorer.correctness({&problems[1], "<answer>4</answer>", 5}, &other), 1.0);
  // Why a code completion failed is noted (for eval --out and completions.jsonl): it said nothing of it.
  std::string note = "stale";
  EXPECT_EQ(scorer.correctness({&problems[0], wrong, 10}, nullptr, &note), 0.0);
  EXPECT_EQ(note, "0 of 1 tests passed; first failure: test 1: wrong output");
  EXPECT_EQ(scorer.correctness({&problems[0], "no code", 10}, nullptr, &note), 0.0);
  EXPECT_EQ(note, "no closed ```python block after the thinking");
  EXPECT_EQ(scorer.correctness({&problems[0], right, 10}, nullptr, &note), 1.0);
  EXPECT_EQ(note, "");
  const reward::RewardScore failed = run.score({&problems[0], wrong, 10});
  ASSERT_EQ(failed.notes.size(), 1u);
  EXPECT_EQ(failed.notes[0], "0 of 1 tests passed; first failure: test 1: wrong output");
  EXPECT_EQ(scorer.correctness({&problems[0], wrong, 10}, &failed, &note), 0.0);
  EXPECT_EQ(note, failed.notes[0]);  // the run's, not a second run's
  EXPECT_EQ(scored.notes[0], "");
}

// Chat problems were always rendered in the V3 format, so an R1 model got no "<think>\n" after its
// generation prompt, and format compliance read 0 for completions that went on from it.
TEST(EvalScorer, ChatProblemsFollowTheModelsChatFormat) {
  reward::Problem chat = maths_problem();
  chat.prompt.clear();
  chat.messages = json::array({{{"role", "user"}, {"content", "What is 2+2?"}}});
  const auto tok = make_byte_tokenizer();
  const auto text = [&](ChatStyle style) {
    const auto ids = encode_problem_prompt(*tok, chat, style);
    return tok->decode(ids);
  };
  EXPECT_TRUE(text(ChatStyle::R1).ends_with("<｜Assistant｜><think>\n")) << text(ChatStyle::R1);
  EXPECT_TRUE(text(ChatStyle::V3).ends_with("<｜Assistant｜>")) << text(ChatStyle::V3);
  EXPECT_TRUE(text(ChatStyle::V2).ends_with("User: What is 2+2?\n\nAssistant:")) << text(ChatStyle::V2);
  // V3.1: its default closes the thinking, --think opens it.
  EXPECT_TRUE(text(ChatStyle::V31).ends_with("<｜Assistant｜></think>")) << text(ChatStyle::V31);
  EXPECT_TRUE(text(ChatStyle::V31Thinking).ends_with("<｜Assistant｜><think>"))
      << text(ChatStyle::V31Thinking);
  EXPECT_TRUE(prompt_opens_think(chat, ChatStyle::R1));
  EXPECT_TRUE(prompt_opens_think(chat, ChatStyle::V31Thinking));
  EXPECT_FALSE(prompt_opens_think(chat, ChatStyle::V3));
  EXPECT_FALSE(prompt_opens_think(chat, ChatStyle::V31));
  const std::string from_think = "2 and 2 make 4</think> <answer>4</answer>";
  const std::vector<reward::Problem> problems = {chat};
  EXPECT_EQ(EvalScorer(problems, nullptr, ChatStyle::R1).format({&problems[0], from_think, 9}), 1.0);
  EXPECT_EQ(EvalScorer(problems, nullptr, ChatStyle::V31Thinking).format({&problems[0], from_think, 9}), 1.0);
  EXPECT_EQ(EvalScorer(problems, nullptr, ChatStyle::V3).format({&problems[0], from_think, 9}), 0.0);
  // After a trailing tool turn R1's and V3.1's templates add no generation prompt, so no <think> is open:
  // the scorers took one as opened, and a completion's own "<think>…</think><answer>" scored format 0.
  reward::Problem after_tool = chat;
  after_tool.messages.push_back({{"role", "tool"}, {"content", "4"}});
  for (const ChatStyle style : {ChatStyle::R1, ChatStyle::V31Thinking}) {
    const std::string prompt = tok->decode(encode_problem_prompt(*tok, after_tool, style));
    EXPECT_EQ(prompt.find("<think>"), std::string::npos) << prompt;
    EXPECT_FALSE(prompt_opens_think(after_tool, style)) << chat_style_name(style);
    const std::vector<reward::Problem> tool_problems = {after_tool};
    EXPECT_EQ(EvalScorer(tool_problems, nullptr, style)
                  .format({&tool_problems[0], "<think>2 and 2</think> <answer>4</answer>", 9}),
              1.0)
        << chat_style_name(style);
  }
}

// A plain prompt rendered ahead had its BOS text spelled out byte by byte (special-token text was not parsed)
// while <｜User｜> and <｜Assistant｜> were tokens; now it reads as the chat problem's prompt does, with one
// BOS.
TEST(EvalScorer, APlainPromptRenderedAheadReadsAsTheChatFormat) {
  const auto tok = make_byte_tokenizer();
  reward::Problem chat = maths_problem();
  chat.prompt.clear();
  chat.messages = json::array({{{"role", "user"}, {"content", "What is 2+2?"}}});
  const std::vector<int32_t> rendered = encode_problem_prompt(*tok, chat, ChatStyle::V3);
  reward::Problem plain = maths_problem();
  plain.prompt = tok->decode(rendered);  // "<｜begin▁of▁sentence｜><｜User｜>What is 2+2?<｜Assistant｜>"
  ASSERT_TRUE(plain.prompt.starts_with("<｜begin▁of▁sentence｜>")) << plain.prompt;
  EXPECT_EQ(encode_problem_prompt(*tok, plain, ChatStyle::V3), rendered);
  plain.prompt = "What is 2+2?";  // without BOS text: BOS added once
  const std::vector<int32_t> ids = encode_problem_prompt(*tok, plain, ChatStyle::V3);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids[0], tok->bos_id());
  EXPECT_NE(ids[1], tok->bos_id());
}

// Evaluation used the accuracy reward's defaults whatever the run trained with: an untagged answer counted
// as correct in eval and scored 0 in training with require_answer_tag.
TEST(EvalScorer, AccuracyTakesTheRunRewardsOptions) {
  const std::vector<reward::Problem> problems = {maths_problem()};
  const reward::CombinedReward strict(reward::RewardSpec::from_json(
      json::parse(R"({"accuracy": {"require_answer_tag": true}, "format": 0.5})"), "--rewards"));
  const std::string untagged = "The answer is 4";
  EXPECT_EQ(EvalScorer(problems, nullptr).correctness({&problems[0], untagged, 4}), 1.0);
  EXPECT_EQ(EvalScorer(problems, &strict).correctness({&problems[0], untagged, 4}), 0.0);
  EXPECT_EQ(EvalScorer(problems, &strict).correctness({&problems[0], "<answer>4</answer>", 4}), 1.0);
  // A prompt that opens the thinking keeps counting as such with the run's options: an answer still inside
  // the unclosed thinking is no answer, with or without --rewards (as the format score judges it too).
  const std::vector<reward::Problem> opened = {problem("Q: 2+2?\nAssistant: <think>", "4")};
  const reward::CombinedReward plain(
      reward::RewardSpec::from_json(json::parse(R"({"accuracy": 1})"), "--rewards"));
  const std::string unclosed = "4 <answer>4</answer>";
  EXPECT_EQ(EvalScorer(opened, nullptr).correctness({&opened[0], unclosed, 4}), 0.0);
  EXPECT_EQ(EvalScorer(opened, &plain).correctness({&opened[0], unclosed, 4}), 0.0);
  EXPECT_EQ(EvalScorer(opened, &plain).correctness({&opened[0], "so 4</think> <answer>4</answer>", 4}), 1.0);
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

GrpoSettings grpo(const json& extra) {
  json j = {{"init", "policy"}, {"out", "o"}};
  j.update(extra);
  return GrpoSettings::from_json(j, "test");
}

std::string validate_error(const GrpoSettings& s) {
  return error_of([&] { s.validate(); });
}

TEST(GrpoEvalSettings, EvaluationsMustHaveSamplesAndProblems) {
  const json task = {{"task", "countdown"}, {"eval_every", 10}};
  EXPECT_EQ(validate_error(grpo(task)), "");
  for (int64_t n : {0, -3}) {
    json j = task;
    j["eval_problems"] = n;
    EXPECT_NE(
        validate_error(grpo(j)).find(fmt::format("eval_problems must be between 1 and 10000000 (got {})", n)),
        std::string::npos)
        << n;
    j = task;
    j["eval_samples"] = n;
    EXPECT_NE(validate_error(grpo(j)).find("eval_samples must be positive"), std::string::npos) << n;
  }
  // A dataset's 0 is all of it; without evaluations the two keys are not used (a note says so).
  EXPECT_EQ(validate_error(grpo({{"data", "p.jsonl"}, {"eval_every", 10}, {"eval_problems", 0}})), "");
  EXPECT_NE(validate_error(grpo({{"data", "p.jsonl"}, {"eval_every", 10}, {"eval_problems", -1}}))
                .find("or 0 for all of data"),
            std::string::npos);
  EXPECT_EQ(validate_error(grpo({{"task", "countdown"}, {"eval_problems", 0}, {"eval_samples", 0}})), "");
  // A task's held-out problems are all built before the first is scored: a count beyond any evaluation is
  // refused rather than filling memory.
  EXPECT_NE(
      validate_error(grpo({{"task", "arithmetic"}, {"eval_every", 1}, {"eval_problems", 1000000000000}}))
          .find("eval_problems must be between 1 and 10000000 (got 1000000000000)"),
      std::string::npos);
}

// Counts that multiply one another or reach the engine as ints are bounded (2^32 + 1 samples were evaluated
// as 1 and reported as pass@4294967297; prompts × draws overflowed), and the real-valued GRPO keys must be
// finite (inf passed their comparisons and was saved as null, which a resume could not read).
TEST(GrpoEvalSettings, CountsAreBoundedAndRealsFinite) {
  const json task = {{"task", "countdown"}};
  for (const char* key : {"prompts_per_step", "group_size", "max_dynamic_draws", "micro_batch",
                          "rollout_batch", "num_iterations", "eval_samples"}) {
    json j = task;
    j[key] = int64_t(1) << 20;
    EXPECT_EQ(validate_error(grpo(j)), "") << key;
    j[key] = 4294967297;
    EXPECT_NE(validate_error(grpo(j)).find(fmt::format("{} must be at most 1048576 (got 4294967297)", key)),
              std::string::npos)
        << key << ": " << validate_error(grpo(j));
  }
  json j = task;
  j["steps"] = int64_t(1) << 60;
  j["num_iterations"] = 16;
  EXPECT_NE(validate_error(grpo(j)).find("steps × num_iterations"), std::string::npos);
  for (const char* key : {"temperature", "epsilon_low", "epsilon_high", "delta", "cispo_max",
                          "sapo_temperature_pos", "beta", "entropy_coef"}) {
    GrpoSettings s = grpo(task);
    double* v = std::string(key) == "temperature"            ? &s.temperature
                : std::string(key) == "epsilon_low"          ? &s.epsilon_low
                : std::string(key) == "epsilon_high"         ? &s.epsilon_high
                : std::string(key) == "delta"                ? &s.delta
                : std::string(key) == "cispo_max"            ? &s.cispo_max
                : std::string(key) == "sapo_temperature_pos" ? &s.sapo_temperature_pos
                : std::string(key) == "beta"                 ? &s.beta
                                                             : &s.entropy_coef;
    *v = std::numeric_limits<double>::infinity();
    EXPECT_NE(validate_error(s).find(fmt::format("{} must be a finite number, got inf", key)),
              std::string::npos)
        << key << ": " << validate_error(s);
  }
  GrpoSettings s = grpo(task);
  s.temperature = 1e300;
  EXPECT_NE(validate_error(s).find("temperature 1e+300 is beyond the largest fp32 number"), std::string::npos)
      << validate_error(s);
  // A tiny temperature passed and stopped the run at its first step ("non-finite gradient").
  s.temperature = 1e-38;
  EXPECT_NE(validate_error(s).find("temperature 1e-38 is below 1e-05: sampling is greedy there"),
            std::string::npos)
      << validate_error(s);
  s.temperature = 1e-5;
  EXPECT_EQ(validate_error(s), "");
}

// The policy loss and the ratio's level are names the loss knows; cispo has its own cap and no δ.
TEST(GrpoEvalSettings, PolicyLossAndImportanceLevel) {
  const json task = {{"task", "countdown"}};
  EXPECT_EQ(validate_error(grpo({{"task", "countdown"}, {"policy_loss", "cispo"}})), "");
  EXPECT_EQ(validate_error(grpo({{"task", "countdown"}, {"importance_sampling_level", "sequence"}})), "");
  EXPECT_EQ(validate_error(grpo({{"task", "countdown"}, {"policy_loss", "sapo"}})), "");
  // Down to 1e-6: below, the loss's 4/τ overflows (at 1e-320 every step's loss was null).
  for (double tau : {-1.0, 0.0, 1e-320, 9e-7}) {
    EXPECT_NE(
        validate_error(grpo({{"task", "countdown"}, {"policy_loss", "sapo"}, {"sapo_temperature_neg", tau}}))
            .find("sapo_temperature_pos and sapo_temperature_neg must be at least 1e-06"),
        std::string::npos)
        << tau;
  }
  EXPECT_EQ(
      validate_error(grpo({{"task", "countdown"}, {"policy_loss", "sapo"}, {"sapo_temperature_neg", 1e-6}})),
      "");
  EXPECT_NE(validate_error(grpo({{"task", "countdown"}, {"policy_loss", "ppo"}}))
                .find("unknown policy loss 'ppo' (expected clip, cispo or sapo)"),
            std::string::npos);
  EXPECT_NE(validate_error(grpo({{"task", "countdown"}, {"importance_sampling_level", "seq"}}))
                .find("unknown importance sampling level 'seq' (expected token or sequence)"),
            std::string::npos);
  EXPECT_NE(
      validate_error(grpo({{"task", "countdown"}, {"policy_loss", "cispo"}, {"delta", 2.0}}))
          .find(
              "delta 2 caps the ratio of the clipped surrogate (policy_loss clip); cispo bounds its updates "
              "its own way"),
      std::string::npos);
  EXPECT_NE(validate_error(grpo({{"task", "countdown"}, {"policy_loss", "cispo"}, {"cispo_max", 0}}))
                .find("cispo_max must be > 0"),
            std::string::npos);
  GrpoSettings s = grpo(task);
  s.temperature = 1e300;
  EXPECT_NE(validate_error(s).find("temperature 1e+300 is beyond the largest fp32 number"), std::string::npos)
      << validate_error(s);
}

// A setting given a value that the run's other settings leave without effect is noted, not silently kept.
TEST(GrpoEvalSettings, SettingsWithoutEffectAreNoted) {
  EXPECT_EQ(grpo({{"task", "countdown"}}).settings_without_effect(), std::vector<std::string>{});
  const auto notes = grpo({{"task", "countdown"},
                           {"policy_loss", "cispo"},
                           {"epsilon_high", 0.3},
                           {"sapo_temperature_pos", 2.0},
                           {"kl_estimator", "k1"},
                           {"max_dynamic_draws", 5},
                           {"min_lr", 1e-7},
                           {"eval_samples", 4}})
                         .settings_without_effect();
  ASSERT_EQ(notes.size(), 6u) << fmt::format("{}", fmt::join(notes, "\n"));
  EXPECT_EQ(notes[0], "min_lr has no effect with the constant schedule");  // the shared keys' first
  EXPECT_EQ(notes[1],
            "epsilon_low and epsilon_high clip the ratio of policy_loss clip; cispo has no use for them");
  EXPECT_EQ(
      notes[2],
      "sapo_temperature_pos and sapo_temperature_neg have no effect with policy_loss cispo (only with sapo)");
  EXPECT_EQ(notes[3], "kl_estimator has no effect with beta 0 (no KL term)");
  EXPECT_EQ(notes[4],
            "dynamic_sampling_metric and max_dynamic_draws have no effect without dynamic_sampling");
  EXPECT_EQ(notes[5], "eval_problems and eval_samples have no effect with eval_every 0 (no evaluation)");
  // Where they take effect, nothing is said.
  EXPECT_EQ(grpo({{"task", "countdown"},
                  {"policy_loss", "cispo"},
                  {"cispo_max", 3.0},
                  {"beta", 0.01},
                  {"kl_estimator", "k1"},
                  {"dynamic_sampling", true},
                  {"max_dynamic_draws", 5},
                  {"schedule", "cosine"},
                  {"min_lr", 1e-7},
                  {"eval_every", 5},
                  {"eval_samples", 4}})
                .settings_without_effect(),
            std::vector<std::string>{});
}

}  // namespace
}  // namespace seek

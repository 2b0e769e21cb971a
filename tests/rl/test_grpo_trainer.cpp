// A short GRPO run on a tiny random model raises the reward of a trivially learnable objective (emit the
// <think>/</think> tags, scored by tag_count), writes its metrics and completions, and resumes exactly.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "core/error.hpp"
#include "model/model_dir.hpp"
#include "rl/grpo_trainer.hpp"
#include "rl/problems.hpp"
#include "support/captured_progress.hpp"
#include "support/error_of.hpp"
#include "support/read_jsonl.hpp"
#include "support/scoped_env.hpp"
#include "support/signal_at.hpp"
#include "support/temp_dir.hpp"
#include "support/tiny_policy.hpp"
#include "tokenizer/trainer.hpp"
#include "train/trainer.hpp"

namespace seek {
namespace {

namespace fs = std::filesystem;

using test::TempDir;
using test::tiny_policy;

GrpoSettings settings(const fs::path& dir) {
  GrpoSettings s;
  s.init = (dir / "policy").string();
  s.data = (dir / "problems.jsonl").string();
  s.rewards = {{"tag_count", 1.0}};
  s.out = (dir / "run").string();
  s.steps = 14;
  s.prompts_per_step = 4;
  s.group_size = 8;
  s.max_completion_length = 12;
  s.lr = 3e-2;
  s.threads = 2;
  s.checkpoint_every = 7;
  s.log_completions = 2;
  return s;
}

// One run's reward could rise or stall with the rounding of a different build, so three seeds each must
// rise and their mean must rise clearly. lr 1e-2 over 20 steps: in a sweep of 6 seeds every one went from
// ~0.04 to ≥ 0.27 by steps 18-20; at lr 3e-2 one seed collapsed back to 0.04 by step 30.
TEST(GrpoTrainer, RaisesRewardOnALearnableObjective) {
  TempDir tmp("grpo-learn");
  tiny_policy(tmp.path);
  double mean_gain = 0;
  std::vector<nlohmann::json> m;
  for (uint64_t seed : {1, 2, 3}) {
    auto s = settings(tmp.path);
    s.out = (tmp.path / fmt::format("run{}", seed)).string();
    s.steps = 20;
    s.lr = 1e-2;
    s.seed = seed;
    auto r = run_grpo(s, false);
    EXPECT_EQ(r.steps_done, 20);
    m = test::read_jsonl(fs::path(s.out) / "metrics.jsonl");
    ASSERT_EQ(m.size(), 20u);
    // The trainer's recomputed log-probs agree with the sampler's to rounding.
    for (const auto& row : m) {
      EXPECT_LT(row["logprob_mismatch_mean"].get<double>(), 1e-4) << row.dump();
      EXPECT_LT(row["logprob_mismatch_max"].get<double>(), 1e-2) << row.dump();
    }
    double first = 0, last = 0;
    for (int i = 0; i < 3; ++i) first += m[size_t(i)]["reward"].get<double>() / 3;
    for (int i = 17; i < 20; ++i) last += m[size_t(i)]["reward"].get<double>() / 3;
    EXPECT_GT(last, first + 0.1) << "seed " << seed << ": reward did not rise: " << first << " -> " << last;
    mean_gain += (last - first) / 3;
  }
  EXPECT_GT(mean_gain, 0.18);
  const fs::path run = tmp.path / "run3";
  for (const char* key : {"reward_std", "rewards/tag_count", "zero_std_fraction", "completion_length_mean",
                          "truncated_fraction", "kl", "entropy", "clip_low_fraction", "clip_high_fraction",
                          "grad_norm", "generation_s", "training_s", "logprob_mismatch_max"})
    EXPECT_TRUE(m[0].contains(key)) << key;
  auto c = test::read_jsonl(run / "completions.jsonl");
  EXPECT_EQ(c.size(), 40u);  // 2 per step
  EXPECT_TRUE(c[0].contains("advantage") && c[0].contains("rewards"));
  // Each row names its group in the step and its place in the group: (step, problem) alone cannot tell two
  // groups of one problem apart.
  std::set<std::tuple<int64_t, int64_t, int64_t>> seen;
  for (const auto& row : c) {
    ASSERT_TRUE(row.contains("group") && row.contains("sample")) << row.dump();
    EXPECT_TRUE(seen.emplace(row["step"], row["group"], row["sample"]).second) << row.dump();
  }
  EXPECT_EQ(c[0]["group"], 0);
  EXPECT_EQ(c[0]["sample"], 0);
  EXPECT_EQ(c[1]["sample"], 1);
  EXPECT_TRUE(fs::exists(run / "model" / "model.safetensors"));
}

// A --data file shorter than prompts_per_step draws a problem twice in one step: its rows in
// completions.jsonl name their group, so the two groups of one problem are told apart (by (step, problem)
// alone they read as one group of 2G), and each group's advantages sum to zero as a group's do.
TEST(GrpoTrainer, CompletionRowsNameTheirGroup) {
  TempDir tmp("grpo-groups");
  tiny_policy(tmp.path);
  {
    std::ofstream f(tmp.path / "two.jsonl");
    for (int i = 0; i < 2; ++i)
      f << nlohmann::json{{"prompt", fmt::format("Q{}:", i)}, {"answer", "1"}}.dump() << "\n";
  }
  auto s = settings(tmp.path);
  s.data = (tmp.path / "two.jsonl").string();
  s.steps = 1;
  s.prompts_per_step = 3;
  s.group_size = 4;
  s.log_completions = 12;
  s.checkpoint_every = 0;
  s.scale_rewards = "none";
  testing::internal::CaptureStdout();
  run_grpo(s, false);
  testing::internal::GetCapturedStdout();
  const auto rows = test::read_jsonl(tmp.path / "run" / "completions.jsonl");
  ASSERT_EQ(rows.size(), 12u);
  std::map<int64_t, std::set<int64_t>> groups_of_problem;
  std::map<int64_t, double> advantage_sum;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    EXPECT_EQ(row["group"], int64_t(i) / 4) << row.dump();
    EXPECT_EQ(row["sample"], int64_t(i) % 4) << row.dump();
    groups_of_problem[std::hash<std::string>{}(row["problem"].dump())].insert(row["group"].get<int64_t>());
    advantage_sum[row["group"].get<int64_t>()] += row["advantage"].get<double>();
  }
  EXPECT_EQ(groups_of_problem.size(), 2u);
  size_t most = 0;
  for (const auto& [problem, groups] : groups_of_problem) most = std::max(most, groups.size());
  EXPECT_EQ(most, 2u) << "one problem should fill two groups of the step";
  for (const auto& [group, sum] : advantage_sum) EXPECT_NEAR(sum, 0.0, 1e-9) << "group " << group;
}

// Inside a step, a line shows the rollouts (completions finished) and then the training micro-batches, done
// of total, for every step; showing it changes nothing in the run.
TEST(GrpoTrainer, ProgressShowsRolloutsAndMicroBatchesOfEachStep) {
  TempDir tmp("grpo-progress");
  tiny_policy(tmp.path);
  auto s = settings(tmp.path);
  s.steps = 2;
  s.micro_batch = 8;  // the step's 4 × 8 completions in 4 micro-batches
  s.num_iterations = 2;
  s.checkpoint_every = 0;
  s.out = (tmp.path / "quiet").string();
  run_grpo(s, false);
  s.out = (tmp.path / "shown").string();
  test::CapturedProgress progress;
  run_grpo(s, false, {}, progress.options);
  const std::string text = progress.text();
  for (const char* line : {"step 1/2: rollouts: 32/32 completions (100%) | ", "step 2/2: rollouts: 32/32",
                           "step 1/2: training: 1/8 micro-batches (12%) | ",
                           "step 1/2: training: 8/8 micro-batches (100%) | ", "step 2/2: training: 8/8",
                           "step 1/2: rewards: 32/32 completions (100%) | ", "step 2/2: rewards: 32/32"})
    EXPECT_NE(text.find(line), std::string::npos) << line << " in:\n" << text;
  EXPECT_NE(text.find(" tokens/s | "), std::string::npos) << text;
  auto quiet = test::read_jsonl(tmp.path / "quiet" / "metrics.jsonl");
  auto shown = test::read_jsonl(tmp.path / "shown" / "metrics.jsonl");
  ASSERT_EQ(quiet.size(), 2u);
  ASSERT_EQ(shown.size(), 2u);
  for (size_t i = 0; i < 2; ++i)
    for (const char* key : {"reward", "loss", "grad_norm", "generated_tokens"})
      EXPECT_EQ(quiet[i][key], shown[i][key]) << key << " at step " << i + 1;
}

// On-policy (μ = 1, so ρ ≡ 1) GSPO's per-completion ratio, CISPO's weight and SAPO's gate give the same
// gradient as the clipped surrogate, −A per token: the four runs take the same steps. With μ = 2 the second
// update sees ρ ≠ 1, and they part.
TEST(GrpoTrainer, SequenceRatioCispoAndSapoAgreeWithClipOnPolicyOnly) {
  TempDir tmp("grpo-variants");
  tiny_policy(tmp.path);
  auto run = [&](const std::string& name, const std::string& loss, const std::string& level, int64_t mu) {
    auto s = settings(tmp.path);
    s.steps = 3;
    s.checkpoint_every = 0;
    s.num_iterations = mu;
    s.policy_loss = loss;
    s.importance_sampling_level = level;
    s.out = (tmp.path / name).string();
    run_grpo(s, false);
    return test::read_jsonl(tmp.path / name / "metrics.jsonl");
  };
  const auto clip = run("clip", "clip", "token", 1);
  const auto gspo = run("gspo", "clip", "sequence", 1);
  const auto cispo = run("cispo", "cispo", "token", 1);
  const auto sapo = run("sapo", "sapo", "token", 1);
  ASSERT_EQ(clip.size(), 3u);
  for (size_t i = 0; i < 3; ++i)
    for (const char* key : {"reward", "grad_norm", "generated_tokens"}) {
      EXPECT_EQ(gspo[i][key], clip[i][key]) << key << " at step " << i + 1;
      EXPECT_EQ(cispo[i][key], clip[i][key]) << key << " at step " << i + 1;
      EXPECT_EQ(sapo[i][key], clip[i][key]) << key << " at step " << i + 1;
    }
  const auto clip2 = run("clip2", "clip", "token", 2);
  const auto gspo2 = run("gspo2", "clip", "sequence", 2);
  const auto cispo2 = run("cispo2", "cispo", "token", 2);
  const auto sapo2 = run("sapo2", "sapo", "token", 2);
  // Step 1's first update is the same in all three; its second (the step's logged grad norm) is not.
  EXPECT_NE(gspo2[0]["grad_norm"], clip2[0]["grad_norm"]);
  EXPECT_NE(cispo2[0]["grad_norm"], clip2[0]["grad_norm"]);
  EXPECT_NE(sapo2[0]["grad_norm"], clip2[0]["grad_norm"]);
  for (const auto& rows : {gspo2, cispo2, sapo2})
    for (const auto& row : rows) EXPECT_TRUE(std::isfinite(row["loss"].get<double>())) << row.dump();
}

// μ optimizer steps per batch of rollouts walk the learning-rate schedule as steps × μ optimizer steps: step
// k's iterations use lr_at(k·μ), ..., lr_at(k·μ + μ − 1), and a step logs the lr of its last. Linear
// schedule, lr 0.01 → min_lr 0.002, 2 warm-up steps of 6: 0.005, 0.01 | 0.01, 0.008 | 0.006, 0.004.
TEST(GrpoTrainer, SeveralIterationsPerStepWalkTheScheduleByOptimizerStep) {
  TempDir tmp("grpo-mu-lr");
  tiny_policy(tmp.path);
  auto s = settings(tmp.path);
  s.steps = 3;
  s.num_iterations = 2;
  s.schedule = "linear";
  s.lr = 0.01;
  s.min_lr = 0.002;
  s.warmup_steps = 2;
  s.entropy_coef = 1e-3;  // a step updates even if every group's rewards are equal
  s.checkpoint_every = 0;
  run_grpo(s, false);
  const auto m = test::read_jsonl(fs::path(s.out) / "metrics.jsonl");
  ASSERT_EQ(m.size(), 3u);
  const double want[] = {0.01, 0.008, 0.004};
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(m[i]["lr"].is_number()) << m[i].dump();
    EXPECT_NEAR(m[i]["lr"].get<double>(), want[i], 1e-15) << "step " << i + 1;
  }
}

// Dynamic sampling drops a group whose rewards are all equal and draws another prompt in its place, until the
// step has prompts_per_step groups or has drawn max_dynamic_draws × prompts_per_step prompts: every prompt
// drawn is a kept group, a dropped one or a too-long one, every kept group's rewards differ, and the draws of
// a step continue where the last step's ended (a resumed run draws the same).
TEST(GrpoTrainer, DynamicSamplingRefillsDroppedGroups) {
  TempDir tmp("grpo-refill");
  tiny_policy(tmp.path);
  auto s = settings(tmp.path);
  s.steps = 4;
  s.prompts_per_step = 2;
  s.group_size = 4;
  s.dynamic_sampling = true;
  s.max_dynamic_draws = 4;
  s.max_completion_length = 6;  // short completions rarely hold a tag: many groups score all 0
  s.log_completions = s.prompts_per_step * s.group_size;
  s.checkpoint_every = 2;
  s.lr = 1e-3;  // the policy barely moves, so later steps still drop groups
  run_grpo(s, false);
  const auto m = test::read_jsonl(fs::path(s.out) / "metrics.jsonl");
  ASSERT_EQ(m.size(), 4u);
  int64_t refilled_steps = 0;
  for (const auto& row : m) {
    const int64_t groups = row["groups"], drawn = row["prompts_drawn"], dropped = row["dropped_equal_groups"],
                  too_long = row["skipped_long_prompts"];
    EXPECT_EQ(drawn, groups + dropped + too_long) << row.dump();
    EXPECT_TRUE(groups == s.prompts_per_step || drawn == s.prompts_per_step * s.max_dynamic_draws)
        << row.dump();
    if (groups == s.prompts_per_step && dropped > 0) ++refilled_steps;
    if (groups > 0) {
      EXPECT_EQ(row["zero_std_fraction"].get<double>(), 0.0) << row.dump();
    }
  }
  EXPECT_GT(refilled_steps, 0) << "no step dropped a group and still filled up: the refill went untested";
  // Each kept group's rewards differ (completions.jsonl holds every completion of every step here).
  std::map<std::pair<int64_t, int64_t>, std::set<double>> rewards_of_group;
  for (const auto& row : test::read_jsonl(fs::path(s.out) / "completions.jsonl"))
    rewards_of_group[{row["step"].get<int64_t>(), row["group"].get<int64_t>()}].insert(
        row["reward"].get<double>());
  int64_t kept = 0;
  for (const auto& row : m) kept += row["groups"].get<int64_t>();
  EXPECT_EQ(int64_t(rewards_of_group.size()), kept);
  for (const auto& [key, values] : rewards_of_group)
    EXPECT_GT(values.size(), 1u) << "step " << key.first << " group " << key.second;
  // Stopped after step 2 and resumed, the run draws the same prompts and gets the same groups.
  auto r = s;
  r.out = (tmp.path / "resumed").string();
  r.steps = 2;
  run_grpo(r, false);
  run_grpo(r, true, {{"steps", 4}});
  const auto got = test::read_jsonl(fs::path(r.out) / "metrics.jsonl");
  ASSERT_EQ(got.size(), 4u);
  for (size_t i = 0; i < 4; ++i)
    for (const char* key : {"groups", "prompts_drawn", "dropped_equal_groups", "reward", "grad_norm"})
      EXPECT_EQ(got[i][key], m[i][key]) << "step " << i + 1 << " " << key;
}

// With several samples per held-out problem the evaluation reports pass@n as well as pass@1 (it reported
// pass@1 only), in metrics.jsonl and on the progress line.
TEST(GrpoTrainer, EvaluationWithSamplesReportsPassAtN) {
  TempDir tmp("grpo-eval");
  tiny_policy(tmp.path);
  auto s = settings(tmp.path);
  s.steps = 1;
  s.eval_every = 1;
  s.eval_problems = 4;
  s.eval_samples = 3;
  testing::internal::CaptureStdout();
  const auto r = run_grpo(s, false);
  const std::string log = testing::internal::GetCapturedStdout();
  ASSERT_TRUE(r.last_eval.is_object());
  EXPECT_EQ(r.last_eval["completions"], 12) << r.last_eval.dump();
  ASSERT_TRUE(r.last_eval.contains("pass@1") && r.last_eval.contains("pass@3")) << r.last_eval.dump();
  EXPECT_GE(r.last_eval["pass@3"].get<double>(), r.last_eval["pass@1"].get<double>());
  const auto m = test::read_jsonl(fs::path(s.out) / "metrics.jsonl");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0]["eval"], r.last_eval);
  EXPECT_NE(log.find(fmt::format("| eval pass@1 {:.3f} pass@3 {:.3f}", r.last_eval["pass@1"].get<double>(),
                                 r.last_eval["pass@3"].get<double>())),
            std::string::npos)
      << log;
}

TEST(GrpoTrainer, ResumeReproducesTheUninterruptedRun) {
  TempDir tmp("grpo-resume");
  tiny_policy(tmp.path);
  auto s = settings(tmp.path);
  s.steps = 4;
  s.checkpoint_every = 2;
  run_grpo(s, false);
  auto want = test::read_jsonl(tmp.path / "run" / "metrics.jsonl");
  // Stop after step 2 by asking for 2 steps, then resume with the full count, the --init folder deleted
  // meanwhile: without a KL term the checkpoint holds all the resumed run reads of the model.
  auto s2 = s;
  s2.out = (tmp.path / "run2").string();
  s2.steps = 2;
  run_grpo(s2, false);
  fs::rename(tmp.path / "policy", tmp.path / "policy-moved");
  testing::internal::CaptureStdout();
  run_grpo(s2, true, {{"steps", 4}});
  std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(out.find("micro_batch"), std::string::npos) << out;
  auto got = test::read_jsonl(tmp.path / "run2" / "metrics.jsonl");
  ASSERT_EQ(got.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(got[i]["reward"], want[i]["reward"]) << "step " << i + 1;
    EXPECT_EQ(got[i]["grad_norm"], want[i]["grad_norm"]) << "step " << i + 1;
  }
  // Other micro-batches sum a step in another order: the same run only up to rounding, which is said.
  testing::internal::CaptureStdout();
  run_grpo(s2, true, {{"steps", 5}, {"micro_batch", 4}});
  out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("note: the checkpoint was made with micro_batch 16 and this run has 4: "),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("(--micro-batch 16 would)"), std::string::npos) << out;
  EXPECT_EQ(out.find("rollout_batch"), std::string::npos) << out;
  testing::internal::CaptureStdout();
  run_grpo(s2, true, {{"steps", 6}, {"rollout_batch", 3}});
  out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("note: the checkpoint was made with rollout_batch 64 and this run has 3: "),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("micro_batch"), std::string::npos) << out;  // the resumed run's settings keep 4
  // Values that split a step of 4 × 8 sequences the same way are not a change: a rollout batch of at most a
  // group (8) admits a group only into an empty batch, and a micro-batch of 32 or more is the whole step.
  testing::internal::CaptureStdout();
  run_grpo(s2, true, {{"steps", 7}, {"rollout_batch", 8}, {"micro_batch", 32}});
  out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(out.find("note: the checkpoint was made with rollout_batch"), std::string::npos) << out;
  EXPECT_NE(out.find("note: the checkpoint was made with micro_batch 4 and this run has 32: "),
            std::string::npos)
      << out;
  testing::internal::CaptureStdout();
  run_grpo(s2, true, {{"steps", 8}, {"rollout_batch", 9}, {"micro_batch", 1000}});
  out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(out.find("note: the checkpoint was made with micro_batch"), std::string::npos) << out;
  EXPECT_NE(out.find("note: the checkpoint was made with rollout_batch 8 and this run has 9: "),
            std::string::npos)
      << out;
}

// Two finished runs of `steps` steps from dir/policy, checkpointed at the end: one with a KL term (dir/run)
// and one without (dir/run0), to resume.
std::pair<GrpoSettings, GrpoSettings> kl_run_and_plain_run(const fs::path& dir, int64_t steps) {
  tiny_policy(dir);
  auto s = settings(dir);
  s.steps = steps;
  s.checkpoint_every = steps;
  s.beta = 0.04;
  run_grpo(s, false);
  auto s0 = s;
  s0.out = (dir / "run0").string();
  s0.beta = 0;
  run_grpo(s0, false);
  return {s, s0};
}

// With a KL term the resumed run reads --init again as its frozen reference: gone, that is an error naming
// the flag, also when the resume turns the KL term on.
TEST(GrpoTrainer, ResumeWithAKlTermNeedsItsInit) {
  TempDir tmp("grpo-resume-kl");
  const auto [s, s0] = kl_run_and_plain_run(tmp.path, 2);
  fs::rename(tmp.path / "policy", tmp.path / "policy-moved");
  for (const auto& [out, overrides] : {std::pair{s.out, nlohmann::json{{"steps", 3}}},
                                       std::pair{s0.out, nlohmann::json{{"steps", 3}, {"beta", 0.1}}}}) {
    auto r = s;
    r.out = out;
    const std::string e = test::error_of([&] { run_grpo(r, true, overrides); });
    EXPECT_NE(e.find("--init"), std::string::npos) << e;
    EXPECT_NE(e.find("cannot be found"), std::string::npos) << e;
  }
  // Back in place, both resume.
  fs::rename(tmp.path / "policy-moved", tmp.path / "policy");
  auto r = s0;
  run_grpo(r, true, {{"steps", 3}, {"beta", 0.1}});
  EXPECT_EQ(test::read_jsonl(tmp.path / "run0" / "metrics.jsonl").size(), 3u);
}

// The reference model a resumed KL term reads again must be the model the run started from: a --init folder
// overwritten with other weights of the same shapes was taken as the reference without a word (the KL jumped
// from ~0 to 4.3), also when the resume turns the KL term on.
TEST(GrpoTrainer, ResumeRefusesAnotherReferenceModel) {
  TempDir tmp("grpo-resume-ref");
  const auto [s, s0] = kl_run_and_plain_run(tmp.path, 1);
  fs::rename(tmp.path / "policy", tmp.path / "policy-first");
  {
    Transformer<float> other(load_model_config(tmp.path / "policy-first"));
    other.init_weights(6);
    save_model_dir(other, tmp.path / "policy");
  }
  for (const auto& [out, overrides] : {std::pair{s.out, nlohmann::json{{"steps", 2}}},
                                       std::pair{s0.out, nlohmann::json{{"steps", 2}, {"beta", 0.1}}}}) {
    auto r = s;
    r.out = out;
    const std::string e = test::error_of([&] { run_grpo(r, true, overrides); });
    EXPECT_NE(e.find("--init " + s.init + " holds other weights than the model this run started from"),
              std::string::npos)
        << e;
  }
  // Without a KL term the reference is not read: the resume runs.
  auto r0 = s0;
  run_grpo(r0, true, {{"steps", 2}});
  EXPECT_EQ(test::read_jsonl(tmp.path / "run0" / "metrics.jsonl").size(), 2u);
  // A checkpoint from before the record: the reference is taken unchecked once, with a note, and recorded.
  const fs::path state_file = fs::path(s.out) / "checkpoints" / "step-00000001" / "trainer_state.json";
  nlohmann::json state = nlohmann::json::parse(std::ifstream(state_file));
  ASSERT_TRUE(state["extra"].contains("init_weights")) << state.dump();
  state["extra"].erase("init_weights");
  std::ofstream(state_file) << state.dump();
  {
    auto old = s;
    old.out = (tmp.path / "run-old").string();
    fs::copy(s.out, old.out, fs::copy_options::recursive);
    testing::internal::CaptureStdout();
    run_grpo(old, true, {{"steps", 2}, {"checkpoint_every", 1}});
    const std::string log = testing::internal::GetCapturedStdout();
    EXPECT_NE(log.find("does not record the weights the run started from"), std::string::npos) << log;
    // Recorded from then on: the model in --init now is checked at the next resume.
    fs::rename(tmp.path / "policy", tmp.path / "policy-other");
    fs::rename(tmp.path / "policy-first", tmp.path / "policy");
    const std::string e = test::error_of([&] { run_grpo(old, true, {{"steps", 3}}); });
    EXPECT_NE(e.find("holds other weights than the model this run started from"), std::string::npos) << e;
    fs::rename(tmp.path / "policy", tmp.path / "policy-first");
    fs::rename(tmp.path / "policy-other", tmp.path / "policy");
  }
  // With the first model back, the KL run resumes too.
  fs::remove_all(tmp.path / "policy");
  fs::rename(tmp.path / "policy-first", tmp.path / "policy");
  auto r = s;
  run_grpo(r, true, {{"steps", 2}});
  EXPECT_EQ(test::read_jsonl(tmp.path / "run" / "metrics.jsonl").size(), 2u);
}

// A dataset whose contents changed since the checkpoint is refused on resume: the run would draw other
// problems at the saved position. Only the path was compared before.
TEST(GrpoTrainer, ResumeRefusesAChangedDataset) {
  TempDir tmp("grpo-resume-data");
  tiny_policy(tmp.path);
  auto s = settings(tmp.path);
  s.steps = 1;
  s.checkpoint_every = 1;
  run_grpo(s, false);
  const auto settings_now = [&] {
    return nlohmann::json::parse(std::ifstream(fs::path(s.out) / "settings.json"));
  };
  const nlohmann::json before = settings_now();
  // A resume whose first step fails (every prompt now longer than the limit) leaves settings.json as it was:
  // a later plain --resume would otherwise run with the failed attempt's flags without a word.
  testing::internal::CaptureStdout();
  EXPECT_THROW(run_grpo(s, true, {{"steps", 2}, {"max_prompt_length", 3}, {"lr", 0.5}}), Error);
  EXPECT_NE(testing::internal::GetCapturedStdout().find("resuming with changed settings"), std::string::npos);
  EXPECT_EQ(settings_now(), before);
  // A resume that runs saves the flags it ran with.
  testing::internal::CaptureStdout();
  run_grpo(s, true, {{"steps", 2}, {"lr", 2e-4}});
  testing::internal::GetCapturedStdout();
  EXPECT_EQ(settings_now()["lr"], 2e-4);
  EXPECT_EQ(settings_now()["steps"], 2);
  std::ofstream(s.data, std::ios::app) << R"({"prompt": "one more", "answer": "1"})"
                                       << "\n";
  try {
    run_grpo(s, true, {{"steps", 3}});
    FAIL() << "a changed dataset was accepted on resume";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("training data " + s.data +
                                         " changed since the run saved its "
                                         "checkpoint at step 2"),
              std::string::npos)
        << e.what();
  }
}

// A run killed after its last checkpoint logged steps that the resumed run does again: resuming cuts
// metrics.jsonl and completions.jsonl back to the checkpoint, so each step is logged once.
TEST(GrpoTrainer, ResumeAfterAKillLogsEachStepOnce) {
  TempDir tmp("grpo-resume-logs");
  tiny_policy(tmp.path);
  auto s = settings(tmp.path);
  s.steps = 4;
  s.checkpoint_every = 2;
  run_grpo(s, false);
  const auto want = test::read_jsonl(tmp.path / "run" / "metrics.jsonl");
  const auto want_completions = test::read_jsonl(tmp.path / "run" / "completions.jsonl");

  auto s2 = s;
  s2.out = (tmp.path / "killed").string();
  s2.steps = 3;
  run_grpo(s2, false);
  // As if killed before step 3's checkpoint was written: step 3 is in the logs, the newest checkpoint is 2.
  fs::remove_all(fs::path(s2.out) / "checkpoints" / "step-00000003");
  run_grpo(s2, true, {{"steps", 4}});
  const auto got = test::read_jsonl(fs::path(s2.out) / "metrics.jsonl");
  ASSERT_EQ(got.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(got[i]["step"], int(i + 1));
    EXPECT_EQ(got[i]["reward"], want[i]["reward"]) << "step " << i + 1;
    EXPECT_EQ(got[i]["grad_norm"], want[i]["grad_norm"]) << "step " << i + 1;
  }
  const auto completions = test::read_jsonl(fs::path(s2.out) / "completions.jsonl");
  ASSERT_EQ(completions.size(), want_completions.size());
  for (size_t i = 0; i < completions.size(); ++i) EXPECT_EQ(completions[i], want_completions[i]) << i;
}

using test::SignalAt;

// SIGINT during the rollouts or between micro-batches (before the step's update) drops the step and saves
// the previous one; at the end of a step it saves that step. --resume then reproduces the uninterrupted run.
TEST(GrpoTrainer, SignalThenResumeReproducesTheUninterruptedRun) {
  TempDir tmp("grpo-signal");
  tiny_policy(tmp.path);
  auto s = settings(tmp.path);
  s.steps = 4;
  s.checkpoint_every = 0;  // only the interrupt saves
  run_grpo(s, false);
  const auto want = test::read_jsonl(tmp.path / "run" / "metrics.jsonl");
  ASSERT_EQ(want.size(), 4u);
  // 32 completions in micro-batches of 16: two checks per step, the 4th in step 2. A step's rollouts take
  // an engine step per generated token, at most 12: the 16th is in step 2 or later (0: any step but the
  // first, which would leave nothing to resume).
  for (const auto& [at, saved] :
       {std::pair{"micro-batch:4", 1}, std::pair{"rollout:16", 0}, std::pair{"step:3", 3}}) {
    SCOPED_TRACE(at);
    auto s2 = s;
    s2.out = (tmp.path / fmt::format("stopped-{}", at[0])).string();
    GrpoResult r;
    {
      SignalAt signal(at);
      r = run_grpo(s2, false);
    }
    EXPECT_TRUE(r.interrupted);
    if (saved > 0) {
      EXPECT_EQ(r.steps_done, saved);
    }
    ASSERT_GE(r.steps_done, 1);
    ASSERT_LT(r.steps_done, 4);
    EXPECT_FALSE(fs::exists(fs::path(s2.out) / "model"));
    EXPECT_TRUE(fs::exists(fs::path(s2.out) / "checkpoints" / fmt::format("step-{:08d}", r.steps_done)));
    EXPECT_EQ(test::read_jsonl(fs::path(s2.out) / "metrics.jsonl").size(), size_t(r.steps_done));

    r = run_grpo(s2, true, nlohmann::json::object());
    EXPECT_FALSE(r.interrupted);
    const auto got = test::read_jsonl(fs::path(s2.out) / "metrics.jsonl");
    ASSERT_EQ(got.size(), 4u);
    for (size_t i = 0; i < 4; ++i) {
      EXPECT_EQ(got[i]["reward"], want[i]["reward"]) << "step " << i + 1;
      EXPECT_EQ(got[i]["grad_norm"], want[i]["grad_norm"]) << "step " << i + 1;
    }
  }
}

// A dropped step puts back the run of too-long prompts it had counted along with the prompts it drew: kept,
// the resumed step counted them again (58 became 66), and the resumed run stopped on a streak the
// uninterrupted one never reached.
TEST(GrpoTrainer, ADroppedStepPutsBackItsCountOfTooLongPrompts) {
  TempDir tmp("grpo-signal-streak");
  tiny_policy(tmp.path);
  {
    std::ofstream f(tmp.path / "problems.jsonl");
    for (int i = 0; i < 40; ++i)
      f << nlohmann::json{{"prompt", i % 4 == 0 ? "Q:" : std::string(40, 'x')}, {"answer", "1"}}.dump()
        << "\n";
  }
  auto s = settings(tmp.path);
  s.prompts_per_step = 2;
  s.max_prompt_length = 16;
  s.steps = 6;
  s.checkpoint_every = 1;
  s.keep_last = 6;
  run_grpo(s, false);
  const auto streak_at = [](const fs::path& run, int64_t step) {
    const fs::path state = run / "checkpoints" / fmt::format("step-{:08d}", step) / "trainer_state.json";
    std::ifstream f(state);
    return nlohmann::json::parse(f).at("failure_streak").get<int64_t>();
  };
  bool some_streak = false;
  for (int64_t step = 1; step <= 6; ++step) some_streak |= streak_at(s.out, step) > 0;
  ASSERT_TRUE(some_streak) << "no checkpoint saved within a run of too-long prompts";
  const auto want = test::read_jsonl(fs::path(s.out) / "metrics.jsonl");
  for (int stop_at = 2; stop_at <= 6; ++stop_at) {
    SCOPED_TRACE(stop_at);
    auto s2 = s;
    s2.out = (tmp.path / fmt::format("stopped-{}", stop_at)).string();
    s2.checkpoint_every = 0;  // only the interrupt saves: the step before the dropped one
    GrpoResult r;
    {
      SignalAt signal(fmt::format("rewards:{}", stop_at).c_str());
      r = run_grpo(s2, false);
    }
    ASSERT_TRUE(r.interrupted);
    ASSERT_GE(r.steps_done, 1);
    EXPECT_EQ(streak_at(s2.out, r.steps_done), streak_at(s.out, r.steps_done));
    run_grpo(s2, true, nlohmann::json::object());
    const auto got = test::read_jsonl(fs::path(s2.out) / "metrics.jsonl");
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_EQ(got[i]["reward"], want[i]["reward"]) << "step " << i + 1;
  }
}

// A 3-step run evaluated after every step, and the metrics of the same run uninterrupted (in dir/whole).
struct EvaluatedRun {
  GrpoSettings s;
  std::vector<nlohmann::json> uninterrupted;
};
EvaluatedRun evaluated_run(const fs::path& dir) {
  tiny_policy(dir);
  EvaluatedRun r{settings(dir), {}};
  r.s.steps = 3;
  r.s.checkpoint_every = 0;
  r.s.eval_every = 1;
  r.s.eval_problems = 4;
  r.s.eval_samples = 4;
  auto whole = r.s;
  whole.out = (dir / "whole").string();
  run_grpo(whole, false);
  r.uninterrupted = test::read_jsonl(dir / "whole" / "metrics.jsonl");
  EXPECT_EQ(r.uninterrupted.size(), 3u);
  return r;
}

// Once resumed to its end, the run logged every step's evaluation, as the uninterrupted run did.
void expect_logged_as_uninterrupted(const EvaluatedRun& run) {
  const auto all = test::read_jsonl(fs::path(run.s.out) / "metrics.jsonl");
  ASSERT_EQ(all.size(), run.uninterrupted.size());
  for (size_t i = 0; i < all.size(); ++i) {
    ASSERT_TRUE(all[i].contains("eval")) << "step " << i + 1;
    EXPECT_EQ(all[i]["eval"], run.uninterrupted[i]["eval"]) << "step " << i + 1;
    EXPECT_EQ(all[i]["reward"], run.uninterrupted[i]["reward"]) << "step " << i + 1;
  }
}

// A signal during an evaluation ends it at once (it waited for the whole evaluation: minutes with a real
// model): the step, complete, is saved without its evaluation, and the run ends as interrupted. The resumed
// run runs that evaluation first and puts it in the step's line, as the uninterrupted run logged it.
TEST(GrpoTrainer, ASignalStopsAnEvaluationWhichTheResumeRuns) {
  TempDir tmp("grpo-eval-signal");
  const EvaluatedRun run = evaluated_run(tmp.path);
  const GrpoSettings& s = run.s;
  GrpoResult r;
  testing::internal::CaptureStderr();
  {
    SignalAt signal("eval:2");  // within step 1's evaluation
    r = run_grpo(s, false);
  }
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(r.interrupted);
  EXPECT_EQ(r.steps_done, 1);
  EXPECT_NE(err.find("the evaluation of step 1 was stopped\n"), std::string::npos) << err;
  EXPECT_EQ(r.eval_owed_step, 1);
  EXPECT_TRUE(fs::exists(tmp.path / "run" / "checkpoints" / "step-00000001"));
  const auto m = test::read_jsonl(tmp.path / "run" / "metrics.jsonl");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_FALSE(m[0].contains("eval")) << m[0].dump();
  testing::internal::CaptureStdout();
  r = run_grpo(s, true, nlohmann::json::object());
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_FALSE(r.interrupted);
  EXPECT_NE(out.find("step 1's evaluation did not finish (a stop or a failure); it runs now"),
            std::string::npos)
      << out;
  expect_logged_as_uninterrupted(run);
}

// An evaluation that fails (the sandbox of a code task, the memory for its cache) after a complete step:
// the step is logged and saved before the error ends the run, and the resume runs the evaluation first (a
// failure there again says --resume runs it again), then logs what the uninterrupted run logged.
TEST(GrpoTrainer, AFailedEvaluationIsSavedAndTheResumeRunsIt) {
  TempDir tmp("grpo-eval-failure");
  const EvaluatedRun run = evaluated_run(tmp.path);
  const GrpoSettings& s = run.s;
  auto failing = [&](const char* at, bool resume) {
    const test::ScopedEnv inject("SEEK_TEST_FAIL_AT", at);
    testing::internal::CaptureStdout();
    const std::string e = test::error_of([&] { run_grpo(s, resume, nlohmann::json::object()); });
    testing::internal::GetCapturedStdout();
    return e;
  };
  EXPECT_EQ(
      failing("grpo-eval:2", false),
      "the evaluation after step 2 failed: injected failure at grpo-eval (SEEK_TEST_FAIL_AT). Step 2 is "
      "logged and saved: --resume runs its evaluation and goes on (with --eval-every 0, without "
      "evaluations)");
  EXPECT_TRUE(fs::exists(tmp.path / "run" / "checkpoints" / "step-00000002"));
  auto m = test::read_jsonl(tmp.path / "run" / "metrics.jsonl");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_TRUE(m[0].contains("eval"));
  EXPECT_FALSE(m[1].contains("eval")) << m[1].dump();
  EXPECT_EQ(failing("grpo-eval:1", true),
            "the evaluation after step 2 failed: injected failure at grpo-eval (SEEK_TEST_FAIL_AT). --resume "
            "runs it again (--eval-every 0 runs without evaluations)");
  testing::internal::CaptureStdout();
  const GrpoResult r = run_grpo(s, true, nlohmann::json::object());
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_FALSE(r.interrupted);
  EXPECT_NE(out.find("step 2's evaluation did not finish (a stop or a failure); it runs now"),
            std::string::npos)
      << out;
  expect_logged_as_uninterrupted(run);
}

// completions.jsonl said only that a code completion scored 0, not why; the code reward's note (no program,
// which tests failed and how) is logged beside the scores.
TEST(GrpoTrainer, CompletionsLogWhyACodeRewardIsBelowOne) {
  TempDir tmp("grpo-notes");
  tiny_policy(tmp.path);
  {
    std::ofstream f(tmp.path / "code.jsonl");
    for (int i = 0; i < 4; ++i)
      f << nlohmann::json{{"prompt", fmt::format("P{}:", i)}, {"tests", "assert f(1) == 2\n"}}.dump() << "\n";
  }
  auto s = settings(tmp.path);
  s.data = (tmp.path / "code.jsonl").string();
  s.rewards = nlohmann::json::parse(R"({"code": {"require_isolation": false}, "tag_count": 1})");
  s.out = (tmp.path / "run").string();
  s.steps = 1;
  run_grpo(s, false);
  const auto c = test::read_jsonl(tmp.path / "run" / "completions.jsonl");
  ASSERT_EQ(c.size(), 2u);
  for (const auto& line : c) {
    // The random policy writes no program.
    ASSERT_TRUE(line.contains("reward_notes")) << line.dump();
    EXPECT_EQ(line["reward_notes"],
              nlohmann::json({{"code", "no closed ```python block after the thinking"}}))
        << line.dump();
  }
}

// Rewards that score none of the problems (code needs tests; these have answers) leave every total at 0: the
// run refuses to start, before any rollout (it used to find out from step 1's rollouts, minutes in with a
// real model), also with dynamic sampling.
TEST(GrpoTrainer, RewardsThatApplyToNoProblemAreAClearError) {
  TempDir tmp("grpo-unscored");
  tiny_policy(tmp.path);
  for (bool dynamic : {false, true}) {
    auto s = settings(tmp.path);
    s.out = (tmp.path / fmt::format("run{}", dynamic)).string();
    s.rewards = {{"code", 1.0}};
    s.dynamic_sampling = dynamic;
    try {
      run_grpo(s, false);
      FAIL() << "a run whose rewards apply to no problem must not succeed";
    } catch (const Error& e) {
      const std::string want = "none of the rewards {\"code\":1.0} applies to the " +
                               std::to_string(test::read_jsonl(s.data).size()) + " problems of " + s.data;
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(fs::path(s.out) / "metrics.jsonl"));
  }
  // Where some reward applies, a note names the one that applies to none, and the share of completions none
  // applied to is logged.
  auto s = settings(tmp.path);
  s.out = (tmp.path / "mixed").string();
  s.steps = 1;
  s.rewards = {{"code", 1.0}, {"tag_count", 1.0}};
  testing::internal::CaptureStdout();
  run_grpo(s, false);
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("note: reward code applies to none of the "), std::string::npos) << out;
  EXPECT_EQ(out.find("note: reward tag_count"), std::string::npos) << out;
  EXPECT_NE(out.find("(code - tag_count "), std::string::npos) << out;  // not "code nan"
  const auto m = test::read_jsonl(tmp.path / "mixed" / "metrics.jsonl");
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0]["unscored_fraction"], 0.0);

  // Only the run's first step is judged so: a resumed run whose first step drew only problems no reward
  // applies to (accuracy on a problem with tests but no answer) failed there on every retry, where the
  // uninterrupted run went on.
  {
    std::ofstream f(tmp.path / "answers-and-tests.jsonl");
    f << nlohmann::json{{"prompt", "Q:"}, {"answer", "1"}}.dump() << "\n";
    for (int i = 0; i < 9; ++i)
      f << nlohmann::json{{"prompt", fmt::format("P{}:", i)}, {"tests", "assert True\n"}}.dump() << "\n";
  }
  auto r = settings(tmp.path);
  r.data = (tmp.path / "answers-and-tests.jsonl").string();
  r.rewards = {{"accuracy", 1.0}};
  r.prompts_per_step = 1;
  r.steps = 1;
  r.checkpoint_every = 1;
  bool found = false;  // a seed that draws the problem with an answer first, and one with tests next
  for (uint64_t seed = 1; seed < 5000 && !found; ++seed) {
    ProblemSource src("", {}, r.data, seed);
    if (src.train(0).prompt == "Q:" && src.train(1).prompt != "Q:") {
      r.seed = seed;
      found = true;
    }
  }
  ASSERT_TRUE(found);
  r.out = (tmp.path / "resumed").string();
  testing::internal::CaptureStdout();
  run_grpo(r, false);
  const GrpoResult resumed = run_grpo(r, true, {{"steps", 2}});
  testing::internal::GetCapturedStdout();
  EXPECT_EQ(resumed.steps_done, 2);
  const auto rm = test::read_jsonl(tmp.path / "resumed" / "metrics.jsonl");
  ASSERT_EQ(rm.size(), 2u);
  EXPECT_EQ(rm[1]["unscored_fraction"], 1.0) << rm[1].dump();

  // A task's verifier judges its answers: accuracy options about reading answers are noted as unused there.
  auto t = settings(tmp.path);
  t.out = (tmp.path / "task").string();
  t.steps = 1;
  t.data.clear();
  t.task = "gcd";
  t.task_options = {{"template", "plain"}};
  t.rewards = {{"accuracy", {{"weight", 1.0}, {"require_answer_tag", true}, {"rel_tolerance", 0.01}}}};
  testing::internal::CaptureStdout();
  run_grpo(t, false);
  const std::string task_out = testing::internal::GetCapturedStdout();
  EXPECT_NE(
      task_out.find("note: reward accuracy's require_answer_tag, rel_tolerance do not apply to task gcd"),
      std::string::npos)
      << task_out;

  // A step whose groups dynamic sampling all drops (one-token completions hold no format: every reward is 0)
  // makes no update. Its metrics line has the same keys as an update's, null where only an update measures
  // something, and its progress line says so instead of printing nan.
  s.out = (tmp.path / "dropped").string();
  s.rewards = {{"format", 1.0}};
  s.max_completion_length = 1;  // no room for the tags
  s.dynamic_sampling = true;
  testing::internal::CaptureStdout();
  run_grpo(s, false);
  const std::string log = testing::internal::GetCapturedStdout();
  const auto d = test::read_jsonl(tmp.path / "dropped" / "metrics.jsonl");
  ASSERT_EQ(d.size(), 1u);
  ASSERT_EQ(d[0]["groups"], 0) << d[0].dump();
  EXPECT_NE(log.find("| no update (no usable prompt group) |"), std::string::npos) << log;
  EXPECT_NE(log.find("done: 1 GRPO step (1 of this session's without an update);"), std::string::npos) << log;
  EXPECT_EQ(log.find("nan"), std::string::npos) << log;
  EXPECT_NE(log.find("groups with all-equal rewards dropped"), std::string::npos) << log;
  // Filtering on one reward's scores says which.
  s.out = (tmp.path / "dropped-format").string();
  s.dynamic_sampling_metric = "format";
  testing::internal::CaptureStdout();
  run_grpo(s, false);
  const std::string by_format = testing::internal::GetCapturedStdout();
  EXPECT_NE(by_format.find("groups with all-equal format scores dropped"), std::string::npos) << by_format;
  s.dynamic_sampling_metric = "reward";
  for (const auto& [key, value] : m[0].items()) {
    if (key.starts_with("rewards/")) continue;  // other rewards
    ASSERT_TRUE(d[0].contains(key)) << key;
    if (key == "lr" || key == "loss" || key == "kl" || key == "grad_norm" ||
        key == "completion_length_mean") {
      EXPECT_TRUE(d[0][key].is_null()) << key;
    }
  }
}

TEST(GrpoTrainer, BadSettingsAreClearErrors) {
  TempDir tmp("grpo-bad");
  tiny_policy(tmp.path);
  auto s = settings(tmp.path);
  s.group_size = 1;
  EXPECT_THROW(run_grpo(s, false), Error);
  s = settings(tmp.path);
  s.task = "countdown";  // both task and data
  EXPECT_THROW(run_grpo(s, false), Error);
  s = settings(tmp.path);
  s.rewards = {{"telepathy", 1.0}};
  try {
    run_grpo(s, false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("telepathy"), std::string::npos) << e.what();
  }
}

// Prompts that all exceed max_prompt_length make no update; a first step like that is a clear error naming
// the flag and the length needed, not a run that "succeeds" without ever training.
TEST(GrpoTrainer, PromptsAllTooLongAreAClearError) {
  TempDir tmp("grpo-long");
  tiny_policy(tmp.path);
  auto s = settings(tmp.path);
  s.max_prompt_length = 3;  // "Qn:" is 4 or 5 byte tokens with BOS
  try {
    run_grpo(s, false);
    FAIL() << "a run whose every prompt is too long must not succeed";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("all 4 prompts drawn in step 1"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--max-prompt-length 3"), std::string::npos) << msg;
    EXPECT_NE(msg.find("the shortest was 4 tokens"), std::string::npos) << msg;
    EXPECT_NE(msg.find("raise --max-prompt-length to at least 4"), std::string::npos) << msg;
    EXPECT_NE(msg.find("one token per byte"), std::string::npos) << msg;
  }
  // Prompts that fit the limit but leave no room for the completion in the context (64) name that instead.
  s = settings(tmp.path);
  s.max_completion_length = 62;
  try {
    run_grpo(s, false);
    FAIL() << "a run whose every prompt is too long must not succeed";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("context of 64"), std::string::npos) << msg;
    EXPECT_NE(msg.find("lower --max-completion-length to at most 60"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("raise --max-prompt-length"), std::string::npos) << msg;
  }
}

// Data where one prompt fits and the rest are too long: steps without a usable prompt log a null reward (no
// completions were scored, so there is no reward, not a reward of 0), and a run that keeps drawing only
// over-long prompts stops with the length error instead of running on without updates.
TEST(GrpoTrainer, StepsWithoutUsablePromptsHaveNoRewardAndLongStreaksStop) {
  TempDir tmp("grpo-long-later");
  tiny_policy(tmp.path);
  const std::string long_prompt(40, 'x');
  {
    std::ofstream f(tmp.path / "problems.jsonl");
    f << nlohmann::json{{"prompt", "Q:"}, {"answer", "1"}}.dump() << "\n";
    for (int i = 0; i < 199; ++i)
      f << nlohmann::json{{"prompt", long_prompt}, {"answer", "1"}}.dump() << "\n";
  }
  auto s = settings(tmp.path);
  s.prompts_per_step = 1;
  s.max_prompt_length = 16;
  s.steps = 100;
  // A seed whose shuffle draws the short prompt first, so step 1 trains and the over-long streak starts
  // after.
  bool found = false;
  for (uint64_t seed = 1; seed < 5000 && !found; ++seed) {
    ProblemSource src("", {}, s.data, seed);
    if (src.train(0).prompt == "Q:") {
      s.seed = seed;
      found = true;
    }
  }
  ASSERT_TRUE(found);
  try {
    run_grpo(s, false);
    FAIL() << "64 over-long prompts in a row must stop the run";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("the last 64 prompts drawn (up to step 65) were all"), std::string::npos) << msg;
  }
  auto m = test::read_jsonl(fs::path(s.out) / "metrics.jsonl");
  ASSERT_EQ(m.size(), 64u);
  EXPECT_EQ(m[0]["groups"], 1);
  EXPECT_TRUE(m[0]["reward"].is_number()) << m[0].dump();
  for (size_t i = 1; i < m.size(); ++i) {
    EXPECT_EQ(m[i]["groups"], 0) << m[i].dump();
    EXPECT_EQ(m[i]["skipped_long_prompts"], 1) << m[i].dump();
    EXPECT_TRUE(m[i]["reward"].is_null()) << m[i].dump();
    EXPECT_TRUE(m[i]["reward_std"].is_null()) << m[i].dump();
  }
  // A run stopped after step 1 and resumed goes on as the uninterrupted one did: its first step after the
  // resume (over-long prompts only) was taken for the run's first step, and every retry failed there.
  auto r = s;
  r.out = (tmp.path / "resumed").string();
  r.steps = 1;
  r.checkpoint_every = 1;
  testing::internal::CaptureStdout();
  run_grpo(r, false);
  run_grpo(r, true, {{"steps", 4}});
  testing::internal::GetCapturedStdout();
  const auto resumed = test::read_jsonl(fs::path(r.out) / "metrics.jsonl");
  ASSERT_EQ(resumed.size(), 4u);
  for (size_t i = 0; i < resumed.size(); ++i) {
    EXPECT_EQ(resumed[i]["groups"], m[i]["groups"]) << i;
    EXPECT_EQ(resumed[i]["skipped_long_prompts"], m[i]["skipped_long_prompts"]) << i;
    EXPECT_EQ(resumed[i]["reward"], m[i]["reward"]) << i;
  }
  // A resume that changes the limit is judged at its first step again, on the prompts that step drew (its
  // saved streak of 3 over-long prompts in a row is not this step's count).
  testing::internal::CaptureStdout();
  const std::string e = test::error_of([&] { run_grpo(r, true, {{"steps", 5}, {"max_prompt_length", 3}}); });
  testing::internal::GetCapturedStdout();
  EXPECT_NE(e.find("the 1 prompt drawn in step 5 is longer than --max-prompt-length 3"), std::string::npos)
      << e;
}

}  // namespace
}  // namespace seek

namespace seek {
namespace {

// A data record too long for the context is passed over by training but cannot be evaluated: it ended the
// run at its first evaluation, after steps no checkpoint held, and every resume ended there again. The
// evaluation set is checked before step 1.
TEST(GrpoTrainer, AnEvaluationPromptTooLongForTheContextIsRefusedBeforeStep1) {
  TempDir tmp("grpo-long-eval");
  tiny_policy(tmp.path);
  {
    std::ofstream f(tmp.path / "problems.jsonl");
    for (int i = 0; i < 5; ++i)
      f << nlohmann::json{{"prompt", fmt::format("Q{}:", i)}, {"answer", "1"}}.dump() << "\n";
    f << nlohmann::json{{"prompt", std::string(100, 'x')}, {"answer", "1"}}.dump() << "\n";
  }
  auto s = settings(tmp.path);
  s.steps = 2;
  s.prompts_per_step = 2;
  s.eval_every = 1;
  s.eval_problems = 0;
  const std::string e = test::error_of([&] { run_grpo(s, false); });
  EXPECT_NE(e.find("evaluation problem problems.jsonl:6: the prompt has 101 tokens and the context holds 64, "
                   "so the run's evaluations (--eval-every 1) cannot score it"),
            std::string::npos)
      << e;
  // Refused before step 1: no rollout was made (the failing evaluation came after step 1's, whose
  // completions were logged).
  EXPECT_TRUE(!fs::exists(fs::path(s.out) / "completions.jsonl") ||
              fs::file_size(fs::path(s.out) / "completions.jsonl") == 0);
  // Without evaluations the run trains, passing over the record.
  s.out = (tmp.path / "no-eval").string();
  s.eval_every = 0;
  testing::internal::CaptureStdout();
  EXPECT_EQ(run_grpo(s, false).steps_done, 2);
  testing::internal::GetCapturedStdout();
}

// A new run refused after its folder was made (here: no reward applies to the problems, found once the
// policy has loaded) leaves nothing behind: its settings.json and lock made the next look at the folder
// suggest a run had been there. A folder that was there keeps what it held.
TEST(GrpoTrainer, ARunRefusedAfterItsFolderWasMadeLeavesNothingBehind) {
  TempDir tmp("grpo-refused-folder");
  tiny_policy(tmp.path);
  auto s = settings(tmp.path);
  s.rewards = {{"code", 1.0}};  // the problems have answers, no tests
  const auto refused = [&] {
    const std::string e = test::error_of([&] { run_grpo(s, false); });
    EXPECT_NE(e.find("none of the rewards"), std::string::npos) << e;
  };
  refused();
  EXPECT_FALSE(fs::exists(s.out));
  // The folders it made on the way too, and no others.
  const std::string run_folder = s.out;
  s.out = (tmp.path / "a" / "b" / "c" / "").string();
  refused();
  EXPECT_FALSE(fs::exists(tmp.path / "a"));
  EXPECT_TRUE(fs::is_directory(tmp.path));
  fs::create_directories(tmp.path / "a");
  std::ofstream(tmp.path / "a" / "mine.txt") << "mine";
  refused();
  EXPECT_FALSE(fs::exists(tmp.path / "a" / "b"));
  EXPECT_TRUE(fs::exists(tmp.path / "a" / "mine.txt"));
  // A ".." after a link is the kernel's, not the lexical one: link/../v is v beside the link's target, and
  // the v beside the link is none of the run's business.
  fs::create_directories(tmp.path / "real" / "sub");
  fs::create_directory_symlink(tmp.path / "real" / "sub", tmp.path / "link");
  fs::create_directories(tmp.path / "v");
  std::ofstream(tmp.path / "v" / "settings.json") << "{}";
  s.out = (tmp.path / "link" / ".." / "v").string();
  refused();
  EXPECT_TRUE(fs::exists(tmp.path / "v" / "settings.json"));
  EXPECT_TRUE(fs::is_directory(tmp.path / "real" / "v"));  // made, and not walked up through the ".."
  EXPECT_FALSE(fs::exists(tmp.path / "real" / "v" / "settings.json"));
  s.out = run_folder;
  fs::create_directories(s.out);
  refused();
  EXPECT_TRUE(fs::is_directory(s.out));
  EXPECT_TRUE(fs::is_empty(s.out));
  std::ofstream(fs::path(s.out) / "notes.txt") << "mine";
  refused();
  EXPECT_TRUE(fs::exists(fs::path(s.out) / "notes.txt"));
  EXPECT_FALSE(fs::exists(fs::path(s.out) / "settings.json"));
  EXPECT_FALSE(fs::exists(fs::path(s.out) / ".lock"));
}

// A --tokenizer whose ids mean other tokens than the --init policy's own tokenizer.json (the same special
// tokens in another order) was taken without a word, as in seek train, which makes the same check.
TEST(GrpoTrainer, InitRefusesATokenizerWhoseIdsMeanOtherTokens) {
  TempDir tmp("grpo-init-other-vocab");
  tiny_policy(tmp.path);
  BpeTrainOptions bo;
  bo.vocab_size = 272;
  bo.threads = 1;
  const std::vector<std::string> text = {"Q1: 1 Q2: 1 Q3: 1 <think> </think> <answer> 1 </answer>"};
  const auto own = train_bpe(text, bo);
  save_bpe(own, tmp.path / "policy");
  auto other = bo;
  for (const auto& t : own.tokenizer.at("added_tokens")) other.special_tokens.push_back(t.at("content"));
  ASSERT_GE(other.special_tokens.size(), 5u);
  std::swap(other.special_tokens[3], other.special_tokens[4]);
  save_bpe(train_bpe(text, other), tmp.path / "other");
  auto s = settings(tmp.path);
  s.tokenizer = (tmp.path / "other").string();
  const std::string e = test::error_of([&] { run_grpo(s, false); });
  EXPECT_NE(e.find("the --init model's own tokenizer (" + (tmp.path / "policy" / "tokenizer.json").string() +
                   ") and --tokenizer " + (tmp.path / "other").string() + " give id 3 to different tokens"),
            std::string::npos)
      << e;
  EXPECT_FALSE(fs::exists(s.out));
  // A folder without tokenizer.json read as the byte tokenizer, and the BOS/EOS check blamed the ids.
  fs::create_directories(tmp.path / "empty");
  s.tokenizer = (tmp.path / "empty").string();
  EXPECT_NE(test::error_of([&] { run_grpo(s, false); })
                .find("no tokenizer.json in " + s.tokenizer +
                      " (--tokenizer names a folder holding one; leave it out for the --init model's own "
                      "tokenizer)"),
            std::string::npos);
}

// A run resumed by the other command is named as such: seek train on a GRPO run failed on its first GRPO key
// ("unknown setting \"beta\"; did you mean \"beta1\"?"), seek grpo on a train run on "data" having the wrong
// type; a new run there was told to --resume, which then failed so.
TEST(GrpoTrainer, ARunResumedByTheOtherCommandIsNamed) {
  TempDir tmp("grpo-other-command");
  tiny_policy(tmp.path);
  auto s = settings(tmp.path);
  s.steps = 1;
  s.checkpoint_every = 1;
  testing::internal::CaptureStdout();
  run_grpo(s, false);
  testing::internal::GetCapturedStdout();
  const fs::path run = tmp.path / "run";
  TrainSettings t;
  t.out = run.string();
  std::string msg = test::error_of([&] { run_training(t, true); });
  EXPECT_NE(msg.find(run.string() +
                     " is a seek grpo run (its settings.json says so): resume it with seek grpo --out " +
                     run.string() + " --resume"),
            std::string::npos)
      << msg;
  msg = test::error_of([&] { run_training(t, false); });
  EXPECT_NE(msg.find("continue it with seek grpo --out " + run.string() + " --resume"), std::string::npos)
      << msg;
  std::ofstream(run / "settings.json") << nlohmann::json{{"out", run.string()}, {"seq_len", 32}}.dump();
  msg = test::error_of([&] { run_grpo(s, true); });
  EXPECT_NE(
      msg.find(run.string() + " is a seek train run (its settings.json says so): resume it with seek train"),
      std::string::npos)
      << msg;
}

}  // namespace
}  // namespace seek

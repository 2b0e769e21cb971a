// Everything that describes a GRPO run (`seek grpo`), with the meaning TRL / verl give each option. Comes
// from a JSON run file and/or flags (same key names, flags win); the resolved settings are saved with the
// run.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "rl/grpo_loss.hpp"
#include "train/schedule.hpp"
#include "train/shared_settings.hpp"

namespace seek {

// The largest prompts_per_step, group_size, eval_samples and other counts that multiply one another: far
// beyond any step that fits in memory, and small enough that no product of them overflows.
inline constexpr int64_t kMaxGrpoCount = int64_t(1) << 20;

struct GrpoSettings {
  // policy, prompts, rewards
  std::string init;       // model directory of the policy (ours or Hugging Face DeepSeek)
  std::string tokenizer;  // default: init's tokenizer.json, else byte-level
  std::string task;       // built-in task name, or
  std::string data;       // a JSONL file of problems
  nlohmann::json task_options = nlohmann::json::object();
  nlohmann::json rewards = {{"accuracy", 1.0}, {"format", 1.0}};  // reward name -> weight or options
  std::string out;
  // sampling
  int64_t steps = 100;
  int64_t prompts_per_step = 8;     // distinct prompts per step
  int64_t group_size = 8;           // G completions per prompt
  int64_t max_prompt_length = 256;  // longer prompts are skipped (and counted)
  int64_t max_completion_length = 128;
  double temperature = 1.0;
  bool think = false;  // chat problems on a DeepSeek-V3.1 model: its thinking prompt (else its default)
  // objective (defaults follow current practice: DAPO aggregation, group scaling, β = 0, ε 0.2 / 0.28)
  int64_t num_iterations = 1;  // μ: optimizer steps per batch of rollouts
  double epsilon_low = 0.2, epsilon_high = 0.28;
  double delta = 0.0;                // two-sided clip (0: off)
  std::string policy_loss = "clip";  // clip (PPO/GRPO surrogate) | cispo | sapo
  double cispo_max = 5.0;            // cispo's cap on its weight (TRL: epsilon_high with loss_type cispo)
  double sapo_temperature_pos = 1.0, sapo_temperature_neg = 1.05;  // sapo's gate temperatures (TRL's)
  std::string importance_sampling_level = "token";                 // token | sequence (GSPO)
  double beta = 0.0;                      // KL weight; > 0 keeps a frozen reference model
  std::string kl_estimator = "k3";        // k1 | k2 | k3
  std::string scale_rewards = "group";    // group | batch | none
  std::string loss_aggregation = "dapo";  // grpo | bnpo | dr_grpo | dapo
  bool dynamic_sampling = false;          // drop groups whose metric is all equal and draw more prompts
  std::string dynamic_sampling_metric =
      "reward";                             // "reward" (the total) or a reward's name ("accuracy": DAPO)
  int64_t max_dynamic_draws = 3;            // at most this many × prompts_per_step prompts drawn per step
  bool mask_truncated_completions = false;  // completions cut by max_completion_length get no loss
  double entropy_coef = 0.0;
  int64_t micro_batch = 16;    // sequences per forward/backward (memory bound)
  int64_t rollout_batch = 64;  // sequences the engine decodes at once (1 = unbatched generation)
  // optimizer
  double lr = 1e-5, min_lr = 0.0;
  int64_t warmup_steps = 0;
  std::string schedule = "constant";
  double weight_decay = 0.0, beta1 = 0.9, beta2 = 0.99, eps = 1e-8, max_grad_norm = 1.0;
  double bias_update_speed = 0.0;  // router bias updates during RL (0: frozen)
  // run control
  uint64_t seed = 1234;
  int threads = 0;
  int64_t checkpoint_every = 50, keep_last = 2;
  int64_t eval_every = 0, eval_problems = 64, eval_samples = 1;
  int64_t log_completions = 4;  // completions per step written to completions.jsonl
  std::string save_dtype = "f32";

  // The one table of keys: JSON in and out (train/settings_io.hpp) and the type of each command-line flag
  // (cli/settings_flags.hpp) come from it, so they cannot disagree on a key. Keys shared with `seek train`
  // are listed in train/shared_settings.hpp.
  template <typename F>
  void for_each_field(F&& f) {
    for_each_shared_field(*this, f);
    f("task", task);
    f("data", data);
    f("task_options", task_options);
    f("rewards", rewards);
    f("prompts_per_step", prompts_per_step);
    f("group_size", group_size);
    f("max_prompt_length", max_prompt_length);
    f("max_completion_length", max_completion_length);
    f("temperature", temperature);
    f("think", think);
    f("num_iterations", num_iterations);
    f("epsilon_low", epsilon_low);
    f("epsilon_high", epsilon_high);
    f("delta", delta);
    f("policy_loss", policy_loss);
    f("cispo_max", cispo_max);
    f("sapo_temperature_pos", sapo_temperature_pos);
    f("sapo_temperature_neg", sapo_temperature_neg);
    f("importance_sampling_level", importance_sampling_level);
    f("beta", beta);
    f("kl_estimator", kl_estimator);
    f("scale_rewards", scale_rewards);
    f("loss_aggregation", loss_aggregation);
    f("dynamic_sampling", dynamic_sampling);
    f("dynamic_sampling_metric", dynamic_sampling_metric);
    f("max_dynamic_draws", max_dynamic_draws);
    f("mask_truncated_completions", mask_truncated_completions);
    f("entropy_coef", entropy_coef);
    f("micro_batch", micro_batch);
    f("rollout_batch", rollout_batch);
    f("eval_problems", eval_problems);
    f("eval_samples", eval_samples);
    f("log_completions", log_completions);
  }

  // What a checkpoint's run is made of (policy, reference, tokenizer, problems and their order): --resume
  // refuses to change these; anything else may change, and each change is printed.
  static constexpr const char* kCommand = "seek grpo";  // what makes and resumes such runs
  static constexpr const char* kFixedOnResume[] = {"init",         "tokenizer", "task",
                                                   "task_options", "data",      "seed"};
  // Settings that name files or folders: saved absolute, so --resume works from any directory.
  static constexpr const char* kPathSettings[] = {"init", "tokenizer", "data"};
  // What a resumed run (its settings with the command's changes) reads again: the problems, and --init when
  // a KL term needs it as the frozen reference model. The policy, its config and the tokenizer come from the
  // checkpoint, so without a KL term the --init folder may be gone.
  static bool reads_on_resume(const std::string& key, const nlohmann::json& settings);

  // For --resume: --task-options that the run's task reads as the saved ones (a default spelled out, keys
  // in another order, {} for null) as the saved ones, so they are no change; any other key or value as given.
  static nlohmann::json resolve_on_resume(const std::string& key, const nlohmann::json& given,
                                          const std::filesystem::path& checkpoint,
                                          const nlohmann::json& saved);

  static GrpoSettings from_json(const nlohmann::json& j, const std::string& source);
  nlohmann::json to_json() const;
  void validate() const;
  // Notes on settings given a value other than the default that this run's other settings leave without
  // effect (epsilons with policy_loss cispo, kl_estimator with beta 0, ...): each "x has no effect ...".
  std::vector<std::string> settings_without_effect() const;
  GrpoLossOptions loss_options() const;
  Schedule make_schedule() const;
};

}  // namespace seek

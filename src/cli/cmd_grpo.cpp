// `seek grpo`: GRPO with rule-based rewards. Every setting is a flag named after its settings.json key.
#include "cli/registry.hpp"
#include "cli/settings_flags.hpp"
#include "rl/grpo_trainer.hpp"

namespace seek::cli {
namespace {

RegisterCommand reg(
    "grpo", "Reinforcement learning with GRPO and rule-based rewards (R1-Zero style)", [](CLI::App& app) {
      auto c = std::make_shared<SettingsFlags>();
      add_run_flags(app, c);
      settings_flag<std::string>(app, c, "init", "policy model directory (ours or Hugging Face DeepSeek)");
      settings_flag<std::string>(app, c, "tokenizer",
                                 "tokenizer folder (default: --init's, else byte-level)");
      settings_flag<std::string>(
          app, c, "task",
          "built-in task: countdown, arithmetic, sorting, gcd, letter_counting, word_reversal");
      settings_flag<std::string>(
          app, c, "data", "or a JSONL file of problems ({prompt|messages, answer} or {prompt, tests})");
      settings_json_flag(app, c, "task_options",
                         "task options as JSON, e.g. '{\"difficulty\": 2}' (docs/rewards.md)");
      settings_json_flag(app, c, "rewards",
                         "reward weights as JSON (default '{\"accuracy\": 1, \"format\": 1}')");
      settings_flag<std::string>(
          app, c, "out", "run folder: settings, metrics.jsonl, completions.jsonl, checkpoints, model");
      settings_flag<int64_t>(app, c, "steps", "GRPO steps (default 100)");
      settings_flag<int64_t>(app, c, "prompts_per_step", "distinct prompts per step (default 8)");
      settings_flag<int64_t>(app, c, "group_size", "G: completions per prompt (default 8)");
      settings_flag<int64_t>(app, c, "max_prompt_length",
                             "prompts longer than this (tokens) are skipped (default 256)");
      settings_flag<int64_t>(app, c, "max_completion_length",
                             "tokens generated per completion at most (default 128)");
      settings_flag<double>(app, c, "temperature",
                            "sampling temperature; log-probs are taken at it (default 1.0)");
      settings_flag<int64_t>(app, c, "num_iterations",
                             "μ: optimizer steps per batch of rollouts (default 1)");
      settings_flag<double>(app, c, "epsilon_low", "clip below 1 − ε_low (default 0.2)");
      settings_flag<double>(app, c, "epsilon_high", "clip above 1 + ε_high, clip-higher (default 0.28)");
      settings_flag<double>(app, c, "delta", "two-sided clip δ for negative advantages (default 0: off)");
      settings_flag<double>(app, c, "beta", "KL weight against the frozen initial policy (default 0)");
      settings_flag<std::string>(app, c, "kl_estimator", "k1 | k2 | k3 (default k3)");
      settings_flag<std::string>(app, c, "scale_rewards",
                                 "advantage scaling: group | batch | none (default group)");
      settings_flag<std::string>(app, c, "loss_aggregation", "grpo | bnpo | dr_grpo | dapo (default dapo)");
      settings_flag<bool>(app, c, "dynamic_sampling",
                          "drop groups whose rewards are all equal and draw more prompts");
      settings_flag<int64_t>(app, c, "max_dynamic_draws",
                             "at most this many × prompts_per_step drawn per step (default 3)");
      settings_flag<bool>(app, c, "mask_truncated_completions",
                          "no loss on completions cut by the length limit");
      settings_flag<double>(app, c, "entropy_coef", "entropy bonus coefficient (default 0)");
      settings_flag<int64_t>(app, c, "micro_batch", "sequences per forward/backward (default 16)");
      settings_flag<int64_t>(app, c, "rollout_batch",
                             "sequences generated at once (default 64; 1 = unbatched)");
      settings_flag<double>(app, c, "lr", "learning rate (default 1e-5)");
      settings_flag<double>(app, c, "min_lr", "final learning rate of a decaying schedule (default 0)");
      settings_flag<int64_t>(app, c, "warmup_steps", "warm-up optimizer steps (default 0)");
      settings_flag<std::string>(app, c, "schedule", "constant | cosine | linear | wsd (default constant)");
      settings_flag<double>(app, c, "weight_decay", "AdamW weight decay (default 0)");
      settings_flag<double>(app, c, "beta1", "AdamW β1 (default 0.9)");
      settings_flag<double>(app, c, "beta2", "AdamW β2 (default 0.99)");
      settings_flag<double>(app, c, "eps", "AdamW ε (default 1e-8)");
      settings_flag<double>(app, c, "max_grad_norm", "global gradient-norm clip (default 1.0)");
      settings_flag<double>(app, c, "bias_update_speed", "router bias γ during RL (default 0: frozen)");
      settings_flag<uint64_t>(app, c, "seed", "seed for prompts and sampling (default 1234)");
      settings_flag<int>(app, c, "threads", "OpenMP threads (default: all cores)");
      settings_flag<int64_t>(app, c, "checkpoint_every", "checkpoint every N steps (default 50)");
      settings_flag<int64_t>(app, c, "keep_last", "checkpoints to keep (default 2)");
      settings_flag<int64_t>(app, c, "eval_every",
                             "evaluate on held-out problems every N steps (default 0: never)");
      settings_flag<int64_t>(app, c, "eval_problems", "held-out problems per evaluation (default 64)");
      settings_flag<int64_t>(app, c, "eval_samples",
                             "samples per problem in evaluations (default 1: greedy)");
      settings_flag<int64_t>(app, c, "log_completions",
                             "completions per step written to completions.jsonl (default 4)");
      settings_flag<std::string>(app, c, "save_dtype", "final model dtype: f32 | bf16");
      app.callback([c] {
        nlohmann::json merged = c->merged();
        run_grpo(GrpoSettings::from_json(merged, c->source()), c->resume, merged);
      });
    });

}  // namespace
}  // namespace seek::cli

// `seek grpo`: GRPO with rule-based rewards. Every setting is a flag named after its settings.json key.
#include "cli/registry.hpp"
#include "cli/settings_flags.hpp"
#include "rl/grpo_trainer.hpp"

namespace seek::cli {
namespace {

void run(const GrpoSettings& s, bool resume, const nlohmann::json& overrides) {
  const GrpoResult r = run_grpo(s, resume, overrides);
  end_run(r.interrupted, r.steps_done, r.eval_owed_step);
}

// Each setting's --help text, in the order --help lists them.
constexpr FlagHelp kFlagHelp[] = {
    {"init", "policy model directory (ours or Hugging Face DeepSeek)"},
    {"tokenizer", "tokenizer folder (default: --init's, else byte-level)"},
    {"task", "built-in task: countdown, arithmetic, sorting, gcd, letter_counting, word_reversal"},
    {"data", "or a JSONL file of problems ({prompt|messages, answer} or {prompt, tests})"},
    {"task_options",
     "task options as JSON, e.g. '{\"template\": \"plain\"}' (any task) or '{\"max_numbers\": 3}' "
     "(countdown); all in docs/rewards.md"},
    {"rewards", "reward weights as JSON (default '{\"accuracy\": 1, \"format\": 1}')"},
    {"out", "run folder: settings, metrics.jsonl, completions.jsonl, checkpoints, model"},
    {"steps", "GRPO steps (default 100)"},
    {"prompts_per_step", "distinct prompts per step (default 8)"},
    {"group_size", "G: completions per prompt (default 8)"},
    {"max_prompt_length", "prompts longer than this (tokens) are skipped (default 256)"},
    {"max_completion_length", "tokens generated per completion at most (default 128)"},
    {"temperature", "sampling temperature; log-probs are taken at it (default 1.0)"},
    {"think",
     "chat problems on a DeepSeek-V3.1 model: prompts open its thinking (<think>) instead of closing it "
     "(default false)"},
    {"num_iterations", "μ: optimizer steps per batch of rollouts (default 1)"},
    {"epsilon_low", "clip below 1 − ε_low (default 0.2)"},
    {"epsilon_high", "clip above 1 + ε_high, clip-higher (default 0.28)"},
    {"delta", "two-sided clip δ for negative advantages (default 0: off)"},
    {"policy_loss",
     "clip (the clipped surrogate, default) | cispo (capped, stop-gradient weight × log-prob) | sapo (a "
     "smooth "
     "gate instead of the clip)"},
    {"cispo_max", "with policy_loss cispo: the cap on its weight (default 5)"},
    {"sapo_temperature_pos",
     "with policy_loss sapo: the gate's temperature for positive advantages (default 1.0)"},
    {"sapo_temperature_neg",
     "with policy_loss sapo: the gate's temperature for other advantages (default 1.05)"},
    {"importance_sampling_level", "token | sequence: one ratio per completion, GSPO (default token)"},
    {"beta", "KL weight against the frozen initial policy (default 0)"},
    {"kl_estimator", "k1 | k2 | k3 (default k3)"},
    {"scale_rewards", "advantage scaling: group | batch | none (default group)"},
    {"loss_aggregation", "grpo | bnpo | dr_grpo | dapo (default dapo)"},
    {"dynamic_sampling", "drop groups whose rewards are all equal and draw more prompts (default false)"},
    {"dynamic_sampling_metric",
     "what must differ within a group: reward (the total, default) or a reward's name, e.g. accuracy (DAPO)"},
    {"max_dynamic_draws", "at most this many × prompts_per_step drawn per step (default 3)"},
    {"mask_truncated_completions", "no loss on completions cut by the length limit (default false)"},
    {"entropy_coef", "entropy bonus coefficient (default 0)"},
    {"micro_batch", "sequences per forward/backward (default 16)"},
    {"rollout_batch", "sequences generated at once (default 64; a prompt's group decodes together)"},
    {"lr", "learning rate (default 1e-5)"},
    {"min_lr", "learning rate a decaying schedule reaches one step after the last (default 0)"},
    {"warmup_steps", "warm-up optimizer steps (default 0)"},
    {"schedule", "constant | cosine | linear | wsd (default constant)"},
    {"weight_decay", "AdamW weight decay (default 0)"},
    {"beta1", "AdamW β1 (default 0.9)"},
    {"beta2", "AdamW β2 (default 0.99)"},
    {"eps", "AdamW ε (default 1e-8)"},
    {"max_grad_norm", "global gradient-norm clip, <= 0 disables (default 1.0)"},
    {"bias_update_speed", "router bias γ during RL (default 0: frozen)"},
    {"seed", "seed for prompts and sampling (default 1234)"},
    {"threads", "OpenMP threads (default: all cores, or OMP_NUM_THREADS)"},
    {"checkpoint_every", "checkpoint every N steps (default 50)"},
    {"keep_last", "checkpoints to keep (default 2)"},
    {"eval_every", "evaluate on held-out problems every N steps and at the last (default 0: never)"},
    {"eval_problems", "held-out problems per evaluation (default 64)"},
    {"eval_samples", "samples per problem in evaluations (default 1: greedy)"},
    {"log_completions", "completions per step written to completions.jsonl (default 4)"},
    {"save_dtype", "final model dtype: f32 | bf16 (default f32)"},
};

RegisterCommand reg("grpo", "Reinforcement learning with GRPO and rule-based rewards (R1-Zero style)",
                    [](CLI::App& app) { add_settings_command<GrpoSettings>(app, kFlagHelp, run); });

}  // namespace
}  // namespace seek::cli

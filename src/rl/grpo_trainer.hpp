// `seek grpo`: Group Relative Policy Optimization with rule-based rewards. Each step draws prompts, samples G
// completions per prompt with the inference engine (one shared prefill per prompt) from the CURRENT policy
// weights, scores them, computes group-relative advantages, and updates the policy with the clipped
// surrogate (no critic). Checkpoints and --resume work as in `seek train` (exact, atomic); metrics.jsonl
// and completions.jsonl record every step.
#pragma once
#include <nlohmann/json.hpp>

#include "core/progress.hpp"
#include "rl/grpo_settings.hpp"

namespace seek {

struct GrpoResult {
  int64_t steps_done = 0;
  double last_reward = 0;    // NaN when the last step had no usable prompt group
  nlohmann::json last_eval;  // null when no evaluation ran
  bool interrupted = false;  // stopped by SIGINT/SIGTERM; the newest checkpoint holds the run
  // This session's steps that made no update: no usable prompt group, or no completion token counted.
  int64_t steps_without_update = 0;
  // A step whose evaluation a stop cut short (0: none): its checkpoint owes it, and --resume runs it first.
  int64_t eval_owed_step = 0;
};

// With resume, the run folder's settings.json is the base and `overrides` replace keys of it. `progress`:
// where and how the line inside a step (rollouts, then training micro-batches) is shown.
GrpoResult run_grpo(const GrpoSettings& settings, bool resume, const nlohmann::json& overrides = {},
                    ProgressLine::Options progress = {});

}  // namespace seek

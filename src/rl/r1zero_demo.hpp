// `seek demo`: R1-Zero in miniature. Builds a weak base model (pretrains configs/demo.json on generated
// arithmetic problems with imperfect worked solutions: many wrong answers, some without the answer tags),
// evaluates it on held-out problems, runs GRPO with accuracy + format rewards only, evaluates again, prints a
// before/after table and writes SVG plots of the run.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace seek {

struct R1ZeroDemoOptions {
  // The base model's config.json; empty: the built-in one (configs/demo.json as this binary was built).
  std::string config;
  std::string out = "runs/demo";
  int64_t pretrain_steps = 5000;
  int64_t pretrain_examples = 150000;
  double wrong_fraction = 0.5;      // worked solutions with a wrong answer
  double untagged_fraction = 0.25;  // solutions without <think>/<answer> tags
  int64_t grpo_steps = 300;
  int64_t prompts_per_step = 16, group_size = 8;
  double grpo_lr = 3e-4;
  int64_t eval_problems = 200;
  int eval_samples = 4;
  uint64_t seed = 1234;
};

struct R1ZeroDemoResult {
  nlohmann::json base, after;  // EvalResult::to_json() of the held-out evaluations
  bool outcome_met = false;    // base pass@1 in [5%, 50%], +25 points, format >= 95%
  bool interrupted = false;    // stopped by SIGINT/SIGTERM; nothing after the stopped run was done
};

R1ZeroDemoResult run_r1zero_demo(const R1ZeroDemoOptions& o);

// The text of the built-in base model config (configs/demo.json, compiled in), which a demo without --config
// writes to OUT/base-config.json and trains.
const char* builtin_demo_config();

}  // namespace seek

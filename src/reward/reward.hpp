// Reward functions for GRPO. Each one is pure C++, deterministic, const (safe to call from many threads at
// once on the same object), bounded by its own time limit, and never throws while scoring: a completion
// whose scoring runs out of time or hits an internal error scores 0.
//
// Names for make_reward (options in docs/rewards.md):
//   accuracy        1 if the extracted final answer equals the reference (or the task's verifier says so)
//   format          1 if the completion matches the strict R1 template <think>..</think><answer>..</answer>
//   tag_count       0.25 for each of <think>, </think>, <answer>, </answer> present exactly once, in order
//   code            fraction of test cases passed by the last ```python block, run in the sandbox
//   soft_overlong   DAPO's soft overlong punishment, in [-1, 0]
//   cosine          length-scaled correctness (arXiv 2502.03373), as open-r1's cosine reward
//   repetition      n-gram repetition penalty, in [max_penalty, 0]
// A reward that does not apply to a problem (accuracy on a code problem, code on a maths problem) returns
// NaN; CombinedReward leaves NaN components out of the total, and the trainer should use nan-aware means
// when it logs them (as TRL does).
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "reward/problem.hpp"

namespace seek::reward {

struct RewardInput {
  const Problem* problem = nullptr;
  std::string_view completion;     // the generated text only (not the prompt)
  int64_t completion_tokens = -1;  // length rewards use it; -1: they fall back to the length in bytes
  // The prompt ended by opening <think> (a task's think_prefilled, a plain prompt ending in "<think>", a chat
  // format that opens it), so the completion starts inside the thinking: what a reward's think_prefilled
  // option stands for where it is not given.
  bool prompt_opens_think = false;
};

class RewardFunction {
 public:
  virtual ~RewardFunction() = default;
  virtual const std::string& name() const = 0;
  // Never throws; NaN when the reward does not apply to this problem.
  virtual double score(const RewardInput& input) const = 0;
  // score, and in `note` why it is below 1 where the reward can say (code: which tests failed and how); ""
  // otherwise. For the logs (completions.jsonl, seek eval --out): a code completion that failed its tests
  // said nothing of why.
  virtual double score_noted(const RewardInput& input, std::string& note) const {
    note.clear();
    return score(input);
  }
  // Throws seek::Error naming the first of `problems` that this reward could never score above 0 because the
  // problem itself is broken (code: tests that are not valid Python, which scored every completion 0 without
  // a word). Called once before scoring; most rewards have nothing to check.
  virtual void check_problems(std::span<const Problem> problems) const { (void)problems; }
};

// Throws seek::Error for an unknown name (listing the known ones) or a bad option (naming it).
std::unique_ptr<RewardFunction> make_reward(const std::string& name, const nlohmann::json& options = {});
const std::vector<std::string>& reward_names();

}  // namespace seek::reward

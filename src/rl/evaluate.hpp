// `seek eval` and the GRPO trainer's evaluations: k samples per held-out problem with the inference engine,
// scored by the accuracy and format rewards (and the run's own reward, if given): pass@1 and pass@k with the
// unbiased estimator, mean reward, format compliance, and every completion with its scores.
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <vector>

#include "core/progress.hpp"
#include "infer/kv_cache.hpp"
#include "infer/model.hpp"
#include "infer/sampler.hpp"
#include "reward/combined_reward.hpp"
#include "reward/problem.hpp"
#include "tokenizer/tokenizer.hpp"

namespace seek {

struct EvalOptions {
  int samples = 1;            // completions per problem (n of pass@k)
  std::vector<int> ks = {1};  // pass@k to report (k <= samples)
  SamplingParams sampling;    // temperature 0 = greedy
  int max_batch = 64;
  CacheType cache_type = CacheType::F32;  // KV cache element type (infer/kv_cache.hpp)
  ChatStyle chat_style = ChatStyle::V3;   // the model's chat format, for chat problems (chat_style_of)
  // Set: a progress line while it generates and while it scores (core/progress.hpp; stderr by default).
  std::optional<ProgressLine::Options> progress;
  // Set: asked between engine steps and problems scored; true ends the evaluation early with
  // EvalResult::stopped (a GRPO run's Ctrl-C waited for a whole evaluation, minutes with a real model).
  std::function<bool()> stop_requested;

  // Throws seek::Error for fewer than one sample per problem or a k below 1 or above the samples. (A k given
  // twice is reported once.)
  void validate() const;
};

struct EvalResult {
  int64_t problems = 0, completions = 0;
  std::vector<std::pair<int, double>> pass_at;  // (k, pass@k)
  double mean_reward = 0;                       // the run's reward if given, else accuracy
  double accuracy = 0;                          // mean accuracy over all completions
  double format_rate = 0;                       // share of completions in the strict R1 format
  double mean_length = 0;                       // completion tokens
  int64_t context_cut = 0;                      // completions that met the end of the context first
  int64_t context = 0;                          // tokens a sequence may hold, prompt included
  bool stopped = false;                         // ended early by stop_requested: the figures mean nothing
  std::string cache_note;                       // cache_budget_note of the generation (engine.hpp)
  nlohmann::json to_json() const;
};

// What an evaluation counts as solving a problem, in [0, 1] with 1 correct: the accuracy reward for problems
// with an answer or a task; for code problems, where accuracy does not apply (NaN, which must not read as 0),
// the code reward, 1 when every test passes (pass@k as HumanEval defines it). The accuracy and code rewards
// take their options (tolerances, require_answer_tag; sandbox limits, require_isolation) from the run
// reward's "accuracy" and "code" terms when there are some, so evaluation judges as training rewards.
class EvalScorer {
 public:
  // Throws seek::Error when there are code problems and the code reward cannot run here, or one's tests are
  // not valid Python (no completion could pass them).
  EvalScorer(const std::vector<reward::Problem>& problems, const reward::CombinedReward* run_reward,
             ChatStyle style = ChatStyle::V3);
  // `run_scores` (optional): what the run's rewards (those given to the constructor) scored for `in`; a code
  // problem's correctness is then their code term, not a second run of the programs.
  // With `note`, why a code problem's correctness is below 1 (its tests' failure), else "".
  double correctness(const reward::RewardInput& in, const reward::RewardScore* run_scores = nullptr,
                     std::string* note = nullptr) const;
  // The strict R1 format reward (1 or 0). A prompt that opened the thinking (prompt_opens_think: a task's
  // think_prefilled, a plain prompt ending in <think>, an R1 chat template, V3.1's in thinking mode) makes
  // the completion scored as if it began with that tag, as the rewards' think_prefilled option does.
  double format(const reward::RewardInput& in) const;
  // `in` with prompt_opens_think set from its problem in this model's chat format (correctness and format
  // set it themselves; the run's rewards are given inputs made by this).
  reward::RewardInput as_prompted(const reward::RewardInput& in) const;

 private:
  std::unique_ptr<reward::RewardFunction> accuracy_, format_, own_code_;
  const reward::RewardFunction* code_ = nullptr;
  int run_code_index_ = -1;  // the run's code term among its rewards' components, when code_ is it
  std::unique_ptr<reward::RewardFunction> run_accuracy_;  // with the run's accuracy options
  ChatStyle style_;
};

// completions_out (optional) receives one JSON line per completion.
EvalResult evaluate(const InferModel& model, const Tokenizer& tok,
                    const std::vector<reward::Problem>& problems, const EvalOptions& opt,
                    const reward::CombinedReward* run_reward, std::ostream* completions_out);

}  // namespace seek

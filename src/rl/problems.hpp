// Where RL prompts come from: a built-in task (train stream and held-out set by index) or a JSONL dataset
// (problems in a deterministic shuffled order per epoch), and how a problem's prompt becomes token ids.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reward/problem.hpp"
#include "reward/task.hpp"
#include "tokenizer/tokenizer.hpp"

namespace seek {

// The most evaluation problems a command draws from a task, whose held-out set has no end: each is built
// before the first is scored, so a mistyped count would otherwise fill memory without a word.
inline constexpr int64_t kMaxEvalProblems = 10'000'000;

class ProblemSource {
 public:
  // task_name non-empty: that built-in task with `task_options`; otherwise the JSONL file `data`.
  ProblemSource(const std::string& task_name, const nlohmann::json& task_options, const std::string& data,
                uint64_t seed);

  // The index-th training problem (a resumed run continues from its saved index).
  reward::Problem train(uint64_t index) const;
  // `n` evaluation problems: the task's first n distinct held-out problems (fewer, with a note on stderr the
  // first time, where its options allow fewer), or the first n records of the dataset (all when n <= 0).
  std::vector<reward::Problem> held_out(int64_t n) const;
  std::string describe() const;
  // Problems to check the rewards against before any rollout: every record of a dataset, or a task's first
  // `task_count` training problems.
  // Returns how many it visited. A dataset is visited in place, not copied.
  int64_t for_each_probe(int64_t task_count, const std::function<void(const reward::Problem&)>& visit) const;
  // A dataset's size and content hash, as a token cache records its inputs (train/data_cache.hpp), so a
  // resumed run can tell that the file changed; null for a built-in task (its options are settings).
  const nlohmann::json& content() const { return content_; }

 private:
  std::shared_ptr<const reward::Task> task_;
  std::vector<reward::Problem> data_;
  std::string data_path_;
  uint64_t seed_ = 0;
  nlohmann::json content_;
  // A task's evaluation set, made once (a GRPO run evaluates every eval_every steps): its size asked for and
  // the problems.
  mutable int64_t held_out_asked_ = -1;
  mutable std::vector<reward::Problem> held_out_;
};

// A task's first n distinct held-out problems (reward::Task::held_out_problems), with a note on stderr when
// its options allow fewer than n.
std::vector<reward::Problem> distinct_held_out(const reward::Task& task, int64_t n);

// Throws seek::Error unless exactly one of a task name and a dataset is given, and task options only come
// with a task: a dataset's problems are fixed, so options given with it would be silently ignored.
void check_problem_source(const std::string& task_name, const nlohmann::json& task_options,
                          const std::string& data);

// Chat-style problems use the model's DeepSeek chat format (chat_style_of its folder) with the generation
// prompt; plain prompts are encoded with the tokenizer's own special tokens (BOS, one only where the text
// starts with it) and special-token text read as those tokens, as Hugging Face reads it.
std::vector<int32_t> encode_problem_prompt(const Tokenizer& tok, const reward::Problem& p, ChatStyle style);

// Whether the prompt leaves the completion inside an opened think block: a plain prompt that ends in
// "<think>" (a task's think_prefilled), or a chat problem in the R1 format or V3.1's thinking mode whose
// rendered prompt ends in it (not after a trailing tool turn, where those templates add no generation
// prompt).
bool prompt_opens_think(const reward::Problem& p, ChatStyle style);

// Whether task options pick the instruction template, whose prompts are chat turns (false for options of
// any other shape: the task reports those itself).
bool is_instruction_template(const nlohmann::json& task_options);

}  // namespace seek

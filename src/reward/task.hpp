// Built-in procedural tasks: problems generated from a seed with an exact verifier and difficulty knobs.
//
// Streams: train(i) is the i-th training problem of the seed, computed from (seed, i) alone, so a resumed
// run continues the stream from its step count. held_out(i) is the i-th problem of a fixed evaluation
// stream (eval_seed). A problem belongs to the held-out set when a hash of (task name, problem key) falls
// in the held-out buckets (held_out_fraction of them); the train stream skips such problems and the
// held-out stream keeps only them, so no held-out problem ever appears in training, whatever the seeds.
//
// Prompts (option "template"): "r1" (default) wraps the question in the R1-Zero conversation,
//   "A conversation between User and Assistant. ... The reasoning process and answer are enclosed within
//   <think> </think> and <answer> </answer> tags ... User: <question> Assistant:"
// "instruction" appends "Think step by step inside <think> </think> and put the final answer inside
// <answer> </answer>." to the question (for chat templates), "plain" is the question alone.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/rng.hpp"
#include "reward/answer_extract.hpp"
#include "reward/deadline.hpp"
#include "reward/options.hpp"
#include "reward/problem.hpp"

namespace seek::reward {

// What a task's generator produces before the prompt is wrapped.
struct TaskInstance {
  std::string key;       // canonical identity of the problem (for the held-out split)
  std::string question;  // the problem statement
  std::string answer;    // a reference answer
  nlohmann::json data;   // what the verifier needs
};

class Task : public std::enable_shared_from_this<Task> {
 public:
  virtual ~Task() = default;

  const std::string& name() const { return name_; }
  Problem train(uint64_t index) const;
  Problem held_out(uint64_t index) const;  // throws seek::Error when held_out_fraction is 0
  // The first n distinct problems (by key) of the held-out stream: the stream draws with replacement, and a
  // set of 200 held 130 distinct questions under the demo's options, so pass@k weighed some twice. Fewer
  // when the options allow fewer: the stream is given up on after 1000 + 10 × (found so far) draws without
  // a new problem, or after 20n + 1000 draws in all.
  std::vector<Problem> held_out_problems(int64_t n) const;
  bool in_held_out_set(const std::string& key) const;

  // The reward in [0,1] for a completion; throws DeadlineExceeded when the deadline passes. The completion
  // starts inside an opened <think> when the task's think_prefilled says so or `prompt_opens_think` (the
  // instruction template's chat prompt on an R1 or V3.1-thinking model opens one the task did not).
  // `stricter`: a reward's extraction options that only make the task's stricter (require_answer_tag,
  // reject_multiple_answers, allow_boxed false); the others are the task's.
  double verify(const Problem& problem, std::string_view completion, const Deadline& deadline = Deadline(),
                bool prompt_opens_think = false, const ExtractOptions* stricter = nullptr) const;

  // The effective options (defaults filled in), as accepted by make_task.
  const nlohmann::json& options() const { return options_; }

  std::string prompt_for(const std::string& question) const;

 protected:
  // Reads the options common to every task; `extra` are the task's own keys.
  Task(std::string name, const nlohmann::json& options, const std::vector<std::string>& extra);
  // For subclasses: the task's own options, read strictly.
  const OptionReader& reader() const { return reader_; }
  void record(const char* key, const nlohmann::json& value) { options_[key] = value; }

  virtual TaskInstance generate(Rng& rng) const = 0;
  // The reward for an extracted answer (non-empty), in [0,1].
  virtual double check(const Problem& problem, const std::string& answer, const Deadline& deadline) const = 0;
  // Extraction rules for this task's verifier.
  ExtractOptions extract_options() const;

 private:
  Problem make_problem(TaskInstance inst, const char* split, uint64_t index) const;
  // The index-th problem of the held-out stream (held_out true) or the train stream; throws seek::Error when
  // the options leave no problem on that side of the split.
  Problem draw(bool held_out, uint64_t index) const;

  std::string name_;
  OptionReader reader_;
  nlohmann::json options_;
  uint64_t seed_ = 0, eval_seed_ = 0;
  double held_out_fraction_ = 0;
  std::string template_;
  bool require_answer_tag_ = true;
  bool think_prefilled_ = false;
};

// Task names: countdown, arithmetic, sorting, gcd, letter_counting, word_reversal.
// Throws seek::Error for an unknown name (listing the known ones) or option (naming it and the valid ones).
std::shared_ptr<const Task> make_task(const std::string& name, const nlohmann::json& options = {});
const std::vector<std::string>& task_names();

// 64-bit FNV-1a followed by a splitmix finaliser: stable across platforms and releases (the held-out split
// depends on it, so it must never change).
uint64_t stable_hash(std::string_view s);

}  // namespace seek::reward

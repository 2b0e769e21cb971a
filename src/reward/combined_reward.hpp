// A weighted sum of reward functions chosen by name in a run config, reporting every component so the
// trainer can log each reward's mean (TRL's rewards/<name>/mean).
//
// JSON forms accepted by RewardSpec::from_json:
//   {"accuracy": 1.0, "format": 0.5}                                   weights only, default options
//   {"accuracy": 1.0, "cosine": {"weight": 0.5, "max_length": 512}}    an object: "weight" (default 1) +
//   options
//   [{"name": "accuracy", "weight": 1.0}, {"name": "code", ...}]       an array keeps the given order
// An object's components are in key order (alphabetical), an array's in array order.
#pragma once
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "reward/reward.hpp"

namespace seek::reward {

struct RewardTerm {
  std::string name;
  double weight = 1.0;
  nlohmann::json options = nlohmann::json::object();
};

struct RewardSpec {
  std::vector<RewardTerm> terms;
  // `where` names the source in errors ("run.json: rewards").
  static RewardSpec from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;  // the array form
};

struct RewardScore {
  double total = 0;                // sum of weight * component over the components that are not NaN
  std::vector<double> components;  // unweighted, in names() order; NaN where the reward does not apply
  std::vector<std::string> notes;  // in names() order: why a component is below 1, where its reward says
  bool applies = false;            // some reward with a non-zero weight applies (else the total is a bare 0)
};

class CombinedReward {
 public:
  // Builds every reward now, so unknown names and bad options fail at start-up.
  explicit CombinedReward(const RewardSpec& spec);

  const std::vector<std::string>& names() const { return names_; }
  const std::vector<double>& weights() const { return weights_; }

  // The term called `name` (the first one), or null.
  const RewardFunction* find(const std::string& name) const;
  // The options the term called `name` was built with, or null when there is no such term.
  const nlohmann::json* options_of(const std::string& name) const;

  // Each term's check_problems (reward.hpp): throws seek::Error naming a problem no completion could score
  // on.
  void check_problems(std::span<const Problem> problems) const;

  RewardScore score(const RewardInput& input) const;  // never throws
  // Scores many completions on `threads` threads (0: OpenMP's default); the results do not depend on the
  // thread count. on_scored (optional) is called on the calling thread after each completion it scores, with
  // the number all threads have scored so far: enough for a progress line, which need not be thread-safe.
  // A stop asked for meanwhile (StopOnSignal::stop_pending) ends it early: code runs in progress are killed
  // and the completions not yet scored are left without components, so the caller must drop the batch.
  std::vector<RewardScore> score_batch(std::span<const RewardInput> inputs, int threads = 0,
                                       const std::function<void(int64_t scored)>& on_scored = {}) const;

 private:
  std::vector<std::unique_ptr<RewardFunction>> fns_;
  std::vector<std::string> names_;
  std::vector<double> weights_;
  std::vector<nlohmann::json> options_;
};

}  // namespace seek::reward

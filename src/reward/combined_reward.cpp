// Weighted reward combinations (see combined_reward.hpp).
#include "reward/combined_reward.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <exception>

#include "core/error.hpp"
#include "core/stop_signal.hpp"
#include "core/untrusted_json.hpp"

namespace seek::reward {

namespace {

constexpr double kMaxRewardWeight = 1e6;

RewardTerm term_from(const std::string& name, const nlohmann::json& v, const std::string& where) {
  RewardTerm t;
  t.name = name;
  if (v.is_number()) {
    t.weight = v.get<double>();
  } else if (v.is_object()) {
    t.options = v;
    if (v.contains("weight")) {
      if (!v["weight"].is_number()) fail("{}: reward '{}': \"weight\" must be a number", where, name);
      t.weight = v["weight"].get<double>();
      t.options.erase("weight");
    }
  } else {
    fail("{}: reward '{}' must be a weight (number) or an object of options, got {}", where, name,
         describe_json(v));
  }
  // Bounded as well as finite: two weights of 1e308 summed to inf, which stopped the run after its first
  // rollouts (rewards are at most a few units, so a million times one is already far beyond any use).
  if (!std::isfinite(t.weight) || std::fabs(t.weight) > kMaxRewardWeight)
    fail("{}: reward '{}': weight must be finite and at most {:g} in size, got {}", where, name,
         kMaxRewardWeight, t.weight);
  const auto& known = reward_names();
  if (std::find(known.begin(), known.end(), name) == known.end()) {
    std::string list;
    for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
    fail("{}: unknown reward '{}' (known: {})", where, name, list);
  }
  return t;
}

}  // namespace

RewardSpec RewardSpec::from_json(const nlohmann::json& j, const std::string& where) {
  RewardSpec spec;
  // Option objects are copied into the terms, which recurses once per nesting level.
  check_json_depth(j, where);
  if (j.is_object()) {
    for (const auto& [name, v] : j.items()) spec.terms.push_back(term_from(name, v, where));
  } else if (j.is_array()) {
    for (const auto& item : j) {
      if (!item.is_object() || !item.contains("name") || !item["name"].is_string())
        fail("{}: each entry of the reward list needs a \"name\", got {}", where, describe_json(item));
      nlohmann::json rest = item;
      std::string name = rest["name"];
      rest.erase("name");
      spec.terms.push_back(term_from(name, rest, where));
    }
  } else {
    fail("{}: rewards must be an object {{\"accuracy\": 1.0, ...}} or a list, got {}", where,
         describe_json(j));
  }
  if (spec.terms.empty()) fail("{}: no reward functions given", where);
  // A second entry of one reward would be scored and weighted twice under one name, and logs and
  // CombinedReward::find would see only one of them: a config that says it twice is a mistake.
  for (size_t i = 0; i < spec.terms.size(); ++i) {
    for (size_t k = 0; k < i; ++k) {
      if (spec.terms[k].name == spec.terms[i].name)
        fail("{}: reward '{}' is given twice (entries {} and {}); give each reward once, with its weight",
             where, spec.terms[i].name, k + 1, i + 1);
    }
  }
  // A weight of 0 logs a reward without training on it; with every weight 0 each total is 0, so GRPO's
  // advantages are all 0 and a run would learn nothing.
  if (std::all_of(spec.terms.begin(), spec.terms.end(), [](const RewardTerm& t) { return t.weight == 0; }))
    fail(
        "{}: every reward weight is 0, so every completion would score 0; give at least one a non-zero "
        "weight",
        where);
  return spec;
}

nlohmann::json RewardSpec::to_json() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : terms) {
    nlohmann::json e = t.options;
    e["name"] = t.name;
    e["weight"] = t.weight;
    out.push_back(e);
  }
  return out;
}

CombinedReward::CombinedReward(const RewardSpec& spec) {
  for (const auto& t : spec.terms) {
    fns_.push_back(make_reward(t.name, t.options));
    names_.push_back(t.name);
    weights_.push_back(t.weight);
    options_.push_back(t.options);
  }
}

const nlohmann::json* CombinedReward::options_of(const std::string& name) const {
  const auto it = std::find(names_.begin(), names_.end(), name);
  return it == names_.end() ? nullptr : &options_[size_t(it - names_.begin())];
}

const RewardFunction* CombinedReward::find(const std::string& name) const {
  const auto it = std::find(names_.begin(), names_.end(), name);
  return it == names_.end() ? nullptr : fns_[size_t(it - names_.begin())].get();
}

void CombinedReward::check_problems(std::span<const Problem> problems) const {
  for (const auto& f : fns_) f->check_problems(problems);
}

RewardScore CombinedReward::score(const RewardInput& in) const {
  RewardScore s;
  s.components.resize(fns_.size());
  s.notes.resize(fns_.size());
  for (size_t k = 0; k < fns_.size(); ++k) {
    double v = fns_[k]->score_noted(in, s.notes[k]);
    s.components[k] = v;
    if (std::isnan(v)) continue;
    s.total += weights_[k] * v;
    s.applies |= weights_[k] != 0;
  }
  return s;
}

std::vector<RewardScore> CombinedReward::score_batch(std::span<const RewardInput> inputs, int threads,
                                                     const std::function<void(int64_t)>& on_scored) const {
  std::vector<RewardScore> out(inputs.size());
  int nt = threads > 0 ? threads : omp_get_max_threads();
  // score() turns a reward's failure into its score; what still throws (an allocation) is rethrown once the
  // region ends: a slot left empty had no components, which callers index by reward. Dynamic scheduling:
  // code rewards take far longer than the others.
  std::exception_ptr failed;
  std::atomic<int64_t> scored{0};
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (StopOnSignal::stop_pending()) continue;  // the caller drops the batch
    try {
      out[i] = score(inputs[i]);
      const int64_t n = scored.fetch_add(1) + 1;
      if (on_scored && omp_get_thread_num() == 0) on_scored(n);
    } catch (...) {
#pragma omp critical(seek_score_batch_failure)
      if (!failed) failed = std::current_exception();
    }
  }
  if (failed) std::rethrow_exception(failed);
  if (on_scored) on_scored(scored.load());  // the last completion may have been another thread's
  return out;
}

}  // namespace seek::reward

// The accuracy and cosine-scaled rewards: both rest on correctness() (see correctness.hpp).
#include <cmath>
#include <limits>
#include <numbers>

#include "reward/correctness.hpp"
#include "reward/rewards_internal.hpp"

namespace seek::reward::detail {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

CorrectnessOptions read_correctness(const OptionReader& o) {
  CorrectnessOptions c;
  c.extract.require_answer_tag = o.boolean("require_answer_tag", false);
  if (o.has("reject_multiple_answers"))
    c.extract.reject_multiple_answers = o.boolean("reject_multiple_answers", false);
  if (o.has("allow_boxed")) c.extract.allow_boxed = o.boolean("allow_boxed", true);
  if (o.has("allow_gsm8k")) c.extract.allow_gsm8k = o.boolean("allow_gsm8k", true);
  if (o.has("allow_last_number")) c.extract.allow_last_number = o.boolean("allow_last_number", true);
  if (o.has("rel_tolerance")) c.compare.rel_tolerance = o.number("rel_tolerance", 1e-6, 0, 1);
  if (o.has("abs_tolerance")) c.compare.abs_tolerance = o.number("abs_tolerance", 0, 0, 1e300);
  return c;
}

// The options for one completion: think_prefilled as given, or as its prompt says.
CorrectnessOptions for_input(CorrectnessOptions c, const ThinkPrefilled& prefilled, const RewardInput& in) {
  c.extract.think_prefilled = prefilled(in);
  return c;
}

class AccuracyReward : public RewardFunction {
 public:
  explicit AccuracyReward(const OptionReader& o)
      : opts_(read_correctness(o)), prefilled_(o), limit_(o.number("time_limit", 1.0, 0, 3600)) {}
  const std::string& name() const override { return name_; }
  double score(const RewardInput& in) const override {
    if (!in.problem || in.problem->is_code()) return kNaN;
    return guarded(limit_, 0.0, [&](const Deadline& d) {
      auto c = correctness(*in.problem, in.completion, for_input(opts_, prefilled_, in), d);
      return c ? *c : kNaN;
    });
  }

 private:
  std::string name_ = "accuracy";
  CorrectnessOptions opts_;
  ThinkPrefilled prefilled_;
  double limit_;
};

// open-r1's cosine reward: p = min(1, length / max_length); correct answers get
// min_c + (max_c - min_c)(1 + cos(pi p))/2 (short and right is best), wrong answers the same curve with
// (min, max) = (max_value_wrong, min_value_wrong) (short and wrong is worst).
class CosineReward : public RewardFunction {
 public:
  explicit CosineReward(const OptionReader& o)
      : opts_(read_correctness(o)),
        prefilled_(o),
        max_len_(double(o.integer("max_length", 1000, 1, int64_t(1) << 40))),
        min_c_(o.number("min_value_correct", 0.5, -1e6, 1e6)),
        max_c_(o.number("max_value_correct", 1.0, -1e6, 1e6)),
        min_w_(o.number("min_value_wrong", -1.0, -1e6, 1e6)),
        max_w_(o.number("max_value_wrong", -0.5, -1e6, 1e6)),
        limit_(o.number("time_limit", 1.0, 0, 3600)) {}
  const std::string& name() const override { return name_; }
  double score(const RewardInput& in) const override {
    if (!in.problem || in.problem->is_code()) return kNaN;
    double len = in.completion_tokens >= 0 ? double(in.completion_tokens) : double(in.completion.size());
    double p = std::min(1.0, len / max_len_);
    const double cosine = std::cos(p * std::numbers::pi);
    const auto value = [&](bool right) {
      double lo = right ? min_c_ : max_w_, hi = right ? max_c_ : min_w_;
      return lo + 0.5 * (hi - lo) * (1.0 + cosine);
    };
    // An answer that cannot be judged in time scores as a wrong one: 0 was above every wrong answer's value,
    // a bonus for answers built to exhaust the checker.
    return guarded(limit_, value(false), [&](const Deadline& d) {
      auto c = correctness(*in.problem, in.completion, for_input(opts_, prefilled_, in), d);
      return c ? value(*c >= 1.0) : kNaN;
    });
  }

 private:
  std::string name_ = "cosine";
  CorrectnessOptions opts_;
  ThinkPrefilled prefilled_;
  double max_len_, min_c_, max_c_, min_w_, max_w_, limit_;
};

}  // namespace

std::unique_ptr<RewardFunction> make_accuracy(const OptionReader& o) {
  return std::make_unique<AccuracyReward>(o);
}
std::unique_ptr<RewardFunction> make_cosine(const OptionReader& o) {
  return std::make_unique<CosineReward>(o);
}

}  // namespace seek::reward::detail

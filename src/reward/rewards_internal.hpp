// Constructors of the individual reward functions, for reward_registry.cpp. Internal to src/reward.
#pragma once
#include <memory>
#include <optional>

#include "reward/options.hpp"
#include "reward/reward.hpp"

namespace seek::reward::detail {

std::unique_ptr<RewardFunction> make_accuracy(const OptionReader& o);
std::unique_ptr<RewardFunction> make_format(const OptionReader& o);
std::unique_ptr<RewardFunction> make_tag_count(const OptionReader& o);
std::unique_ptr<RewardFunction> make_code(const OptionReader& o);
std::unique_ptr<RewardFunction> make_soft_overlong(const OptionReader& o);
std::unique_ptr<RewardFunction> make_cosine(const OptionReader& o);
std::unique_ptr<RewardFunction> make_repetition(const OptionReader& o);

// The "think_prefilled" option of the format-aware rewards: given, it holds for every completion; not given,
// each completion's prompt says (RewardInput::prompt_opens_think).
class ThinkPrefilled {
 public:
  explicit ThinkPrefilled(const OptionReader& o)
      : given_(o.has("think_prefilled") ? std::optional<bool>(o.boolean("think_prefilled", false))
                                        : std::nullopt) {}
  bool operator()(const RewardInput& in) const { return given_.value_or(in.prompt_opens_think); }

 private:
  std::optional<bool> given_;
};

// Runs f under a deadline of `seconds`; DeadlineExceeded and any other exception give `on_error`.
template <typename F>
double guarded(double seconds, double on_error, F&& f) noexcept;

}  // namespace seek::reward::detail

#include "reward/deadline.hpp"

namespace seek::reward::detail {

template <typename F>
double guarded(double seconds, double on_error, F&& f) noexcept {
  try {
    Deadline d(seconds);
    return f(d);
  } catch (...) {
    return on_error;
  }
}

}  // namespace seek::reward::detail

// Length-shaping rewards: DAPO's soft overlong punishment and the n-gram repetition penalty.
#include <algorithm>
#include <cctype>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/error.hpp"
#include "reward/rewards_internal.hpp"

namespace seek::reward::detail {

namespace {

// DAPO eq. 13 with L = completion length (tokens when the trainer gives them, else bytes):
//   0 for L <= max - cache;  ((max - cache) - L) / cache  for max - cache < L <= max;  -1 beyond max.
class SoftOverlongReward : public RewardFunction {
 public:
  explicit SoftOverlongReward(const OptionReader& o)
      : max_(double(o.integer("max_length", 16384, 1, int64_t(1) << 40))),
        cache_(double(o.integer("cache_length", 4096, 1, int64_t(1) << 40))) {
    if (cache_ > max_) fail("{}: cache_length ({}) exceeds max_length ({})", o.where(), cache_, max_);
  }
  const std::string& name() const override { return name_; }
  double score(const RewardInput& in) const override {
    double len = in.completion_tokens >= 0 ? double(in.completion_tokens) : double(in.completion.size());
    double free_len = max_ - cache_;
    if (len <= free_len) return 0.0;
    if (len <= max_) return (free_len - len) / cache_;
    return -1.0;
  }

 private:
  std::string name_ = "soft_overlong";
  double max_, cache_;
};

// arXiv 2502.03373 App. C.2, as open-r1: the lower-cased whitespace-separated words form n-grams;
// reward = (1 - distinct/total) * max_penalty; 0 when there are fewer than n words.
class RepetitionReward : public RewardFunction {
 public:
  explicit RepetitionReward(const OptionReader& o)
      : n_(size_t(o.integer("ngram_size", 3, 1, 64))),
        max_penalty_(o.number("max_penalty", -1.0, -1e6, 0)),
        limit_(o.number("time_limit", 1.0, 0, 3600)) {}
  const std::string& name() const override { return name_; }
  double score(const RewardInput& in) const override {
    return guarded(limit_, 0.0, [&](const Deadline& d) {
      // Words as hashes: n-grams are then hashed from n word hashes, without building strings.
      std::vector<uint64_t> words;
      std::string_view s = in.completion;
      size_t i = 0;
      while (i < s.size()) {
        while (i < s.size() && std::isspace((unsigned char)s[i])) ++i;
        if (i >= s.size()) break;
        uint64_t h = 1469598103934665603ull;
        while (i < s.size() && !std::isspace((unsigned char)s[i])) {
          h = (h ^ uint64_t((unsigned char)std::tolower((unsigned char)s[i]))) * 1099511628211ull;
          ++i;
        }
        words.push_back(h);
        if ((words.size() & 4095) == 0) check(d);
      }
      if (words.size() < n_) return 0.0;
      size_t total = words.size() - n_ + 1;
      std::unordered_set<uint64_t> distinct;
      distinct.reserve(total);
      for (size_t k = 0; k < total; ++k) {
        uint64_t h = 0x9e3779b97f4a7c15ull;
        for (size_t j = 0; j < n_; ++j) h = (h ^ words[k + j]) * 0x100000001b3ull + (h >> 29);
        distinct.insert(h);
        if ((k & 4095) == 0) check(d);
      }
      // No repeated n-gram scores 0, not -0 (which completions.jsonl wrote as -0.0).
      const double repeated = 1.0 - double(distinct.size()) / double(total);
      return repeated == 0 ? 0.0 : repeated * max_penalty_;
    });
  }

 private:
  std::string name_ = "repetition";
  size_t n_;
  double max_penalty_, limit_;
};

}  // namespace

std::unique_ptr<RewardFunction> make_soft_overlong(const OptionReader& o) {
  return std::make_unique<SoftOverlongReward>(o);
}
std::unique_ptr<RewardFunction> make_repetition(const OptionReader& o) {
  return std::make_unique<RepetitionReward>(o);
}

}  // namespace seek::reward::detail

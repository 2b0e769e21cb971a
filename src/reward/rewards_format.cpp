// The format rewards: the strict R1 template as a regular expression, and open-r1-style tag counting.
//
// format: 1.0 iff the whole completion matches
//   ^\s*<think>(T)</think>\s*<answer>(T)</answer>\s*\z     (DOTALL)
// where T is any text containing none of <think>, </think>, <answer>, </answer>, and the answer part is not
// blank. Whitespace (spaces, newlines) is allowed before <think>, between </think> and <answer>, and after
// </answer>; nothing else is. With think_prefilled the prompt ended in "<think>", so it is prepended first.
// PCRE2 runs with match and depth limits (a limit hit scores 0), and the possessive repeats keep it linear.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <memory>

#include "core/error.hpp"
#include "core/unicode_space.hpp"

#include "reward/rewards_internal.hpp"

namespace seek::reward::detail {

namespace {

constexpr const char* kR1Pattern =
    R"(^\s*+<think>((?:(?!</?think>|</?answer>).)*+)</think>\s*+<answer>((?:(?!</?think>|</?answer>).)*+)</answer>\s*+\z)";

// A compiled pattern shared by all threads (pcre2_code is read-only during matching); each match gets its
// own match data and context.
class StrictRegex {
 public:
  explicit StrictRegex(const char* pattern) {
    int err = 0;
    PCRE2_SIZE off = 0;
    code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern), PCRE2_ZERO_TERMINATED, PCRE2_DOTALL, &err,
                          &off, nullptr);
    if (!code_) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      fail("format reward: bad pattern at {}: {}", off, reinterpret_cast<const char*>(msg));
    }
  }
  ~StrictRegex() { pcre2_code_free(code_); }
  StrictRegex(const StrictRegex&) = delete;
  StrictRegex& operator=(const StrictRegex&) = delete;

  // Match results: whether it matched and the captured groups' [begin, end). Limits make pathological
  // inputs fail fast instead of running long.
  bool match(std::string_view s, std::vector<std::pair<size_t, size_t>>* groups) const {
    std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
        pcre2_match_data_create_from_pattern(code_, nullptr), pcre2_match_data_free);
    std::unique_ptr<pcre2_match_context, decltype(&pcre2_match_context_free)> mc(
        pcre2_match_context_create(nullptr), pcre2_match_context_free);
    if (!md || !mc) return false;
    pcre2_set_match_limit(mc.get(), 50'000'000);
    pcre2_set_depth_limit(mc.get(), 10'000);
    int rc = pcre2_match(code_, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), 0, 0, md.get(), mc.get());
    if (rc <= 0) return false;
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
    groups->clear();
    for (int i = 1; i < rc; ++i) groups->push_back({size_t(ov[2 * i]), size_t(ov[2 * i + 1])});
    return true;
  }

 private:
  pcre2_code* code_ = nullptr;
};

const StrictRegex& r1_regex() {
  static const StrictRegex re(kR1Pattern);
  return re;
}

class FormatReward : public RewardFunction {
 public:
  explicit FormatReward(const OptionReader& o) : prefilled_(o), limit_(o.number("time_limit", 1.0, 0, 3600)) {
    r1_regex();  // compile now, so a bad pattern shows at start-up
  }
  const std::string& name() const override { return name_; }
  double score(const RewardInput& in) const override {
    return guarded(limit_, 0.0, [&](const Deadline&) {
      std::string text = prefilled_(in) ? "<think>" + std::string(in.completion) : std::string(in.completion);
      std::vector<std::pair<size_t, size_t>> g;
      if (!r1_regex().match(text, &g) || g.size() < 2) return 0.0;
      return shows_nothing(std::string_view(text).substr(g[1].first, g[1].second - g[1].first)) ? 0.0 : 1.0;
    });
  }

 private:
  std::string name_ = "format";
  ThinkPrefilled prefilled_;
  double limit_;
};

size_t count(std::string_view s, std::string_view tag, size_t* first) {
  size_t n = 0, pos = 0;
  *first = std::string_view::npos;
  while ((pos = s.find(tag, pos)) != std::string_view::npos) {
    if (n == 0) *first = pos;
    ++n;
    pos += tag.size();
  }
  return n;
}

// 0.25 for each tag that occurs exactly once and, when the tag before it also occurs exactly once, after
// that one. newlines: count open-r1's exact strings ("<think>\n", "\n</think>\n", "\n<answer>\n",
// "\n</answer>") instead of the bare tags.
class TagCountReward : public RewardFunction {
 public:
  explicit TagCountReward(const OptionReader& o)
      : prefilled_(o),
        newlines_(o.boolean("newlines", false)),
        limit_(o.number("time_limit", 1.0, 0, 3600)) {}
  const std::string& name() const override { return name_; }
  double score(const RewardInput& in) const override {
    return guarded(limit_, 0.0, [&](const Deadline&) {
      std::string text = prefilled_(in) ? "<think>" + std::string(in.completion) : std::string(in.completion);
      static constexpr std::string_view bare[4] = {"<think>", "</think>", "<answer>", "</answer>"};
      static constexpr std::string_view nl[4] = {"<think>\n", "\n</think>\n", "\n<answer>\n", "\n</answer>"};
      double r = 0;
      size_t prev_pos = std::string_view::npos;
      bool prev_once = false;
      for (int k = 0; k < 4; ++k) {
        size_t pos;
        bool once = count(text, newlines_ ? nl[k] : bare[k], &pos) == 1;
        if (once && (!prev_once || pos > prev_pos)) r += 0.25;
        prev_once = once;
        prev_pos = pos;
      }
      return r;
    });
  }

 private:
  std::string name_ = "tag_count";
  ThinkPrefilled prefilled_;
  bool newlines_;
  double limit_;
};

}  // namespace

std::unique_ptr<RewardFunction> make_format(const OptionReader& o) {
  return std::make_unique<FormatReward>(o);
}
std::unique_ptr<RewardFunction> make_tag_count(const OptionReader& o) {
  return std::make_unique<TagCountReward>(o);
}

}  // namespace seek::reward::detail

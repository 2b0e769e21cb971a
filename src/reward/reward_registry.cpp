// make_reward: reward names to constructors, with the option keys each one accepts.
#include <functional>
#include <map>

#include "core/error.hpp"
#include "reward/rewards_internal.hpp"

namespace seek::reward {

namespace {

struct Entry {
  std::function<std::unique_ptr<RewardFunction>(const OptionReader&)> make;
  std::vector<std::string> keys;
};

const std::map<std::string, Entry>& registry() {
  static const std::map<std::string, Entry> r = {
      {"accuracy",
       {detail::make_accuracy,
        {"require_answer_tag", "reject_multiple_answers", "think_prefilled", "allow_boxed", "allow_gsm8k",
         "allow_last_number", "rel_tolerance", "abs_tolerance", "time_limit"}}},
      {"format", {detail::make_format, {"think_prefilled", "time_limit"}}},
      {"tag_count", {detail::make_tag_count, {"think_prefilled", "newlines", "time_limit"}}},
      {"code",
       {detail::make_code,
        {"cpu_seconds", "wall_seconds", "memory_mb", "max_processes", "max_output_bytes", "max_file_bytes",
         "max_open_files", "total_wall_seconds", "python", "require_isolation", "think_prefilled"}}},
      {"soft_overlong", {detail::make_soft_overlong, {"max_length", "cache_length"}}},
      {"cosine",
       {detail::make_cosine,
        {"max_length", "min_value_correct", "max_value_correct", "min_value_wrong", "max_value_wrong",
         "require_answer_tag", "think_prefilled", "time_limit"}}},
      {"repetition", {detail::make_repetition, {"ngram_size", "max_penalty", "time_limit"}}},
  };
  return r;
}

}  // namespace

const std::vector<std::string>& reward_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& [k, _] : registry()) v.push_back(k);
    return v;
  }();
  return names;
}

std::unique_ptr<RewardFunction> make_reward(const std::string& name, const nlohmann::json& options) {
  auto it = registry().find(name);
  if (it == registry().end()) {
    std::string known;
    for (const auto& n : reward_names()) known += (known.empty() ? "" : ", ") + n;
    fail("unknown reward '{}' (known: {})", name, known);
  }
  OptionReader reader(options, "reward '" + name + "'", it->second.keys);
  return it->second.make(reader);
}

}  // namespace seek::reward

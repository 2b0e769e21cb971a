// make_task: task names to constructors.
#include <functional>
#include <map>

#include "core/error.hpp"
#include "reward/task.hpp"
#include "reward/tasks_internal.hpp"

namespace seek::reward {

namespace {

const std::map<std::string, std::function<std::shared_ptr<Task>(const nlohmann::json&)>>& registry() {
  static const std::map<std::string, std::function<std::shared_ptr<Task>(const nlohmann::json&)>> r = {
      {"countdown", detail::make_countdown},
      {"arithmetic", detail::make_arithmetic},
      {"sorting", detail::make_sorting},
      {"gcd", detail::make_gcd},
      {"letter_counting", detail::make_letter_counting},
      {"word_reversal", detail::make_word_reversal}};
  return r;
}

}  // namespace

const std::vector<std::string>& task_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& [k, _] : registry()) v.push_back(k);
    return v;
  }();
  return names;
}

std::shared_ptr<const Task> make_task(const std::string& name, const nlohmann::json& options) {
  auto it = registry().find(name);
  if (it == registry().end()) {
    std::string known;
    for (const auto& n : task_names()) known += (known.empty() ? "" : ", ") + n;
    fail("unknown task '{}' (known: {})", name, known);
  }
  return it->second(options);
}

}  // namespace seek::reward

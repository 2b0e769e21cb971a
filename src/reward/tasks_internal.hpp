// Constructors of the built-in tasks, for task_registry.cpp. Internal to src/reward.
#pragma once
#include <nlohmann/json.hpp>

#include <memory>

namespace seek::reward {
class Task;
}

namespace seek::reward::detail {

std::shared_ptr<Task> make_countdown(const nlohmann::json& options);
std::shared_ptr<Task> make_arithmetic(const nlohmann::json& options);
std::shared_ptr<Task> make_sorting(const nlohmann::json& options);
std::shared_ptr<Task> make_gcd(const nlohmann::json& options);
std::shared_ptr<Task> make_letter_counting(const nlohmann::json& options);
std::shared_ptr<Task> make_word_reversal(const nlohmann::json& options);

}  // namespace seek::reward::detail

// One RL prompt with what is needed to score completions for it: the reference answer (maths), test cases
// (code), or the built-in task that generated it (exact verifier).
#pragma once
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace seek::reward {

class Task;

// A stdin/stdout test case.
struct CodeTest {
  std::string input;
  std::string output;
};

struct Problem {
  std::string id;               // "countdown/train/17", "data.jsonl:12", ...
  std::string prompt;           // the prompt text (empty when `messages` is used)
  nlohmann::json messages;      // chat messages [{"role","content"}...], or null
  std::string answer;           // the reference answer (already reduced: GSM8K "#### 72" -> "72")
  std::vector<CodeTest> tests;  // code problems: stdin/stdout pairs ...
  std::string asserts;          // ... or Python assert statements
  nlohmann::json data;          // task payload (numbers, target, ...) or the dataset record's other fields
  std::shared_ptr<const Task> task;  // set for built-in tasks: their verifier scores the completion

  bool is_code() const { return !tests.empty() || !asserts.empty(); }
  // How logs name what the model was asked: {"prompt": text}, or {"messages": [...]} for a chat problem
  // (whose prompt text is empty).
  std::pair<const char*, nlohmann::json> logged_prompt() const {
    if (!messages.is_null()) return {"messages", messages};
    return {"prompt", prompt};
  }
};

}  // namespace seek::reward

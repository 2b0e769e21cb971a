// Loading RL problems from JSON Lines. One object per line (blank lines are skipped):
//   maths:  {"prompt": "...", "answer": "..."}   or   {"messages": [{"role": "user", "content": "..."}],
//   "answer": ...}
//           "answer" may be a string or a number; GSM8K answers ("... #### 72") keep what follows the last
//           "####", a \boxed{...} solution keeps the box's contents.
//   code:   {"prompt": "...", "tests": [{"input": "...", "output": "..."}, ...]}
//           or {"prompt": "...", "tests": "assert f(1) == 2\nassert f(2) == 3"}
// Optional "id" (string or number). Other keys are kept in Problem::data. Every error names file:line.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "reward/problem.hpp"

namespace seek::reward {

// The text of a problems file (read_file: errors say why it cannot be read; a folder or '-' is refused).
std::string read_problems_file(const std::string& path);
// The problems of `text`, read from `path` (which names it in errors and default ids).
std::vector<Problem> parse_problems_jsonl(std::string_view text, const std::string& path);
// Both.
std::vector<Problem> load_problems_jsonl(const std::string& path);

// One record; `where` ("path:line") prefixes errors. A record without "id" is named `default_id`, or
// `where` when that is empty.
Problem problem_from_json(const nlohmann::json& record, const std::string& where,
                          const std::string& default_id = "");

}  // namespace seek::reward

// Helpers shared by the reward tests: a completion in the R1 template, a maths problem, one score.
#pragma once
#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "reward/reward.hpp"

namespace seek::test {

// "<think>ok</think><answer>ANSWER</answer>"
inline std::string wrap(const std::string& answer) {
  return fmt::format("<think>ok</think><answer>{}</answer>", answer);
}

// A problem with a prompt and a reference answer only (no task data).
inline reward::Problem maths(const std::string& answer) {
  reward::Problem p;
  p.prompt = std::string(1, 'q');  // not `= "q"`: GCC 12 at -O3 warns of a memcpy overlap (-Wrestrict) there
  p.answer = answer;
  return p;
}

// tokens: the completion's token count, or -1 for unknown.
inline double score(const reward::RewardFunction& f, const reward::Problem& p, std::string_view completion,
                    int64_t tokens = -1) {
  return f.score({&p, completion, tokens});
}

}  // namespace seek::test

// Whether a completion answers its problem correctly: the task's verifier for built-in tasks, otherwise
// answer extraction plus answers_equal against the reference. Shared by the accuracy and cosine rewards.
#pragma once
#include <optional>
#include <string_view>

#include "reward/answer_compare.hpp"
#include "reward/answer_extract.hpp"
#include "reward/problem.hpp"

namespace seek::reward {

struct CorrectnessOptions {
  ExtractOptions extract;
  CompareOptions compare;
};

// In [0,1] (tasks may give partial credit); nullopt when the problem has neither a task nor an answer
// (e.g. a code problem). Throws DeadlineExceeded.
std::optional<double> correctness(const Problem& problem, std::string_view completion,
                                  const CorrectnessOptions& options, const Deadline& deadline);

}  // namespace seek::reward

// Correctness of a completion against its problem (see correctness.hpp).
#include "reward/correctness.hpp"

#include "reward/task.hpp"

namespace seek::reward {

std::optional<double> correctness(const Problem& p, std::string_view completion, const CorrectnessOptions& o,
                                  const Deadline& d) {
  if (p.task) return p.task->verify(p, completion, d);
  if (p.answer.empty()) return std::nullopt;
  ExtractedAnswer a = extract_answer(completion, o.extract, d);
  if (!a.found()) return 0.0;
  return answers_equal(a.text, p.answer, o.compare, d) ? 1.0 : 0.0;
}

}  // namespace seek::reward

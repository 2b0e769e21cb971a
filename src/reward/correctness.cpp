// Correctness of a completion against its problem (see correctness.hpp).
#include "reward/correctness.hpp"

#include "reward/task.hpp"

namespace seek::reward {

std::optional<double> correctness(const Problem& p, std::string_view completion, const CorrectnessOptions& o,
                                  const Deadline& d) {
  // The prompt's opened <think> (o.extract.think_prefilled, as the reward reads each prompt) counts for a
  // task too: accuracy and format judged an instruction-template prompt on an R1 model differently.
  // The reward's stricter extraction options apply too (reject_multiple_answers was ignored on tasks, so two
  // <answer> blocks hedged there and scored 1); the looser ones (the last number, GSM8K lines) and the
  // tolerances do not: a task's answer is stated and checked exactly.
  if (p.task) return p.task->verify(p, completion, d, o.extract.think_prefilled, &o.extract);
  if (p.answer.empty()) return std::nullopt;
  ExtractedAnswer a = extract_answer(completion, o.extract, d);
  if (!a.found()) return 0.0;
  return answers_equal(a.text, p.answer, o.compare, d) ? 1.0 : 0.0;
}

}  // namespace seek::reward

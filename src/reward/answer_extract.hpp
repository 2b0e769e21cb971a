// Finding the final answer in a completion. Precedence (the first rule that applies decides; a rule that
// applies but finds something malformed yields no answer rather than falling through to a weaker rule):
//   0. Thinking is never the answer: only the text after the last "</think>" is searched, up to a "<think>"
//      opened again there. With "<think>" but no "</think>" (or a prefilled think block that never closes)
//      only the text before "<think>" is searched, i.e. usually nothing.
//   1. <answer>...</answer>: the LAST complete block counts (or, with reject_multiple_answers, two or more
//      blocks give no answer). Inside it, a \boxed{...} wins if present (the last one; unbalanced -> none),
//      otherwise the whole block, trimmed.
//   2. With require_answer_tag, nothing else counts.
//   3. \boxed{...} / \fbox{...}: the last one, with nested braces; if the last one is unbalanced -> none.
//   4. GSM8K "#### <number>": the last one (a "####" followed by words is a heading and skipped).
//   5. The last number in the text (if allow_last_number), unless it is part of a formula ("\frac{1}{2}",
//      "x^2", "3/4"): then none.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "reward/deadline.hpp"

namespace seek::reward {

enum class AnswerSource { None, AnswerTag, Boxed, Gsm8k, LastNumber };
const char* answer_source_name(AnswerSource s);

struct ExtractOptions {
  bool require_answer_tag = false;
  bool reject_multiple_answers = false;
  bool think_prefilled = false;  // the prompt ends with "<think>": the completion starts inside it
  bool allow_boxed = true;
  bool allow_gsm8k = true;
  bool allow_last_number = true;
};

struct ExtractedAnswer {
  std::string text;
  AnswerSource source = AnswerSource::None;
  bool found() const { return source != AnswerSource::None; }
};

ExtractedAnswer extract_answer(std::string_view completion, const ExtractOptions& options,
                               const Deadline& deadline = Deadline());

// The part of a completion after its reasoning (rule 0 above).
std::string_view visible_part(std::string_view completion, bool think_prefilled);

// Contents of the last \boxed{...} (or \boxed x, \fbox{...}); nullopt when there is none or the last one is
// unbalanced. *present: whether any \boxed/\fbox occurs at all.
std::optional<std::string> last_boxed(std::string_view text, bool* present = nullptr);

// Contents of every complete <answer>...</answer> block, in order.
size_t count_answer_blocks(std::string_view text);

// The last number of the text ("-1,234.5" -> "-1,234.5"), or "" (also when it is part of a formula).
std::string last_number(std::string_view text);

// The trimmed line after the last "####" that starts like an answer (rule 4), or nullopt.
std::optional<std::string> gsm8k_answer(std::string_view text, const Deadline& deadline);

// A reference answer as datasets store it, by the rules completions are read by but the last number: an
// <answer> block's contents, a \boxed{} solution's last box, GSM8K "... #### 72" -> "72", otherwise the
// trimmed text.
std::string reference_answer(std::string_view raw);

std::string trim_copy(std::string_view s);

}  // namespace seek::reward

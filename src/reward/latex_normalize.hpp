// Turns a final answer as models write it (LaTeX or plain text) into the ASCII form math_eval reads:
//   \frac{a}{b}, \dfrac, \tfrac, \frac12  -> ((a)/(b))      \sqrt{x}, \sqrt2 -> sqrt(x)   \sqrt[n]{x} ->
//   (x)^(1/(n)) \left( \right) \! \, \; $ \displaystyle  -> removed       \cdot \times -> *   \div -> /   \pi
//   -> pi
//   ^{...} -> ^(...), other braces -> parentheses             \text{..}, \mathrm{..}, \mbox{..} -> contents
//   1,000 and 1{,}000 -> 1000 (only groups of exactly three digits)    \%, %, ^\circ, degree sign -> removed
//   "x = 5", "a = b = 5" -> the part after the last '='      trailing unit words ("5 cm", "12 dollars") ->
//   removed
// The result is meant for evaluate() first and for string comparison when it is not a number.
#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "reward/deadline.hpp"

namespace seek::reward {

// U+2212, the minus sign of typeset text: read as '-' wherever an answer is read (it read as no sign at all,
// so "−5" did not answer -5 and "answer −5" scored as 5). So are the dashes text uses as one (the en dash,
// figure dash, hyphens U+2010/U+2011, small and fullwidth hyphen-minus) where they sign a number: right
// before a digit (or a '.' and a digit) and not right after one, which is a range ("3–5"). "The answer is –5"
// read as 5.
inline constexpr std::string_view kUnicodeMinus = "\u2212";
bool has_unicode_minus(std::string_view text);  // whether with_ascii_minus would change the text
std::string with_ascii_minus(std::string_view text);

// "" for an answer too long to compare (over 8,000 bytes).
std::string latex_to_expr(std::string_view answer, const Deadline& deadline = Deadline());

// For comparing answers that are not numbers, given latex_to_expr's output (of any length: rewriting may
// lengthen an answer past latex_to_expr's limit): the rewrite once more, then all whitespace removed,
// lower-cased, a trailing '.' dropped.
std::string canonical_text(std::string_view expr, const Deadline& deadline = Deadline());

// The value an equation in latex_to_expr's output ends in ("20 + 5 = 25" -> "25"), whatever its left side;
// nullopt without one, or for equations that are several answers ("x = 1 or x = 2").
std::optional<std::string> value_after_equals(std::string_view expr);

// An element of latex_to_expr's output that assigns a value to a name ("x=5", "f(2) = 7": one '=' whose left
// side names a value, as latex_to_expr takes a single answer's): {the name without spaces, the value}.
struct Assignment {
  std::string name, value;
};
std::optional<Assignment> assignment_of(std::string_view element);

}  // namespace seek::reward

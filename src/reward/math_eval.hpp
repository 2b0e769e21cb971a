// A small, safe evaluator for answer expressions in plain ASCII form (what latex_to_expr produces):
// numbers, + - * / ^, parentheses, implicit multiplication ("2(3)", "2sqrt(2)"), sqrt(x) and pi.
// Bounded everywhere: input length, nesting depth and a deadline, and exact rationals that fall back to
// doubles on overflow (see number.hpp). Anything else (variables, functions, lists) is "not a number".
#pragma once
#include <optional>
#include <string_view>

#include "reward/deadline.hpp"
#include "reward/number.hpp"

namespace seek::reward {

inline constexpr size_t kMaxExpressionChars = 2000;
// The recursion guard of the evaluator: a level of parentheses takes two units of it (expr, then unary), so
// this admits 64 levels of parentheses (and a 64-deep chain of signs or roots, which take one each).
inline constexpr int kMaxParenDepth = 64;
inline constexpr int kMaxExpressionDepth = 2 * kMaxParenDepth + 2;

// The value of `expr`, or nullopt when it is not a well-formed numeric expression, divides by zero, is not
// finite, or is longer/deeper than the bounds above. Throws DeadlineExceeded when the deadline passes.
std::optional<Number> evaluate(std::string_view expr, const Deadline& deadline = Deadline());

}  // namespace seek::reward

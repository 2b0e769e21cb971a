// A small, safe evaluator for answer expressions in plain ASCII form (what latex_to_expr produces):
// numbers, + - * / ^, parentheses, implicit multiplication ("2(3)", "2sqrt(2)"), sqrt(x) and pi.
// Bounded everywhere: input length, nesting depth and a deadline, and exact rationals that fall back to
// doubles on overflow (see number.hpp). Anything else (variables unless given values, functions, lists) is
// "not a number".
#pragma once
#include <array>
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

// Values for single-letter variables: a letter that stands alone (not part of a word such as sqrt or pi)
// and has a value here reads as that value, as a number would ("2x", "x(x+1)", "x^2/y").
struct Variables {
  std::array<std::optional<Number>, 52> values;  // a-z, then A-Z

  static int index(char c);  // -1 for anything but an ASCII letter
  void set(char letter, Number value) { values[size_t(index(letter))] = value; }
  const std::optional<Number>* find(char c) const {
    const int k = index(c);
    return k >= 0 && values[size_t(k)] ? &values[size_t(k)] : nullptr;
  }
};

// The value of `expr`, or nullopt when it is not a well-formed numeric expression, divides by zero, is not
// finite, or is longer/deeper than the bounds above. Throws DeadlineExceeded when the deadline passes.
// With `variables`, the letters they give values to are numbers too.
std::optional<Number> evaluate(std::string_view expr, const Deadline& deadline = Deadline(),
                               const Variables* variables = nullptr);

}  // namespace seek::reward

// Numbers for answer checking: an exact rational (128-bit numerator and denominator) while it fits, a
// double once it does not. Every operation is bounded: overflow falls back to floating point instead of
// growing, so a completion like 10^1000 or 2^2^2^2^2 costs microseconds, never memory or time.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace seek::reward {

class Number {
 public:
  Number() = default;
  static Number integer(__int128 v) { return Number(v, 1); }
  static Number rational(__int128 num, __int128 den);  // den != 0; reduced, sign on the numerator
  // A double with `error`, a bound on how far it may be from the value written (rounding in the
  // operations that made it); by default the rounding of v itself.
  static Number approx(double v);
  static Number approx(double v, double error);

  bool exact() const { return exact_; }
  bool finite() const;
  // Whether the value is known beyond doubles' noise: exact, or its rounding-error bound within 1e-6 of it.
  // Not so for a value lost to cancellation (10^40 - 10^40 + 42 is 42 within 2e25), a divisor that may be 0,
  // an underflow (233884^{-100} is not 0), or a value that is 0 within its bound (sqrt(2)^2 - 2).
  bool determined() const;
  double value() const;
  // A bound on |value() - the exact value|: 0 for an exact value a double holds, the conversion's rounding
  // for other exact values, the propagated bound for an approximation.
  double error() const;
  __int128 num() const { return num_; }
  __int128 den() const { return den_; }
  bool is_integer() const { return exact_ && den_ == 1; }
  std::string str() const;  // "3", "-1/2", or "%.17g" for approximations

  // Decimal literal "123", "12.50", ".5": exact when it fits in 36 digits, otherwise a double.
  static std::optional<Number> parse_decimal(std::string_view digits);

  friend std::optional<Number> add(const Number& a, const Number& b);
  friend std::optional<Number> sub(const Number& a, const Number& b);
  friend std::optional<Number> mul(const Number& a, const Number& b);
  friend std::optional<Number> div(const Number& a, const Number& b);  // nullopt for division by zero
  friend std::optional<Number> pow(const Number& a, const Number& b);  // nullopt when undefined
  friend std::optional<Number> sqrt(const Number& a);                  // nullopt for negatives
  friend Number neg(const Number& a);

 private:
  Number(__int128 n, __int128 d) : num_(n), den_(d) {}
  bool exact_ = true;
  __int128 num_ = 0, den_ = 1;
  double approx_ = 0, error_ = 0;
};

// Equal when both are exact and identical; when one is an exact 0 and the other 0 within a rounding-error
// bound below 1e-6 (sqrt(2)^2 - 2, 4e-16 in doubles); otherwise, where both are determined (a value lost to
// doubles, 10^40 - 10^40 + 42, equals nothing: bound above 1e-6 of it), when |a-b| <= max(abs_tol, rel_tol *
// max(|a|,|b|)) or within their bounds. The bound, not a fixed absolute tolerance, is what lets sqrt(2)^2 - 2
// equal 0 while 1e-300 stays unequal to 2e-300 and sqrt(2) * 10^-10 to 0. Non-finite values equal nothing.
bool numbers_equal(const Number& a, const Number& b, double rel_tol = 1e-6, double abs_tol = 0);

}  // namespace seek::reward

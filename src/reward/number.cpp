// Bounded exact rationals with a floating-point fallback (see number.hpp).
#include "reward/number.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace seek::reward {

namespace {

using i128 = __int128;

i128 abs128(i128 v) {
  return v < 0 ? -v : v;
}

i128 gcd128(i128 a, i128 b) {
  a = abs128(a);
  b = abs128(b);
  while (b != 0) {
    i128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}

// The most negative value cannot be negated; keep every exact value strictly inside the range.
constexpr i128 kMax = (i128(1) << 125);
bool in_range(i128 v) {
  return v < kMax && v > -kMax;
}

constexpr double kEps = std::numeric_limits<double>::epsilon();
// The largest rounding-error bound, relative to the value, of a value still determined: above what moderate
// cancellation leaves (3363 - 2378 sqrt(2), 1.5e-4, is known to 1e-8 of itself), far below what a value lost
// to doubles carries (10^40 - 10^40 + 42 is 42 within 2e25).
constexpr double kNoiseBound = 1e-6;
// The largest bound within which a value counts as an exact 0's equal: a root of noise is larger noise
// (sqrt(pi - pi) is 0 within 4e-8), and far below anything a hedge could hide a nonzero answer in.
constexpr double kZeroBound = 1e-6;

// The bound for a double result r computed from operands within `propagated` of their exact values: that,
// plus the operation's own rounding (counted as a whole ulp, twice IEEE's half, which also covers std::pow's
// less than correctly rounded results).
Number approx_result(double r, double propagated) {
  return Number::approx(r, propagated + kEps * std::fabs(r));
}

// A product, quotient or power of nonzero values that comes out below the normal range lost its digits to
// underflow (10^{-400} became 0): no bound holds it, so it is not determined.
Number product_result(double r, double propagated, bool nonzero_operands) {
  if (nonzero_operands && std::fabs(r) < std::numeric_limits<double>::min())
    return Number::approx(r, std::numeric_limits<double>::infinity());
  return approx_result(r, propagated);
}

std::string i128_str(i128 v) {
  if (v == 0) return "0";
  bool negative = v < 0;
  unsigned __int128 u = negative ? (unsigned __int128)(-v) : (unsigned __int128)v;
  std::string s;
  while (u > 0) {
    s.insert(s.begin(), char('0' + int(u % 10)));
    u /= 10;
  }
  return negative ? "-" + s : s;
}

}  // namespace

Number Number::rational(i128 num, i128 den) {
  if (den < 0) {
    num = -num;
    den = -den;
  }
  i128 g = gcd128(num, den);
  if (g > 1) {
    num /= g;
    den /= g;
  }
  return Number(num, den);
}

Number Number::approx(double v) {
  return approx(v, kEps / 2 * std::fabs(v));
}

Number Number::approx(double v, double error) {
  Number n;
  n.exact_ = false;
  n.approx_ = v;
  // NaN (inf - inf) is no bound: infinite, so the value is never taken for 0 (numbers_equal).
  n.error_ = std::isnan(error) ? std::numeric_limits<double>::infinity() : std::fabs(error);
  return n;
}

double Number::error() const {
  if (!exact_) return error_;
  // A double holds integers to 2^53 exactly; otherwise num, den and the quotient each round once.
  if (den_ == 1 && abs128(num_) <= (i128(1) << 53)) return 0;
  return 2 * kEps * std::fabs(value());
}

bool Number::determined() const {
  if (exact_) return true;
  return std::isfinite(approx_) && std::isfinite(error_) && error_ <= kNoiseBound * std::fabs(approx_);
}

bool Number::finite() const {
  return exact_ || std::isfinite(approx_);
}

double Number::value() const {
  return exact_ ? double(num_) / double(den_) : approx_;
}

std::string Number::str() const {
  if (!exact_) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", approx_);
    return buf;
  }
  return den_ == 1 ? i128_str(num_) : i128_str(num_) + "/" + i128_str(den_);
}

std::optional<Number> Number::parse_decimal(std::string_view s) {
  size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (whole.empty() && frac.empty()) return std::nullopt;
  for (char c : whole) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  for (char c : frac) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  // Leading zeros, and trailing zeros after the point, do not count against the 36-digit budget
  // ("1000001.000…0" with 36 zeros was a double, which the relative tolerance took for 1000000).
  size_t lead = 0;
  while (lead < whole.size() && whole[lead] == '0') ++lead;
  while (frac.size() > 1 && frac.back() == '0') frac.remove_suffix(1);
  if (whole.size() - lead + frac.size() <= 36) {
    i128 num = 0, den = 1;
    for (char c : whole.substr(lead)) num = num * 10 + (c - '0');
    for (char c : frac) {
      num = num * 10 + (c - '0');
      den *= 10;
    }
    return rational(num, den);
  }
  // Too long to be exact: a double (inf for absurd lengths, which then compares unequal to everything).
  if (whole.size() - lead > 400) return approx(std::numeric_limits<double>::infinity());
  std::string text(s);
  return approx(std::strtod(text.c_str(), nullptr));  // strtod rounds correctly: half an ulp
}

Number neg(const Number& a) {
  return a.exact_ ? Number(-a.num_, a.den_) : Number::approx(-a.approx_, a.error_);
}

std::optional<Number> add(const Number& a, const Number& b) {
  if (a.exact_ && b.exact_) {
    i128 x, y, n, d;
    if (!__builtin_mul_overflow(a.num_, b.den_, &x) && !__builtin_mul_overflow(b.num_, a.den_, &y) &&
        !__builtin_add_overflow(x, y, &n) && !__builtin_mul_overflow(a.den_, b.den_, &d) && in_range(n) &&
        in_range(d))
      return Number::rational(n, d);
  }
  return approx_result(a.value() + b.value(), a.error() + b.error());
}

std::optional<Number> sub(const Number& a, const Number& b) {
  return add(a, neg(b));
}

std::optional<Number> mul(const Number& a, const Number& b) {
  if (a.exact_ && b.exact_) {
    // Cross-reduce first so products of reduced fractions stay small.
    i128 g1 = gcd128(a.num_, b.den_), g2 = gcd128(b.num_, a.den_);
    if (g1 == 0) g1 = 1;
    if (g2 == 0) g2 = 1;
    i128 n, d;
    if (!__builtin_mul_overflow(a.num_ / g1, b.num_ / g2, &n) &&
        !__builtin_mul_overflow(a.den_ / g2, b.den_ / g1, &d) && in_range(n) && in_range(d))
      return Number::rational(n, d);
  }
  const double x = a.value(), y = b.value(), ex = a.error(), ey = b.error();
  return product_result(x * y, std::fabs(x) * ey + std::fabs(y) * ex + ex * ey, x != 0 && y != 0);
}

std::optional<Number> div(const Number& a, const Number& b) {
  if (b.exact_ ? b.num_ == 0 : b.approx_ == 0) return std::nullopt;
  if (b.exact_) return mul(a, Number::rational(b.den_, b.num_));
  const double x = a.value(), y = b.value(), r = x / y;
  // |a/b - x/y| <= (ex + |r| ey) / (|y| - ey); a divisor within its own error of 0 bounds nothing.
  const double margin = std::fabs(y) - b.error();
  return product_result(
      r,
      margin > 0 ? (a.error() + std::fabs(r) * b.error()) / margin : std::numeric_limits<double>::infinity(),
      x != 0);
}

namespace {

// x^y in doubles, with its bound to first order: d(x^y) = y x^(y-1) dx + x^y ln|x| dy. Where the error is no
// longer small against x (or x is 0), the bound is what |x| + dx raised to y could be.
Number pow_result(const Number& a, const Number& b) {
  const double x = a.value(), y = b.value(), r = std::pow(x, y);
  const double ex = a.error(), ey = b.error();
  double bound;
  if (ex == 0 && ey == 0)
    bound = 0;
  else if (ex < std::fabs(x) / 2)
    bound =
        std::fabs(r) * (std::fabs(y) * 2 * ex / std::fabs(x) + std::fabs(std::log(std::fabs(x))) * ey) * 2;
  else
    bound = y > 0 && ey == 0 ? std::pow(std::fabs(x) + ex, y) + std::fabs(r)
                             : std::numeric_limits<double>::infinity();
  return product_result(r, bound + kEps * std::fabs(r), x != 0);
}

}  // namespace

std::optional<Number> pow(const Number& a, const Number& b) {
  if (b.is_integer()) {
    i128 e = b.num_;
    if (a.exact_ && abs128(e) <= 4096) {
      if (e < 0 && a.num_ == 0) return std::nullopt;
      // Square-and-multiply with overflow checks; an overflow falls through to the double below.
      Number base = e < 0 ? Number::rational(a.den_, a.num_) : a;
      i128 k = abs128(e);
      Number r = Number::integer(1);
      bool ok = true;
      while (k > 0 && ok) {
        if (k & 1) {
          auto t = mul(r, base);
          ok = t && t->exact_;
          if (ok) r = *t;
        }
        k >>= 1;
        if (k > 0 && ok) {
          auto t = mul(base, base);
          ok = t && t->exact_;
          if (ok) base = *t;
        }
      }
      if (ok) return r;
    }
    if (a.value() == 0 && b.value() < 0) return std::nullopt;
    // A negative base's sign follows the exponent's parity, which a double past 2^53 no longer holds:
    // (-1)^(2^60 + 1) came out 1.
    if (a.value() < 0 && abs128(e) > (i128(1) << 53))
      return Number::approx(std::pow(a.value(), b.value()), std::numeric_limits<double>::infinity());
    return pow_result(a, b);
  }
  double x = a.value(), y = b.value();
  if (x < 0) return std::nullopt;  // no complex results
  if (x == 0 && y < 0) return std::nullopt;
  return pow_result(a, b);
}

std::optional<Number> sqrt(const Number& a) {
  double v = a.value();
  if (v < 0) return std::nullopt;
  if (a.exact_) {
    // Exact when numerator and denominator are perfect squares (checked around the double estimate).
    auto isqrt = [](i128 n, i128* out) {
      i128 r = i128(std::sqrt(double(n)));
      for (i128 c = r > 2 ? r - 2 : 0; c <= r + 2; ++c) {
        if (c * c == n) {
          *out = c;
          return true;
        }
      }
      return false;
    };
    i128 rn, rd;
    if (a.num_ < (i128(1) << 100) && a.den_ < (i128(1) << 100) && isqrt(a.num_, &rn) && isqrt(a.den_, &rd))
      return Number::rational(rn, rd);
  }
  const double r = std::sqrt(v), e = a.error();
  // d(sqrt v) = dv / (2 sqrt v); near 0 (v within its error of it) the root is at most sqrt(v + e).
  return approx_result(r, e == 0 ? 0 : e < v / 2 ? e / r : std::sqrt(v + e));
}

bool numbers_equal(const Number& a, const Number& b, double rel_tol, double abs_tol) {
  if (!a.finite() || !b.finite()) return false;
  if (a.exact() && b.exact()) return a.num() == b.num() && a.den() == b.den();
  double x = a.value(), y = b.value();
  if (!std::isfinite(x) || !std::isfinite(y)) return false;
  // An exact 0 against a value 0 within a bound that is noise: sqrt(2)^2 - 2 is 4e-16 in doubles. Such a
  // value is not determined (its bound exceeds it), and answers nothing else.
  const auto zero_and_within = [](const Number& zero, const Number& other) {
    const double e = other.error();
    return zero.exact() && zero.num() == 0 && std::fabs(other.value()) <= e && e <= kZeroBound;
  };
  if (zero_and_within(a, b) || zero_and_within(b, a)) return true;
  if (!a.determined() || !b.determined()) return false;
  // An exact value k/d is told from its neighbours by 1/d: a value whose bound reaches half of that cannot
  // name it, whatever the relative tolerance (pi·10^17 + 10^9 − pi·10^17, determined to 1e-6 of itself,
  // matched some 1300 integers near 10^9). An absolute tolerance the user sets above that still counts.
  const auto can_name = [abs_tol](const Number& exact, const Number& other) {
    return !exact.exact() || other.exact() || other.error() < std::max(0.5 / double(exact.den()), abs_tol);
  };
  if (!can_name(a, b) || !can_name(b, a)) return false;
  const double diff = std::fabs(x - y), scale = std::max(std::fabs(x), std::fabs(y));
  if (diff <= std::max(abs_tol, rel_tol * scale)) return true;
  // Within the bounds, which are noise next to the values now: sqrt(2) * sqrt(2) = 2.
  return diff <= a.error() + b.error();
}

}  // namespace seek::reward

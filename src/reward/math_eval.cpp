// Recursive-descent evaluator for answer expressions (see math_eval.hpp). Grammar:
//   expr    := term (('+'|'-') term)*
//   term    := unary (('*'|'/') unary | <implicit> power)*
//   unary   := ('+'|'-') unary | power
//   power   := primary ('^' unary)?            (right-associative: 2^3^2 = 2^9)
//   primary := number | '(' expr ')' | 'sqrt' primary | 'pi' | variable (a lone letter given a value)
//   number  := digits and '.' (("e"|"E") ('+'|'-')? digits)?
#include "reward/math_eval.hpp"

#include <cctype>
#include <numbers>

namespace seek::reward {

namespace {

struct Parser {
  std::string_view s;
  size_t i = 0;
  int depth = 0;
  const Deadline& deadline;
  const Variables* variables = nullptr;
  bool ok = true;
  size_t steps = 0;

  // The value of the variable at i: a letter with a value, not followed by another letter.
  const std::optional<Number>* variable_here() const {
    if (variables == nullptr || i >= s.size()) return nullptr;
    if (i + 1 < s.size() && std::isalpha((unsigned char)s[i + 1])) return nullptr;
    return variables->find(s[i]);
  }

  void skip() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) ++i;
  }
  bool eat(char c) {
    skip();
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  bool word(std::string_view w) {
    skip();
    if (s.substr(i, w.size()) == w &&
        (i + w.size() >= s.size() || !std::isalpha((unsigned char)s[i + w.size()]))) {
      i += w.size();
      return true;
    }
    return false;
  }
  std::optional<Number> fail() {
    ok = false;
    return std::nullopt;
  }
  void tick() {
    if ((++steps & 255) == 0) check(deadline);
  }
  // Whether a primary starts here (for implicit multiplication); a bare number after a number does not
  // count ("2 3" is not 6).
  bool primary_starts(bool after_number) {
    skip();
    if (i >= s.size()) return false;
    char c = s[i];
    if (c == '(') return true;
    if (std::isdigit((unsigned char)c) || c == '.') return !after_number;
    return s.substr(i, 4) == "sqrt" || s.substr(i, 2) == "pi" || variable_here() != nullptr;
  }

  std::optional<Number> expr() {
    if (++depth > kMaxExpressionDepth) return fail();
    auto v = term();
    while (ok && v) {
      tick();
      if (eat('+')) {
        auto r = term();
        if (!r) return fail();
        v = add(*v, *r);
      } else if (eat('-')) {
        auto r = term();
        if (!r) return fail();
        v = sub(*v, *r);
      } else {
        break;
      }
    }
    --depth;
    return ok ? v : std::nullopt;
  }

  std::optional<Number> term() {
    bool last_number = false;
    auto v = unary(&last_number);
    while (ok && v) {
      tick();
      if (eat('*')) {
        auto r = unary(&last_number);
        if (!r) return fail();
        v = mul(*v, *r);
      } else if (eat('/')) {
        auto r = unary(&last_number);
        if (!r) return fail();
        v = div(*v, *r);
        if (!v) return fail();
      } else if (primary_starts(last_number)) {
        auto r = power(&last_number);
        if (!r) return fail();
        v = mul(*v, *r);
      } else {
        break;
      }
    }
    return ok ? v : std::nullopt;
  }

  std::optional<Number> unary(bool* last_number) {
    if (++depth > kMaxExpressionDepth) return fail();
    std::optional<Number> v;
    if (eat('-')) {
      v = unary(last_number);
      if (v) v = neg(*v);
    } else if (eat('+')) {
      v = unary(last_number);
    } else {
      v = power(last_number);
    }
    --depth;
    return v;
  }

  std::optional<Number> power(bool* last_number) {
    auto base = primary(last_number);
    if (!base) return fail();
    if (eat('^')) {
      if (++depth > kMaxExpressionDepth) return fail();
      bool ignored = false;
      auto e = unary(&ignored);
      --depth;
      if (!e) return fail();
      *last_number = false;
      auto r = pow(*base, *e);
      if (!r) return fail();
      return r;
    }
    return base;
  }

  std::optional<Number> primary(bool* last_number) {
    tick();
    skip();
    if (i >= s.size()) return fail();
    *last_number = false;
    if (eat('(')) {
      auto v = expr();
      if (!v || !eat(')')) return fail();
      return v;
    }
    if (word("sqrt")) {
      if (++depth > kMaxExpressionDepth) return fail();
      bool ignored = false;
      auto v = primary(&ignored);
      --depth;
      if (!v) return fail();
      auto r = sqrt(*v);
      if (!r) return fail();
      return r;
    }
    if (word("pi")) return Number::approx(std::numbers::pi);
    if (const std::optional<Number>* v = variable_here()) {
      ++i;
      return **v;
    }
    size_t start = i;
    while (i < s.size() && (std::isdigit((unsigned char)s[i]) || s[i] == '.')) ++i;
    if (i == start) return fail();
    auto n = Number::parse_decimal(s.substr(start, i - start));
    if (!n) return fail();
    // Scientific notation ("1.5e3", "2E-4"): an e right after the digits, with the exponent's digits after
    // it (at most 4: beyond that the value is 0 or not finite either way).
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
      size_t k = i + 1;
      const bool negative = k < s.size() && s[k] == '-';
      if (k < s.size() && (s[k] == '+' || s[k] == '-')) ++k;
      const size_t digits = k;
      while (k < s.size() && std::isdigit((unsigned char)s[k])) ++k;
      if (k > digits) {
        if (k - digits > 4) return fail();
        const auto e = Number::parse_decimal(s.substr(digits, k - digits));
        const auto scale = pow(Number::integer(10), negative ? neg(*e) : *e);
        if (!scale) return fail();
        n = mul(*n, *scale);
        if (!n) return fail();
        i = k;
      }
    }
    *last_number = true;
    return n;
  }
};

}  // namespace

int Variables::index(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
  return -1;
}

std::optional<Number> evaluate(std::string_view expr, const Deadline& deadline, const Variables* variables) {
  if (expr.size() > kMaxExpressionChars) return std::nullopt;
  Parser p{expr, 0, 0, deadline, variables};
  auto v = p.expr();
  p.skip();
  if (!v || !p.ok || p.i != expr.size() || !v->finite()) return std::nullopt;
  return v;
}

}  // namespace seek::reward

// Answer equivalence (see answer_compare.hpp).
#include "reward/answer_compare.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "reward/latex_normalize.hpp"
#include "reward/math_eval.hpp"

namespace seek::reward {

namespace {

// Splits at commas outside parentheses/brackets (thousands commas were removed by normalisation).
std::vector<std::string> split_top_level(const std::string& s) {
  std::vector<std::string> parts;
  int depth = 0;
  std::string cur;
  for (char c : s) {
    if (c == '(' || c == '[') ++depth;
    if (c == ')' || c == ']') --depth;
    if (c == ',' && depth == 0) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(cur);
  return parts;
}

// The list inside matching outer brackets; *kind is the outermost bracket removed ('(' or '['), or 0.
std::string strip_brackets(const std::string& s, char* kind) {
  std::string t = s;
  *kind = 0;
  while (t.size() >= 2 && ((t.front() == '(' && t.back() == ')') || (t.front() == '[' && t.back() == ']'))) {
    // Only when the outer pair matches each other: "(1)+(2)" must stay.
    int depth = 0;
    bool outer = true;
    for (size_t i = 0; i + 1 < t.size(); ++i) {
      if (t[i] == '(' || t[i] == '[') ++depth;
      if (t[i] == ')' || t[i] == ']') --depth;
      if (depth == 0) {
        outer = false;
        break;
      }
    }
    if (!outer) break;
    if (*kind == 0) *kind = t.front();
    t = t.substr(1, t.size() - 2);
  }
  return t;
}

// The digits after the point of a plain decimal ("-12.50": 2), or -1 for anything else (an integer, an
// expression, an exponent).
int decimals_written(std::string s) {
  // Outer parentheses and a plus sign are layout: "(1000001.0)" and "+1000001.0" are plain decimals too.
  while (s.size() >= 2 && s.front() == '(' && s.back() == ')') s = s.substr(1, s.size() - 2);
  if (s.starts_with('+')) s.erase(0, 1);
  size_t i = s.starts_with('-') ? 1 : 0;
  const size_t point = s.find('.');
  if (point == std::string::npos || point + 1 >= s.size()) return -1;
  for (size_t j = i; j < s.size(); ++j)
    if (j != point && !std::isdigit(static_cast<unsigned char>(s[j]))) return -1;
  return int(s.size() - point - 1);
}

// For a decimal as written, the place of its last digit: k when that digit stands for 10^-k. A plain one
// ("-12.50": 2, decimals_written) or one in scientific notation with a point ("1.5e3": 1 - 3 = -2,
// "1.41421356*10^(-6)": 14), `s` being latex_to_expr's output; nullopt for anything else. Those are rounded
// values, which the relative tolerance is for; a point elsewhere in an expression ("\frac{355.0}{113}",
// "1234567.5 \cdot \frac{\pi}{\pi}") turned it on for the whole expression, so one such answer matched both
// neighbouring integers.
std::optional<int> last_digit_place(std::string s) {
  if (const int k = decimals_written(s); k >= 0) return k;
  std::erase_if(s, [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
  while (s.size() >= 2 && s.front() == '(' && s.back() == ')') s = s.substr(1, s.size() - 2);
  size_t i = (s.starts_with('-') || s.starts_with('+')) ? 1 : 0;
  const size_t start = i;
  size_t point = std::string::npos;
  while (i < s.size() &&
         (std::isdigit(static_cast<unsigned char>(s[i])) || (s[i] == '.' && point == std::string::npos))) {
    if (s[i] == '.') point = i;
    ++i;
  }
  if (point == std::string::npos || i == start + 1) return std::nullopt;
  const int after_point = int(i - point - 1);
  std::string_view rest = std::string_view(s).substr(i);
  if (rest.starts_with("e") || rest.starts_with("E")) {
    rest.remove_prefix(1);
  } else if (rest.starts_with("*10^")) {
    rest.remove_prefix(4);
    if (rest.starts_with('(') && rest.ends_with(')')) rest = rest.substr(1, rest.size() - 2);
  } else {
    return std::nullopt;
  }
  const bool negative = rest.starts_with('-');
  if (rest.starts_with('-') || rest.starts_with('+')) rest.remove_prefix(1);
  if (rest.empty() || !std::all_of(rest.begin(), rest.end(),
                                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    return std::nullopt;
  // Saturated: an exponent past doubles' range makes no finite value, which compares to nothing anyway.
  int exponent = 0;
  for (char c : rest) exponent = std::min(100000, exponent * 10 + (c - '0'));
  return after_point + (negative ? exponent : -exponent);
}

bool written_decimal(const std::string& s) {
  return last_digit_place(s).has_value();
}

// Whether a side written as a decimal with k digits after the point is the other value rounded to k digits
// (within half a unit of its last digit, and float noise). Where both are exact, in exact arithmetic: the
// noise of doubles let "1125899906842625.0" answer 2^50 (8 ulps of 10^15 are 2), and past 2^53 a double
// does not hold the units digit of "9007199254740993.0".
bool rounds_to(int k, const Number& written, const Number& other) {
  if (written.exact() && other.exact()) {
    const auto scale = pow(Number::integer(10), Number::integer(k));
    const auto diff = sub(written, other);
    const auto units = scale && diff ? mul(*diff, *scale) : std::nullopt;  // (written - other) · 10^k
    if (units && units->exact()) {
      const __int128 n = units->num() < 0 ? -units->num() : units->num();
      return n <= units->den() / 2;  // |n / den| <= 1/2, den > 0
    }
    if (units) return std::fabs(units->value()) <= 0.5;  // past 128 bits: in doubles
    return false;
  }
  const double x = written.value(), y = other.value();
  const double half_unit = 0.5 * std::pow(10.0, -k);
  const double noise = 8 * std::numeric_limits<double>::epsilon() * std::max(std::fabs(x), std::fabs(y));
  return std::fabs(x - y) <= std::max(half_unit, noise) * (1 + 1e-9);
}

// The letters `s` uses as variables, sorted: each letter that stands alone (not in a word such as sqrt, nor a
// command's name), except e and i (Euler's number and the imaginary unit, which no value stands for here).
// With `called`, only those of f and g that stand before "(" wherever they stand: a function's name
// (f(-x)), which the evaluator would read as a factor (h, a height as often, is a factor: h(a+b)).
std::string letters_of(const std::string& s, bool called = false) {
  std::string letters, factors;
  for (size_t k = 0; k < s.size(); ++k) {
    if (!std::isalpha(static_cast<unsigned char>(s[k]))) continue;
    size_t end = k;
    while (end < s.size() && std::isalpha(static_cast<unsigned char>(s[end]))) ++end;
    if (end == k + 1 && s[k] != 'e' && s[k] != 'i' && (k == 0 || s[k - 1] != '\\')) {
      size_t next = end;
      while (next < s.size() && s[next] == ' ') ++next;
      const bool before_call = next < s.size() && s[next] == '(' && std::strchr("fgFG", s[k]) != nullptr;
      (before_call ? letters : factors) += s[k];
    }
    k = end - 1;
  }
  if (called)
    std::erase_if(letters, [&](char c) { return factors.find(c) != std::string::npos; });
  else
    letters += factors;
  std::sort(letters.begin(), letters.end());
  letters.erase(std::unique(letters.begin(), letters.end()), letters.end());
  return letters;
}

// Whether two expressions in the same variables are the same function of them: equal (to the rounding of
// values past exact arithmetic) at each of twelve points where both are defined (a root of a negative, a
// division by 0, is defined at neither), and both defined at three at least. "n(n+1)/2" answered
// \frac{n(n+1)}{2} only as text before, which the rewrite's parentheses made differ. Letters compare
// without case, as the texts do (but for E and I, which are no e or i). The points are rationals unlike any
// an answer is built around (not 0, 1 or small integers), distinct for each variable, some below 1 in size
// (where x^35 + 1 is not x^35 in doubles); at four all are positive (so roots of products are defined), and
// at the others each variable has a sign pattern of its own (so |xy| is not xy). Polynomials and rational
// functions compare exactly where the values stay exact; two that differ agree at all twelve points only if
// all are roots of their difference. A value lost to rounding, or past exact arithmetic at 2^53 or more,
// says nothing.
// The signs of variable k at the points after the first four, as bits (1: negative): the 35 patterns of 8
// bits with 4 set and bit 0 among them, so any two variables differ somewhere (|xy| is not xy) and are both
// negative somewhere (sqrt(xy) is not sqrt(x) sqrt(y)).
unsigned sign_pattern(size_t k) {
  size_t seen = 0;
  for (unsigned m = 1;; m += 2)
    if (std::popcount(m) == 4 && seen++ == k % 35) return m;
}

bool same_function(std::string a, std::string b, const Deadline& d) {
  for (std::string* s : {&a, &b})
    for (char& c : *s)
      if (c != 'E' && c != 'I') c = char(std::tolower(static_cast<unsigned char>(c)));
  const std::string letters = letters_of(a);
  if (letters.empty() || letters != letters_of(b)) return false;
  // A function's name on both sides (f(-x) against -f(x)): not comparable as a product. On one side only,
  // it is a factor there, as on the other (\frac{h(a+b)}{2} against \frac{(a+b)h}{2}).
  const std::string called_a = letters_of(a, true), called_b = letters_of(b, true);
  if (std::any_of(called_a.begin(), called_a.end(),
                  [&](char c) { return called_b.find(c) != std::string::npos; }))
    return false;
  static constexpr int kNumerators[] = {17, 23, 31, 41, 53, 61, 71, 83, 97, 103, 113, 127};
  static constexpr int kDenominators[] = {7, 11, 13, 19, 29, 131, 137};
  constexpr size_t kPoints = 12, kPositive = 4;
  int agreed = 0;
  for (size_t point = 0; point < kPoints; ++point) {
    Variables at;
    for (size_t k = 0; k < letters.size(); ++k) {
      const int num = kNumerators[(5 * k + point) % std::size(kNumerators)];
      const int den = kDenominators[(k + point) % std::size(kDenominators)];
      const unsigned signs = sign_pattern(k);
      const bool negative = point >= kPositive && ((signs >> (point - kPositive)) & 1) != 0;
      at.set(letters[k], Number::rational(negative ? -num : num, den));
    }
    const auto x = evaluate(a, d, &at), y = evaluate(b, d, &at);
    const auto says_nothing = [](const std::optional<Number>& v) {
      return v && !v->exact() && (!v->determined() || std::fabs(v->value()) >= 0x1p53);
    };
    // Defined on one side only (a root of a negative there): the answers may assume positive variables, as
    // sqrt(x) sqrt(y) for sqrt(xy) does; where both are defined they must agree.
    if (!x || !y || says_nothing(x) || says_nothing(y)) continue;
    if (!numbers_equal(*x, *y, 0, 0)) return false;
    ++agreed;
  }
  return agreed >= 3;
}

bool element_equal(const std::string& a, const std::string& b, const CompareOptions& o, const Deadline& d) {
  auto va = evaluate(a, d);
  auto vb = evaluate(b, d);
  if (va && vb) {
    // Past 2^53 a double no longer holds the units digit: 2^128 + 1 and 2^128, or two 39-digit integers one
    // apart, were equal within the tolerance. Where one side is not exact there, the text decides.
    if ((!va->exact() || !vb->exact()) && std::max(std::fabs(va->value()), std::fabs(vb->value())) >= 0x1p53)
      return canonical_text(a, d) == canonical_text(b, d);
    // A value lost to doubles (cancellation, underflow: Number::determined) says nothing but that it may be 0
    // (numbers_equal's exact-0 rule): otherwise the text decides.
    if (!va->determined() || !vb->determined())
      return numbers_equal(*va, *vb, 0, 0) || canonical_text(a, d) == canonical_text(b, d);
    // The relative tolerance is for written decimals, which are rounded values. Otherwise an inexact value is
    // symbolic (\pi, \sqrt{2}) and must agree to its rounding: within 1e-6, \frac{355}{113} answered \pi
    // and \frac{1393}{985} answered \sqrt{2}.
    const bool decimal_written = written_decimal(a) || written_decimal(b);
    if (numbers_equal(*va, *vb, decimal_written ? o.rel_tolerance : 0.0, o.abs_tolerance)) return true;
    // A written decimal is a rounded value: "0.3333333" answers 1/3 within the tolerance. The less precise
    // side must also be the other rounded to the digits it shows: within the relative tolerance alone,
    // "1000001.0" answered 1000000 and "0.000000002" answered 1e-9; "3.1415926535" still answers 3.14159.
    if (!decimal_written) return false;
    const double x = va->value(), y = vb->value();
    if (!numbers_equal(Number::approx(x, va->error()), Number::approx(y, vb->error()), o.rel_tolerance,
                       o.abs_tolerance))
      return false;
    // The less precise side, in scientific notation too: "3.333333e-1" answers 1/3 as "0.3333333" does, and
    // "1.000001 \times 10^{6}", exactly 1000001, is not 1000000 rounded (before, a side in scientific
    // notation got the tolerance alone, so where both were exact it answered nothing).
    const auto ka = last_digit_place(a), kb = last_digit_place(b);
    if (ka && (!kb || *ka <= *kb)) return rounds_to(*ka, *va, *vb);
    return rounds_to(*kb, *vb, *va);
  }
  return canonical_text(a, d) == canonical_text(b, d) || same_function(a, b, d);
}

// A set \{a, b\} (latex_to_expr writes its braces as "\(" and "\)"): its elements, or nullopt. The outer
// braces must be one pair: "\{1\} \setminus \{2, 3\}" is no set of two elements.
std::optional<std::vector<std::string>> set_elements(const std::string& s) {
  if (s.size() < 4 || !s.starts_with("\\(") || !s.ends_with("\\)")) return std::nullopt;
  int depth = 0;
  for (size_t i = 0; i + 2 < s.size(); ++i) {
    if (s.compare(i, 2, "\\(") == 0) ++depth;
    if (s.compare(i, 2, "\\)") == 0 && --depth == 0) return std::nullopt;  // closed before the end
  }
  return split_top_level(s.substr(2, s.size() - 4));
}

// Whether items 0..n-1 of one side pair off one to one with items 0..n-1 of the other, `equal(i, j)` for each
// pair. First fit first (equal elements match at once); since equality within tolerances is not transitive,
// first fit can miss a pairing that exists (x ≈ y and x ≈ z but y ≉ x' ...), so a failure is checked by
// augmenting paths over every pair, for lists short enough (64) that n² comparisons stay cheap.
template <typename Equal>
bool pair_off(size_t n, Equal equal) {
  std::vector<bool> used(n, false);
  bool first_fit = true;
  for (size_t i = 0; i < n && first_fit; ++i) {
    bool found = false;
    for (size_t k = 0; k < n && !found; ++k)
      if (!used[k] && equal(i, k)) used[k] = found = true;
    first_fit = found;
  }
  if (first_fit) return true;
  if (n > 64) return false;
  std::vector<std::vector<bool>> eq(n, std::vector<bool>(n));
  for (size_t i = 0; i < n; ++i)
    for (size_t k = 0; k < n; ++k) eq[i][k] = equal(i, k);
  std::vector<int> owner(n, -1);  // of each item of the second side, the first side's item paired with it
  std::vector<bool> seen;
  const std::function<bool(size_t)> augment = [&](size_t i) {
    for (size_t k = 0; k < n; ++k) {
      if (!eq[i][k] || seen[k]) continue;
      seen[k] = true;
      if (owner[k] < 0 || augment(size_t(owner[k]))) {
        owner[k] = int(i);
        return true;
      }
    }
    return false;
  };
  for (size_t i = 0; i < n; ++i) {
    seen.assign(n, false);
    if (!augment(i)) return false;
  }
  return true;
}

// Whether the elements can be paired off as equal, in any order (each of `b` used once).
bool same_elements(const std::vector<std::string>& a, const std::vector<std::string>& b,
                   const CompareOptions& o, const Deadline& d) {
  if (a.size() != b.size()) return false;
  return pair_off(a.size(), [&](size_t i, size_t k) { return element_equal(a[i], b[k], o, d); });
}

// An inequality "L op R" with one relation (<, >, \le, \ge and their spellings): the sides and the op as
// '<', '>', 'l' (≤) or 'g' (≥).
struct Relation {
  std::string left, right;
  char op = 0;
};
std::optional<Relation> relation_of(const std::string& s) {
  static constexpr std::pair<std::string_view, char> kOps[] = {
      {"\\leqslant", 'l'}, {"\\geqslant", 'g'}, {"\\leq", 'l'}, {"\\le", 'l'}, {"\\geq", 'g'},
      {"\\ge", 'g'},       {"\\lt", '<'},       {"\\gt", '>'},  {"<=", 'l'},   {">=", 'g'},
      {"\u2264", 'l'},     {"\u2265", 'g'},     {"<", '<'},     {">", '>'}};
  std::optional<Relation> found;
  for (size_t i = 0; i < s.size(); ++i)
    for (const auto& [text, op] : kOps) {
      // A command must end where its name does: \left is no \le.
      if (s.compare(i, text.size(), text) != 0 ||
          (text[0] == '\\' && i + text.size() < s.size() && std::isalpha((unsigned char)s[i + text.size()])))
        continue;
      if (found) return std::nullopt;  // a chain (1 < x < 5) or two relations: not one inequality
      found = Relation{s.substr(0, i), s.substr(i + text.size()), op};
      i += text.size() - 1;
      break;
    }
  return found;
}

// Each element as a value given to a name, or nullopt unless every one is such. A name may come more than
// once (the roots x = 1, x = 2).
std::optional<std::vector<Assignment>> assignments(const std::vector<std::string>& elements) {
  std::vector<Assignment> out;
  for (const std::string& e : elements) {
    auto a = assignment_of(e);
    if (!a) return std::nullopt;
    out.push_back(std::move(*a));
  }
  return out;
}

// Percent signs were dropped by latex_to_expr; "50\%" is then 50 and, read as a fraction, 0.5.
bool has_percent(std::string_view s) {
  while (!s.empty() && std::isspace((unsigned char)s.back())) s.remove_suffix(1);
  return s.ends_with('%');
}

}  // namespace

bool answers_equal(std::string_view predicted, std::string_view reference, const CompareOptions& o,
                   const Deadline& d) {
  if (predicted.empty() || reference.empty()) return false;
  std::string p = latex_to_expr(predicted, d);
  std::string r = latex_to_expr(reference, d);
  if (p.empty() || r.empty()) return false;
  if (element_equal(p, r, o, d)) return true;
  // A worked equation as the answer ("20 + 5 = 25", "m + n = 7") gives the value it ends in where the
  // reference is no equation. (A reference keeps an expression's equation whole: "2x - y + 3z + 8 = 0".)
  if (r.find('=') == std::string::npos)
    if (const auto v = value_after_equals(p); v && element_equal(*v, r, o, d)) return true;
  // A percentage also answers as the fraction it stands for (Math-Verify reads 50% both ways): "50\%" is
  // 0.5, as "0.5" is "50\%".
  // Only with one percent sign: "0.5\%" is not 50\%.
  const bool p_percent = has_percent(predicted), r_percent = has_percent(reference);
  if (p_percent && !r_percent && element_equal("(" + p + ")/100", r, o, d)) return true;
  if (r_percent && !p_percent && element_equal(p, "(" + r + ")/100", o, d)) return true;
  // Relations compare as Math-Verify's do, also flipped: x > 5 answers 5 < x.
  if (const auto pr = relation_of(p), rr = relation_of(r); pr && rr) {
    const auto flip = [](char op) { return op == '<' ? '>' : op == '>' ? '<' : op == 'l' ? 'g' : 'l'; };
    if (pr->op == rr->op)
      return element_equal(pr->left, rr->left, o, d) && element_equal(pr->right, rr->right, o, d);
    return pr->op == flip(rr->op) && element_equal(pr->left, rr->right, o, d) &&
           element_equal(pr->right, rr->left, o, d);
  }
  // A set reference is answered in any order, as Math-Verify compares sets: \{2, 1\} answers \{1, 2\}, and so
  // does the bare list 2, 1 (not a tuple or an interval, whose order is part of them). Not the other way: an
  // ordered reference (3, 5) is not answered by \{5, 3\}.
  if (const auto r_set = set_elements(r)) {
    char pk = 0;
    const auto p_set = set_elements(p);
    const auto p_elems = p_set ? *p_set : split_top_level(strip_brackets(p, &pk));
    if (!p_set && (pk != 0 || p_elems.size() < 2)) return false;
    return same_elements(p_elems, *r_set, o, d);
  }
  char pk = 0, rk = 0;
  auto ps = split_top_level(strip_brackets(p, &pk));
  auto rs = split_top_level(strip_brackets(r, &rk));
  // A choice in parentheses answers the bare choice: "(B)" answers "B" (and "B" answers "(B)").
  if (ps.size() == 1 && rs.size() == 1 && (pk == '(') != (rk == '('))
    return canonical_text(ps[0], d) == canonical_text(rs[0], d);
  if (ps.size() < 2 || ps.size() != rs.size()) return false;
  // (1, 2) and [1, 2] are different intervals: bracketed on both sides, the brackets must agree. A bare list
  // answers a tuple, (1, 2), but not a closed interval, [1, 2]: it answered (1, 5) and [1, 5] alike.
  if (pk != 0 && rk != 0 && pk != rk) return false;
  if (pk == 0 && rk == '[') return false;
  // Values given to names ("x = 5, y = 3") answer by name, in any order, each given value paired off with
  // one asked for: compared by position, the values alone, "y = 5, x = 3" answered it and "y = 3, x = 5"
  // did not, and so did "x = 5, x = 3", which never gives y (a repeated name fell back to that).
  if (const auto pa = assignments(ps), ra = assignments(rs); pa && ra) {
    return pair_off(ra->size(), [&](size_t i, size_t k) {
      return (*ra)[i].name == (*pa)[k].name && element_equal((*pa)[k].value, (*ra)[i].value, o, d);
    });
  }
  for (size_t i = 0; i < ps.size(); ++i) {
    if (!element_equal(ps[i], rs[i], o, d)) return false;
  }
  return true;
}

}  // namespace seek::reward

// LaTeX/plain-text answer normalisation (see latex_normalize.hpp). A single left-to-right rewrite with an
// explicit brace reader, bounded by the input length (at most kMaxExpressionChars * 4 bytes are looked at)
// and the deadline.
#include "reward/latex_normalize.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <iterator>
#include <span>
#include <utility>

#include "reward/math_eval.hpp"

namespace seek::reward {

namespace {

bool is_alpha(char c) {
  return std::isalpha((unsigned char)c) != 0;
}
bool is_digit(char c) {
  return std::isdigit((unsigned char)c) != 0;
}

// The parentheses the rewriting makes for LaTeX's groups ({...}, \frac, \sqrt, powers), apart from the
// written ones until thousands separators are dropped (rewrite): "\frac{3,000}{7}" is 3000/7, while a comma
// inside written brackets separates elements ("(3,100)" is a pair).
constexpr char kGroupOpen = '\x01', kGroupClose = '\x02';
std::string grouped(const std::string& inner) {
  std::string out;
  out.reserve(inner.size() + 2);
  out += kGroupOpen;
  out += inner;
  out += kGroupClose;
  return out;
}

// A letter before a command written as a word ("a\\sqrt{3}", "n\\pi") stays a letter of its own, a factor,
// not the start of a word "asqrt" or "npi"; the canonical text drops the space again.
void word_apart(std::string& out) {
  if (!out.empty() && is_alpha(out.back())) out += ' ';
}

struct Rewriter {
  std::string_view s;
  const Deadline& deadline;
  size_t steps = 0;
  int depth = 0;

  void tick() {
    if ((++steps & 255) == 0) check(deadline);
  }

  // The group starting at s[i]: "{...}" with nested braces, or a single character / command. Sets *end.
  // Returns false for an unbalanced group.
  bool group(size_t i, size_t* begin, size_t* end, size_t* next) {
    while (i < s.size() && s[i] == ' ') ++i;
    if (i >= s.size()) return false;
    if (s[i] == '{') {
      int d = 0;
      for (size_t j = i; j < s.size(); ++j) {
        tick();
        if (s[j] == '{') ++d;
        if (s[j] == '}' && --d == 0) {
          *begin = i + 1;
          *end = j;
          *next = j + 1;
          return true;
        }
      }
      return false;
    }
    if (s[i] == '\\') {
      size_t j = i + 1;
      while (j < s.size() && is_alpha(s[j])) ++j;
      *begin = i;
      *end = *next = j;
      return true;
    }
    *begin = i;
    *end = *next = i + 1;
    return true;
  }

  // A mixed number, "2\frac{1}{4}" (or with a space between): the integer `out` ends with plus a proper
  // fraction of plain integers, written into `out` as "(2+1/4)" (so "-2\frac{1}{4}" is -(2 + 1/4)); read as a
  // product it was 1/2. false, with `out` unchanged, for anything else ("x^2\frac{1}{2}", "2\frac{\pi}{3}").
  static bool mixed_number(std::string& out, const std::string& num, const std::string& den) {
    const auto digits = [](const std::string& t) {
      return !t.empty() && t.size() <= 9 &&
             std::all_of(t.begin(), t.end(), [](char c) { return is_digit(c); });
    };
    if (!digits(num) || !digits(den) || std::stol(num) >= std::stol(den)) return false;
    size_t e = out.size();
    while (e > 0 && out[e - 1] == ' ') --e;
    size_t b = e;
    while (b > 0 && is_digit(out[b - 1])) --b;
    if (b == e || (b > 0 && (is_alpha(out[b - 1]) ||
                             std::string_view(".^_)\x02").find(out[b - 1]) != std::string_view::npos)))
      return false;
    const std::string whole = out.substr(b, e - b);
    out.resize(b);
    out += grouped(whole + "+" + num + "/" + den);
    return true;
  }

  std::string sub(size_t b, size_t e) {
    if (++depth > kMaxExpressionDepth) throw DeadlineExceeded{};  // absurd nesting: treat as a timeout
    Rewriter r{s.substr(b, e - b), deadline, steps, depth};
    std::string out = r.run();
    steps = r.steps;
    --depth;
    return out;
  }

  std::string run() {
    static constexpr std::array<std::string_view, 17> kDrop = {
        "\\left",    "\\right", "\\displaystyle", "\\!",    "\\,",     "\\;",    "\\:",       "\\ ",
        "\\$",       "\\%",     "\\bigl",         "\\bigr", "\\qquad", "\\quad", "\\enspace", "\\thinspace",
        "\\medspace"};
    std::string out;
    size_t i = 0;
    while (i < s.size()) {
      tick();
      char c = s[i];
      if (c == '\\' && i + 1 < s.size() && s[i + 1] == '\\' && (i + 2 >= s.size() || !is_alpha(s[i + 2]))) {
        // A row break (a matrix's, an array's): its second backslash starts no command. Read alone, "\\ -1"
        // lost its space as the control space "\ ", so "2 \\ -1" and "2\\-1" differed. (Before a letter
        // the pair reads as before: a doubly escaped "\\pi" is \pi.)
        out += "\\\\";
        i += 2;
        continue;
      }
      if (c == '\\') {
        bool dropped = false;
        for (auto d : kDrop) {
          if (s.substr(i, d.size()) == d && (d.size() < 3 || !is_alpha(d.back()) ||
                                             i + d.size() >= s.size() || !is_alpha(s[i + d.size()]))) {
            i += d.size();
            dropped = true;
            break;
          }
        }
        if (dropped) continue;
        size_t j = i + 1;
        // A set's braces, \{ and \}, are written brackets (their commas separate elements), not a group.
        if (j < s.size() && (s[j] == '{' || s[j] == '}')) {
          out += s[j] == '{' ? "\\(" : "\\)";
          i = j + 1;
          continue;
        }
        while (j < s.size() && is_alpha(s[j])) ++j;
        std::string_view cmd = s.substr(i + 1, j - i - 1);
        if (cmd == "frac" || cmd == "dfrac" || cmd == "tfrac" || cmd == "cfrac") {
          size_t b1, e1, n1, b2, e2, n2;
          if (!group(j, &b1, &e1, &n1) || !group(n1, &b2, &e2, &n2)) return out + std::string(s.substr(i));
          const std::string num = sub(b1, e1), den = sub(b2, e2);
          if (!mixed_number(out, num, den)) out += grouped(grouped(num) + "/" + grouped(den));
          i = n2;
          continue;
        }
        if (cmd == "sqrt") {
          size_t k = j;
          while (k < s.size() && s[k] == ' ') ++k;
          std::string index;
          if (k < s.size() && s[k] == '[') {
            size_t close = s.find(']', k);
            if (close == std::string_view::npos) return out + std::string(s.substr(i));
            index = sub(k + 1, close);
            k = close + 1;
          }
          size_t b, e, n;
          if (!group(k, &b, &e, &n)) return out + std::string(s.substr(i));
          std::string body = sub(b, e);
          word_apart(out);
          out += index.empty() ? "sqrt" + grouped(body)
                               : grouped(grouped(body) + "^" + grouped("1/" + grouped(index)));
          i = n;
          continue;
        }
        if (cmd == "text" || cmd == "textbf" || cmd == "mathrm" || cmd == "mathbf" || cmd == "mbox" ||
            cmd == "textrm" || cmd == "operatorname" || cmd == "boxed") {
          size_t b, e, n;
          if (!group(j, &b, &e, &n)) return out + std::string(s.substr(i));
          out += ' ';
          out += sub(b, e);
          out += ' ';
          i = n;
          continue;
        }
        if (cmd == "cdot" || cmd == "times" || cmd == "ast") {
          out += '*';
        } else if (cmd == "div") {
          out += '/';
        } else if (cmd == "pi") {
          word_apart(out);
          out += "pi";
        } else if (cmd == "circ" || cmd == "degree") {
          // degrees: dropped
        } else if (cmd == "approx" || cmd == "eq") {
          out += '=';
        } else if (cmd == "neq" || cmd == "ne") {
          out += "!=";
        } else {
          out += std::string(s.substr(i, j - i));
        }
        i = j;
        continue;
      }
      if (c == '^') {
        // ^\circ and ^{\circ} are degree marks, not powers.
        std::string_view rest = s.substr(i + 1);
        if (rest.starts_with("\\circ") || rest.starts_with("{\\circ}")) {
          i += rest.starts_with("\\circ") ? 6 : 8;
          out += ' ';  // "25^{\\circ}F": the scale's letter stands apart, as a unit
          continue;
        }
        size_t b, e, n;
        if (!group(i + 1, &b, &e, &n)) {
          out += '^';
          ++i;
          continue;
        }
        out += '^';
        out += grouped(sub(b, e));
        i = n;
        continue;
      }
      if (s.substr(i, 3) == "{,}") {  // LaTeX thousands separator
        i += 3;
        continue;
      }
      if (c == '{') {
        out += kGroupOpen;
      } else if (c == '}') {
        out += kGroupClose;
      } else if (c == '~') {
        out += ' ';  // LaTeX's unbreakable space
      } else if (c == '$' || c == '%') {
        // dropped
      } else if ((unsigned char)c == 0xC2 && i + 1 < s.size() && (unsigned char)s[i + 1] == 0xB0) {
        ++i;  // the degree sign
      } else {
        out += c;
      }
      ++i;
    }
    return out;
  }
};

// "1,234,567" and "1 234 567" -> "1234567" where every group after the first has exactly three digits
// (one separator throughout). Other digits with a space between ("1 2", "12 3") stay apart, and so does
// everything inside written brackets, where a comma separates elements: "(3,100)" is a pair, not 3100
// (the groups the rewriting made, kGroupOpen/kGroupClose, do not count).
std::string drop_thousands_separators(const std::string& s) {
  std::string out;
  size_t i = 0;
  int depth = 0;
  while (i < s.size()) {
    if (s[i] == '(' || s[i] == '[') ++depth;
    if ((s[i] == ')' || s[i] == ']') && depth > 0) --depth;
    if (depth == 0 && is_digit(s[i]) && (i == 0 || (!is_digit(s[i - 1]) && s[i - 1] != '.'))) {
      size_t j = i;
      while (j < s.size() && is_digit(s[j])) ++j;
      size_t lead = j - i;
      size_t k = j;
      int groups = 0;
      const char sep = j < s.size() && (s[j] == ',' || s[j] == ' ') ? s[j] : ',';
      while (k + 3 < s.size() && s[k] == sep && is_digit(s[k + 1]) && is_digit(s[k + 2]) &&
             is_digit(s[k + 3]) && (k + 4 >= s.size() || !is_digit(s[k + 4]))) {
        k += 4;
        ++groups;
      }
      if (lead <= 3 && groups > 0) {
        for (size_t t = i; t < k; ++t) {
          if (s[t] != sep) out += s[t];
        }
        i = k;
        continue;
      }
      out.append(s, i, j - i);
      i = j;
      continue;
    }
    out += s[i++];
  }
  return out;
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace((unsigned char)s[b])) ++b;
  while (e > b && std::isspace((unsigned char)s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

// Whether `pred` holds for a word (a run of letters) of `text`.
template <typename Pred>
bool any_word(std::string_view text, Pred pred) {
  for (size_t k = 0; k < text.size();) {
    if (!is_alpha(text[k])) {
      ++k;
      continue;
    }
    size_t e = k;
    while (e < text.size() && is_alpha(text[e])) ++e;
    if (pred(text.substr(k, e - k))) return true;
    k = e;
  }
  return false;
}

// Words after a number that make it something else than a quantity with a unit: number words ("3 million",
// "2 and a half", "10 squared"), operations on it ("5 reciprocal", "7 mod") and hedges ("5 or more", "1 or
// two", "5 is wrong"). Dropped as a unit, each answered the bare number. (Words that are also part of units
// and counted things, "square units", "2 real roots", "6 positive divisors", change it only alone:
// changes_the_number_alone.)
bool changes_the_number(std::string_view word) {
  static constexpr std::string_view kWords[] = {
      "zero",       "one",        "two",         "three",      "four",       "five",          "six",
      "seven",      "eight",      "nine",        "ten",        "eleven",     "twelve",        "thirteen",
      "fourteen",   "fifteen",    "sixteen",     "seventeen",  "eighteen",   "nineteen",      "twenty",
      "thirty",     "forty",      "fifty",       "sixty",      "seventy",    "eighty",        "ninety",
      "hundred",    "hundreds",   "thousand",    "thousands",  "million",    "millions",      "billion",
      "billions",   "trillion",   "trillions",   "half",       "halves",     "third",         "thirds",
      "quarter",    "quarters",   "fifth",       "fifths",     "tenth",      "tenths",        "dozen",
      "dozens",     "squared",    "cubed",       "percentile", "or",         "and",           "to",
      "at",         "least",      "most",        "more",       "less",       "fewer",         "than",
      "not",        "no",         "is",          "are",        "was",        "were",          "be",
      "maybe",      "perhaps",    "possibly",    "probably",   "about",      "approximately", "approx",
      "around",     "roughly",    "nearly",      "almost",     "over",       "under",         "above",
      "below",      "between",    "plus",        "minus",      "times",      "equals",        "either",
      "nor",        "but",        "if",          "wrong",      "incorrect",  "correct",       "true",
      "false",      "none",       "all",         "any",        "each",       "every",         "factorial",
      "factorials", "sixth",      "sixths",      "seventh",    "sevenths",   "eighth",        "eighths",
      "ninth",      "ninths",     "hundredth",   "hundredths", "thousandth", "thousandths",   "millionth",
      "millionths", "reciprocal", "reciprocals", "inverse",    "inverses",   "opposite",      "except",
      "excluding",  "mod",        "modulo",      "twice",      "neither",    "unless",        "otherwise",
      "nope"};
  std::string lower(word);
  for (char& c : lower) c = char(std::tolower((unsigned char)c));
  return std::find(std::begin(kWords), std::end(kWords), lower) != std::end(kWords);
}

// A tail of one word that changes the number, which with more words is part of a unit or a counted thing
// ("25 square units", "8 cubes", "2 real roots", "6 positive divisors", "4 negative numbers"): "5 negative",
// "9 square", "2 root".
bool changes_the_number_alone(std::string_view tail) {
  static constexpr std::string_view kWords[] = {
      "negative", "positive", "square", "cube", "root", "power", "double", "triple",
  };
  std::string lower(tail);
  for (char& c : lower) c = char(std::tolower((unsigned char)c));
  return std::find(std::begin(kWords), std::end(kWords), lower) != std::end(kWords);
}

// The symbols of units, as they follow a number ("5cm", "60 km/h", "3 m^2").
bool unit_symbol(std::string_view w) {
  static constexpr std::string_view kSymbols[] = {
      "m",   "cm",  "mm",  "km",  "nm",  "g",   "kg",   "mg",  "s",   "ms",  "ns", "min", "h",  "hr",  "hrs",
      "L",   "l",   "mL",  "ml",  "N",   "J",   "kJ",   "W",   "kW",  "kWh", "V",  "mV",  "A",  "mA",  "K",
      "Pa",  "kPa", "Hz",  "kHz", "MHz", "GHz", "mph",  "kph", "kmh", "ft",  "yd", "mi",  "lb", "lbs", "oz",
      "in",  "deg", "rad", "sec", "mol", "cal", "kcal", "cc",  "sq",  "gal", "qt", "pt",  "ha", "dm",  "yr",
      "yrs", "wk",  "dB",  "GB",  "MB",  "KB",  "kB",   "kb",  "TB",  "am",  "pm", "AM",  "PM", "C",   "F"};
  return std::find(std::begin(kSymbols), std::end(kSymbols), w) != std::end(kSymbols);
}

// Whether every word of `tail` (what follows the number) is a unit: a unit symbol, or after a space a word of
// three letters or more ("dollars", "apples", "meters"), and every power a unit symbol's ("m^2", "m/s^2").
// Variables are not units: "6xy", "6 x^3 y^5", "\frac{4\pi}{3} r^3" and "\frac{1}{2}bh" were reduced to
// their coefficient, which any answer with that coefficient matched.
bool unit_words(std::string_view tail, bool spaced) {
  // Times of day, whose points split them into letters: "a.m.", "p.m." (a trailing point is gone already).
  std::string bare(tail);
  std::erase_if(bare, [](char c) { return c == ' ' || c == '.'; });
  if (spaced && (bare == "am" || bare == "pm" || bare == "AM" || bare == "PM")) return true;
  for (size_t k = 0; k < tail.size();) {
    if (!is_alpha(tail[k])) {
      ++k;
      continue;
    }
    size_t e = k;
    while (e < tail.size() && is_alpha(tail[e])) ++e;
    const std::string_view w = tail.substr(k, e - k);
    const bool symbol = unit_symbol(w);
    // A word glued to the number must be a symbol ("5cm"); one after a space may be any word of 3 letters.
    const bool glued = k == 0 && !spaced;
    if (!symbol && (glued || w.size() < 3)) return false;
    // A power is a unit's ("m^2", "cm^3") only on a symbol, and a single letter's only on m ("s^2" is a
    // side squared unless it follows "m/").
    if (e < tail.size() && tail[e] == '^') {
      if (!symbol && w.size() < 3) return false;  // "units^2" is a unit, "r^3" a variable
      if (w.size() == 1 && w != "m" && !(k > 0 && tail[k - 1] == '/')) return false;
    }
    k = e;
  }
  return true;
}

// Drops a trailing unit: "5 cm", "12 dollars", "3 m^2", "60 km/h", "5cm". A single letter glued to a number
// ("2x") or after a space ("2 x") is a variable, not a unit, and stays, but for a few SI symbols ("5 m",
// "3 s"); so does a tail with a word that changes the number (changes_the_number).
std::string strip_units(const std::string& s) {
  size_t first_alpha = std::string::npos;
  for (size_t i = 0; i < s.size(); ++i) {
    if (is_alpha(s[i])) {
      // Skip the evaluator's own words.
      if (s.compare(i, 4, "sqrt") == 0) {
        i += 3;
        continue;
      }
      if (s.compare(i, 2, "pi") == 0 && (i + 2 >= s.size() || !is_alpha(s[i + 2]))) {
        ++i;
        continue;
      }
      first_alpha = i;
      break;
    }
  }
  if (first_alpha == std::string::npos || first_alpha == 0) return s;
  std::string tail = s.substr(first_alpha);
  for (size_t k = 0; k < tail.size(); ++k) {
    char c = tail[k];
    if (!(is_alpha(c) || c == ' ' || c == '^' || c == '/' || c == '.' || c == '(' || c == ')' || is_digit(c)))
      return s;
    // Digits in a unit are exponents ("m^2", "m^(2)", "cm^12"). Another number after the words ("3 or 4",
    // "1 and 2") is not a unit: dropping it would read a hedged answer as its first candidate.
    if (is_digit(c)) {
      size_t q = k;
      while (q > 0 && (is_digit(tail[q - 1]) || tail[q - 1] == '(')) --q;
      if (q == 0 || tail[q - 1] != '^') return s;
    }
  }
  size_t letters = 0;
  while (letters < tail.size() && is_alpha(tail[letters])) ++letters;
  bool spaced = std::isspace((unsigned char)s[first_alpha - 1]) != 0;
  if (!spaced && letters < 2) return s;
  if (letters == 1 && letters == tail.size() &&
      std::string_view("mgshLKNJWVCF").find(tail[0]) == std::string_view::npos)
    return s;
  if (any_word(tail, changes_the_number) || changes_the_number_alone(trim(tail))) return s;
  if (!unit_words(tail, spaced)) return s;
  std::string head = trim(s.substr(0, first_alpha));
  if (head.empty() || !(is_digit(head.back()) || head.back() == ')')) return s;
  return head;
}

// Whether `lhs` (the text before an equals sign, rewritten) names what the right side gives: a variable or a
// function's value ("x", "x_1", "f(2)", "\\angle ABC", "P(A)"), letters with subscripts and arguments, no
// arithmetic outside the arguments.
bool names_a_value(std::string_view lhs) {
  // A tuple of names: "(x, y) = (1, 2)".
  const std::string t = trim(lhs);
  if (t.size() >= 2 && t.front() == '(' && t.back() == ')' && t.find(',') != std::string::npos) {
    std::string_view inner = std::string_view(t).substr(1, t.size() - 2);
    for (size_t start = 0;;) {
      const size_t comma = inner.find(',', start);
      const std::string_view part = inner.substr(start, comma - start);
      if (part.find_first_of("()") != std::string_view::npos || !names_a_value(part)) return false;
      if (comma == std::string_view::npos) return true;
      start = comma + 1;
    }
  }
  int depth = 0;
  bool letter = false;
  char before = ' ';
  for (size_t i = 0; i < lhs.size(); ++i) {
    const char c = lhs[i];
    if (c == '(' || c == '[' || c == kGroupOpen) {
      ++depth;
    } else if (c == ')' || c == ']' || c == kGroupClose) {
      --depth;
    } else if (depth == 0) {
      if (is_alpha(c)) {
        letter = true;
      } else if (is_digit(c)) {
        if (before != '_' && !is_digit(before)) return false;  // a coefficient, not a subscript
      } else if (c == '^') {
        // An inverse's value, f^{-1}(3); any other power is arithmetic.
        const std::string_view rest = lhs.substr(i + 1);
        if (!rest.starts_with("(-1)") && !rest.starts_with("\x01-1\x02")) return false;
      } else if (c != ' ' && c != '\\' && c != '_' && c != '\'' && c != '|') {
        return false;
      }
    }
    if (c != kGroupOpen) before = c;
  }
  return letter && depth == 0;
}

// Where the value after the last equals sign starts, when the text ends in one ("a = 2 + 3 = 5"), or npos:
// no '=' (those of "<=", ">=", "!=" do not count), or equations that are several answers ("x = 3, y = 2",
// "x = 1 or x = 2").
size_t final_value_at(std::string_view out) {
  size_t eq = std::string_view::npos, equals = 0;
  for (size_t k = 0; k < out.size(); ++k)
    if (out[k] == '=' && (k == 0 || (out[k - 1] != '!' && out[k - 1] != '<' && out[k - 1] != '>'))) {
      eq = k;
      ++equals;
    }
  if (equals == 0) return std::string_view::npos;
  const bool several_answers = out.find_first_of(",;") != std::string_view::npos ||
                               any_word(out, [](std::string_view w) { return w == "or" || w == "and"; });
  return equals == 1 || !several_answers ? eq + 1 : std::string_view::npos;
}

// The rewriting itself, for text of any length (canonical_text's input has been through latex_to_expr).
std::string rewrite(std::string_view answer, const Deadline& deadline) {
  // The group markers are the rewriting's own: any in the text are read as spaces.
  std::string text;
  if (answer.find_first_of(std::string_view("\x01\x02", 2)) != std::string_view::npos) {
    text = answer;
    std::replace_if(
        text.begin(), text.end(), [](char c) { return c == kGroupOpen || c == kGroupClose; }, ' ');
    answer = text;
  }
  Rewriter r{answer, deadline};
  std::string out = r.run();
  // "x = 3", "x = 2 + 3 = 5", "f(2) = 7": the value after the last equals sign, where what comes before the
  // first one names the answer. Not an equation whose left side is an expression ("2x - y + 3z + 8 = 0", a
  // plane: reduced to "0", any answer 0 matched it), nor equations that are several answers ("x = 3, y = 2",
  // "x = 1 or x = 2"), which read from the last one answered 2.
  if (const size_t at = final_value_at(out);
      at != std::string::npos && names_a_value(std::string_view(out).substr(0, out.find('='))))
    out = out.substr(at);
  out = drop_thousands_separators(out);
  std::replace(out.begin(), out.end(), kGroupOpen, '(');
  std::replace(out.begin(), out.end(), kGroupClose, ')');
  out = trim(out);
  while (!out.empty() && (out.back() == '.')) out.pop_back();
  return strip_units(trim(out));
}

}  // namespace

namespace {

using Sign = std::pair<std::string_view, char>;

// `text` with each of `signs` replaced by its ASCII character.
std::string with_ascii(std::string_view text, std::span<const Sign> signs) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto sign = std::find_if(signs.begin(), signs.end(),
                                   [&](const Sign& s) { return text.substr(i, s.first.size()) == s.first; });
    if (sign != signs.end()) {
      out += sign->second;
      i += sign->first.size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

}  // namespace

namespace {

// Dashes that sign a number only where one follows (see latex_normalize.hpp).
constexpr std::string_view kSignDashes[] = {"\u2010", "\u2011", "\u2012", "\u2013", "\ufe63", "\uff0d"};

// The length of the minus sign at text[i], or 0.
size_t minus_at(std::string_view text, size_t i) {
  if (text.substr(i, kUnicodeMinus.size()) == kUnicodeMinus) return kUnicodeMinus.size();
  for (std::string_view dash : kSignDashes) {
    if (text.substr(i, dash.size()) != dash) continue;
    const std::string_view after = text.substr(i + dash.size());
    const bool number_follows =
        !after.empty() && (is_digit(after[0]) || (after.size() > 1 && after[0] == '.' && is_digit(after[1])));
    const bool after_digit = i > 0 && is_digit(text[i - 1]);
    return number_follows && !after_digit ? dash.size() : 0;
  }
  return 0;
}

}  // namespace

bool has_unicode_minus(std::string_view text) {
  // Every one of them starts with 0xE2 or 0xEF.
  for (size_t i = text.find_first_of("\xe2\xef"); i != std::string_view::npos;
       i = text.find_first_of("\xe2\xef", i + 1))
    if (minus_at(text, i) > 0) return true;
  return false;
}

std::string with_ascii_minus(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t n = minus_at(text, i);
    if (n > 0) {
      out += '-';
      i += n;
    } else {
      out += text[i++];
    }
  }
  return out;
}

namespace {

// The answer as written, without what only frames it: Markdown bold around the whole of it ("**5**"; "2**3"
// inside stays), and the math delimiters \( \) \[ \] (as $ is dropped). "\(5\)" and "**5**" answered
// nothing. Done once, on the text as written: the rewriting writes a set's braces \{ \} as \( \), and
// reads its own output again (canonical_text).
std::string without_framing(std::string_view answer) {
  std::string bare = trim(answer);
  // A sentence's full stop after the bold ("**5**.") is dropped later anyway, as after any answer.
  size_t end = bare.size();
  while (end > 0 && bare[end - 1] == '.') --end;
  if (end > 4 && bare.starts_with("**") && bare.compare(end - 2, 2, "**") == 0 &&
      bare.find("**", 2) == end - 2)
    bare = trim(std::string_view(bare).substr(2, end - 4));
  std::string out;
  out.reserve(bare.size());
  for (size_t i = 0; i < bare.size(); ++i) {
    if (bare[i] == '\\' && i + 1 < bare.size()) {
      const char next = bare[i + 1];
      if (next == '(' || next == ')' || next == '[' || next == ']') {
        ++i;
        continue;
      }
      out += bare[i++];  // an escape's second character is its own (\\( is a line break, then "(")
    }
    out += bare[i];
  }
  return out;
}

}  // namespace

std::string latex_to_expr(std::string_view raw_answer, const Deadline& deadline) {
  // Too long to compare: no answer, rather than its first 8,000 characters (two long answers that shared
  // them compared equal).
  if (raw_answer.size() > kMaxExpressionChars * 4) return "";
  const std::string unframed = without_framing(raw_answer);
  const std::string_view answer = unframed;
  // The Unicode signs of arithmetic as the ASCII ones the evaluator reads: "6 ÷ 2", "1.5 × 10^3", "−4". (Only
  // the minus sign elsewhere: a task's verifier reads "3 × 4" as it is written.)
  // And the spaces typeset numbers group their digits with (no-break, narrow no-break and thin: "1 234"),
  // as the plain space that joins such groups.
  static constexpr Sign kSigns[] = {{"\u00d7", '*'}, {"\u22c5", '*'}, {"\u00b7", '*'}, {"\u00f7", '/'},
                                    {"\u2215", '/'}, {"\u00a0", ' '}, {"\u202f", ' '}, {"\u2009", ' '}};
  const std::string signed_answer = has_unicode_minus(answer) ? with_ascii_minus(answer) : std::string();
  const std::string_view ascii_minus = signed_answer.empty() ? answer : std::string_view(signed_answer);
  if (std::none_of(std::begin(kSigns), std::end(kSigns),
                   [&](const Sign& sign) { return ascii_minus.find(sign.first) != std::string_view::npos; }))
    return rewrite(ascii_minus, deadline);
  return rewrite(with_ascii(ascii_minus, kSigns), deadline);
}

std::optional<std::string> value_after_equals(std::string_view expr) {
  const size_t at = final_value_at(expr);
  if (at == std::string_view::npos) return std::nullopt;
  std::string v = trim(expr.substr(at));
  if (v.empty()) return std::nullopt;
  return v;
}

std::optional<Assignment> assignment_of(std::string_view element) {
  const size_t eq = element.find('=');
  if (eq == std::string_view::npos || element.find('=', eq + 1) != std::string_view::npos)
    return std::nullopt;
  if (eq > 0 && (element[eq - 1] == '!' || element[eq - 1] == '<' || element[eq - 1] == '>'))
    return std::nullopt;
  if (!names_a_value(element.substr(0, eq))) return std::nullopt;
  Assignment a;
  for (const char c : element.substr(0, eq))
    if (!std::isspace(static_cast<unsigned char>(c))) a.name += c;
  // A braced subscript is the same name: x_{1} (rewritten x_(1)) is x_1.
  for (size_t at = a.name.find("_("); at != std::string::npos; at = a.name.find("_(", at + 1)) {
    const size_t close = a.name.find(')', at);
    if (close == std::string::npos || a.name.find('(', at + 2) < close) break;
    a.name.erase(close, 1);
    a.name.erase(at + 1, 1);
  }
  a.value = trim(element.substr(eq + 1));
  if (a.value.empty()) return std::nullopt;
  return a;
}

std::string canonical_text(std::string_view expr, const Deadline& deadline) {
  std::string e = rewrite(expr, deadline);
  std::string out;
  for (size_t k = 0; k < e.size(); ++k) {
    const char c = e[k];
    if (c == '\\') {
      // A command name keeps its case: \Gamma and \gamma (\Delta, \delta) are different symbols.
      out += c;
      while (k + 1 < e.size() && std::isalpha((unsigned char)e[k + 1])) out += e[++k];
      continue;
    }
    if (!std::isspace((unsigned char)c)) {
      out += char(std::tolower((unsigned char)c));
      continue;
    }
    // Digits apart stay apart ("1 2" is not 12; thousands groups were joined by the rewrite).
    size_t next = k;
    while (next < e.size() && std::isspace((unsigned char)e[next])) ++next;
    if (!out.empty() && is_digit(out.back()) && next < e.size() && is_digit(e[next])) out += ' ';
    k = next - 1;
  }
  while (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

}  // namespace seek::reward

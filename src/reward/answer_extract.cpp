// Final-answer extraction (see answer_extract.hpp for the precedence rules).
#include "reward/answer_extract.hpp"

#include <algorithm>
#include <cctype>

#include "reward/latex_normalize.hpp"

namespace seek::reward {

namespace {

constexpr std::string_view kThinkOpen = "<think>", kThinkClose = "</think>";
constexpr std::string_view kAnswerOpen = "<answer>", kAnswerClose = "</answer>";

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Whether the text after a "####" reads as an answer rather than a heading: past any markdown emphasis or
// dollar signs it starts with a digit, a sign, a decimal point, a LaTeX command or a parenthesis.
bool starts_like_answer(std::string_view t) {
  size_t i = t.find_first_not_of("*$ ");
  if (i == std::string_view::npos) return false;
  const char c = t[i];
  return is_digit(c) || c == '-' || c == '+' || c == '.' || c == '\\' || c == '(';
}

}  // namespace

const char* answer_source_name(AnswerSource s) {
  switch (s) {
    case AnswerSource::None:
      return "none";
    case AnswerSource::AnswerTag:
      return "answer_tag";
    case AnswerSource::Boxed:
      return "boxed";
    case AnswerSource::Gsm8k:
      return "gsm8k";
    case AnswerSource::LastNumber:
      return "last_number";
  }
  return "none";
}

std::string trim_copy(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace((unsigned char)s[b])) ++b;
  while (e > b && std::isspace((unsigned char)s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

std::string_view visible_part(std::string_view c, bool think_prefilled) {
  size_t close = c.rfind(kThinkClose);
  if (close != std::string_view::npos) {
    // A <think> opened again after it and never closed is reasoning too.
    const std::string_view after = c.substr(close + kThinkClose.size());
    return after.substr(0, after.find(kThinkOpen));
  }
  if (think_prefilled) return {};
  size_t open = c.find(kThinkOpen);
  return open == std::string_view::npos ? c : c.substr(0, open);
}

std::optional<std::string> last_boxed(std::string_view text, bool* present) {
  size_t best = std::string_view::npos, name_len = 0;
  for (std::string_view name : {std::string_view("\\boxed"), std::string_view("\\fbox")}) {
    size_t p = text.rfind(name);
    if (p != std::string_view::npos && (best == std::string_view::npos || p > best)) {
      best = p;
      name_len = name.size();
    }
  }
  if (present) *present = best != std::string_view::npos;
  if (best == std::string_view::npos) return std::nullopt;
  size_t i = best + name_len;
  // "\boxed {12 + 3}": spaces before the brace.
  size_t brace = i;
  while (brace < text.size() && text[brace] == ' ') ++brace;
  if (brace < text.size() && text[brace] == '{') i = brace;
  if (i < text.size() && text[i] == ' ') {
    // "\boxed 5": up to the next space or '$'.
    size_t b = i + 1, e = b;
    while (e < text.size() && text[e] != '$' && !std::isspace((unsigned char)text[e])) ++e;
    if (e == b) return std::nullopt;
    return std::string(text.substr(b, e - b));
  }
  if (i >= text.size() || text[i] != '{') return std::nullopt;
  int depth = 0;
  for (size_t j = i; j < text.size(); ++j) {
    if (text[j] == '\\' && j + 1 < text.size() && (text[j + 1] == '{' || text[j + 1] == '}')) {
      ++j;  // an escaped brace \{ \} does not nest
      continue;
    }
    if (text[j] == '{') ++depth;
    if (text[j] == '}' && --depth == 0) return trim_copy(text.substr(i + 1, j - i - 1));
  }
  return std::nullopt;
}

size_t count_answer_blocks(std::string_view text) {
  size_t n = 0, pos = 0;
  for (;;) {
    size_t open = text.find(kAnswerOpen, pos);
    if (open == std::string_view::npos) return n;
    size_t close = text.find(kAnswerClose, open + kAnswerOpen.size());
    if (close == std::string_view::npos) return n;
    ++n;
    pos = close + kAnswerClose.size();
  }
}

std::string last_number(std::string_view t) {
  // Scan backwards for the last digit, then extend over digits, separators and one sign.
  size_t e = t.size();
  while (e > 0 && !is_digit(t[e - 1])) --e;
  if (e == 0) return "";
  size_t b = e;
  const auto extend_over_digits = [&] {
    while (b > 0 &&
           (is_digit(t[b - 1]) || ((t[b - 1] == ',' || t[b - 1] == '.') && b >= 2 && is_digit(t[b - 2]))))
      --b;
  };
  extend_over_digits();
  // The exponent of scientific notation ("1.2e3", "5E-4") takes its mantissa along: alone, its digits
  // answered 3.
  size_t e_at = b;
  if (e_at >= 2 && (t[e_at - 1] == '-' || t[e_at - 1] == '+')) --e_at;
  if (e_at >= 2 && (t[e_at - 1] == 'e' || t[e_at - 1] == 'E') && is_digit(t[e_at - 2])) {
    b = e_at - 1;
    extend_over_digits();
  }
  // Part of a formula, not a number on its own: "\frac{1}{2}", "x^2", "3/4", "\sqrt{3}", "a_1". Its last
  // digits answered 2, 2, 4 and 3; there is no plain last number to take.
  const std::string_view touching_before = "{}^_/\\", touching_after = "}^_/";
  if ((b > 0 && touching_before.find(t[b - 1]) != std::string_view::npos) ||
      (e < t.size() && touching_after.find(t[e]) != std::string_view::npos))
    return "";
  // A sign, not the dash of a range ("5-7" ends with 7, not -7).
  if (b > 0 && t[b - 1] == '-' && (b == 1 || !std::isalnum((unsigned char)t[b - 2]))) --b;
  return std::string(t.substr(b, e - b));
}

std::optional<std::string> gsm8k_answer(std::string_view text, const Deadline& deadline) {
  // Backwards over every "####", each line's end found once: the line after a marker reaches the first
  // newline past it, which only moves back as the markers do (finding it anew for each of 100,000 markers on
  // one long line took seconds).
  size_t line_end = text.size(), searched_from = text.size();
  size_t steps = 0;
  for (size_t h = text.rfind("####"); h != std::string_view::npos;
       h = h == 0 ? std::string_view::npos : text.rfind("####", h - 1)) {
    if ((++steps & 1023) == 0) check(deadline);
    if (h + 4 < searched_from) {
      const size_t nl = text.substr(h + 4, searched_from - h - 4).find('\n');
      if (nl != std::string_view::npos) line_end = h + 4 + nl;
      searched_from = h + 4;
    }
    std::string_view line = text.substr(h + 4, line_end - h - 4);
    const size_t first = line.find_first_not_of(" \t\r\v\f");
    if (first == std::string_view::npos || !starts_like_answer(line.substr(first))) continue;
    return trim_copy(line);
  }
  return std::nullopt;
}

// The number on the last GSM8K answer line of `text` ("#### 72", "#### -1,234.5", "#### $18"): exactly four
// '#', then a number and nothing else. Stricter than rule 4's "starts like an answer", which also takes a
// numbered heading ("#### 2. Check"): only such a line overrides a reference's box or answer block.
std::optional<std::string> answer_line_number(std::string_view text) {
  std::optional<std::string> found;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    const size_t start = line.find_first_not_of(" \t");
    if (start == std::string_view::npos || line.substr(start, 4) != "####") continue;
    const std::string tail = trim_copy(line.substr(start + 4));
    if (tail.empty() || tail[0] == '#') continue;
    const bool number = std::any_of(tail.begin(), tail.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                        std::all_of(tail.begin(), tail.end(),
                                    [](char c) {
                                      return (c >= '0' && c <= '9') || c == ',' || c == '.' || c == '-' ||
                                             c == '+' || c == '$' || c == '/';
                                    }) &&
                        tail.find_first_of("0123456789") <= 2 && tail.back() != ',';
    if (number) found = tail.back() == '.' ? tail.substr(0, tail.size() - 1) : tail;
  }
  return found;
}

std::string reference_answer(std::string_view written) {
  // U+2212 as '-', as completions read it: "#### −5" starts an answer.
  std::string ascii;
  std::string_view raw = written;
  if (has_unicode_minus(raw)) {
    ascii = with_ascii_minus(raw);
    raw = ascii;
  }
  // The rules completions are read by, but the last number: a reference with none of their markers is the
  // answer as written. (GSM8K's "####" came first: a solution's heading "#### 1. Set up" was taken over its
  // \boxed{1234}, and a reference "<answer>1234</answer>" stayed whole, matched by no completion.)
  ExtractOptions o;
  o.allow_last_number = false;
  if (const ExtractedAnswer a = extract_answer(raw, o, Deadline()); a.found()) {
    // A box mid-solution and GSM8K's "#### 7" at its end: a reference's final answer is the one written last.
    if (a.source == AnswerSource::Boxed) {
      const std::string_view vis = visible_part(raw, false);
      size_t box = vis.rfind("\\boxed");
      if (const size_t fbox = vis.rfind("\\fbox");
          box == std::string_view::npos || (fbox != std::string_view::npos && fbox > box))
        box = fbox;
      if (box != std::string_view::npos)
        if (auto later = answer_line_number(vis.substr(box))) return *later;
    }
    // An answer block that holds a GSM8K solution: its answer line.
    if (a.source == AnswerSource::AnswerTag)
      if (auto line = answer_line_number(a.text)) return *line;
    return a.text;
  }
  // Then the markers anywhere, thinking included (a reasoning trace whose answer stands inside <think>), and
  // GSM8K's after a \boxed{ never closed.
  const size_t close = raw.rfind(kAnswerClose);
  const size_t open = close == std::string_view::npos ? close : raw.rfind(kAnswerOpen, close);
  if (open != std::string_view::npos) {
    const std::string_view body = raw.substr(open + kAnswerOpen.size(), close - open - kAnswerOpen.size());
    const std::string text = last_boxed(body).value_or(trim_copy(body));
    if (!text.empty()) return text;
  }
  if (auto n = gsm8k_answer(raw, Deadline())) return *n;
  if (auto boxed = last_boxed(raw)) return *boxed;
  return trim_copy(raw);
}

ExtractedAnswer extract_answer(std::string_view completion, const ExtractOptions& o,
                               const Deadline& deadline) {
  check(deadline);
  ExtractedAnswer out;
  std::string_view vis = visible_part(completion, o.think_prefilled);
  // Every rule (and a task's integer parser after them) reads U+2212, and a dash signing a number, as the
  // '-' it is (latex_normalize.hpp).
  std::string ascii;
  if (has_unicode_minus(vis)) {
    ascii = with_ascii_minus(vis);
    vis = ascii;
  }

  // Rule 1: the last complete <answer> block.
  // The last <answer> that is closed, up to its own (first) </answer>: a stray "</answer>" after a
  // complete block does not pull the block's closing tag into the answer.
  size_t close = vis.rfind(kAnswerClose);
  size_t open = close == std::string_view::npos ? close : vis.rfind(kAnswerOpen, close);
  if (open != std::string_view::npos) close = vis.find(kAnswerClose, open + kAnswerOpen.size());
  if (open != std::string_view::npos && close != std::string_view::npos) {
    if (o.reject_multiple_answers && count_answer_blocks(vis) > 1) return out;
    std::string_view body = vis.substr(open + kAnswerOpen.size(), close - open - kAnswerOpen.size());
    bool has_box = false;
    auto boxed = last_boxed(body, &has_box);
    if (has_box) {
      if (!boxed || !o.allow_boxed) return out;
      out.text = *boxed;
    } else {
      out.text = trim_copy(body);
    }
    if (out.text.empty()) return out;
    out.source = AnswerSource::AnswerTag;
    return out;
  }
  if (o.require_answer_tag) return out;
  check(deadline);

  // Rule 3: \boxed.
  if (o.allow_boxed) {
    bool has_box = false;
    auto boxed = last_boxed(vis, &has_box);
    if (has_box) {
      if (boxed && !boxed->empty()) {
        out.text = *boxed;
        out.source = AnswerSource::Boxed;
      }
      return out;
    }
  }
  // Rule 4: GSM8K "#### n". A "####" followed by words is a markdown heading ("#### Step 2"), not an
  // answer marker: it is skipped, as verl's GSM8K scorer (which wants a number there) skips it.
  if (o.allow_gsm8k) {
    if (auto n = gsm8k_answer(vis, deadline)) {
      out.text = *n;
      out.source = AnswerSource::Gsm8k;
      return out;
    }
  }
  // Rule 5: the last number.
  if (o.allow_last_number) {
    std::string n = last_number(vis);
    if (!n.empty()) {
      out.text = n;
      out.source = AnswerSource::LastNumber;
    }
  }
  return out;
}

}  // namespace seek::reward

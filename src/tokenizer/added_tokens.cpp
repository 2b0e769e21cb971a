// Trie matching of added tokens; see added_tokens.hpp.
#include "tokenizer/added_tokens.hpp"

#include "tokenizer/pretokenizer.hpp"
#include "tokenizer/regex.hpp"
#include "tokenizer/utf8.hpp"

namespace seek::tok {
namespace {

// Whether the one character `c` is a word character as Hugging Face's single_word test reads it: the Rust
// regex crate's Unicode \w (Alphabetic, marks, decimal digits, connector punctuation, the joiners). \p{L}
// too, though Alphabetic holds every letter: PCRE2's Alphabetic stops at Unicode 14, and our \p{L} (like
// \p{M}) knows the letters assigned since, which Rust's tables have (a CJK Extension H letter before "hi").
bool is_word_character(std::string_view c) {
  static const Regex word("[\\p{Alphabetic}\\p{L}\\p{M}\\p{Nd}\\p{Pc}\\x{200C}\\x{200D}]");
  size_t begin = 0, end = 0;
  return word.find(c, 0, &begin, &end);
}

// Whether the text around a match [begin, end) makes it part of a longer word: a word character right before
// or right after it.
bool inside_word(std::string_view text, size_t begin, size_t end) {
  if (begin > 0) {
    size_t b = begin - 1;
    while (b > 0 && (static_cast<unsigned char>(text[b]) & 0xC0) == 0x80) --b;
    if (is_word_character(text.substr(b, begin - b))) return true;
  }
  if (end < text.size()) {
    size_t e = end;
    utf8_next(text, e);
    if (is_word_character(text.substr(end, e - end))) return true;
  }
  return false;
}

std::vector<std::string> contents(const std::vector<AddedToken>& tokens) {
  std::vector<std::string> out;
  for (const AddedToken& t : tokens) out.push_back(t.content);
  return out;
}

}  // namespace

std::string_view trim_white_space_start(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    if (!is_white_space(utf8_next(s, j))) break;
    i = j;
  }
  return s.substr(i);
}

std::string_view trim_white_space_end(std::string_view s) {
  size_t keep = 0, i = 0;
  while (i < s.size()) {
    bool space = is_white_space(utf8_next(s, i));
    if (!space) keep = i;
  }
  return s.substr(0, keep);
}

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedToken>& tokens)
    : AddedTokenMatcher(tokens, contents(tokens)) {}

AddedTokenMatcher::AddedTokenMatcher(const std::vector<AddedToken>& tokens,
                                     const std::vector<std::string>& spellings)
    : tokens_(&tokens), nodes_(1) {
  for (size_t t = 0; t < tokens.size(); ++t) {
    const std::string& c = spellings.at(t);
    if (c.empty()) continue;
    first_byte_[static_cast<unsigned char>(c[0])] = true;
    int32_t n = 0;
    for (unsigned char ch : c) {
      int32_t found = -1;
      for (auto [k, v] : nodes_[n].next)
        if (k == ch) found = v;
      if (found < 0) {
        found = int32_t(nodes_.size());
        nodes_[n].next.emplace_back(ch, found);
        nodes_.emplace_back();
      }
      n = found;
    }
    if (nodes_[n].token < 0) nodes_[n].token = int32_t(t);
  }
}

void AddedTokenMatcher::split(std::string_view text, std::vector<Section>& out, bool parse_special) const {
  out.clear();
  size_t start = 0, i = 0, n = text.size();
  while (i < n) {
    if (!first_byte_[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    int32_t node = 0, match = -1;
    size_t match_end = 0;
    for (size_t j = i; j < n; ++j) {
      int32_t nx = -1;
      for (auto [k, v] : nodes_[node].next)
        if (k == static_cast<unsigned char>(text[j])) nx = v;
      if (nx < 0) break;
      node = nx;
      if (nodes_[node].token >= 0) match = nodes_[node].token, match_end = j + 1;
    }
    if (match < 0) {
      ++i;
      continue;
    }
    // A special token left as text, or a single_word token inside a word, is no match: the search goes on
    // after it, as Hugging Face's does (a shorter token at the same place is not tried).
    const AddedToken& t = (*tokens_)[match];
    if ((!parse_special && t.special) || (t.single_word && inside_word(text, i, match_end))) {
      i = match_end;
      continue;
    }
    if (i > start) out.push_back({text.substr(start, i - start), -1});
    out.push_back({text.substr(i, match_end - i), match});
    i = start = match_end;
  }
  if (start < n) out.push_back({text.substr(start), -1});
  // lstrip / rstrip: the token swallows whitespace next to it.
  for (size_t k = 0; k < out.size(); ++k) {
    if (out[k].token < 0) continue;
    const AddedToken& t = (*tokens_)[out[k].token];
    if (t.lstrip && k > 0 && out[k - 1].token < 0) out[k - 1].text = trim_white_space_end(out[k - 1].text);
    if (t.rstrip && k + 1 < out.size() && out[k + 1].token < 0)
      out[k + 1].text = trim_white_space_start(out[k + 1].text);
  }
}

bool added_token_spans_line_start(std::string_view content) {
  // A cut inside the token, the character before it being visible where the token starts with its newline.
  std::string probe(1, 'a');
  probe.append(content);
  return pre_token_cut_after(probe, 0) < probe.size();
}

}  // namespace seek::tok

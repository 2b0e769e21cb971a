// PCRE2 (JIT, UTF-8, Unicode properties) regexes for pre-tokenizer patterns. tokenizer.json patterns are
// written for Hugging Face's Rust tokenizers, which run them on Oniguruma, and its JavaScript port runs them
// as JavaScript /gu regexes: \s and \S are rewritten to Oniguruma's Unicode whitespace (U+0085 yes, U+FEFF
// no), as in Hugging Face; . is rewritten to JavaScript's (any character but \n, \r, U+2028, U+2029), and
// \d, \w, \b stay ASCII (no PCRE2_UCP), as in JavaScript (Oniguruma reads them as Unicode).
#pragma once
#include <memory>
#include <string>
#include <string_view>

namespace seek::tok {

class Regex {
 public:
  // Compiles a pattern; throws seek::Error naming the pattern and the position of the problem.
  explicit Regex(const std::string& pattern);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Finds the first match at or after byte offset `start` of valid UTF-8 `subject`. Returns false when
  // there is none; otherwise sets [*begin, *end). `newer_chars`: the subject may hold characters that only
  // newer Unicode tables classify (see has_newer_unicode); without them a faster compiled form is used.
  bool find(std::string_view subject, size_t start, size_t* begin, size_t* end,
            bool newer_chars = true) const;

  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code*, with the newer-Unicode additions
  void* fast_ = nullptr;  // the same without them (null when identical), ~1.6x faster to match
};

// The pattern rewritten for PCRE2 (exposed for tests). with_newer: add the characters of newer Unicode
// versions to \p{X}.
std::string js_regex_to_pcre2(const std::string& pattern, bool with_newer = true);

}  // namespace seek::tok

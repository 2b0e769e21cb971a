// PCRE2 wrapper with the regex semantics of Hugging Face's tokenizers and its JavaScript port; see regex.hpp.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex.hpp"

#include <pcre2.h>

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "core/error.hpp"
#include "tokenizer/unicode_delta.hpp"

namespace seek::tok {
namespace {

// Oniguruma's Unicode \s, which Hugging Face's tokenizers run their patterns on (its CR_Space: U+0009-U+000D,
// U+0085, and the Zs, Zl and Zp characters), the same set as is_white_space. JavaScript's \s, used before,
// holds U+FEFF and not U+0085.
constexpr const char* kSpace =
    "\\t\\n\\x0B\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"
    "\\x{202F}\\x{205F}\\x{3000}";

constexpr size_t kMatchLimitBase = 10'000'000;

std::string pcre2_message(int code) {
  PCRE2_UCHAR buf[256];
  pcre2_get_error_message(code, buf, sizeof buf);
  return reinterpret_cast<const char*>(buf);
}

// One match-data block and JIT stack per thread, so a shared Regex can be used from many threads.
struct ThreadMatchState {
  pcre2_match_data* md = pcre2_match_data_create(64, nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
  pcre2_match_context* ctx = pcre2_match_context_create(nullptr);
  ThreadMatchState() { pcre2_jit_stack_assign(ctx, nullptr, stack); }
  ~ThreadMatchState() {
    pcre2_match_context_free(ctx);
    pcre2_jit_stack_free(stack);
    pcre2_match_data_free(md);
  }
};

ThreadMatchState& thread_state() {
  thread_local ThreadMatchState s;
  return s;
}

}  // namespace

std::string js_regex_to_pcre2(const std::string& p, bool with_newer) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      char e = p[i + 1];
      ++i;
      if (e == 's') {
        out += in_class ? std::string(kSpace) : "[" + std::string(kSpace) + "]";
      } else if (e == 'S') {
        if (in_class) fail("regex /{}/: \\S inside a character class is not supported", p);
        out += "[^" + std::string(kSpace) + "]";
      } else if ((e == 'p' || e == 'P') && i + 3 < p.size() && p[i + 1] == '{' && p[i + 3] == '}' &&
                 with_newer && *unicode_delta(p[i + 2])) {
        // \p{X} for a major category: add the characters node's newer Unicode tables put in X.
        std::string cls = std::string("\\p{") + p[i + 2] + "}" + unicode_delta(p[i + 2]);
        if (in_class && e == 'P')
          fail("regex /{}/: \\P{{{}}} inside a character class is not supported", p, p[i + 2]);
        out += in_class ? cls : (e == 'p' ? "[" : "[^") + cls + "]";
        i += 3;
      } else if (e == 'u' && i + 4 < p.size() && std::isxdigit(static_cast<unsigned char>(p[i + 1]))) {
        // \uXXXX (JavaScript) -> \x{XXXX} (PCRE2).
        out += "\\x{" + p.substr(i + 1, 4) + "}";
        i += 4;
      } else if (e == 'v') {
        out += "\\x0B";  // JavaScript's (and Oniguruma's) vertical tab; PCRE2's \v is any vertical space
      } else if (e == 'h' || e == 'H' || e == 'V' || e == 'Q' || e == 'E') {
        // PCRE2 reads these (horizontal space, not vertical space, quoting) unlike Hugging Face's engines:
        // JavaScript refuses them, and Oniguruma reads \h as a hex digit and has no quoting. Passed through,
        // they gave other tokens than Hugging Face without a word.
        fail(
            "regex /{}/: \\{} is not supported: JavaScript has no such escape, and PCRE2 and Oniguruma "
            "(Hugging Face's Rust tokenizers) read it differently",
            p, e);
      } else {
        out += '\\';
        out += e;
      }
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      out += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal in PCRE2 but an empty class in JavaScript; patterns
      // in the wild do not use it, so it is passed through as PCRE2 reads it.
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      continue;
    }
    if (c == '.') {
      out += "[^\\n\\r\\x{2028}\\x{2029}]";
      continue;
    }
    out += c;
  }
  return out;
}

namespace {

pcre2_code* compile(const std::string& pattern, const std::string& translated) {
  int err = 0;
  PCRE2_SIZE off = 0;
  // PCRE2_NEVER_BACKSLASH_C: \C matches one byte, so it could cut a character in two and hand the next
  // stage invalid UTF-8, which matching with PCRE2_NO_UTF_CHECK does not survive; JavaScript has no \C.
  auto* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                             PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NO_UTF_CHECK | PCRE2_NEVER_BACKSLASH_C,
                             &err, &off, nullptr);
  if (!code)
    fail("cannot compile regex /{}/: {} at offset {} of the translated pattern /{}/", pattern,
         pcre2_message(err), size_t(off), translated);
  // JIT is an optimisation: if it is unavailable the interpreter gives the same matches.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  return code;
}

}  // namespace

Regex::Regex(const std::string& pattern) : pattern_(pattern) {
  std::string exact = js_regex_to_pcre2(pattern, true), plain = js_regex_to_pcre2(pattern, false);
  code_ = compile(pattern, exact);
  if (plain != exact) fast_ = compile(pattern, plain);
}

Regex::~Regex() {
  pcre2_code_free(static_cast<pcre2_code*>(code_));
  pcre2_code_free(static_cast<pcre2_code*>(fast_));
}

bool Regex::find(std::string_view subject, size_t start, size_t* begin, size_t* end, bool newer_chars) const {
  auto& st = thread_state();
  auto* code = static_cast<pcre2_code*>(newer_chars || !fast_ ? code_ : fast_);
  // PCRE2's default limit (10 million steps) refused plain text: DeepSeek-V3's \s*[\r\n]+ takes a step per
  // character to give back a run of spaces, so 10 MB of them failed. The limit grows with the text, which
  // still stops a pattern that backtracks exponentially.
  pcre2_set_match_limit(
      st.ctx, uint32_t(std::min<size_t>(kMatchLimitBase + 4 * (subject.size() - start), UINT32_MAX)));
  int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), start,
                       PCRE2_NO_UTF_CHECK, st.md, st.ctx);
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) fail("regex /{}/ failed on a {}-byte input: {}", pattern_, subject.size(), pcre2_message(rc));
  PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.md);
  *begin = ov[0];
  *end = ov[1];
  return true;
}

}  // namespace seek::tok

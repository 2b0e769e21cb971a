// UTF-8 helpers for the tokenizer: validation, lossy repair of invalid input exactly as the WHATWG decoder
// (and so Node's TextDecoder and Hugging Face's from_utf8_lossy) does it, and code point iteration.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace seek::tok {

// Length of the longest valid UTF-8 prefix of s; s.size() when all of s is valid.
size_t utf8_valid_prefix(std::string_view s);
inline bool utf8_is_valid(std::string_view s) {
  return utf8_valid_prefix(s) == s.size();
}

// Replaces each maximal invalid subpart with U+FFFD (the WHATWG "replacement" rule), so tokenizing invalid
// input gives the same ids as a JavaScript or Rust tokenizer that received the decoded string.
std::string utf8_repair(std::string_view s);

// Decodes the code point starting at s[i] (s must be valid UTF-8) and advances i past it.
inline uint32_t utf8_next(std::string_view s, size_t& i) {
  auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    ++i;
    return b;
  }
  int n = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
  uint32_t cp = b & (0x3F >> (n - 1));
  for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += n;
  return cp;
}

void utf8_append(std::string& out, uint32_t cp);

// Unicode's White_Space property: what Rust's char::is_whitespace and its regex crate's \s take for
// whitespace, and Oniguruma's Unicode \s (Hugging Face's tokenizers use both). Unlike JavaScript's \s it
// holds U+0085 (NEL) and not U+FEFF (BOM).
inline bool is_white_space(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

// Where s[0, end) can be cut without splitting a character whose lead byte lies before end: end itself, or
// the start of a (so far well-formed) character that runs past it. Bytes that cannot start a character are
// cut anywhere, so text a byte-level model wrote is never held back for good.
size_t utf8_cut_before(std::string_view s, size_t end);

}  // namespace seek::tok

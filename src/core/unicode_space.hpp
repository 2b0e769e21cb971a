// The non-ASCII characters regexes read as \s (PCRE2 with Unicode properties, JavaScript): U+0085, U+00A0,
// U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000, and U+FEFF (JavaScript's \s).
#pragma once
#include <string_view>

namespace seek {

// The UTF-8 length of the Unicode space `text` starts with, or 0.
inline size_t unicode_space_at(std::string_view text) {
  static constexpr std::string_view kSpaces[] = {
      "\xC2\x85",     "\xC2\xA0",     "\xE1\x9A\x80", "\xE2\x80\x80", "\xE2\x80\x81",
      "\xE2\x80\x82", "\xE2\x80\x83", "\xE2\x80\x84", "\xE2\x80\x85", "\xE2\x80\x86",
      "\xE2\x80\x87", "\xE2\x80\x88", "\xE2\x80\x89", "\xE2\x80\x8A", "\xE2\x80\xA8",
      "\xE2\x80\xA9", "\xE2\x80\xAF", "\xE2\x81\x9F", "\xE3\x80\x80", "\xEF\xBB\xBF"};
  for (std::string_view sp : kSpaces)
    if (text.starts_with(sp)) return sp.size();
  return 0;
}

// The UTF-8 length of the invisible character `text` starts with, or 0: zero-width and formatting
// characters that show nothing (U+00AD soft hyphen, U+180E, U+200B..U+200F zero-width and direction marks,
// U+202A..U+202E bidirectional embeddings, U+2060..U+2064 word joiner and invisible operators). Not \s to a
// regex, so text of only these is blank without matching as whitespace.
inline size_t invisible_at(std::string_view text) {
  if (text.starts_with("\xC2\xAD")) return 2;      // U+00AD
  if (text.starts_with("\xE1\xA0\x8E")) return 3;  // U+180E
  if (text.size() < 3 || text[0] != '\xE2') return 0;
  const auto b1 = static_cast<unsigned char>(text[1]), b2 = static_cast<unsigned char>(text[2]);
  const bool zero_width = b1 == 0x80 && ((b2 >= 0x8B && b2 <= 0x8F) || (b2 >= 0xAA && b2 <= 0xAE));
  const bool joiners = b1 == 0x81 && b2 >= 0xA0 && b2 <= 0xA4;
  return zero_width || joiners ? 3 : 0;
}

}  // namespace seek

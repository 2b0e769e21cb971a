// The non-ASCII characters regexes read as \s (PCRE2 with Unicode properties, JavaScript): U+0085, U+00A0,
// U+1680, U+2000..U+200A, U+2028, U+2029, U+202F, U+205F, U+3000, and U+FEFF (JavaScript's \s).
#pragma once
#include <algorithm>
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
// characters that show nothing (U+00AD soft hyphen, U+034F combining grapheme joiner, U+061C Arabic letter
// mark, U+180B..U+180F Mongolian selectors and vowel separator, U+200B..U+200F zero-width and direction
// marks, U+202A..U+202E bidirectional embeddings, U+2060..U+206F word joiner, invisible operators and
// isolates, U+FE00..U+FE0F variation selectors) and the blank letters that render as nothing (U+115F,
// U+1160, U+17B4, U+17B5, U+2800 Braille blank, U+3164 and U+FFA0 Hangul fillers), and beyond the BMP the
// shorthand format controls U+1BCA0..U+1BCA3, the musical format characters U+1D173..U+1D17A and the tags
// and variation selectors U+E0000..U+E0FFF (an <answer> of those was not blank). Not \s to a regex, so text
// of only these is blank without matching as whitespace.
inline size_t invisible_at(std::string_view text) {
  const auto at = [&](size_t i) { return i < text.size() ? static_cast<unsigned char>(text[i]) : 0u; };
  const unsigned b0 = at(0), b1 = at(1), b2 = at(2), b3 = at(3);
  if (b0 == 0xF0) {
    const bool shorthand = b1 == 0x9B && b2 == 0xB2 && b3 >= 0xA0 && b3 <= 0xA3;  // U+1BCA0..U+1BCA3
    const bool musical = b1 == 0x9D && b2 == 0x85 && b3 >= 0xB3 && b3 <= 0xBA;    // U+1D173..U+1D17A
    return shorthand || musical ? 4 : 0;
  }
  if (b0 == 0xF3 && b1 == 0xA0 && b2 >= 0x80 && b2 <= 0xBF && b3 >= 0x80 && b3 <= 0xBF) return 4;  // U+E0xxx
  if (b0 == 0xC2 && b1 == 0xAD) return 2;                                                          // U+00AD
  if (b0 == 0xCD && b1 == 0x8F) return 2;                                                          // U+034F
  if (b0 == 0xD8 && b1 == 0x9C) return 2;                                                          // U+061C
  if (b0 == 0xE1) {
    const bool hangul = (b1 == 0x85 && b2 == 0x9F) || (b1 == 0x85 && b2 == 0xA0);  // U+115F, U+1160
    const bool khmer = b1 == 0x9E && (b2 == 0xB4 || b2 == 0xB5);                   // U+17B4, U+17B5
    const bool mongolian = b1 == 0xA0 && b2 >= 0x8B && b2 <= 0x8F;                 // U+180B..U+180F
    return hangul || khmer || mongolian ? 3 : 0;
  }
  if (b0 == 0xE2) {
    const bool zero_width = b1 == 0x80 && ((b2 >= 0x8B && b2 <= 0x8F) || (b2 >= 0xAA && b2 <= 0xAE));
    const bool joiners = b1 == 0x81 && b2 >= 0xA0 && b2 <= 0xAF;  // U+2060..U+206F
    const bool braille_blank = b1 == 0xA0 && b2 == 0x80;          // U+2800
    return zero_width || joiners || braille_blank ? 3 : 0;
  }
  if (b0 == 0xE3 && b1 == 0x85 && b2 == 0xA4) return 3;  // U+3164
  if (b0 == 0xEF) {
    const bool selectors = b1 == 0xB8 && b2 >= 0x80 && b2 <= 0x8F;  // U+FE00..U+FE0F
    const bool halfwidth_filler = b1 == 0xBE && b2 == 0xA0;         // U+FFA0
    return selectors || halfwidth_filler ? 3 : 0;
  }
  return 0;
}

// Whether `s` is nothing but white space as a regex's \s reads it (the ASCII six and the Unicode spaces
// above), NUL and the invisible characters: text that shows nothing (an empty answer, a prompt that asks
// nothing).
inline bool shows_nothing(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (std::string_view(" \n\t\r\v\f\0", 7).find(s[i]) != std::string_view::npos) {
      ++i;
    } else if (const size_t n = std::max(unicode_space_at(s.substr(i)), invisible_at(s.substr(i))); n > 0) {
      i += n;
    } else {
      return false;
    }
  }
  return true;
}

}  // namespace seek

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

}  // namespace seek

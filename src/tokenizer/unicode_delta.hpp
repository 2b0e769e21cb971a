// Code points that JavaScript's Unicode tables (node's ICU) put in general category `major` (L, M, N, P,
// S or Z) but PCRE2's older tables do not: characters assigned in later Unicode versions, such as new
// emoji. regex.cpp adds them to \p{major} so pre-tokenization matches the JavaScript reference.
#pragma once
#include <string_view>

namespace seek::tok {

// PCRE2 character-class ranges ("\x{1F77B}-\x{1F77F}..."), or "" for other categories.
const char* unicode_delta(char major);

// Whether the UTF-8 text holds any of those characters (then regexes must use their slower exact form).
bool has_newer_unicode(std::string_view utf8);

}  // namespace seek::tok

// "Did you mean": the known name closest to one a user mistyped (a setting key, a flag), for error messages.
#pragma once
#include <span>
#include <string>
#include <string_view>

namespace seek {

// The candidate nearest to `name` by edit distance (insertions, deletions, substitutions, and swaps of two
// neighbouring characters, compared case-insensitively with '-' and '_' alike), if it is near enough to be
// a slip rather than another word: at most 1 edit for names of up to 4 characters, 2 up to 8, else 3.
// "" when none is; the first of equally near candidates wins.
std::string nearest_name(std::string_view name, std::span<const std::string> candidates);

}  // namespace seek

// Small helpers shared by the built-in tasks' generators and verifiers. Internal to src/reward.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/rng.hpp"

namespace seek::reward::detail {

// Uniform integer in [lo, hi].
inline int64_t uniform_int(Rng& rng, int64_t lo, int64_t hi) {
  return lo + int64_t(rng.below(uint64_t(hi - lo + 1)));
}

// An answer without what only frames it: spaces, a sentence's full stop, and around the whole of it $ $,
// \( \), \[ \], Markdown bold ** ** or quotes, as often as they nest. "750." and "**750**" scored 0 on the
// integer tasks (the maths rules read them).
std::string strip_wrappers(std::string_view s);

// A plain integer answer: optional sign, digits, optional thousands commas, in strip_wrappers' frames.
// Anything else (an expression, words, a decimal) is not accepted: tasks want the value stated.
std::optional<int64_t> parse_int_answer(std::string_view s);

// A list of plain integers separated by commas and/or spaces, optionally in [ ] or ( ).
std::optional<std::vector<int64_t>> parse_int_list(std::string_view s);

std::string join_ints(const std::vector<int64_t>& v, const char* sep = ", ");

// The built-in English word list (lower-case a-z, 3 to 12 letters).
const std::vector<std::string_view>& word_list();

}  // namespace seek::reward::detail

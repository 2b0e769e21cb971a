// Streaming text that is cut where a pattern appears (stop strings, <think> tags): which bytes to hold back.
#pragma once
#include <algorithm>
#include <string_view>

namespace seek {

// The length of the longest tail of `text` that is a proper prefix of `pattern`: the bytes that more text
// could still turn into the pattern. Everything before them can be shown now; holding back a fixed
// pattern.size() - 1 bytes instead makes streamed output lag that many bytes behind the model.
inline size_t partial_match_tail(std::string_view text, std::string_view pattern) {
  if (pattern.empty()) return 0;
  for (size_t k = std::min(pattern.size() - 1, text.size()); k > 0; --k)
    if (text.ends_with(pattern.substr(0, k))) return k;
  return 0;
}

}  // namespace seek

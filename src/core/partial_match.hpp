// Streaming text that is cut where a pattern appears (stop strings, <think> tags): which bytes to hold back.
#pragma once
#include <string_view>
#include <vector>

namespace seek {

// The length of the longest tail of `text` that is a proper prefix of `pattern`: the bytes that more text
// could still turn into the pattern. Everything before them can be shown now; holding back a fixed
// pattern.size() - 1 bytes instead makes streamed output lag that many bytes behind the model. Linear in the
// pattern's length (Knuth-Morris-Pratt over the text's last pattern.size() - 1 bytes), so a long stop string
// costs no quadratic work per token.
inline size_t partial_match_tail(std::string_view text, std::string_view pattern) {
  if (pattern.size() < 2) return 0;
  const size_t n = pattern.size() - 1;  // only proper prefixes: pattern[0, n) and shorter
  if (text.size() > n) text.remove_prefix(text.size() - n);
  // Most calls (a token streamed past a stop string) end in a byte the pattern's prefix does not hold.
  if (text.empty() || pattern.substr(0, n).find(text.back()) == std::string_view::npos) return 0;
  // fail[i]: the longest proper prefix of pattern[0, i] that is also its suffix.
  std::vector<size_t> fail(n, 0);
  for (size_t i = 1, k = 0; i < n; ++i) {
    while (k > 0 && pattern[i] != pattern[k]) k = fail[k - 1];
    if (pattern[i] == pattern[k]) ++k;
    fail[i] = k;
  }
  size_t k = 0;  // the longest prefix of pattern[0, n) that the text read so far ends with
  for (const char c : text) {
    if (k == n) k = fail[n - 1];
    while (k > 0 && pattern[k] != c) k = fail[k - 1];
    if (pattern[k] == c) ++k;
  }
  return k;
}

}  // namespace seek

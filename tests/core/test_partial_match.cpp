// partial_match_tail against its definition (the longest tail of the text that is a proper prefix of the
// pattern, tried length by length) on random strings over small alphabets, where tails and prefixes overlap
// often, and on a long pattern that a length-by-length check would take quadratic time over.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <string>

#include "core/partial_match.hpp"

namespace seek {
namespace {

size_t by_definition(const std::string& text, const std::string& pattern) {
  if (pattern.empty()) return 0;
  for (size_t k = std::min(pattern.size() - 1, text.size()); k > 0; --k)
    if (text.compare(text.size() - k, k, pattern, 0, k) == 0) return k;
  return 0;
}

TEST(PartialMatch, EqualsItsDefinitionOnRandomStrings) {
  std::mt19937 rng(7);
  for (int round = 0; round < 20000; ++round) {
    const int letters = 1 + int(rng() % 3);
    auto word = [&](size_t max_len) {
      std::string s(rng() % (max_len + 1), 'a');
      for (char& c : s) c = char('a' + rng() % unsigned(letters));
      return s;
    };
    const std::string text = word(14), pattern = word(9);
    ASSERT_EQ(partial_match_tail(text, pattern), by_definition(text, pattern))
        << "text '" << text << "' pattern '" << pattern << "'";
  }
  EXPECT_EQ(partial_match_tail("the answer is <", "</think>"), 1u);
  EXPECT_EQ(partial_match_tail("the answer is </th", "</think>"), 4u);
  EXPECT_EQ(partial_match_tail("the answer is 4", "</think>"), 0u);
  EXPECT_EQ(partial_match_tail("</think>", "</think>"), 0u);  // whole matches are cut, not held
  EXPECT_EQ(partial_match_tail("x", ""), 0u);
}

// A stop string of a million bytes whose every prefix fails only at its last byte: linear work, where trying
// every length took ~5·10^11 byte comparisons (seconds even with vectorised compares).
TEST(PartialMatch, ALongPatternTakesLinearTime) {
  const std::string pattern = std::string(1000000, 'a') + "b";
  const std::string text = std::string(999999, 'a') + "c";
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(partial_match_tail(text, pattern), 0u);
  EXPECT_EQ(partial_match_tail(text + "a", pattern), 1u);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.0);
}

}  // namespace
}  // namespace seek

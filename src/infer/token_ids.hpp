// Token ids written as text, as the CLI takes them (--ids, detokenize): "1,2,3", "1 2 3" (what seek tokenize
// prints), "[1, 2, 3]" (a JSON list), one per line.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace seek {

// Non-negative integers separated by commas, whitespace or both, optionally inside one pair of brackets;
// `what` names the text in messages ("--ids"). Throws seek::Error naming the bad or empty item and its
// position: an empty text or item ("1,,2", "1,2,"), a sign, a non-digit, an id past 2^31 - 1.
std::vector<int32_t> parse_token_ids(const std::string& text, const std::string& what);

// Whether the text is no list at all or an empty one ("", whitespace, "[]", "[ ]"), which parse_token_ids
// refuses and detokenize reads as the empty text.
bool holds_no_token_ids(const std::string& text);

}  // namespace seek

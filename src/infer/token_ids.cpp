#include "infer/token_ids.hpp"

#include <charconv>
#include <climits>
#include <string_view>

#include "core/error.hpp"
#include "tokenizer/utf8.hpp"

namespace seek {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// The list's items: the text trimmed, without one pair of brackets around it.
std::string_view list_body(std::string_view text) {
  std::string_view s = trimmed(text);
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = trimmed(s.substr(1, s.size() - 2));
  return s;
}

// An item as an error quotes it: a line of a binary file read as ids can be megabytes long.
std::string quoted_item(std::string_view id) {
  constexpr size_t kShown = 40;
  if (id.size() <= kShown) return std::string(id);
  return fmt::format("{}… ({} bytes)", id.substr(0, tok::utf8_cut_before(id, kShown)), id.size());
}

}  // namespace

bool holds_no_token_ids(const std::string& text) {
  return list_body(text).empty();
}

std::vector<int32_t> parse_token_ids(const std::string& text, const std::string& what) {
  const std::string_view s = list_body(text);
  SEEK_CHECK(!s.empty(), "{} holds no token id (expected non-negative integers, e.g. 1,2,3)", what);
  std::vector<int32_t> ids;
  size_t i = 0;
  for (size_t item = 1;; ++item) {
    size_t j = i;
    while (j < s.size() && s[j] != ',' && !is_space(s[j])) ++j;
    const std::string_view id = s.substr(i, j - i);
    // A comma with nothing before it ("1,,2", ",1") is a slip, named by its position.
    SEEK_CHECK(!id.empty(),
               "{}: item {} is empty (expected token ids, non-negative integers, separated by commas or "
               "spaces, e.g. 1,2,3)",
               what, item);
    int64_t v = -1;
    const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), v);
    const bool whole = ec != std::errc::invalid_argument && end == id.data() + id.size() && id[0] != '-';
    SEEK_CHECK(whole, "{}: item {} ('{}') is not a token id, a non-negative integer", what, item,
               quoted_item(id));
    SEEK_CHECK(ec == std::errc() && v <= INT32_MAX, "{}: item {} ({}) is past the largest token id {}", what,
               item, quoted_item(id), INT32_MAX);
    ids.push_back(int32_t(v));
    // The separator: whitespace, a comma, or a comma with whitespace around it.
    while (j < s.size() && is_space(s[j])) ++j;
    if (j == s.size()) return ids;
    if (s[j] == ',') {
      ++j;
      while (j < s.size() && is_space(s[j])) ++j;
      SEEK_CHECK(j < s.size(), "{}: item {} is empty (a comma ends the list)", what, item + 1);
    }
    i = j;
  }
}

}  // namespace seek

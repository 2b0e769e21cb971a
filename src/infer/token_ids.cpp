#include "infer/token_ids.hpp"

#include <charconv>
#include <climits>
#include <string_view>

#include "core/error.hpp"

namespace seek {

std::vector<int32_t> parse_token_ids(const std::string& s) {
  std::vector<int32_t> ids;
  size_t i = 0;
  for (size_t item = 1;; ++item) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string_view part(s.data() + i, j - i);
    // Spaces around an id are layout ("1, 2, 3"); an empty item is a slip ("1,,2", "1,2,") and is named.
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
    while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) part.remove_suffix(1);
    SEEK_CHECK(!part.empty(),
               "token id {} in '{}' is empty (expected comma-separated non-negative integers, e.g. 1,2,3)",
               item, s);
    int64_t v = -1;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    SEEK_CHECK(ec == std::errc() && end == part.data() + part.size() && v >= 0 && v <= INT32_MAX,
               "bad token id '{}' (item {}) in '{}' (expected comma-separated non-negative integers)", part,
               item, s);
    ids.push_back(int32_t(v));
    if (j == s.size()) return ids;
    i = j + 1;
  }
}

}  // namespace seek

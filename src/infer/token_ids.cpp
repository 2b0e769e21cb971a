#include "infer/token_ids.hpp"

#include <climits>
#include <stdexcept>

#include "core/error.hpp"

namespace seek {

std::vector<int32_t> parse_token_ids(const std::string& s) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    const std::string part = s.substr(i, j - i);
    long long v = -1;
    size_t used = 0;
    try {
      v = std::stoll(part, &used);
    } catch (const std::logic_error&) {
      used = 0;
    }
    SEEK_CHECK(used > 0 && used == part.size() && v >= 0 && v <= INT32_MAX,
               "bad token id '{}' in '{}' (expected comma-separated non-negative integers)", part, s);
    ids.push_back(int32_t(v));
    i = j + 1;
  }
  return ids;
}

}  // namespace seek

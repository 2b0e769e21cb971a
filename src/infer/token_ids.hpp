// Token ids written as text ("1,2,3"), as the CLI takes them (--ids, --stop-token lists).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace seek {

// Comma-separated non-negative integers, spaces around each allowed; throws seek::Error naming the bad or
// empty item.
std::vector<int32_t> parse_token_ids(const std::string& text);

}  // namespace seek

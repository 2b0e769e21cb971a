// Counts in messages: "1 step", "2 steps".
#pragma once
#include <fmt/format.h>

#include <cstdint>
#include <string>

namespace seek {

// n and the noun, plural (with an "s") unless n is 1.
inline std::string count_of(int64_t n, const std::string& noun) {
  return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s");
}

}  // namespace seek

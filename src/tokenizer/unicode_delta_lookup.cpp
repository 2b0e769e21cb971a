// has_newer_unicode: a bitset over all code points built once from the generated unicode_delta ranges.
#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/unicode_delta.hpp"
#include "tokenizer/utf8.hpp"

namespace seek::tok {
namespace {

// Parses "\x{A}-\x{B}\x{C}..." into the bitset.
std::vector<uint64_t> build() {
  std::vector<uint64_t> bits(0x110000 / 64, 0);
  for (char major : {'L', 'M', 'N', 'P', 'S', 'Z'}) {
    std::string s = unicode_delta(major);
    size_t i = 0;
    auto number = [&]() {
      i += 3;  // "\x{"
      size_t close = s.find('}', i);
      uint32_t v = uint32_t(std::stoul(s.substr(i, close - i), nullptr, 16));
      i = close + 1;
      return v;
    };
    while (i < s.size()) {
      uint32_t lo = number(), hi = lo;
      if (i < s.size() && s[i] == '-') {
        ++i;
        hi = number();
      }
      for (uint32_t c = lo; c <= hi; ++c) bits[c / 64] |= uint64_t(1) << (c % 64);
    }
  }
  return bits;
}

}  // namespace

bool has_newer_unicode(std::string_view s) {
  static const std::vector<uint64_t> bits = build();
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    uint32_t c = utf8_next(s, i);
    if (bits[c / 64] >> (c % 64) & 1) return true;
  }
  return false;
}

}  // namespace seek::tok

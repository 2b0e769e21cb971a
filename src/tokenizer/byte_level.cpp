// GPT-2 byte <-> unicode tables; see byte_level.hpp.
#include "tokenizer/byte_level.hpp"

#include "tokenizer/utf8.hpp"

namespace seek::tok {
namespace {

struct Tables {
  std::array<uint32_t, 256> to_cp{};
  std::array<int16_t, 324> from_cp{};  // every mapped code point is below 324
  Tables() {
    from_cp.fill(-1);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_cp[b] = printable ? uint32_t(b) : uint32_t(256 + n++);
      from_cp[to_cp[b]] = int16_t(b);
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

}  // namespace

uint32_t byte_to_codepoint(uint8_t b) {
  return tables().to_cp[b];
}

std::string bytes_to_byte_level(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) utf8_append(out, tables().to_cp[c]);
  return out;
}

std::optional<std::string> byte_level_to_bytes(std::string_view token) {
  if (!utf8_is_valid(token)) return std::nullopt;
  std::string out;
  out.reserve(token.size());
  size_t i = 0;
  while (i < token.size()) {
    uint32_t cp = utf8_next(token, i);
    if (cp >= tables().from_cp.size() || tables().from_cp[cp] < 0) return std::nullopt;
    out += char(tables().from_cp[cp]);
  }
  return out;
}

}  // namespace seek::tok

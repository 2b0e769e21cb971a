#include "core/dtype.hpp"

#include <cmath>
#include <limits>

namespace seek {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::F64:
    case DType::I64:
      return 8;
    case DType::F32:
    case DType::I32:
      return 4;
    case DType::BF16:
    case DType::F16:
      return 2;
    case DType::F8_E4M3:
      return 1;
  }
  return 0;
}

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::F32:
      return "F32";
    case DType::F64:
      return "F64";
    case DType::BF16:
      return "BF16";
    case DType::F16:
      return "F16";
    case DType::F8_E4M3:
      return "F8_E4M3";
    case DType::I64:
      return "I64";
    case DType::I32:
      return "I32";
  }
  return "?";
}

bool dtype_from_name(std::string_view s, DType* out) {
  static constexpr DType all[] = {DType::F32,     DType::F64, DType::BF16, DType::F16,
                                  DType::F8_E4M3, DType::I64, DType::I32};
  for (DType t : all) {
    if (dtype_name(t) == s) {
      *out = t;
      return true;
    }
  }
  return false;
}

float f16_to_f32(uint16_t h) {
  uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  float v;
  if (exp == 0) {
    v = std::ldexp(float(man), -24);
  } else if (exp == 31) {
    v = man ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  } else {
    v = std::ldexp(float(man | 0x400), int(exp) - 25);
  }
  return sign ? -v : v;
}

uint16_t f32_to_f16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint32_t sign = (u >> 16) & 0x8000;
  if (std::isnan(f)) return uint16_t(sign | 0x7e00);
  float a = std::fabs(f);
  if (a >= 65520.0f) return uint16_t(sign | 0x7c00);
  if (a < std::ldexp(1.0f, -24) * 0.5f) return uint16_t(sign);
  int e;
  std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  int exp16 = e - 1 + 15;
  if (exp16 <= 0) {  // subnormal: units of 2^-24
    uint32_t man = uint32_t(std::nearbyint(std::ldexp(a, 24)));
    return uint16_t(sign | man);
  }
  uint32_t man = uint32_t(std::nearbyint(std::ldexp(a, 11 - e)));  // 11 significant bits
  if (man == 0x800) {
    man = 0x400;
    ++exp16;
  }
  if (exp16 >= 31) return uint16_t(sign | 0x7c00);
  return uint16_t(sign | (uint32_t(exp16) << 10) | (man & 0x3ff));
}

float f8e4m3_to_f32(uint8_t v) {
  uint32_t sign = v >> 7, exp = (v >> 3) & 0xf, man = v & 7;
  float r;
  if (exp == 0xf && man == 7) return std::numeric_limits<float>::quiet_NaN();
  if (exp == 0) {
    r = std::ldexp(float(man), -9);  // man/8 * 2^-6
  } else {
    r = std::ldexp(float(8 + man), int(exp) - 10);  // (1+man/8) * 2^(exp-7)
  }
  return sign ? -r : r;
}

uint8_t f32_to_f8e4m3(float f) {
  const uint8_t sign = std::signbit(f) ? 0x80 : 0;
  if (std::isnan(f)) return uint8_t(sign | 0x7f);
  const float a = std::fabs(f);
  if (a >= 448.0f) return uint8_t(sign | 0x7e);
  if (a < std::ldexp(1.0f, -6)) {
    // Subnormal: units of 2^-9. Rounding up to 8 units gives exactly the smallest normal, code 0x08.
    return uint8_t(sign | uint8_t(std::nearbyint(std::ldexp(a, 9))));
  }
  int e;
  std::frexp(a, &e);  // a = m · 2^e, m in [0.5, 1): unbiased exponent e - 1
  uint32_t man = uint32_t(std::nearbyint(std::ldexp(a, 4 - e))) - 8;  // 3 fraction bits, ties to even
  uint32_t exp = uint32_t(e - 1 + 7);
  if (man == 8) {
    man = 0;
    ++exp;
  }
  return uint8_t(sign | (exp << 3) | man);
}

}  // namespace seek

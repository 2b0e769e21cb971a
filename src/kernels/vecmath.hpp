// Vector-friendly elementwise math shared by the kernels.
// fast_exp: exp for float that the compiler vectorises (glibc's expf is a scalar call without -ffast-math and
// would dominate attention tiles and softmax rows). Cephes' polynomial on r = x − n·ln2, |r| <= ln2/2;
// relative error ~1e-7 (8.4e-8 measured). Inputs below ln(FLT_MIN) give exactly 0 (masked scores are −inf),
// NaN propagates. exp_t keeps std::exp for double: that is the reference path for gradient checks.
#pragma once
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <type_traits>

namespace seek {

inline float fast_exp(float x) {
  const bool underflow = x < -87.33654f;
  x = std::min(std::max(x, -87.33654f), 88.0f);
  // Round x·log2(e) to an integer n by adding 1.5·2^23: n then sits in the low mantissa bits of t.
  const float t = x * 1.44269504088896341f + 12582912.0f;
  const float n = t - 12582912.0f;
  const uint32_t ni = std::bit_cast<uint32_t>(t) - 0x4B400000u;
  float r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * r * r + r + 1.0f;
  const float scale = std::bit_cast<float>((ni + 127u) << 23);
  return underflow ? 0.0f : e * scale;
}

template <typename T>
inline T exp_t(T x) {
  if constexpr (std::is_same_v<T, float>) {
    return fast_exp(x);
  } else {
    return std::exp(x);
  }
}

}  // namespace seek

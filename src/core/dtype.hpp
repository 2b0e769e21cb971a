// Storage dtypes and their conversions to fp32. Compute is fp32 (or fp64 in gradient checks); bf16, f16 and
// fp8 are storage (checkpoints, weights and KV caches kept compressed in memory), except that the inference
// engine's products over bf16 weights round their inputs to bf16 (infer/linear.hpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace seek {

enum class DType { F32, F64, BF16, F16, F8_E4M3, I64, I32 };

size_t dtype_size(DType t);
std::string_view dtype_name(DType t);  // safetensors spelling: "F32", "BF16", "F8_E4M3", ...
bool dtype_from_name(std::string_view s, DType* out);

inline float bf16_to_f32(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Round to nearest even, as torch does; NaN stays a quiet NaN.
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return uint16_t((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);

// e4m3fn: 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities, 0x7f/0xff are NaN, max ±448.
float f8e4m3_to_f32(uint8_t v);
// Round to nearest even; magnitudes above 448 saturate to ±448 (e4m3fn has no infinity); NaN gives 0x7f.
uint8_t f32_to_f8e4m3(float f);

}  // namespace seek

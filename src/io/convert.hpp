// Raw safetensors bytes -> compute types. Checkpoints store bf16/f16/fp8/f32/f64/ints; everything the model
// computes with is float (or double in gradient checks), so every load goes through one of these.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/dtype.hpp"

namespace seek {

// DeepSeek-V3 FP8 weights carry one fp32 scale per 128x128 block [spec §2.3].
inline constexpr int64_t kFp8BlockSize = 128;

// Converts n little-endian elements of dtype t at src (any alignment) to out. Integers convert by value
// (I64 to float rounds). Runs on OpenMP threads for large n.
void convert_to_float(DType t, const std::byte* src, size_t n, float* out);
void convert_to_double(DType t, const std::byte* src, size_t n, double* out);
// Only I64 and I32 are accepted here: anything else throws seek::Error naming the dtype.
void convert_to_int64(DType t, const std::byte* src, size_t n, int64_t* out);

// Block dequantization of an e4m3fn weight [rows, cols] with scale_inv [ceil(rows/128), ceil(cols/128)]:
//   out[i,j] = f8e4m3(wq[i,j]) * scale_inv[i/128, j/128]
// The product is computed in fp32 as DeepSeek's fp8_cast_bf16.py does; round_to_bf16 then rounds it to the
// nearest bf16 (ties to even), which reproduces a bf16-converted checkpoint bit for bit.
void dequantize_fp8_blocks(const uint8_t* wq, int64_t rows, int64_t cols, const float* scale_inv, float* out,
                           bool round_to_bf16);
void dequantize_fp8_blocks(const uint8_t* wq, int64_t rows, int64_t cols, const float* scale_inv, double* out,
                           bool round_to_bf16);

}  // namespace seek

// Linear layers of the inference engine over weights that may be stored fp32 or bf16.
//   X: [M, K] rows with leading dim ldx (usually K);  W: [N, K] (torch Linear layout);  Y: [M, N], ld N
//   Y = X · Wᵀ, or Y += X · Wᵀ with accumulate.
// fp32 weights go to seek::gemm (oneDNN). bf16 weights are widened to fp32 on the fly and multiplied with
// fp32 accumulation: for small M (decode) one pass over the weight rows, each row converted once and dotted
// with all M inputs, so the weight is read exactly once; for large M (prefill) blocks of rows are widened
// into a scratch matrix and handed to oneDNN. Deterministic for a fixed thread count.
#pragma once
#include <cstdint>

#include "infer/model.hpp"

namespace seek {

void infer_linear(const float* X, int64_t ldx, const WeightView& W, float* Y, int64_t M,
                  bool accumulate = false);

}  // namespace seek

// Linear layers of the inference engine over weights that may be stored fp32 or bf16.
//   X: [M, K] rows with leading dim ldx (usually K);  W: [N, K] (torch Linear layout);  Y: [M, N], ld N
//   Y = X · Wᵀ.
// Packed weights (kernels/packed_weight.hpp): oneDNN at any M; bf16 weights round the inputs to bf16.
// Row-major weights, few rows (decode, up to 16): the weight is streamed once, each thread a contiguous
// share of its rows, through gemm_nt_serial (bf16 widened in registers), fp32 accumulation. Many rows
// (prefill, batched decode): oneDNN (gemm_bf16_nt over bf16 weights; where oneDNN has no native bf16 matmul,
// the weights are widened block by block for an fp32 GEMM).
// Inputs: where bf16 weights are multiplied natively (infer_linear_rounds_inputs), every path rounds the
// inputs to bf16 first, so the products are the same bf16 × bf16 ones whatever the number of rows and a row's
// result differs between paths only by the order of its fp32 sums (packed: not even that, on AVX-512).
// Deterministic for a fixed thread count.
#pragma once
#include <cstdint>

#include "infer/model.hpp"

namespace seek {

void infer_linear(const float* X, int64_t ldx, const WeightView& W, float* Y, int64_t M);

// Tests only: take the path of CPUs without a bf16 matmul (weights widened, fp32 inputs) while set.
void infer_linear_use_widening_for_tests(bool on);

// Whether products over W round their inputs to bf16 (bf16 weights where oneDNN multiplies bf16 natively).
bool infer_linear_rounds_inputs(const WeightView& W);

// dst[M, K] = X's rows rounded to bf16, kept as fp32 values (for the serial products, which widen bf16).
void round_rows_to_bf16_values(const float* X, int64_t ldx, int64_t M, int64_t K, float* dst);

// Columns [n0, n0 + nb) of X · Wᵀ (weight rows n0 …) into Y[M, nb] with leading dim ldy, on the calling
// thread alone (gemm_nt_serial), for work already split across threads. The caller rounds X when
// infer_linear_rounds_inputs(W) (once, rather than once per piece).
void infer_linear_cols_serial(const float* X, int64_t ldx, const WeightView& W, int64_t n0, int64_t nb,
                              float* Y, int64_t ldy, int64_t M);

}  // namespace seek

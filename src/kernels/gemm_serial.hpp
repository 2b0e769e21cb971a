// Single-threaded Y = X · Wᵀ for the small blocks that threads run side by side (the experts of a decode
// batch, each thread its own expert and column block): no OpenMP region and no allocation, so it may be
// called inside a parallel region.
//   X: [M, K] leading dim ldx;  W: [N, K] leading dim ldw (torch Linear layout);  Y: [M, N] leading dim ldy,
//   overwritten.
// With AVX-512, 4 weight rows × 4 input rows per dot_4x4 block (the rows left over, 1 × 4), weight rows
// outermost: a group of 4 weight rows comes from memory once and serves all M inputs from L1. Each Y entry is
// summed in an order fixed by K alone, so a row's result does not depend on M or on the other rows.
#pragma once
#include <cstdint>

namespace seek {

void gemm_nt_serial(const float* X, int64_t ldx, const float* W, int64_t ldw, float* Y, int64_t ldy,
                    int64_t M, int64_t N, int64_t K);

// The same with bf16 weights (raw bits), widened in registers and accumulated in fp32: the result equals
// gemm_nt_serial on the widened weights bit for bit.
void gemm_nt_serial_bf16(const float* X, int64_t ldx, const uint16_t* W, int64_t ldw, float* Y, int64_t ldy,
                         int64_t M, int64_t N, int64_t K);

}  // namespace seek

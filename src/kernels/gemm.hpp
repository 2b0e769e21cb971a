// GEMM: C = alpha · op(A) · op(B) + beta · C, all row-major.
//   op(A): [M, K]  (A stored [M, K] with leading dim lda, or [K, M] when trans_a)
//   op(B): [K, N]  (B stored [K, N] with leading dim ldb, or [N, K] when trans_b)
//   C:     [M, N]  leading dim ldc
// float goes through oneDNN matmul primitives, cached per shape/stride/transpose, so transposed operands cost
// no copy. double (used only by gradient checks) runs a straightforward blocked loop.
#pragma once
#include <cstddef>
#include <cstdint>

namespace seek {

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
          const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// The common case in a linear layer: Y[M, N] (+)= X[M, K] · W[N, K]ᵀ (torch's Linear weight layout).
template <typename T>
inline void linear_forward(const T* X, const T* W, T* Y, int64_t M, int64_t N, int64_t K,
                           bool accumulate = false) {
  gemm<T>(false, true, M, N, K, T(1), X, K, W, K, accumulate ? T(1) : T(0), Y, N);
}

// Backward of linear_forward: dX (+)= dY · W and dW += dYᵀ · X. Either output may be null to skip it.
template <typename T>
inline void linear_backward(const T* X, const T* W, const T* dY, T* dX, T* dW, int64_t M, int64_t N,
                            int64_t K, bool accumulate_dx = false) {
  if (dX) gemm<T>(false, false, M, K, N, T(1), dY, N, W, K, accumulate_dx ? T(1) : T(0), dX, K);
  if (dW) gemm<T>(true, false, N, K, M, T(1), dY, N, X, K, T(1), dW, K);
}

// Y[M, N] = X[M, K] · W[N, K]ᵀ with bf16 operands (raw bits, row-major with leading dims ldx / ldw): exact
// products accumulated in fp32, fp32 output. For bf16 weights at batch sizes where a linear is compute-bound:
// twice the fp32 rate where the CPU has bf16 dot products (AVX512-BF16, AMX). Only where have_bf16_gemm().
bool have_bf16_gemm();
// The inputs of such a product: X[M, K] (leading dim ldx) rounded to bf16 (nearest even) into dst[M, K].
void round_rows_to_bf16(const float* X, int64_t ldx, int64_t M, int64_t K, uint16_t* dst);
void gemm_bf16_nt(int64_t M, int64_t N, int64_t K, const uint16_t* X, int64_t ldx, const uint16_t* W,
                  int64_t ldw, float* Y, int64_t ldy);

// Number of oneDNN primitives currently cached (for tests and benchmarks), and how many the cache keeps:
// 4096, or under `ulimit -v` as many as core/resources.hpp's generated_code_budget_bytes() holds (at least
// 16).
size_t gemm_cache_size();
size_t gemm_cache_capacity();

// A row count rounded up so that GEMM shapes repeat: n up to 32, then 16 sizes per octave (at most 1/16 more
// rows). oneDNN compiles a kernel for every new shape (~0.5 ms each), so a product whose row count changes
// from call to call (an expert's tokens in a training step, a GRPO micro-batch's longest sequence) runs over
// rows padded to this count instead (each caller pads with rows that change nothing).
int64_t gemm_rows_bucket(int64_t n);

}  // namespace seek

#include "infer/linear.hpp"

#include <algorithm>
#include <vector>

#include "core/aligned.hpp"
#include "core/error.hpp"
#include "kernels/gemm.hpp"

namespace seek {

namespace {

// Below this many rows the bf16 path streams the weight once (memory bound); above it, widening blocks and
// running oneDNN wins because the work is compute bound.
constexpr int64_t kSmallM = 16;
constexpr int64_t kWidenRows = 256;

// bf16 -> fp32 is a 16-bit shift; written as a plain loop so the compiler vectorises it (no intrinsics).
inline void widen_bf16(const uint16_t* __restrict src, float* __restrict dst, int64_t n) {
  uint32_t* d = reinterpret_cast<uint32_t*>(dst);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) d[i] = uint32_t(src[i]) << 16;
}

// Y[m, n] (+)= Σ_k X[m, k] · W[n, k] for M <= kSmallM: each thread owns a slice of the weight rows.
void bf16_small(const float* X, int64_t ldx, const uint16_t* W, float* Y, int64_t M, int64_t N, int64_t K,
                bool accumulate) {
#pragma omp parallel
  {
    std::vector<float> row(static_cast<size_t>(K));
#pragma omp for schedule(static)
    for (int64_t n = 0; n < N; ++n) {
      widen_bf16(W + n * K, row.data(), K);
      for (int64_t m = 0; m < M; ++m) {
        const float* x = X + m * ldx;
        float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
        for (int64_t k = 0; k < K; ++k) acc += x[k] * row[size_t(k)];
        float* y = Y + m * N + n;
        *y = accumulate ? *y + acc : acc;
      }
    }
  }
}

}  // namespace

void infer_linear(const float* X, int64_t ldx, const WeightView& W, float* Y, int64_t M, bool accumulate) {
  const int64_t N = W.rows, K = W.cols;
  if (M == 0) return;
  if (W.f32) {
    gemm<float>(false, true, M, N, K, 1.0f, X, ldx, W.f32, K, accumulate ? 1.0f : 0.0f, Y, N);
    return;
  }
  SEEK_CHECK(W.bf16, "internal: empty weight view");
  if (M <= kSmallM) {
    bf16_small(X, ldx, W.bf16, Y, M, N, K, accumulate);
    return;
  }
  AlignedBuffer<float> block(size_t(std::min(N, kWidenRows) * K));
  for (int64_t n0 = 0; n0 < N; n0 += kWidenRows) {
    const int64_t nb = std::min(kWidenRows, N - n0);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < nb; ++r) widen_bf16(W.bf16 + (n0 + r) * K, block.data() + r * K, K);
    gemm<float>(false, true, M, nb, K, 1.0f, X, ldx, block.data(), K, accumulate ? 1.0f : 0.0f, Y + n0, N);
  }
}

}  // namespace seek

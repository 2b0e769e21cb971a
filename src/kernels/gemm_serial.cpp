#include "kernels/gemm_serial.hpp"

#include <algorithm>

#include "core/dtype.hpp"
#include "kernels/dot_block.hpp"

namespace seek {

namespace {

#if defined(SEEK_HAVE_AVX512)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
// Y[m, 0 .. nb) for all m from 4 weight rows w (rows past nb repeat the last one and are not stored).
template <typename WT>
inline void rows_block(const float* X, int64_t ldx, const WT* const w[4], int64_t nb, float* Y, int64_t ldy,
                       int64_t M, int64_t K, const WT* const* ahead) {
  const int64_t M4 = M / 4 * 4, rest = M - M4, passes = M4 / 4 + (rest > 0 ? 1 : 0);
  float S[16];
  // Every pass over the block asks for its share of the rows ahead (pass p: every passes-th line from the
  // p-th), so requests go out at an even rate however many passes there are (experts/v2lite at batch 64,
  // interleaved runs: 74.7 / 75.0 ms against 77.4 / 78.3 ms with the first pass asking for all of them).
  for (int64_t m0 = 0; m0 < M4; m0 += 4) {
    const float* x[4] = {X + m0 * ldx, X + (m0 + 1) * ldx, X + (m0 + 2) * ldx, X + (m0 + 3) * ldx};
    dot_4x4<true, WT>(x, w, K, S, 4, ahead, passes, m0 / 4);
    for (int a = 0; a < 4; ++a)
      for (int64_t b = 0; b < nb; ++b) Y[(m0 + a) * ldy + b] = S[a * 4 + b];
  }
  if (rest == 0) return;
  const float* x[3] = {X + M4 * ldx, X + std::min(M4 + 1, M - 1) * ldx, X + std::min(M4 + 2, M - 1) * ldx};
  // The 1-3 rows left in one pass over the weight rows (one pass per row was ~7% slower at batch 16 on
  // configs/small.json, where experts get a few rows each, and alike at V2-Lite shapes).
  if (rest == 1) dot_rx4<1>(x, w, K, S, ahead, passes, passes - 1);
  if (rest == 2) dot_rx4<2>(x, w, K, S, ahead, passes, passes - 1);
  if (rest == 3) dot_rx4<3>(x, w, K, S, ahead, passes, passes - 1);
  for (int64_t r = 0; r < rest; ++r)
    for (int64_t b = 0; b < nb; ++b) Y[(M4 + r) * ldy + b] = S[r * 4 + b];
}
#pragma GCC diagnostic pop
#else
inline float as_f32(float v) {
  return v;
}
inline float as_f32(uint16_t v) {
  return bf16_to_f32(v);
}

template <typename WT>
inline void rows_block(const float* X, int64_t ldx, const WT* const w[4], int64_t nb, float* Y, int64_t ldy,
                       int64_t M, int64_t K, const WT* const*) {
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t m = 0; m < M; ++m) {
      const float* x = X + m * ldx;
      float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
      for (int64_t k = 0; k < K; ++k) acc += x[k] * as_f32(w[b][k]);
      Y[m * ldy + b] = acc;
    }
}
#endif

constexpr int64_t kPrefetchRows = 8;  // 4 and 8 measured alike, 16 slower

template <typename WT>
void gemm_nt_rows(const float* X, int64_t ldx, const WT* W, int64_t ldw, float* Y, int64_t ldy, int64_t M,
                  int64_t N, int64_t K) {
  if (M <= 0 || N <= 0) return;
  for (int64_t n0 = 0; n0 < N; n0 += 4) {
    const WT* w[4];
    const WT* ahead[4];
    for (int b = 0; b < 4; ++b) {
      w[b] = W + std::min(n0 + b, N - 1) * ldw;
      ahead[b] = W + std::min(n0 + kPrefetchRows + b, N - 1) * ldw;
    }
    // The weights stream from memory once, 4 rows side by side: each row is a new 4 KB page to the hardware
    // prefetcher, so the passes over a block ask for the rows kPrefetchRows ahead, a line at a time, so
    // that the requests do not pile up. Measured against asking for the whole next block at
    // once (runs interleaved, same session): V2-Lite-shaped decode 39 vs 26 tok/s at batch 1, 337 vs 323 at
    // batch 64; configs/small.json batch 64 13.1k vs 11.8k tok/s.
    rows_block(X, ldx, w, std::min<int64_t>(4, N - n0), Y + n0, ldy, M, K, ahead);
  }
}

}  // namespace

void gemm_nt_serial(const float* X, int64_t ldx, const float* W, int64_t ldw, float* Y, int64_t ldy,
                    int64_t M, int64_t N, int64_t K) {
  gemm_nt_rows(X, ldx, W, ldw, Y, ldy, M, N, K);
}

void gemm_nt_serial_bf16(const float* X, int64_t ldx, const uint16_t* W, int64_t ldw, float* Y, int64_t ldy,
                         int64_t M, int64_t N, int64_t K) {
  gemm_nt_rows(X, ldx, W, ldw, Y, ldy, M, N, K);
}

}  // namespace seek

#include "kernels/gemm_serial.hpp"

#include <algorithm>
#include <type_traits>

#include "kernels/dot_block.hpp"

namespace seek {

namespace {

// bf16 -> fp32 is a 16-bit shift; a plain loop the compiler vectorises.
inline void widen_row(const uint16_t* __restrict src, float* __restrict dst, int64_t n) {
  uint32_t* d = reinterpret_cast<uint32_t*>(dst);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) d[i] = uint32_t(src[i]) << 16;
}

#if defined(__AVX512F__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
// y[b] = x · w_b for 4 weight rows: the 1-row remainder of a block, where dot_4x4 would do 4× the work.
// _mm512_reduce_add_ps sums the lanes in the same order as dot_4x4's transposing reduction, so a row gets the
// same bits whichever of the two computes it.
inline void dot_1x4(const float* x, const float* const w[4], int64_t K, float* y) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  for (int64_t i = 0; i < K; i += 16) {
    const __mmask16 m = tail_mask(K - i);
    const __m512 xv = _mm512_maskz_loadu_ps(m, x + i);
    acc0 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m, w[0] + i), acc0);
    acc1 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m, w[1] + i), acc1);
    acc2 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m, w[2] + i), acc2);
    acc3 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m, w[3] + i), acc3);
  }
  y[0] = _mm512_reduce_add_ps(acc0);
  y[1] = _mm512_reduce_add_ps(acc1);
  y[2] = _mm512_reduce_add_ps(acc2);
  y[3] = _mm512_reduce_add_ps(acc3);
}

// Y[m, n0 .. n0+nb) for all m from 4 fp32 weight rows w.
inline void rows_block(const float* X, int64_t ldx, const float* const w[4], int64_t nb, float* Y,
                       int64_t ldy, int64_t M, int64_t K) {
  const int64_t M4 = M / 4 * 4;
  float S[16];
  for (int64_t m0 = 0; m0 < M4; m0 += 4) {
    const float* x[4] = {X + m0 * ldx, X + (m0 + 1) * ldx, X + (m0 + 2) * ldx, X + (m0 + 3) * ldx};
    dot_4x4<true>(x, w, K, S, 4);
    for (int a = 0; a < 4; ++a)
      for (int64_t b = 0; b < nb; ++b) Y[(m0 + a) * ldy + b] = S[a * 4 + b];
  }
  for (int64_t m = M4; m < M; ++m) {
    dot_1x4(X + m * ldx, w, K, S);
    for (int64_t b = 0; b < nb; ++b) Y[m * ldy + b] = S[b];
  }
}
#pragma GCC diagnostic pop
#else
inline void rows_block(const float* X, int64_t ldx, const float* const w[4], int64_t nb, float* Y,
                       int64_t ldy, int64_t M, int64_t K) {
  for (int64_t b = 0; b < nb; ++b)
    for (int64_t m = 0; m < M; ++m) {
      const float* x = X + m * ldx;
      float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
      for (int64_t k = 0; k < K; ++k) acc += x[k] * w[b][k];
      Y[m * ldy + b] = acc;
    }
}
#endif

template <typename WT>
void gemm_nt_rows(const float* X, int64_t ldx, const WT* W, int64_t ldw, float* Y, int64_t ldy, int64_t M,
                  int64_t N, int64_t K, float* wbuf) {
  if (M <= 0 || N <= 0) return;
  for (int64_t n0 = 0; n0 < N; n0 += 4) {
    const int64_t nb = std::min<int64_t>(4, N - n0);
    // The weights stream from memory once: ask for the next 4 rows while these are used (b64 decode on
    // configs/small.json: 9.6k tok/s with it, 8.0k without).
    for (int64_t r = n0 + 4; r < std::min(n0 + 8, N); ++r)
      for (int64_t k = 0; k < K * int64_t(sizeof(WT)); k += 64)
        __builtin_prefetch(reinterpret_cast<const char*>(W + r * ldw) + k);
    const float* w[4];
    for (int b = 0; b < 4; ++b) {
      const WT* row = W + std::min(n0 + b, N - 1) * ldw;
      if constexpr (std::is_same_v<WT, float>) {
        w[b] = row;
      } else {
        widen_row(row, wbuf + b * K, K);
        w[b] = wbuf + b * K;
      }
    }
    rows_block(X, ldx, w, nb, Y + n0, ldy, M, K);
  }
}

}  // namespace

void gemm_nt_serial(const float* X, int64_t ldx, const float* W, int64_t ldw, float* Y, int64_t ldy,
                    int64_t M, int64_t N, int64_t K) {
  gemm_nt_rows<float>(X, ldx, W, ldw, Y, ldy, M, N, K, nullptr);
}

void gemm_nt_serial_bf16(const float* X, int64_t ldx, const uint16_t* W, int64_t ldw, float* Y, int64_t ldy,
                         int64_t M, int64_t N, int64_t K, float* wbuf) {
  gemm_nt_rows<uint16_t>(X, ldx, W, ldw, Y, ldy, M, N, K, wbuf);
}

}  // namespace seek

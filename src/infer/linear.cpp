#include "infer/linear.hpp"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <vector>

#include "core/aligned.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/thread_count.hpp"
#include "kernels/gemm.hpp"
#include "kernels/gemm_serial.hpp"

namespace seek {

namespace {

// Up to this many rows a linear streams its weight once, each thread its share of the rows
// (gemm_nt_serial): decode is memory bound there. Above it the work is compute bound and goes to oneDNN.
// Measured at 16 rows (batch-16 decode, interleaved runs): V2-Lite-shaped 177 / 168 tok/s streamed against
// 163 / 153 through oneDNN, configs/small.json 6.1k against 5.9k.
constexpr int64_t kStreamRows = 16;
constexpr int64_t kWidenRows = 256;

// bf16 -> fp32 is a 16-bit shift; written as a plain loop so the compiler vectorises it (no intrinsics).
inline void widen_bf16(const uint16_t* __restrict src, float* __restrict dst, int64_t n) {
  uint32_t* d = reinterpret_cast<uint32_t*>(dst);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) d[i] = uint32_t(src[i]) << 16;
}

std::atomic<bool> widen_for_tests{false};

}  // namespace

bool infer_linear_rounds_inputs(const WeightView& W) {
  if (W.packed) return W.packed->bf16();
  return W.bf16 && have_bf16_gemm() && !widen_for_tests.load(std::memory_order_relaxed);
}

void round_rows_to_bf16_values(const float* X, int64_t ldx, int64_t M, int64_t K, float* dst) {
  for (int64_t m = 0; m < M; ++m) {
    const float* src = X + m * ldx;  // may be dst itself: each value is read before it is written
    float* out = dst + m * K;
#pragma omp simd
    for (int64_t k = 0; k < K; ++k) out[k] = bf16_to_f32(f32_to_bf16(src[k]));
  }
}

void infer_linear(const float* X, int64_t ldx, const WeightView& W, float* Y, int64_t M) {
  const int64_t N = W.rows, K = W.cols;
  if (M == 0) return;
  if (W.packed) {
    W.packed->apply(X, ldx, Y, N, M);
    return;
  }
  SEEK_CHECK(W.f32 || W.bf16, "internal: empty weight view");
  if (M <= kStreamRows) {
    const bool round = infer_linear_rounds_inputs(W);
    // One contiguous share of the rows per thread (a multiple of 4, the kernel's block): even work for the
    // small matrices of small models, and one sequential stream per thread for the large ones.
#pragma omp parallel if (M * N * K > kParallelMinWork)
    {
      const int64_t T = omp_get_num_threads(), share = ((N + T - 1) / T + 3) / 4 * 4;
      const int64_t n0 = omp_get_thread_num() * share, nb = std::min(share, N - n0);
      if (nb > 0) {
        // Inputs the products take rounded (bf16 weights): each thread rounds all of them (at most 16 rows)
        // into its own scratch, which costs less than the barrier that sharing the rounding would need
        // (batch-1 decode of configs/small.json with bf16 weights ran ~10% slower with one).
        const float* x = X;
        int64_t ldxr = ldx;
        if (round) {
          thread_local std::vector<float> rounded;
          if (rounded.size() < size_t(M * K)) rounded.resize(size_t(M * K));
          round_rows_to_bf16_values(X, ldx, M, K, rounded.data());
          x = rounded.data();
          ldxr = K;
        }
        infer_linear_cols_serial(x, ldxr, W, n0, nb, Y + n0, N, M);
      }
    }
    return;
  }
  if (W.f32) {
    gemm<float>(false, true, M, N, K, 1.0f, X, ldx, W.f32, K, 0.0f, Y, N);
    return;
  }
  if (infer_linear_rounds_inputs(W)) {
    // Compute-bound here: the inputs are rounded to bf16 too (as a bf16 model runs in PyTorch or llama.cpp)
    // and the products accumulate in fp32, at twice the fp32 rate. Against widening the weights for an fp32
    // GEMM (below), V2-Lite-shaped: batch-64 decode 191 -> 552 tok/s, 256-token prefill 457 -> 1,545.
    AlignedBuffer<uint16_t> xb(size_t(M * K));
    round_rows_to_bf16(X, ldx, M, K, xb.data());
    gemm_bf16_nt(M, N, K, xb.data(), K, W.bf16, K, Y, N);
    return;
  }
  AlignedBuffer<float> block(size_t(std::min(N, kWidenRows) * K));
  for (int64_t n0 = 0; n0 < N; n0 += kWidenRows) {
    const int64_t nb = std::min(kWidenRows, N - n0);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < nb; ++r) widen_bf16(W.bf16 + (n0 + r) * K, block.data() + r * K, K);
    gemm<float>(false, true, M, nb, K, 1.0f, X, ldx, block.data(), K, 0.0f, Y + n0, N);
  }
}

void infer_linear_use_widening_for_tests(bool on) {
  widen_for_tests = on;
}

void infer_linear_cols_serial(const float* X, int64_t ldx, const WeightView& W, int64_t n0, int64_t nb,
                              float* Y, int64_t ldy, int64_t M) {
  SEEK_CHECK(W.f32 || W.bf16, "internal: infer_linear_cols_serial needs a row-major weight");
  const int64_t K = W.cols;
  if (W.f32)
    gemm_nt_serial(X, ldx, W.f32 + n0 * K, K, Y, ldy, M, nb, K);
  else
    gemm_nt_serial_bf16(X, ldx, W.bf16 + n0 * K, K, Y, ldy, M, nb, K);
}

}  // namespace seek

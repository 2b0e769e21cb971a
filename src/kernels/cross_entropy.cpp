// Chunked output head + softmax cross-entropy (see cross_entropy.hpp for the shape contract).
// Per chunk of rows: logits = x·Wᵀ with seek::gemm, then each row in place: max, exp(l − max) and its sum,
// loss in double, and (for gradients) dlogits = grad_scale · (p − onehot) overwriting the logits, then
// dx = dlogits·W and dW += dlogitsᵀ·x. Rows are independent, so they are spread over threads; the per-row
// losses are added serially in token order, so loss_sum does not depend on the thread count.
#include "kernels/cross_entropy.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <type_traits>
#include <vector>

#include "core/aligned.hpp"
#include "core/error.hpp"
#include "kernels/gemm.hpp"
#include "kernels/vecmath.hpp"

namespace seek {
namespace {

constexpr int64_t kChunkBytes = int64_t(4) << 20;
// Below ~128 rows the dW GEMM re-reads all of W for too few rows (measured: V=32000 runs 1.75x slower with
// 32-row chunks than with 128), so large vocabularies get 128-row chunks even past kChunkBytes.
constexpr int64_t kMinChunkRows = 128;

// One row of logits, in place. Returns −log p(target); row becomes dlogits when want_grad.
template <typename T>
double softmax_row(T* row, int64_t V, int32_t target, T grad_scale, bool want_grad, T* logprob) {
  if (target < 0) {
    if (want_grad) std::fill_n(row, V, T(0));
    if (logprob) *logprob = T(0);
    return 0.0;
  }
  // The simd reductions fix the summation order per binary (lanes, then a tree), so rows stay deterministic.
  T mx = row[0];
#pragma omp simd reduction(max : mx)
  for (int64_t j = 0; j < V; ++j) mx = std::max(mx, row[j]);
  const T lt = row[target];
  T sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < V; ++j) {
    const T e = exp_t(row[j] - mx);
    row[j] = e;
    sum += e;
  }
  // sum >= 1 (the max contributes exp(0)), so the log is finite however large the logits are.
  const double loss = double(mx) + std::log(double(sum)) - double(lt);
  if (logprob) *logprob = T(-loss);
  if (want_grad) {
    const T s = grad_scale / sum;
#pragma omp simd
    for (int64_t j = 0; j < V; ++j) row[j] *= s;
    row[target] -= grad_scale;
  }
  return loss;
}

}  // namespace

int64_t logits_chunk_rows(int64_t V, int64_t elem_bytes) {
  return std::max<int64_t>(kMinChunkRows, kChunkBytes / (V * elem_bytes));
}

template <typename T>
void output_logits(const T* x, const T* W, T* logits, int64_t N, int64_t d, int64_t V) {
  SEEK_CHECK(N >= 0 && d >= 1 && V >= 1, "output_logits: bad shape N={} d={} V={}", N, d, V);
  linear_forward<T>(x, W, logits, N, V, d);
}

template <typename T>
CrossEntropyResult cross_entropy_forward_backward(const T* x, const T* W, const int32_t* targets, int64_t N,
                                                  int64_t d, int64_t V, T grad_scale, T* dx, T* dW,
                                                  T* token_logprob, int64_t chunk_tokens) {
  SEEK_CHECK(N >= 0 && d >= 1 && V >= 1 && chunk_tokens >= 0,
             "cross_entropy: bad shape N={} d={} V={} chunk_tokens={}", N, d, V, chunk_tokens);
  // Validate every target before touching any output, so a bad batch leaves dx/dW as they were.
  CrossEntropyResult result;
  for (int64_t i = 0; i < N; ++i) {
    const int32_t t = targets[i];
    SEEK_CHECK(t == -1 || (t >= 0 && t < V),
               "cross_entropy: target {} at position {} is outside [0, {}) (use -1 to ignore a position)", t,
               i, V);
    result.count += t != -1;
  }
  if (N == 0) return result;

  const bool want_grad = dx || dW;
  const int64_t rows = std::min(N, chunk_tokens > 0 ? chunk_tokens : logits_chunk_rows(V, sizeof(T)));
  // Scratch kept per thread across calls: a fresh 4 MB buffer every call costs page faults and zeroing.
  // (OpenMP workers see their own thread_locals, so the regions below use the pointer, not the buffer.)
  thread_local AlignedBuffer<T> scratch;
  if (scratch.size() < size_t(rows * V)) scratch.resize(size_t(rows * V));
  T* const logits = scratch.data();
  std::vector<double> row_loss(static_cast<size_t>(rows));
  for (int64_t i0 = 0; i0 < N; i0 += rows) {
    const int64_t n = std::min(rows, N - i0);
    const T* xc = x + i0 * d;
    linear_forward<T>(xc, W, logits, n, V, d);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < n; ++r)
      row_loss[size_t(r)] = softmax_row(logits + r * V, V, targets[i0 + r], grad_scale, want_grad,
                                        token_logprob ? token_logprob + i0 + r : nullptr);
    for (int64_t r = 0; r < n; ++r) result.loss_sum += row_loss[size_t(r)];
    // dx = dlogits·W (written), dW += dlogitsᵀ·x.
    if (want_grad) linear_backward<T>(xc, W, logits, dx ? dx + i0 * d : nullptr, dW, n, V, d);
  }
  return result;
}

#define SEEK_INSTANTIATE(T)                                                                                  \
  template void output_logits<T>(const T*, const T*, T*, int64_t, int64_t, int64_t);                         \
  template CrossEntropyResult cross_entropy_forward_backward<T>(const T*, const T*, const int32_t*, int64_t, \
                                                                int64_t, int64_t, T, T*, T*, T*, int64_t);
SEEK_INSTANTIATE(float)
SEEK_INSTANTIATE(double)
#undef SEEK_INSTANTIATE

}  // namespace seek

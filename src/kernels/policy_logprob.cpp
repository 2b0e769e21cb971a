#include "kernels/policy_logprob.hpp"

#include <algorithm>
#include <cmath>

#include "core/aligned.hpp"
#include "core/error.hpp"
#include "kernels/cross_entropy.hpp"
#include "kernels/gemm.hpp"
#include "kernels/vecmath.hpp"

namespace seek {

namespace {

void check_args(const int32_t* targets, int64_t N, int64_t V, double temperature) {
  SEEK_CHECK(temperature > 0, "policy log-probs need a positive temperature, got {}", temperature);
  for (int64_t i = 0; i < N; ++i)
    SEEK_CHECK(targets[i] == -1 || (targets[i] >= 0 && targets[i] < V),
               "policy log-prob: target {} at position {} is outside [0, {})", targets[i], i, V);
}

// One row in place: logits → z = logits / temperature; writes the row's logp and entropy.
// The entropy is log Σe − Σ e·s / Σe over the shifted logits s = z − max, both terms >= 0: on raw logits it
// was lse − Σ e·z / Σe, two numbers the size of the largest logit whose small difference fp32 lost (a peaked
// row's entropy came out 5% off at logits near 30 and negative near 1000). The simd reductions (as in
// cross_entropy.cpp) sum in lanes then a tree, fixed per binary so rows stay deterministic, and more
// accurately than one running fp32 sum over a 100K vocabulary.
template <typename T>
void row_stats(T* row, int64_t V, T inv_temp, int32_t target, T* logp, T* entropy) {
  T mx = row[0] * inv_temp;
#pragma omp simd reduction(max : mx)
  for (int64_t j = 0; j < V; ++j) {
    row[j] *= inv_temp;
    mx = std::max(mx, row[j]);
  }
  T sum = 0, ps = 0;
#pragma omp simd reduction(+ : sum, ps)
  for (int64_t j = 0; j < V; ++j) {
    const T s = row[j] - mx;
    const T e = exp_t(s);
    sum += e;
    ps += e * s;
  }
  const T log_sum = std::log(sum);  // sum >= 1: the max contributes exp(0)
  *logp = target >= 0 ? row[target] - mx - log_sum : T(0);
  *entropy = target >= 0 ? log_sum - ps / sum : T(0);
}

// Both passes walk z = x·Wᵀ a chunk of rows at a time (never all [N × V] logits at once): `row(z_i, i)` runs
// on each row of a chunk in parallel, then `chunk(i0, n, z)` sees the whole chunk, e.g. to backpropagate it.
template <typename T, typename Row, typename Chunk>
void over_logit_chunks(const T* x, const T* W, const int32_t* targets, int64_t N, int64_t d, int64_t V,
                       double temperature, Row&& row, Chunk&& chunk) {
  check_args(targets, N, V, temperature);
  if (N == 0) return;
  const int64_t rows = std::min(N, logits_chunk_rows(V, sizeof(T)));
  // Scratch kept per thread across calls: a fresh 4 MB buffer every call costs page faults and zeroing.
  // (OpenMP workers see their own thread_locals, so the regions below use the pointer, not the buffer.)
  thread_local AlignedBuffer<T> scratch;
  if (scratch.size() < size_t(rows * V)) scratch.resize(size_t(rows * V));
  T* const logits = scratch.data();
  for (int64_t i0 = 0; i0 < N; i0 += rows) {
    const int64_t n = std::min(rows, N - i0);
    linear_forward<T>(x + i0 * d, W, logits, n, V, d);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < n; ++r) row(logits + r * V, i0 + r);
    chunk(i0, n, logits);
  }
}

}  // namespace

template <typename T>
void policy_logprob_forward(const T* x, const T* W, const int32_t* targets, int64_t N, int64_t d, int64_t V,
                            double temperature, T* logp, T* entropy) {
  const T inv_temp = T(1.0 / temperature);
  over_logit_chunks(
      x, W, targets, N, d, V, temperature,
      [&](T* row, int64_t i) {
        T h;
        row_stats(row, V, inv_temp, targets[i], logp + i, entropy ? entropy + i : &h);
      },
      [](int64_t, int64_t, const T*) {});
}

template <typename T>
void policy_logprob_backward(const T* x, const T* W, const int32_t* targets, int64_t N, int64_t d, int64_t V,
                             double temperature, const T* dlogp, const T* dentropy, T* dx, T* dW) {
  const T inv_temp = T(1.0 / temperature);
  over_logit_chunks(
      x, W, targets, N, d, V, temperature,
      [&](T* row, int64_t i) {
        const int32_t tgt = targets[i];
        if (tgt < 0) {
          std::fill(row, row + V, T(0));
          return;
        }
        T lp, h;
        row_stats(row, V, inv_temp, tgt, &lp, &h);
        const T lse = row[tgt] - lp;
        const T g = dlogp[i], e = dentropy ? dentropy[i] : T(0);
        for (int64_t j = 0; j < V; ++j) {
          const T logpj = row[j] - lse;
          const T p = exp_t(logpj);
          row[j] = (-g * p - e * p * (logpj + h)) * inv_temp;
        }
        row[tgt] += g * inv_temp;
      },
      [&](int64_t i0, int64_t n, const T* dlogits) {
        linear_backward<T>(x + i0 * d, W, dlogits, dx + i0 * d, dW, n, V, d);
      });
}

template void policy_logprob_forward<float>(const float*, const float*, const int32_t*, int64_t, int64_t,
                                            int64_t, double, float*, float*);
template void policy_logprob_forward<double>(const double*, const double*, const int32_t*, int64_t, int64_t,
                                             int64_t, double, double*, double*);
template void policy_logprob_backward<float>(const float*, const float*, const int32_t*, int64_t, int64_t,
                                             int64_t, double, const float*, const float*, float*, float*);
template void policy_logprob_backward<double>(const double*, const double*, const int32_t*, int64_t, int64_t,
                                              int64_t, double, const double*, const double*, double*,
                                              double*);

}  // namespace seek

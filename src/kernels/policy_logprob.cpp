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
template <typename T>
void row_stats(T* row, int64_t V, T inv_temp, int32_t target, T* logp, T* entropy) {
  T mx = row[0] * inv_temp;
  for (int64_t j = 0; j < V; ++j) {
    row[j] *= inv_temp;
    mx = std::max(mx, row[j]);
  }
  T sum = 0, pz = 0;
  for (int64_t j = 0; j < V; ++j) {
    const T z = row[j];
    const T e = exp_t(z - mx);
    sum += e;
    pz += e * z;
  }
  const T lse = mx + std::log(sum);
  *logp = target >= 0 ? row[target] - lse : T(0);
  *entropy = target >= 0 ? lse - pz / sum : T(0);
}

}  // namespace

template <typename T>
void policy_logprob_forward(const T* x, const T* W, const int32_t* targets, int64_t N, int64_t d, int64_t V,
                            double temperature, T* logp, T* entropy) {
  check_args(targets, N, V, temperature);
  if (N == 0) return;
  const int64_t rows = std::min(N, logits_chunk_rows(V, sizeof(T)));
  // Scratch kept per thread across calls: a fresh 4 MB buffer every call costs page faults and zeroing.
  // (OpenMP workers see their own thread_locals, so the regions below use the pointer, not the buffer.)
  thread_local AlignedBuffer<T> scratch;
  if (scratch.size() < size_t(rows * V)) scratch.resize(size_t(rows * V));
  T* const logits = scratch.data();
  const T inv_temp = T(1.0 / temperature);
  for (int64_t i0 = 0; i0 < N; i0 += rows) {
    const int64_t n = std::min(rows, N - i0);
    linear_forward<T>(x + i0 * d, W, logits, n, V, d);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < n; ++r) {
      T h;
      row_stats(logits + r * V, V, inv_temp, targets[i0 + r], logp + i0 + r, entropy ? entropy + i0 + r : &h);
    }
  }
}

template <typename T>
void policy_logprob_backward(const T* x, const T* W, const int32_t* targets, int64_t N, int64_t d, int64_t V,
                             double temperature, const T* dlogp, const T* dentropy, T* dx, T* dW) {
  check_args(targets, N, V, temperature);
  if (N == 0) return;
  const int64_t rows = std::min(N, logits_chunk_rows(V, sizeof(T)));
  // Scratch kept per thread across calls: a fresh 4 MB buffer every call costs page faults and zeroing.
  // (OpenMP workers see their own thread_locals, so the regions below use the pointer, not the buffer.)
  thread_local AlignedBuffer<T> scratch;
  if (scratch.size() < size_t(rows * V)) scratch.resize(size_t(rows * V));
  T* const logits = scratch.data();
  const T inv_temp = T(1.0 / temperature);
  for (int64_t i0 = 0; i0 < N; i0 += rows) {
    const int64_t n = std::min(rows, N - i0);
    linear_forward<T>(x + i0 * d, W, logits, n, V, d);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < n; ++r) {
      T* row = logits + r * V;
      const int64_t i = i0 + r;
      const int32_t tgt = targets[i];
      if (tgt < 0) {
        std::fill(row, row + V, T(0));
        continue;
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
    }
    linear_backward<T>(x + i0 * d, W, logits, dx + i0 * d, dW, n, V, d);
  }
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

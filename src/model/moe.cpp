#include "model/moe.hpp"

#include <algorithm>
#include <cstring>

#include "kernels/gemm.hpp"
#include "model/mlp.hpp"

namespace seek {

template <typename T>
double moe_forward(const ModelConfig& c, ParamStore<T>& ps, const MoeIds& ids, const T* x, int64_t B,
                   int64_t Tn, T* y, const BalanceOptions& bal, MoeCache<T>& cache) {
  const int64_t N = B * Tn, d = c.hidden_size, E = c.n_routed_experts, K = c.num_experts_per_tok;
  const int64_t I = c.moe_intermediate_size, A = N * K;
  cache.logits.resize(size_t(N * E));
  linear_forward<T>(x, ps.p(ids.router), cache.logits.data(), N, E, d);
  double bal_loss = router_forward<T>(c, cache.logits.data(), ids.bias >= 0 ? ps.p(ids.bias) : nullptr, B, Tn,
                                      bal, cache.router);

  // Group assignments by expert with a counting sort; within an expert, rows stay in token order. Each
  // expert's segment is padded with zero rows to gemm_rows_bucket(load), which the GEMMs then run over.
  const auto& load = cache.router.load;
  cache.offsets.assign(size_t(E + 1), 0);
  for (int64_t e = 0; e < E; ++e)
    cache.offsets[size_t(e + 1)] = cache.offsets[size_t(e)] + gemm_rows_bucket(load[size_t(e)]);
  const int64_t rows = cache.offsets[size_t(E)];
  cache.order.assign(size_t(rows), -1);
  cache.row_of.resize(size_t(A));
  std::vector<int64_t> next(cache.offsets.begin(), cache.offsets.end() - 1);
  for (int64_t a = 0; a < A; ++a) {
    int64_t row = next[size_t(cache.router.idx[size_t(a)])]++;
    cache.order[size_t(row)] = int32_t(a);
    cache.row_of[size_t(a)] = int32_t(row);
  }
  cache.xe.resize(size_t(rows * d));
  cache.ye.resize(size_t(rows * d));
  cache.g.resize(size_t(rows * I));
  cache.u.resize(size_t(rows * I));
  cache.h.resize(size_t(rows * I));
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t a = cache.order[size_t(r)];
    T* dst = cache.xe.data() + r * d;
    if (a >= 0)
      std::memcpy(dst, x + (a / K) * d, sizeof(T) * d);
    else
      std::fill(dst, dst + d, T(0));
  }
  for (int64_t e = 0; e < E; ++e) {
    int64_t r0 = cache.offsets[size_t(e)], n = cache.offsets[size_t(e + 1)] - r0;
    mlp_forward<T>(ps, ids.experts[size_t(e)], cache.xe.data() + r0 * d, n, d, cache.ye.data() + r0 * d,
                   cache.g.data() + r0 * I, cache.u.data() + r0 * I, cache.h.data() + r0 * I);
  }
  if (ids.shared.gate >= 0) {
    const int64_t S = ids.shared.inter;
    cache.sg.resize(size_t(N * S));
    cache.su.resize(size_t(N * S));
    cache.sh.resize(size_t(N * S));
    mlp_forward<T>(ps, ids.shared, x, N, d, y, cache.sg.data(), cache.su.data(), cache.sh.data());
  } else {
    std::memset(static_cast<void*>(y), 0, sizeof(T) * size_t(N * d));
  }
  const T* w = cache.router.weight.data();
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < N; ++t) {
    T* yt = y + t * d;
    for (int64_t k = 0; k < K; ++k) {
      const T* ye = cache.ye.data() + int64_t(cache.row_of[size_t(t * K + k)]) * d;
      const T wk = w[t * K + k];
      for (int64_t i = 0; i < d; ++i) yt[i] += wk * ye[i];
    }
  }
  return bal_loss;
}

template <typename T>
void moe_backward(const ModelConfig& c, ParamStore<T>& ps, const MoeIds& ids, const T* x, int64_t B,
                  int64_t Tn, const T* dy, T* dx, const BalanceOptions& bal, double balance_grad_scale,
                  MoeCache<T>& cache) {
  const int64_t N = B * Tn, d = c.hidden_size, E = c.n_routed_experts, K = c.num_experts_per_tok;
  const int64_t I = c.moe_intermediate_size, A = N * K;
  const T* w = cache.router.weight.data();
  const int64_t rows = cache.offsets[size_t(E)];
  cache.dye.resize(size_t(rows * d));
  cache.dxe.resize(size_t(rows * d));
  cache.dweight.resize(size_t(A));
  // Padding rows: their inputs are zero, and so their activations, so they add exact zeros to the experts'
  // weight gradients; zeroing their output gradients too keeps a stale value (a NaN from a skipped step) out
  // of those sums (0 × NaN).
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; ++r) {
    if (cache.order[size_t(r)] < 0) std::fill_n(cache.dye.data() + r * d, d, T(0));
  }
  // y_t = shared_t + Σ_k w_k · ye_row:  dye_row = w_k · dy_t,  dw_k = <dy_t, ye_row>
#pragma omp parallel for schedule(static)
  for (int64_t a = 0; a < A; ++a) {
    const int64_t t = a / K, row = cache.row_of[size_t(a)];
    const T* g = dy + t * d;
    const T* ye = cache.ye.data() + row * d;
    T* dye = cache.dye.data() + row * d;
    T dot = 0;
    for (int64_t i = 0; i < d; ++i) {
      dot += g[i] * ye[i];
      dye[i] = w[a] * g[i];
    }
    cache.dweight[size_t(a)] = dot;
  }
  cache.da.resize(size_t(std::max(rows * I, N * ids.shared.inter)));
  cache.db.resize(cache.da.size());
  for (int64_t e = 0; e < E; ++e) {
    int64_t r0 = cache.offsets[size_t(e)], n = cache.offsets[size_t(e + 1)] - r0;
    mlp_backward<T>(ps, ids.experts[size_t(e)], cache.xe.data() + r0 * d, n, d, cache.dye.data() + r0 * d,
                    cache.dxe.data() + r0 * d, cache.g.data() + r0 * I, cache.u.data() + r0 * I,
                    cache.h.data() + r0 * I, cache.da.data(), cache.db.data(), false);
  }
  // Router: gate-value gradients (+ balance loss) → logits → W_gate and x.
  cache.dlogits.resize(size_t(N * E));
  router_backward<T>(c, cache.router, cache.dweight.data(), B, Tn, bal, balance_grad_scale,
                     cache.dlogits.data());
  linear_backward<T>(x, ps.p(ids.router), cache.dlogits.data(), dx, ps.g(ids.router), N, E, d, false);
  if (ids.shared.gate >= 0)
    mlp_backward<T>(ps, ids.shared, x, N, d, dy, dx, cache.sg.data(), cache.su.data(), cache.sh.data(),
                    cache.da.data(), cache.db.data(), true);
    // Gather the experts' input gradients back to tokens, in slot order.
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < N; ++t) {
    T* dxt = dx + t * d;
    for (int64_t k = 0; k < K; ++k) {
      const T* g = cache.dxe.data() + int64_t(cache.row_of[size_t(t * K + k)]) * d;
      for (int64_t i = 0; i < d; ++i) dxt[i] += g[i];
    }
  }
}

template double moe_forward<float>(const ModelConfig&, ParamStore<float>&, const MoeIds&, const float*,
                                   int64_t, int64_t, float*, const BalanceOptions&, MoeCache<float>&);
template double moe_forward<double>(const ModelConfig&, ParamStore<double>&, const MoeIds&, const double*,
                                    int64_t, int64_t, double*, const BalanceOptions&, MoeCache<double>&);
template void moe_backward<float>(const ModelConfig&, ParamStore<float>&, const MoeIds&, const float*,
                                  int64_t, int64_t, const float*, float*, const BalanceOptions&, double,
                                  MoeCache<float>&);
template void moe_backward<double>(const ModelConfig&, ParamStore<double>&, const MoeIds&, const double*,
                                   int64_t, int64_t, const double*, double*, const BalanceOptions&, double,
                                   MoeCache<double>&);

}  // namespace seek

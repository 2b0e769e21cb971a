#include "model/router.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace seek {

namespace {

bool weights_normalised(const ModelConfig& c) {
  // V3 (noaux_tc): renormalise when norm_topk_prob, then always scale. V2 remote code: renormalise when
  // norm_topk_prob and K > 1, otherwise scale (spec §4.2, §4.3).
  if (c.topk_method == TopkMethod::NoauxTc) return c.norm_topk_prob;
  return c.norm_topk_prob && c.num_experts_per_tok > 1;
}

double weight_scale(const ModelConfig& c) {
  if (c.topk_method == TopkMethod::NoauxTc) return c.routed_scaling_factor;
  return weights_normalised(c) ? 1.0 : c.routed_scaling_factor;
}

// Indices of the k largest values; ties go to the lower index so selection is deterministic. A NaN ranks
// below every number: `>` alone is no strict weak ordering once a NaN is present, which std::partial_sort
// requires (undefined behaviour otherwise; the choice then depended on where the NaN sat).
template <typename V>
void top_k(const V* v, int64_t n, int64_t k, int32_t* out, std::vector<int32_t>& scratch) {
  scratch.resize(size_t(n));
  std::iota(scratch.begin(), scratch.end(), 0);
  std::partial_sort(scratch.begin(), scratch.begin() + k, scratch.end(), [&](int32_t a, int32_t b) {
    const V x = v[a], y = v[b];
    if (x > y) return true;
    if (x < y) return false;
    const bool x_nan = std::isnan(x), y_nan = std::isnan(y);
    if (x_nan != y_nan) return y_nan;
    return a < b;
  });
  std::copy(scratch.begin(), scratch.begin() + k, out);
}

template <typename T>
void select_experts(const ModelConfig& c, const T* s, const T* bias, int32_t* idx, std::vector<T>& choice,
                    std::vector<T>& gscore, std::vector<int32_t>& gidx, std::vector<int32_t>& scratch) {
  const int64_t E = c.n_routed_experts, K = c.num_experts_per_tok;
  choice.assign(s, s + E);
  if (c.topk_method == TopkMethod::NoauxTc && bias)
    for (int64_t e = 0; e < E; ++e) choice[size_t(e)] += bias[e];
  if (c.topk_method != TopkMethod::Greedy && c.n_group > 1) {
    const int64_t G = c.n_group, per = E / G;
    gscore.resize(size_t(G));
    for (int64_t g = 0; g < G; ++g) {
      const T* v = choice.data() + g * per;
      if (c.topk_method == TopkMethod::NoauxTc) {  // sum of the two largest biased scores
        T a = v[0], b = per > 1 ? v[1] : T(0);
        if (b > a) std::swap(a, b);
        for (int64_t e = 2; e < per; ++e) {
          if (v[e] > a) {
            b = a;
            a = v[e];
          } else if (v[e] > b) {
            b = v[e];
          }
        }
        gscore[size_t(g)] = a + b;
      } else {  // V2: the group's best expert
        gscore[size_t(g)] = *std::max_element(v, v + per);
      }
    }
    gidx.resize(size_t(c.topk_group));
    top_k(gscore.data(), G, c.topk_group, gidx.data(), scratch);
    std::vector<char> keep(size_t(G), 0);
    for (int32_t g : gidx) keep[size_t(g)] = 1;
    // Experts of dropped groups get 0.0, as Hugging Face fills them (spec §4.3 pitfall 8).
    for (int64_t e = 0; e < E; ++e)
      if (!keep[size_t(e / per)]) choice[size_t(e)] = T(0);
  }
  top_k(choice.data(), E, K, idx, scratch);
}

}  // namespace

template <typename T>
double router_forward(const ModelConfig& c, const T* logits, const T* bias, int64_t B, int64_t Tn,
                      const BalanceOptions& bal, RouterCache<T>& cache) {
  const int64_t E = c.n_routed_experts, K = c.num_experts_per_tok, N = B * Tn;
  cache.scores.resize(size_t(N * E));
  cache.idx.resize(size_t(N * K));
  cache.weight.resize(size_t(N * K));
  cache.norm_denom.resize(size_t(N));
  cache.score_sum.resize(size_t(N));
  const bool normalise = weights_normalised(c);
  const T scale = T(weight_scale(c));
#pragma omp parallel
  {
    std::vector<T> choice, gscore;
    std::vector<int32_t> gidx, scratch;
#pragma omp for schedule(static)
    for (int64_t t = 0; t < N; ++t) {
      const T* l = logits + t * E;
      T* s = cache.scores.data() + t * E;
      if (c.scoring_func == ScoringFunc::Softmax) {
        T mx = *std::max_element(l, l + E), z = 0;
        for (int64_t e = 0; e < E; ++e) z += (s[e] = std::exp(l[e] - mx));
        for (int64_t e = 0; e < E; ++e) s[e] /= z;
      } else {
        for (int64_t e = 0; e < E; ++e) s[e] = T(1) / (T(1) + std::exp(-l[e]));
      }
      T ssum = 0;
      for (int64_t e = 0; e < E; ++e) ssum += s[e];
      cache.score_sum[size_t(t)] = ssum;
      int32_t* idx = cache.idx.data() + t * K;
      select_experts(c, s, bias, idx, choice, gscore, gidx, scratch);
      T* w = cache.weight.data() + t * K;
      T denom = 0;
      for (int64_t k = 0; k < K; ++k) denom += s[idx[k]];
      denom += T(1e-20);
      cache.norm_denom[size_t(t)] = denom;
      for (int64_t k = 0; k < K; ++k) w[k] = (normalise ? s[idx[k]] / denom : s[idx[k]]) * scale;
    }
  }
  cache.load.assign(size_t(E), 0);
  for (int64_t a = 0; a < N * K; ++a) ++cache.load[size_t(cache.idx[size_t(a)])];
  cache.counted_load = cache.load;
  if (!bal.row_lengths.empty()) {
    std::fill(cache.counted_load.begin(), cache.counted_load.end(), 0);
    for (int64_t t = 0; t < N; ++t)
      if (t % Tn < bal.counted(t / Tn, Tn))
        for (int64_t k = 0; k < K; ++k) ++cache.counted_load[size_t(cache.idx[size_t(t * K + k)])];
  }

  cache.balance_loss = 0;
  if (bal.alpha == 0.0) return 0.0;
  // A set is a row (seq_aux) or the batch, of the tokens that count.
  const int64_t sets = bal.seq_aux ? B : 1;
  cache.f.assign(size_t(sets * E), 0.0);
  cache.set_tokens.assign(size_t(sets), 0);
  std::vector<std::vector<double>> P(size_t(sets), std::vector<double>(size_t(E), 0.0));
  for (int64_t t = 0; t < N; ++t) {
    if (t % Tn >= bal.counted(t / Tn, Tn)) continue;
    const int64_t st = bal.seq_aux ? t / Tn : 0;
    ++cache.set_tokens[size_t(st)];
    double* f = cache.f.data() + st * E;
    for (int64_t k = 0; k < K; ++k) f[cache.idx[size_t(t * K + k)]] += 1.0;
    const T* s = cache.scores.data() + t * E;
    double denom = c.scoring_func == ScoringFunc::Softmax ? 1.0 : double(cache.score_sum[size_t(t)]);
    for (int64_t e = 0; e < E; ++e) P[size_t(st)][size_t(e)] += double(s[e]) / denom;
  }
  double total = 0;
  cache.balance_sets = 0;
  for (int64_t st = 0; st < sets; ++st) {
    const int64_t n = cache.set_tokens[size_t(st)];
    if (n == 0) continue;
    ++cache.balance_sets;
    double* f = cache.f.data() + st * E;
    double loss = 0;
    for (int64_t e = 0; e < E; ++e) {
      f[e] *= double(E) / double(K * n);
      loss += f[e] * P[size_t(st)][size_t(e)] / double(n);
    }
    total += bal.alpha * loss;
  }
  cache.balance_loss = cache.balance_sets > 0 ? total / double(cache.balance_sets) : 0.0;
  return cache.balance_loss;
}

template <typename T>
void router_backward(const ModelConfig& c, const RouterCache<T>& cache, const T* dweight, int64_t B,
                     int64_t Tn, const BalanceOptions& bal, double balance_grad_scale, T* dlogits) {
  const int64_t E = c.n_routed_experts, K = c.num_experts_per_tok, N = B * Tn;
  const bool normalise = weights_normalised(c);
  const T scale = T(weight_scale(c));
  const bool with_balance = bal.alpha != 0.0 && cache.balance_sets > 0;
#pragma omp parallel
  {
    std::vector<T> ds(static_cast<size_t>(E));
#pragma omp for schedule(static)
    for (int64_t t = 0; t < N; ++t) {
      std::fill(ds.begin(), ds.end(), T(0));
      const T* s = cache.scores.data() + t * E;
      const int32_t* idx = cache.idx.data() + t * K;
      const T* dw = dweight + t * K;
      if (normalise) {  // w_k = scale · s_k / S,  S = Σ_sel s + 1e-20
        T S = cache.norm_denom[size_t(t)], dot = 0;
        for (int64_t k = 0; k < K; ++k) dot += dw[k] * s[idx[k]];
        for (int64_t k = 0; k < K; ++k) ds[size_t(idx[k])] += scale * (dw[k] / S - dot / (S * S));
      } else {
        for (int64_t k = 0; k < K; ++k) ds[size_t(idx[k])] += scale * dw[k];
      }
      if (with_balance && t % Tn < bal.counted(t / Tn, Tn)) {
        // dL/ds'_{t,i} = α f_i / |set| / sets; then through s' = s / Σ s for sigmoid scores.
        const int64_t st = bal.seq_aux ? t / Tn : 0;
        const double* f = cache.f.data() + st * E;
        const double coef = balance_grad_scale * bal.alpha / double(cache.set_tokens[size_t(st)]) /
                            double(cache.balance_sets);
        if (c.scoring_func == ScoringFunc::Softmax) {
          for (int64_t e = 0; e < E; ++e) ds[size_t(e)] += T(coef * f[e]);
        } else {
          double S = double(cache.score_sum[size_t(t)]), gs = 0;
          for (int64_t e = 0; e < E; ++e) gs += f[e] * double(s[e]) / S;
          for (int64_t e = 0; e < E; ++e) ds[size_t(e)] += T(coef * (f[e] - gs) / S);
        }
      }
      T* dl = dlogits + t * E;
      if (c.scoring_func == ScoringFunc::Softmax) {
        T dot = 0;
        for (int64_t e = 0; e < E; ++e) dot += ds[size_t(e)] * s[e];
        for (int64_t e = 0; e < E; ++e) dl[e] = s[e] * (ds[size_t(e)] - dot);
      } else {
        for (int64_t e = 0; e < E; ++e) dl[e] = ds[size_t(e)] * s[e] * (T(1) - s[e]);
      }
    }
  }
}

template double router_forward<float>(const ModelConfig&, const float*, const float*, int64_t, int64_t,
                                      const BalanceOptions&, RouterCache<float>&);
template double router_forward<double>(const ModelConfig&, const double*, const double*, int64_t, int64_t,
                                       const BalanceOptions&, RouterCache<double>&);
template void router_backward<float>(const ModelConfig&, const RouterCache<float>&, const float*, int64_t,
                                     int64_t, const BalanceOptions&, double, float*);
template void router_backward<double>(const ModelConfig&, const RouterCache<double>&, const double*, int64_t,
                                      int64_t, const BalanceOptions&, double, double*);

}  // namespace seek

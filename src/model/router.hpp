// The MoE router (spec §4): scores, expert selection, gate weights, and the balance loss (docs/model.md).
//   logits: [N, E] = x · W_gateᵀ (computed by the caller)
//   bias:   [E] e_score_correction_bias, used only to choose experts (noaux_tc), or null
//   idx:    [N, K] selected experts;  weight: [N, K] gate values that multiply the expert outputs
// Selection (top-k, group limits, bias) is piecewise constant, so gradients flow only through the scores of
// the selected experts (gate values) and through P in the balance loss.
#pragma once
#include <cstdint>
#include <vector>

#include "core/capacity_bytes.hpp"
#include "model/config.hpp"

namespace seek {

struct BalanceOptions {
  double alpha = 0.0;   // 0 disables the balance loss
  bool seq_aux = true;  // per sequence (V3 complementary loss) or over the whole batch
};

template <typename T>
struct RouterCache {
  std::vector<T> scores;      // [N, E] softmax probabilities or sigmoid outputs
  std::vector<int32_t> idx;   // [N, K]
  std::vector<T> weight;      // [N, K]
  std::vector<T> norm_denom;  // [N] Σ selected scores + 1e-20, when the weights are renormalised
  std::vector<T> score_sum;   // [N] Σ_e scores (for s' = s / Σ s)
  std::vector<double> f;      // [sets, E] balance-loss load fractions
  std::vector<int64_t> load;  // [E] assignments per expert in this forward
  double balance_loss = 0;

  int64_t bytes() const { return capacity_bytes(scores, idx, weight, norm_denom, score_sum, f, load); }
};

// Returns the balance loss of this layer (0 when alpha == 0). B sequences of Tn tokens make N = B·Tn.
template <typename T>
double router_forward(const ModelConfig& cfg, const T* logits, const T* bias, int64_t B, int64_t Tn,
                      const BalanceOptions& bal, RouterCache<T>& cache);

// dweight: [N, K] gradient w.r.t. the gate values; adds the balance-loss gradient (scaled by
// balance_grad_scale); writes dlogits [N, E].
template <typename T>
void router_backward(const ModelConfig& cfg, const RouterCache<T>& cache, const T* dweight, int64_t B,
                     int64_t Tn, const BalanceOptions& bal, double balance_grad_scale, T* dlogits);

}  // namespace seek

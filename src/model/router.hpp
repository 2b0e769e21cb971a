// The MoE router (spec §4): scores, expert selection, gate weights, and the balance loss (docs/model.md).
//   logits: [N, E] = x · W_gateᵀ (computed by the caller)
//   bias:   [E] e_score_correction_bias, used only to choose experts (noaux_tc), or null
//   idx:    [N, K] selected experts;  weight: [N, K] gate values that multiply the expert outputs
// Selection (top-k, group limits, bias) is piecewise constant, so gradients flow only through the scores of
// the selected experts (gate values) and through P in the balance loss.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/capacity_bytes.hpp"
#include "model/config.hpp"

namespace seek {

struct BalanceOptions {
  double alpha = 0.0;   // 0 disables the balance loss
  bool seq_aux = true;  // per sequence (V3 complementary loss) or over the whole batch
  // Tokens of each of the B rows that count: the rest of a row is padding (seek train's SFT sequences), left
  // out of the balance loss and the expert loads. Empty: every token counts.
  std::vector<int64_t> row_lengths;
  int64_t counted(int64_t row, int64_t Tn) const {
    return row_lengths.empty() ? Tn : std::clamp<int64_t>(row_lengths[size_t(row)], 0, Tn);
  }
  // As the rows of a module that sees `shift` positions fewer (MTP depth k: position t pairs with token
  // t + k, so it counts while t + k does).
  BalanceOptions shifted(int64_t shift) const {
    BalanceOptions b = *this;
    for (int64_t& n : b.row_lengths) n = std::max<int64_t>(0, n - shift);
    return b;
  }
};

template <typename T>
struct RouterCache {
  std::vector<T> scores;            // [N, E] softmax probabilities or sigmoid outputs
  std::vector<int32_t> idx;         // [N, K]
  std::vector<T> weight;            // [N, K]
  std::vector<T> norm_denom;        // [N] Σ selected scores + 1e-20, when the weights are renormalised
  std::vector<T> score_sum;         // [N] Σ_e scores (for s' = s / Σ s)
  std::vector<double> f;            // [sets, E] balance-loss load fractions
  std::vector<int64_t> set_tokens;  // [sets] tokens counted in each set
  int64_t balance_sets = 0;         // sets with a counted token, which L_bal averages over
  std::vector<int64_t> load;  // [E] assignments per expert in this forward (the MoE lays its rows out by it)
  std::vector<int64_t> counted_load;  // [E] those of the tokens that count (BalanceOptions::row_lengths)
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

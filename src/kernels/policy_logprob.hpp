// Per-token log-probabilities and entropies of a policy for RL, fused with the output head and chunked like
// cross_entropy (never more than one chunk of [tokens × vocab] logits):
//   x:       [N, d] final normed hidden states;  W: [V, d] output head
//   targets: [N] the token whose log-probability is wanted at each position, -1 = none (logp = entropy = 0)
//   z = x·Wᵀ / temperature;  logp[i] = log softmax(z_i)[target_i];  entropy[i] = −Σ_j p_ij log p_ij
// Backward of L = Σ_i dlogp[i]·logp[i] + dentropy[i]·entropy[i]:
//   ∂L/∂z_ij = dlogp_i (δ_{j,target} − p_ij) − dentropy_i p_ij (log p_ij + entropy_i), then ÷ temperature;
//   dx [N, d] WRITTEN, dW [V, d] ACCUMULATED. dentropy may be null (no entropy term).
#pragma once
#include <cstdint>

namespace seek {

template <typename T>
void policy_logprob_forward(const T* x, const T* W, const int32_t* targets, int64_t N, int64_t d, int64_t V,
                            double temperature, T* logp, T* entropy);

template <typename T>
void policy_logprob_backward(const T* x, const T* W, const int32_t* targets, int64_t N, int64_t d, int64_t V,
                             double temperature, const T* dlogp, const T* dentropy, T* dx, T* dW);

}  // namespace seek

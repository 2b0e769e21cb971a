// Fused output head + softmax cross-entropy: logits = x·Wᵀ are computed a chunk of rows at a time and never
// exist for all tokens at once.
//   x:       [N, d]  final (normed) hidden states
//   W:       [V, d]  lm_head weight, torch Linear layout
//   targets: [N]     class ids in [0, V), or -1 to ignore the position; anything else throws seek::Error
//   dx:      [N, d]  WRITTEN when non-null (ignored rows get 0)
//   dW:      [V, d]  ACCUMULATED (+=) when non-null
//   token_logprob: [N] optional, log p(target) per token (0 for ignored positions)
// loss_sum = Σ_valid −log softmax(logits_i)[target_i], summed in double in token order (deterministic);
// count = number of valid targets. Gradients are those of L = grad_scale · loss_sum, built from the chunk's
// dlogits = grad_scale · (softmax − onehot) with two GEMMs per chunk (dx = dlogits·W, dW += dlogitsᵀ·x).
// chunk_tokens = 0 picks the number of rows whose logits take about 4 MB.
#pragma once
#include <cstdint>

namespace seek {

struct CrossEntropyResult {
  double loss_sum = 0;
  int64_t count = 0;
};

template <typename T>
CrossEntropyResult cross_entropy_forward_backward(const T* x, const T* W, const int32_t* targets, int64_t N,
                                                  int64_t d, int64_t V, T grad_scale, T* dx, T* dW,
                                                  T* token_logprob = nullptr, int64_t chunk_tokens = 0);

// Rows of [rows × V] logits processed at a time: ~4 MB, but at least 128 rows (shared with policy_logprob).
int64_t logits_chunk_rows(int64_t V, int64_t elem_bytes);

// Plain logits[N, V] = x·Wᵀ (tests, inference).
template <typename T>
void output_logits(const T* x, const T* W, T* logits, int64_t N, int64_t d, int64_t V);

}  // namespace seek

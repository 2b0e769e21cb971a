// DeepSeekMoE block: shared experts (always on, unweighted) plus K of E fine-grained routed experts per
// token.
//   x: [N, d] (post-attention-normed hidden states), y: [N, d] written
// Tokens are grouped by expert (stable, in token order) so each expert runs one GEMM over all its tokens;
// outputs are combined per token in slot order, so results do not depend on the thread count.
#pragma once
#include <vector>

#include "model/params.hpp"
#include "model/router.hpp"
#include "model/weights.hpp"

namespace seek {

template <typename T>
struct MoeCache {
  std::vector<T> logits;  // [N, E]
  RouterCache<T> router;
  std::vector<int32_t> order;    // [R] assignment (t·K + k) at each grouped row, -1 on padding rows
  std::vector<int32_t> row_of;   // [N·K] grouped row of each assignment
  std::vector<int64_t> offsets;  // [E + 1] first grouped row of each expert; R = offsets[E] ≤ 17/16·N·K
  std::vector<T> xe, ye;         // [R, d] grouped inputs (zero on padding rows) and expert outputs
  std::vector<T> g, u, h;        // [R, I] expert activations
  std::vector<T> sg, su, sh;     // [N, n_shared·I] shared-expert activations
  std::vector<T> dye, dxe, da, db;  // backward scratch
  std::vector<T> dweight, dlogits;

  int64_t bytes() const {
    return router.bytes() + capacity_bytes(logits, order, row_of, offsets, xe, ye, g, u, h, sg, su, sh) +
           capacity_bytes(dye, dxe, da, db, dweight, dlogits);
  }
};

// Returns this layer's balance loss.
template <typename T>
double moe_forward(const ModelConfig& cfg, ParamStore<T>& ps, const MoeIds& ids, const T* x, int64_t B,
                   int64_t Tn, T* y, const BalanceOptions& bal, MoeCache<T>& cache);

// dx [N, d] written.
template <typename T>
void moe_backward(const ModelConfig& cfg, ParamStore<T>& ps, const MoeIds& ids, const T* x, int64_t B,
                  int64_t Tn, const T* dy, T* dx, const BalanceOptions& bal, double balance_grad_scale,
                  MoeCache<T>& cache);

}  // namespace seek

// SwiGLU MLP on a set of rows: y = down( silu(gate x) ⊙ up x ). Used for dense layers, each routed expert and
// the shared experts.
//   x: [n, d]; y: [n, d] (written, or added when accumulate)
//   g, u, h: [n, I] caller-provided activations kept for backward (I = ids.inter)
// Backward: dx [n, d] written (or added); weight grads accumulated; scratch [n, I] × 2 caller-provided.
#pragma once
#include "model/params.hpp"
#include "model/weights.hpp"

namespace seek {

template <typename T>
void mlp_forward(ParamStore<T>& ps, const MlpIds& ids, const T* x, int64_t n, int64_t d, T* y, T* g, T* u,
                 T* h, bool accumulate = false);

template <typename T>
void mlp_backward(ParamStore<T>& ps, const MlpIds& ids, const T* x, int64_t n, int64_t d, const T* dy, T* dx,
                  const T* g, const T* u, const T* h, T* scratch_a, T* scratch_b, bool accumulate_dx);

}  // namespace seek

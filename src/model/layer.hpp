// One pre-norm decoder layer: h += MLA(RMSNorm(h)); h += FFN(RMSNorm(h)), FFN dense SwiGLU or MoE.
//   h_in, h_out: [N, d]; h_in must stay unchanged until backward (the model keeps every layer's input).
#pragma once
#include <vector>

#include "model/mla.hpp"
#include "model/moe.hpp"

namespace seek {

template <typename T>
struct LayerCache {
  std::vector<T> xn1, rstd1, attn, hmid, xn2, rstd2, ffn;
  std::vector<T> g, u, h, da, db;  // dense MLP activations and backward scratch
  std::vector<T> dx, dhmid;
  MlaCache<T> mla;
  MoeCache<T> moe;

  int64_t bytes() const {
    return capacity_bytes(xn1, rstd1, attn, hmid, xn2, rstd2, ffn, g, u, h, da, db, dx, dhmid) + mla.bytes() +
           moe.bytes();
  }
};

// Returns the layer's balance loss (0 for dense layers).
template <typename T>
double layer_forward(const ModelConfig& cfg, const RopeTable<T>& rope, ParamStore<T>& ps, const LayerIds& ids,
                     const T* h_in, int64_t B, int64_t Tn, T* h_out, const BalanceOptions& bal,
                     LayerCache<T>& cache);

// dh_in [N, d] written.
template <typename T>
void layer_backward(const ModelConfig& cfg, const RopeTable<T>& rope, ParamStore<T>& ps, const LayerIds& ids,
                    const T* h_in, int64_t B, int64_t Tn, const T* dh_out, T* dh_in,
                    const BalanceOptions& bal, double balance_grad_scale, LayerCache<T>& cache);

}  // namespace seek

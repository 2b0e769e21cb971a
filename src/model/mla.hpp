// Multi-head Latent Attention, naive (decompressed) form for training (spec §3.2).
//   x:   [N, d] input (already normed), N = B·Tn, positions 0..Tn-1 in each sequence
//   out: [N, d]
// query:  q = W_q x, or W_qb · RMSNorm(W_qa x)             → [N, H, dq], dq = dn + dr
// kv:     a = W_kva x = [c_raw (r) | k_pe (dr)]; c = RMSNorm(c_raw); kv = W_kvb c → [N, H, dn + dv]
// RoPE (interleaved) on q's last dr channels per head and on the single shared k_pe.
// K_h = [k_nope_h | k_pe] (k_pe broadcast to every head), V_h = v_h; causal attention with the YaRN scale.
#pragma once
#include <vector>

#include "core/capacity_bytes.hpp"
#include "kernels/rope.hpp"
#include "model/config.hpp"
#include "model/params.hpp"
#include "model/weights.hpp"

namespace seek {

template <typename T>
struct MlaCache {
  std::vector<T> qa, qa_n, qa_rstd;  // q_lora path: [N, rq], [N, rq], [N]
  std::vector<T> q;                  // [N, H, dq], roped
  std::vector<T> kva, c, c_rstd;     // [N, r + dr], [N, r], [N]
  std::vector<T> kv;                 // [N, H, dn + dv]
  std::vector<T> k, v, o, lse;       // [N, H, dq], [N, H, dv], [N, H, dv], [B, H, Tn]
  std::vector<T> d_o, dq, dk, dv, dkv, dc, dkva, dqa, dqa_n, kpe;  // backward scratch

  int64_t bytes() const {
    return capacity_bytes(qa, qa_n, qa_rstd, q, kva, c, c_rstd, kv, k, v, o, lse) +
           capacity_bytes(d_o, dq, dk, dv, dkv, dc, dkva, dqa, dqa_n, kpe);
  }
};

template <typename T>
void mla_forward(const ModelConfig& cfg, const RopeTable<T>& rope, ParamStore<T>& ps, const AttnIds& ids,
                 const T* x, int64_t B, int64_t Tn, T* out, MlaCache<T>& cache);

// dx [N, d] written.
template <typename T>
void mla_backward(const ModelConfig& cfg, const RopeTable<T>& rope, ParamStore<T>& ps, const AttnIds& ids,
                  const T* x, int64_t B, int64_t Tn, const T* dout, T* dx, MlaCache<T>& cache);

}  // namespace seek

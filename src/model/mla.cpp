#include "model/mla.hpp"

#include <cstring>

#include "kernels/attention.hpp"
#include "kernels/gemm.hpp"
#include "kernels/rmsnorm.hpp"

namespace seek {

template <typename T>
void mla_forward(const ModelConfig& c, const RopeTable<T>& rope, ParamStore<T>& ps, const AttnIds& ids,
                 const T* x, int64_t B, int64_t Tn, T* out, MlaCache<T>& m) {
  const int64_t N = B * Tn, d = c.hidden_size, H = c.num_attention_heads;
  const int64_t dn = c.qk_nope_head_dim, dr = c.qk_rope_head_dim, dq = dn + dr, dv = c.v_head_dim;
  const int64_t r = c.kv_lora_rank, ra = r + dr;
  m.q.resize(size_t(N * H * dq));
  if (c.has_q_lora()) {
    const int64_t rq = c.q_lora_rank;
    m.qa.resize(size_t(N * rq));
    m.qa_n.resize(size_t(N * rq));
    m.qa_rstd.resize(size_t(N));
    linear_forward<T>(x, ps.p(ids.q_a), m.qa.data(), N, rq, d);
    rmsnorm_forward<T>(m.qa.data(), rq, ps.p(ids.q_a_norm), m.qa_n.data(), rq, m.qa_rstd.data(), N, rq,
                       ModelConfig::kLatentNormEps);
    linear_forward<T>(m.qa_n.data(), ps.p(ids.q_b), m.q.data(), N, H * dq, rq);
  } else {
    linear_forward<T>(x, ps.p(ids.q_proj), m.q.data(), N, H * dq, d);
  }
  m.kva.resize(size_t(N * ra));
  m.c.resize(size_t(N * r));
  m.c_rstd.resize(size_t(N));
  linear_forward<T>(x, ps.p(ids.kv_a), m.kva.data(), N, ra, d);
  rmsnorm_forward<T>(m.kva.data(), ra, ps.p(ids.kv_a_norm), m.c.data(), r, m.c_rstd.data(), N, r,
                     ModelConfig::kLatentNormEps);
  m.kv.resize(size_t(N * H * (dn + dv)));
  linear_forward<T>(m.c.data(), ps.p(ids.kv_b), m.kv.data(), N, H * (dn + dv), r);

  rope_forward<T>(rope, m.q.data(), N, H * dq, dn, H, dq, Tn);
  m.kpe.resize(size_t(N * dr));
  for (int64_t n = 0; n < N; ++n)
    std::memcpy(m.kpe.data() + n * dr, m.kva.data() + n * ra + r, sizeof(T) * dr);
  rope_forward<T>(rope, m.kpe.data(), N, dr, 0, 1, dr, Tn);

  m.k.resize(size_t(N * H * dq));
  m.v.resize(size_t(N * H * dv));
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n)
    for (int64_t h = 0; h < H; ++h) {
      const T* kvh = m.kv.data() + (n * H + h) * (dn + dv);
      T* kh = m.k.data() + (n * H + h) * dq;
      std::memcpy(kh, kvh, sizeof(T) * dn);
      std::memcpy(kh + dn, m.kpe.data() + n * dr, sizeof(T) * dr);
      std::memcpy(m.v.data() + (n * H + h) * dv, kvh + dn, sizeof(T) * dv);
    }
  m.o.resize(size_t(N * H * dv));
  m.lse.resize(size_t(B * H * Tn));
  attention_forward<T>(m.q.data(), m.k.data(), m.v.data(), m.o.data(), m.lse.data(), B, Tn, H, dq, dv,
                       T(c.softmax_scale()));
  linear_forward<T>(m.o.data(), ps.p(ids.o_proj), out, N, d, H * dv);
}

template <typename T>
void mla_backward(const ModelConfig& c, const RopeTable<T>& rope, ParamStore<T>& ps, const AttnIds& ids,
                  const T* x, int64_t B, int64_t Tn, const T* dout, T* dx, MlaCache<T>& m) {
  const int64_t N = B * Tn, d = c.hidden_size, H = c.num_attention_heads;
  const int64_t dn = c.qk_nope_head_dim, dr = c.qk_rope_head_dim, dq = dn + dr, dv = c.v_head_dim;
  const int64_t r = c.kv_lora_rank, ra = r + dr;
  m.dq.resize(size_t(N * H * dq));
  m.dk.resize(size_t(N * H * dq));
  m.dv.resize(size_t(N * H * dv));
  m.d_o.resize(size_t(N * H * dv));
  linear_backward<T>(m.o.data(), ps.p(ids.o_proj), dout, m.d_o.data(), ps.g(ids.o_proj), N, d, H * dv);
  attention_backward<T>(m.q.data(), m.k.data(), m.v.data(), m.o.data(), m.lse.data(), m.d_o.data(),
                        m.dq.data(), m.dk.data(), m.dv.data(), B, Tn, H, dq, dv, T(c.softmax_scale()));
  // Split dK/dV back into kv (per head [k_nope | v]) and the shared k_pe (summed over heads).
  m.dkv.resize(size_t(N * H * (dn + dv)));
  m.dkva.resize(size_t(N * ra));
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < N; ++n) {
    T* dpe = m.dkva.data() + n * ra + r;
    for (int64_t i = 0; i < dr; ++i) dpe[i] = 0;
    for (int64_t h = 0; h < H; ++h) {
      const T* dkh = m.dk.data() + (n * H + h) * dq;
      T* dkvh = m.dkv.data() + (n * H + h) * (dn + dv);
      std::memcpy(dkvh, dkh, sizeof(T) * dn);
      std::memcpy(dkvh + dn, m.dv.data() + (n * H + h) * dv, sizeof(T) * dv);
      for (int64_t i = 0; i < dr; ++i) dpe[i] += dkh[dn + i];
    }
  }
  rope_backward<T>(rope, m.dkva.data(), N, ra, r, 1, dr, Tn);
  rope_backward<T>(rope, m.dq.data(), N, H * dq, dn, H, dq, Tn);
  // kv_b, then the latent norm into the first r channels of d(kva)
  m.dc.resize(size_t(N * r));
  linear_backward<T>(m.c.data(), ps.p(ids.kv_b), m.dkv.data(), m.dc.data(), ps.g(ids.kv_b), N, H * (dn + dv),
                     r);
  rmsnorm_backward<T>(m.kva.data(), ra, ps.p(ids.kv_a_norm), m.c_rstd.data(), m.dc.data(), r, m.dkva.data(),
                      ra, ps.g(ids.kv_a_norm), N, r, false);
  linear_backward<T>(x, ps.p(ids.kv_a), m.dkva.data(), dx, ps.g(ids.kv_a), N, ra, d, false);
  if (c.has_q_lora()) {
    const int64_t rq = c.q_lora_rank;
    m.dqa_n.resize(size_t(N * rq));
    m.dqa.resize(size_t(N * rq));
    linear_backward<T>(m.qa_n.data(), ps.p(ids.q_b), m.dq.data(), m.dqa_n.data(), ps.g(ids.q_b), N, H * dq,
                       rq);
    rmsnorm_backward<T>(m.qa.data(), rq, ps.p(ids.q_a_norm), m.qa_rstd.data(), m.dqa_n.data(), rq,
                        m.dqa.data(), rq, ps.g(ids.q_a_norm), N, rq, false);
    linear_backward<T>(x, ps.p(ids.q_a), m.dqa.data(), dx, ps.g(ids.q_a), N, rq, d, true);
  } else {
    linear_backward<T>(x, ps.p(ids.q_proj), m.dq.data(), dx, ps.g(ids.q_proj), N, H * dq, d, true);
  }
}

template void mla_forward<float>(const ModelConfig&, const RopeTable<float>&, ParamStore<float>&,
                                 const AttnIds&, const float*, int64_t, int64_t, float*, MlaCache<float>&);
template void mla_forward<double>(const ModelConfig&, const RopeTable<double>&, ParamStore<double>&,
                                  const AttnIds&, const double*, int64_t, int64_t, double*,
                                  MlaCache<double>&);
template void mla_backward<float>(const ModelConfig&, const RopeTable<float>&, ParamStore<float>&,
                                  const AttnIds&, const float*, int64_t, int64_t, const float*, float*,
                                  MlaCache<float>&);
template void mla_backward<double>(const ModelConfig&, const RopeTable<double>&, ParamStore<double>&,
                                   const AttnIds&, const double*, int64_t, int64_t, const double*, double*,
                                   MlaCache<double>&);

}  // namespace seek

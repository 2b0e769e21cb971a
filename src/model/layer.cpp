#include "model/layer.hpp"

#include <algorithm>
#include <cstring>

#include "kernels/rmsnorm.hpp"
#include "model/mlp.hpp"

namespace seek {

template <typename T>
double layer_forward(const ModelConfig& c, const RopeTable<T>& rope, ParamStore<T>& ps, const LayerIds& ids,
                     const T* h_in, int64_t B, int64_t Tn, T* h_out, const BalanceOptions& bal,
                     LayerCache<T>& L) {
  const int64_t N = B * Tn, d = c.hidden_size, Nd = N * d;
  L.xn1.resize(size_t(Nd));
  L.rstd1.resize(size_t(N));
  L.attn.resize(size_t(Nd));
  L.hmid.resize(size_t(Nd));
  L.xn2.resize(size_t(Nd));
  L.rstd2.resize(size_t(N));
  L.ffn.resize(size_t(Nd));
  rmsnorm_forward<T>(h_in, d, ps.p(ids.in_norm), L.xn1.data(), d, L.rstd1.data(), N, d, c.rms_norm_eps);
  mla_forward<T>(c, rope, ps, ids.attn, L.xn1.data(), B, Tn, L.attn.data(), L.mla);
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < Nd; ++i) L.hmid[size_t(i)] = h_in[i] + L.attn[size_t(i)];
  rmsnorm_forward<T>(L.hmid.data(), d, ps.p(ids.post_norm), L.xn2.data(), d, L.rstd2.data(), N, d,
                     c.rms_norm_eps);
  double balance = 0;
  if (ids.moe) {
    balance = moe_forward<T>(c, ps, ids.experts, L.xn2.data(), B, Tn, L.ffn.data(), bal, L.moe);
  } else {
    const int64_t I = ids.dense.inter;
    L.g.resize(size_t(N * I));
    L.u.resize(size_t(N * I));
    L.h.resize(size_t(N * I));
    mlp_forward<T>(ps, ids.dense, L.xn2.data(), N, d, L.ffn.data(), L.g.data(), L.u.data(), L.h.data());
  }
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < Nd; ++i) h_out[i] = L.hmid[size_t(i)] + L.ffn[size_t(i)];
  return balance;
}

template <typename T>
void layer_backward(const ModelConfig& c, const RopeTable<T>& rope, ParamStore<T>& ps, const LayerIds& ids,
                    const T* h_in, int64_t B, int64_t Tn, const T* dh_out, T* dh_in,
                    const BalanceOptions& bal, double balance_grad_scale, LayerCache<T>& L) {
  const int64_t N = B * Tn, d = c.hidden_size, Nd = N * d;
  L.dx.resize(size_t(Nd));
  L.dhmid.resize(size_t(Nd));
  if (ids.moe) {
    moe_backward<T>(c, ps, ids.experts, L.xn2.data(), B, Tn, dh_out, L.dx.data(), bal, balance_grad_scale,
                    L.moe);
  } else {
    const int64_t I = ids.dense.inter;
    L.da.resize(size_t(N * I));
    L.db.resize(size_t(N * I));
    mlp_backward<T>(ps, ids.dense, L.xn2.data(), N, d, dh_out, L.dx.data(), L.g.data(), L.u.data(),
                    L.h.data(), L.da.data(), L.db.data(), false);
  }
  std::copy(dh_out, dh_out + Nd, L.dhmid.begin());
  rmsnorm_backward<T>(L.hmid.data(), d, ps.p(ids.post_norm), L.rstd2.data(), L.dx.data(), d, L.dhmid.data(),
                      d, ps.g(ids.post_norm), N, d, true);
  mla_backward<T>(c, rope, ps, ids.attn, L.xn1.data(), B, Tn, L.dhmid.data(), L.dx.data(), L.mla);
  std::copy(L.dhmid.begin(), L.dhmid.end(), dh_in);
  rmsnorm_backward<T>(h_in, d, ps.p(ids.in_norm), L.rstd1.data(), L.dx.data(), d, dh_in, d, ps.g(ids.in_norm),
                      N, d, true);
}

template double layer_forward<float>(const ModelConfig&, const RopeTable<float>&, ParamStore<float>&,
                                     const LayerIds&, const float*, int64_t, int64_t, float*,
                                     const BalanceOptions&, LayerCache<float>&);
template double layer_forward<double>(const ModelConfig&, const RopeTable<double>&, ParamStore<double>&,
                                      const LayerIds&, const double*, int64_t, int64_t, double*,
                                      const BalanceOptions&, LayerCache<double>&);
template void layer_backward<float>(const ModelConfig&, const RopeTable<float>&, ParamStore<float>&,
                                    const LayerIds&, const float*, int64_t, int64_t, const float*, float*,
                                    const BalanceOptions&, double, LayerCache<float>&);
template void layer_backward<double>(const ModelConfig&, const RopeTable<double>&, ParamStore<double>&,
                                     const LayerIds&, const double*, int64_t, int64_t, const double*, double*,
                                     const BalanceOptions&, double, LayerCache<double>&);

}  // namespace seek

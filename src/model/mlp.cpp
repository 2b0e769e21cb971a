#include "model/mlp.hpp"

#include "kernels/gemm.hpp"
#include "kernels/swiglu.hpp"

namespace seek {

template <typename T>
void mlp_forward(ParamStore<T>& ps, const MlpIds& ids, const T* x, int64_t n, int64_t d, T* y, T* g, T* u,
                 T* h, bool accumulate) {
  if (n == 0) return;
  const int64_t I = ids.inter;
  linear_forward<T>(x, ps.p(ids.gate), g, n, I, d);
  linear_forward<T>(x, ps.p(ids.up), u, n, I, d);
  swiglu_forward<T>(g, u, h, n * I);
  linear_forward<T>(h, ps.p(ids.down), y, n, d, I, accumulate);
}

template <typename T>
void mlp_backward(ParamStore<T>& ps, const MlpIds& ids, const T* x, int64_t n, int64_t d, const T* dy, T* dx,
                  const T* g, const T* u, const T* h, T* scratch_a, T* scratch_b, bool accumulate_dx) {
  if (n == 0) return;
  const int64_t I = ids.inter;
  T* dh = scratch_a;
  linear_backward<T>(h, ps.p(ids.down), dy, dh, ps.g(ids.down), n, d, I);
  // dg overwrites dh in place (each element reads its own dh first), du goes to scratch_b.
  T* dg = scratch_a;
  T* du = scratch_b;
  swiglu_backward<T>(g, u, dh, dg, du, n * I);
  linear_backward<T>(x, ps.p(ids.gate), dg, dx, ps.g(ids.gate), n, I, d, accumulate_dx);
  linear_backward<T>(x, ps.p(ids.up), du, dx, ps.g(ids.up), n, I, d, true);
}

template void mlp_forward<float>(ParamStore<float>&, const MlpIds&, const float*, int64_t, int64_t, float*,
                                 float*, float*, float*, bool);
template void mlp_forward<double>(ParamStore<double>&, const MlpIds&, const double*, int64_t, int64_t,
                                  double*, double*, double*, double*, bool);
template void mlp_backward<float>(ParamStore<float>&, const MlpIds&, const float*, int64_t, int64_t,
                                  const float*, float*, const float*, const float*, const float*, float*,
                                  float*, bool);
template void mlp_backward<double>(ParamStore<double>&, const MlpIds&, const double*, int64_t, int64_t,
                                   const double*, double*, const double*, const double*, const double*,
                                   double*, double*, bool);

}  // namespace seek

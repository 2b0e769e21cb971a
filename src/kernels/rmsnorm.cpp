#include "kernels/rmsnorm.hpp"

#include <cmath>
#include <vector>

#include <omp.h>

#include "core/thread_count.hpp"

namespace seek {

template <typename T>
void rmsnorm_forward(const T* x, int64_t ldx, const T* w, T* y, int64_t ldy, T* rstd, int64_t N, int64_t C,
                     double eps) {
#pragma omp parallel for schedule(static) if (N * C > kParallelMinWork)
  for (int64_t n = 0; n < N; ++n) {
    const T* xr = x + n * ldx;
    T ss = 0;
    for (int64_t c = 0; c < C; ++c) ss += xr[c] * xr[c];
    T r = T(1) / std::sqrt(ss / T(C) + T(eps));
    rstd[n] = r;
    T* yr = y + n * ldy;
    for (int64_t c = 0; c < C; ++c) yr[c] = w[c] * (xr[c] * r);
  }
}

template <typename T>
void rmsnorm_backward(const T* x, int64_t ldx, const T* w, const T* rstd, const T* dy, int64_t lddy, T* dx,
                      int64_t lddx, T* dw, int64_t N, int64_t C, bool accumulate_dx) {
  // dw is a reduction over rows: each thread sums its own static block of rows, then blocks are added in
  // thread order, so the result depends only on the thread count (deterministic).
  int nt = omp_get_max_threads();
  std::vector<T> partial(size_t(nt) * C, T(0));
#pragma omp parallel num_threads(nt) if (N * C > kParallelMinWork)
  {
    T* pw = partial.data() + size_t(omp_get_thread_num()) * C;
#pragma omp for schedule(static)
    for (int64_t n = 0; n < N; ++n) {
      const T* xr = x + n * ldx;
      const T* g = dy + n * lddy;
      T r = rstd[n];
      // y = w·x·r;  dx = r·(w⊙g) − r³/C · x · Σ(w⊙g⊙x)
      T dot = 0;
      for (int64_t c = 0; c < C; ++c) {
        dot += w[c] * g[c] * xr[c];
        pw[c] += g[c] * xr[c] * r;
      }
      T k = r * r * r * dot / T(C);
      T* d = dx + n * lddx;
      if (accumulate_dx) {
        for (int64_t c = 0; c < C; ++c) d[c] += r * w[c] * g[c] - k * xr[c];
      } else {
        for (int64_t c = 0; c < C; ++c) d[c] = r * w[c] * g[c] - k * xr[c];
      }
    }
  }
  for (int t = 0; t < nt; ++t)
    for (int64_t c = 0; c < C; ++c) dw[c] += partial[size_t(t) * C + c];
}

template void rmsnorm_forward<float>(const float*, int64_t, const float*, float*, int64_t, float*, int64_t,
                                     int64_t, double);
template void rmsnorm_forward<double>(const double*, int64_t, const double*, double*, int64_t, double*,
                                      int64_t, int64_t, double);
template void rmsnorm_backward<float>(const float*, int64_t, const float*, const float*, const float*,
                                      int64_t, float*, int64_t, float*, int64_t, int64_t, bool);
template void rmsnorm_backward<double>(const double*, int64_t, const double*, const double*, const double*,
                                       int64_t, double*, int64_t, double*, int64_t, int64_t, bool);

}  // namespace seek
